"""New formats end to end in a real headless Chromium: the bundled corpus plus a VLOS debate and a PDF letter,
added with `python -m ingest add` to a temporary corpus folder, indexed (hash embedding) and answered
extractively; the chat's and the widget's source cards show speaker, publication status and link."""

from __future__ import annotations

import contextlib
import io
import shutil

import pytest

from ingest.__main__ import main as ingest_main
from ingest.parse import parse_document
from kamerbron.settings import ENV_FILE_VARIABLE
from rag.answer import Answerer
from tests.fakes.settings import CORPUS, SHARED_FORMATS, make_settings
from tests.test_browser import ask_in_chat, ask_in_widget, browser, open_page, screenshot, serve  # noqa: F401
from webui.server import create_server

pytestmark = pytest.mark.browser

FORMATS = SHARED_FORMATS
VLOS = FORMATS / "vlos" / "sample_vlos_dc665b38-00f1-4efe-a39a-1245ddd7e2ef_1378fd61-cf82-4208-a700-021382f839b0.xml"
LETTER = FORMATS / "pdf" / "P0103D01.pdf"
VLOS_QUESTION = "Wat zei de heer Soepboer over het gespecialiseerd onderwijs bij passend onderwijs?"
LETTER_QUESTION = "Wat vond de Nationaal Rapporteur van de aanhouding van de Wrp in de Eerste Kamer?"
STATUS = "Ongecorrigeerd (Tussenpublicatie)"
VLOS_URL = "https://www.tweedekamer.nl/kamerstukken/plenaire_verslagen/detail/2024-2025/103"
VLOS_TITLE = "Plenaire vergadering Tweede Kamer, 103e vergadering, woensdag 2 juli 2025"


@pytest.fixture(scope="module")
def vlos_parties() -> dict[str, str]:
    """Each speaker of the VLOS debate and the party the file gives them: which passage the extractive answer
    quotes is the answering code's choice, what its card says about the speaker is this test's concern."""
    return {t.speaker: t.party for t in parse_document(VLOS, {}).turns}


def _text(card, selector: str) -> str:
    """The text of the card's element, '' when the card has none (a minister has no party)."""
    found = card.locator(selector)
    return found.inner_text() if found.count() else ""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if not FORMATS.is_dir():
        pytest.skip(f"{FORMATS} is absent: the real files live in the shared folder beside the repository")
    root = tmp_path_factory.mktemp("formats-app")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()):
        mp.setenv("KAMERBRON_PATHS_CORPUS_DIR", str(corpus))
        mp.setenv("KAMERBRON_PATHS_INDEX_DIR", str(root / "index"))
        mp.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
        mp.setenv(ENV_FILE_VARIABLE, "")
        assert ingest_main(["add", "--no-progress", str(VLOS), str(LETTER)]) == 0
    # The learned refusal threshold is chosen for the e5 embedding; the hash embedding scores evidence lower.
    # These tests are about what a card shows, so every question with evidence is answered.
    settings = make_settings(root, paths={"corpus_dir": corpus, "index_dir": root / "index"},
                             answer={"refusal_threshold": 0.0})  # fmt: skip
    with serve(create_server(settings, Answerer(settings))) as server:
        yield server


@pytest.fixture(scope="module")
def vlos_chat(browser, live):  # noqa: F811
    context, page = open_page(browser)
    ask_in_chat(page, live, VLOS_QUESTION)
    screenshot(page, "formats-vlos-chat.png")
    yield page.locator("#kb-chat .kb-msg").last.locator(".kb-card:not(.kb-card-other)").first
    context.close()


@pytest.fixture(scope="module")
def letter_chat(browser, live):  # noqa: F811
    context, page = open_page(browser)
    ask_in_chat(page, live, LETTER_QUESTION)
    screenshot(page, "formats-pdf-chat.png")
    yield page.locator("#kb-chat .kb-msg").last.locator(".kb-card:not(.kb-card-other)").first
    context.close()


@pytest.fixture(scope="module")
def vlos_widget(browser, live):  # noqa: F811
    context, page = open_page(browser)
    ask_in_widget(page, live, VLOS_QUESTION)
    screenshot(page, "formats-vlos-widget.png")
    yield page.locator("#kamerbron-widget .kb-card:not(.kb-card-other)").first
    context.close()


def test_vlos_answer_cites_the_verslag(vlos_chat):
    assert VLOS_TITLE in vlos_chat.locator(".kb-card-doc").inner_text()


def test_vlos_answer_card_names_the_speaker_and_party(vlos_chat, vlos_parties):
    speaker = vlos_chat.locator(".kb-speaker").inner_text()
    assert (speaker, _text(vlos_chat, ".kb-party")) == (speaker, vlos_parties.get(speaker))


def test_vlos_answer_card_shows_the_uncorrected_status(vlos_chat):
    assert vlos_chat.locator(".kb-status").inner_text() == STATUS


def test_vlos_answer_card_links_to_the_tweede_kamer_page(vlos_chat):
    assert vlos_chat.locator("a.kb-link").get_attribute("href") == VLOS_URL


def test_pdf_letter_answer_card_names_the_signer(letter_chat):
    assert letter_chat.locator(".kb-speaker").inner_text() == (
        "Corinne Dettmeijer-Vermeulen (Nationaal Rapporteur Mensenhandel)"
    )


def test_pdf_letter_answer_card_shows_its_subject_and_date(letter_chat):
    doc = letter_chat.locator(".kb-card-doc").inner_text()
    assert ("Landelijk kader voor prostitutiebeleid" in doc, "21 januari 2013" in doc) == (True, True)


def test_pdf_letter_card_shows_no_status_or_link_the_letter_does_not_state(letter_chat):
    assert (letter_chat.locator(".kb-status").count(), letter_chat.locator("a.kb-link").count()) == (0, 0)


def test_pdf_letter_answer_quotes_the_letter(letter_chat):
    assert "aanhouding van de Wrp in de Eerste Kamer" in letter_chat.locator(".kb-passage").first.inner_text()


def test_widget_card_names_speaker_party_and_status(vlos_widget, vlos_parties):
    speaker = vlos_widget.locator(".kb-speaker").inner_text()
    party = _text(vlos_widget, ".kb-party")
    assert (speaker, party, vlos_widget.locator(".kb-status").inner_text()) == (
        speaker,
        vlos_parties.get(speaker),
        STATUS,
    )


def test_widget_card_links_to_the_tweede_kamer_page(vlos_widget):
    assert vlos_widget.locator(".kb-card-doc a").get_attribute("href") == VLOS_URL
