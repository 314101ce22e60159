"""The chat and the widget in a real headless Chromium on the REAL answering pipeline: the bundled
corpus parsed, chunked, indexed (hash embedding, so it builds in seconds) and answered extractively."""

from __future__ import annotations

import pytest

from tests.test_browser import ask_in_chat, ask_in_widget, browser, open_page, screenshot, serve  # noqa: F401
from webui.server import create_server

pytestmark = pytest.mark.browser

QUESTION = "Wie vroeg de staatssecretaris om een taaleis voor prostituees?"


@pytest.fixture(scope="module")
def live(corpus_index, corpus_answerer):
    settings, _ = corpus_index
    with serve(create_server(settings, corpus_answerer)) as server:
        yield server


@pytest.fixture(scope="module")
def chat(browser, live):  # noqa: F811
    context, page = open_page(browser)
    ask_in_chat(page, live, QUESTION)
    screenshot(page, "pipeline-chat.png")
    yield page
    context.close()


@pytest.fixture(scope="module")
def widget(browser, live):  # noqa: F811
    context, page = open_page(browser)
    ask_in_widget(page, live, QUESTION)
    screenshot(page, "pipeline-widget.png")
    yield page
    context.close()


def test_chat_answer_cites_a_passage_of_the_corpus(chat):
    assert chat.locator("#kb-chat .kb-card:not(.kb-card-other)").count() >= 1


def test_chat_card_links_to_the_official_source(chat):
    hrefs = chat.locator("#kb-chat .kb-card a").evaluate_all("links => links.map(a => a.href)")
    assert any(h.startswith("https://zoek.officielebekendmakingen.nl/kst-") for h in hrefs)


def test_chat_answer_names_a_speaker_with_party(chat):
    assert "(" in chat.locator("#kb-chat .kb-msg").last.inner_text()


def test_widget_answer_shows_a_citation(widget):
    assert widget.locator("#kamerbron-widget .kb-card").count() >= 1


def test_no_request_leaves_the_app_host(chat, widget, live):
    host = live.base_url
    assert [u for u in chat.requests + widget.requests if not u.startswith((host, "data:", "blob:"))] == []
