"""The quote checks shown to the user: on the answer and on each source card, in the app's HTML
(webui/render.py) and, in a real browser, in the widget (webui/static/widget.js)."""

from __future__ import annotations

import pytest

from kamerbron.records import Answer, QuoteCheck
from tests.fakes.answerer import CAPACITY_QUESTION, FakeAnswerer, capacity_answer
from tests.fakes.settings import make_settings
from webui.render import QUOTE_VERIFIED, QUOTE_WARNINGS, answer_html, citation_card, quote_mark, quotes_html

CAPACITY = (
    "Op dit moment is de inhaalslag gemaakt en is de bezetting van de AVIM wat betreft mensenhandel weer op sterkte."
)


def check(status: str, n: int = 2, kind: str = "quote", **fields) -> QuoteCheck:
    return QuoteCheck(text=CAPACITY, kind=kind, status=status, chunk_id=f"000_528fd6ff245c8aa8:{n}", n=n, **fields)


def checked_answer(*checks: QuoteCheck) -> Answer:
    return capacity_answer().model_copy(update={"quotes": list(checks)})


def test_card_with_every_quote_verified_is_marked_verified():
    assert f"✓ {QUOTE_VERIFIED}" in quote_mark([check("verified"), check("verified", kind="sentence")])


def test_card_with_a_repaired_quote_warns():
    assert QUOTE_WARNINGS["repaired"] in quote_mark([check("verified"), check("repaired")])


def test_card_warning_names_who_did_say_it():
    mark = quote_mark([check("misattributed", actual_speaker="De heer Van Nispen (SP)")])
    assert "citaat van De heer Van Nispen (SP)" in mark and "kb-quote-misattributed" in mark


def test_card_shows_the_worst_status():
    assert "kb-quote-unverified" in quote_mark([check("repaired"), check("unverified"), check("verified")])


def test_unverified_cited_sentence_is_called_a_paraphrase():
    assert QUOTE_WARNINGS["paraphrase"] in quote_mark([check("unverified", kind="sentence")])


def test_card_without_checks_has_no_mark():
    assert "kb-verified" not in citation_card(capacity_answer().citations[0])


def test_card_mark_is_escaped():
    assert "<b>" not in quote_mark([check("misattributed", actual_speaker="<b>X</b>")])


def test_answer_line_says_every_quote_is_verified():
    assert quotes_html([check("verified"), check("verified")]).count(QUOTE_VERIFIED) == 1


def test_answer_line_counts_each_problem():
    line = quotes_html([check("verified"), check("unverified"), check("unverified")])
    assert f"2× {QUOTE_WARNINGS['unverified']}" in line and f"1× {QUOTE_VERIFIED}" in line


def test_answer_shows_the_quote_line():
    assert 'class="kb-quotes kb-verified"' in answer_html(checked_answer(check("verified")))


def test_answer_marks_only_the_card_its_check_belongs_to():
    html = answer_html(checked_answer(check("repaired", n=2)))
    cards = html.split('<div class="kb-card">')[1:]
    assert ["kb-quote-repaired" in card for card in cards] == [False, True]


def test_answer_without_checks_shows_no_quote_line():
    assert "kb-quotes" not in answer_html(capacity_answer())


# -- the widget, in a real browser ---------------------------------------------------------------------

WIDGET_CHECKS = [
    check("verified", n=1),
    check("misattributed", n=2, actual_speaker="De heer Van Nispen (SP)"),
]


@pytest.fixture(scope="module")
def checked_widget(tmp_path_factory):
    # browser tooling, loaded only for these tests
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, ask_in_widget, open_page, serve
    from webui.server import create_server

    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium`.")
    settings = make_settings(tmp_path_factory.mktemp("verify-widget"))
    answerer = FakeAnswerer([checked_answer(*WIDGET_CHECKS)])
    with serve(create_server(settings, answerer)) as live, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context, page = open_page(chromium)
        ask_in_widget(page, live, CAPACITY_QUESTION)
        yield page
        context.close()
        chromium.close()


@pytest.mark.browser
def test_widget_card_shows_verified_quotes(checked_widget):
    head = checked_widget.locator("#kamerbron-widget .kb-card").nth(0).locator(".kb-card-head")
    assert head.locator(".kb-verified").inner_text() == f"✓ {QUOTE_VERIFIED}"


@pytest.mark.browser
def test_widget_card_warns_who_did_say_it(checked_widget):
    head = checked_widget.locator("#kamerbron-widget .kb-card").nth(1).locator(".kb-card-head")
    assert head.locator(".kb-quote-warning").inner_text() == "⚠ citaat van De heer Van Nispen (SP)"


@pytest.mark.browser
def test_widget_answer_counts_the_quote_problems(checked_widget):
    line = checked_widget.locator("#kamerbron-widget .kb-quotes").inner_text()
    assert line == f"⚠ 1× {QUOTE_WARNINGS['misattributed']} · 1× {QUOTE_VERIFIED}"
