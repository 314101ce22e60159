"""The 'Standpunten' and 'Vragen en antwoorden' tabs in a real headless Chromium, against the real app on
the bundled corpus (hash embedding). The official source (zoek.officielebekendmakingen.nl) is answered
inside the browser by a stand-in page: no request leaves the machine."""

from __future__ import annotations

import re

import pytest

from rag.positions import SILENT_LABEL
from tests.test_browser import ask_in_chat, browser, open_page, screenshot, serve  # noqa: F401
from webui.server import create_server

pytestmark = pytest.mark.browser

OFFICIAL = "https://zoek.officielebekendmakingen.nl/"


@pytest.fixture(scope="module")
def live(corpus_index, corpus_answerer):
    settings, _ = corpus_index
    with serve(create_server(settings, corpus_answerer)) as server:
        yield server


@pytest.fixture
def page(browser):  # noqa: F811
    context, page = open_page(browser)
    context.route(
        OFFICIAL + "**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<title>Officiële bron</title>ok"),
    )
    yield page
    context.close()


def _open_tab(page, live, name: str) -> None:
    page.goto(live.base_url + "/")
    page.get_by_role("tab", name=name).click()


def _show_positions(page, live, topic: str) -> None:
    _open_tab(page, live, "Standpunten")
    page.fill("#kb-pos-topic textarea, #kb-pos-topic input", topic)
    page.click("#kb-pos-show")
    page.wait_for_selector(f"#kb-pos-result .kb-positions[data-topic='{topic}']")


def _follow_official_link(page, link) -> str:
    with page.context.expect_page() as opened:
        link.click()
    popup = opened.value
    popup.wait_for_load_state()
    return popup.url


# --- Standpunten ---------------------------------------------------------------------------------


def test_positions_rows_and_silent_rows(page, live):
    _show_positions(page, live, "taaleis")
    screenshot(page, "positions.png")
    rows = page.locator("#kb-pos-result tr.kb-pos-row")
    silent = page.locator("#kb-pos-result tr.kb-pos-silent")
    speaking = page.locator("#kb-pos-result tr.kb-pos-row:not(.kb-pos-silent) .kb-pos-party").all_inner_texts()
    assert (rows.count(), silent.count(), sorted(speaking)) == (11, 9, ["CDA", "GroenLinks"])


def test_positions_silent_row_says_nothing_found(page, live):
    _show_positions(page, live, "taaleis")
    assert page.locator("#kb-pos-result tr.kb-pos-silent[data-party='SP']").inner_text().strip().endswith(SILENT_LABEL)


def test_positions_citation_leads_to_its_source_card(page, live):
    _show_positions(page, live, "taaleis")
    page.locator("#kb-pos-result tr[data-party='CDA'] a.kb-pos-cite").first.click()
    target = page.evaluate("location.hash")
    card = page.locator(f"#kb-pos-result {target}")
    assert (
        re.fullmatch(r"#kb-pos-src-\d+", target) is not None,
        card.is_visible(),
        "taaleis" in card.inner_text(),
    ) == (
        True,
        True,
        True,
    )


def test_positions_source_card_opens_the_official_document(page, live):
    _show_positions(page, live, "pooierverbod")
    page.locator("#kb-pos-result tr[data-party='ChristenUnie'] a.kb-pos-cite").first.click()
    link = page.locator(f"#kb-pos-result {page.evaluate('location.hash')} a.kb-link")
    assert _follow_official_link(page, link) == OFFICIAL + "kst-28638-163.html"


def test_positions_csv_download(page, live):
    _show_positions(page, live, "taaleis")
    with page.expect_download() as download:
        page.click("#kb-pos-result a.kb-pos-download[href*='format=csv']")
    assert download.value.suggested_filename == "standpunten-taaleis.csv"


def test_positions_from_the_address(page, live):
    page.goto(live.base_url + "/?standpunten=pooierverbod")
    page.wait_for_selector("#kb-pos-result .kb-positions[data-topic='pooierverbod']")
    assert page.locator("#kb-pos-result tr.kb-pos-row:not(.kb-pos-silent)").count() == 2


def test_chat_comparison_links_to_the_positions_tab(page, live):
    ask_in_chat(page, live, "Hoe verschilden de partijen over de taaleis?")
    page.locator("#kb-chat a.kb-positions-link").last.click()
    page.wait_for_selector("#kb-pos-result .kb-positions[data-topic='taaleis']")
    screenshot(page, "positions-from-chat.png")
    assert page.locator("#kb-pos-result tr.kb-pos-row").count() == 11


# --- Vragen en antwoorden ------------------------------------------------------------------------


def _show_questions(page, live) -> None:
    _open_tab(page, live, "Vragen en antwoorden")
    page.wait_for_selector("#kb-qa-result .kb-qa-table")


def _pick(page, dropdown: str, label: str) -> None:
    before = page.locator("#kb-qa-result tr.kb-qa-row").count()
    page.click(f"{dropdown} input")
    page.click(f"[role=listbox] [role=option][aria-label='{label}']")
    page.wait_for_function(
        "n => document.querySelectorAll('#kb-qa-result tr.kb-qa-row').length !== n", arg=before, timeout=10_000
    )


def test_questions_party_filter_shrinks_the_rows(page, live):
    _show_questions(page, live)
    everything = page.locator("#kb-qa-result tr.kb-qa-row").count()
    _pick(page, "#kb-qa-party", "SGP")
    screenshot(page, "questions-sgp.png")
    parties = page.locator("#kb-qa-result tr.kb-qa-row").evaluate_all("rows => rows.map(r => r.dataset.party)")
    assert (0 < len(parties) < everything, set(parties)) == (True, {"SGP"})


def test_questions_open_ones_are_marked(page, live):
    _show_questions(page, live)
    _pick(page, "#kb-qa-party", "BBB")
    rows = page.locator("#kb-qa-result tr.kb-qa-row")
    assert rows.count() == page.locator("#kb-qa-result tr.kb-qa-open-row .kb-qa-open").count() > 0


def test_questions_answer_beside_question_follows_to_the_official_source(page, live):
    _show_questions(page, live)
    _pick(page, "#kb-qa-party", "SGP")
    row = page.locator("#kb-qa-result tr.kb-qa-answered", has_text="pooierverbod").first
    row.locator("a.kb-qa-cite").click()
    assert page.evaluate("location.hash") == "#" + row.get_attribute("id")
    link = row.locator("td.kb-qa-answer a.kb-link").first
    assert _follow_official_link(page, link) == OFFICIAL + "kst-28638-123.html"
