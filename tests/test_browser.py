"""The chat and the widget in a real headless Chromium, against the real app served by uvicorn.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`); without it these tests
fail rather than skip. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import struct
import threading
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gradio_client import Client
from playwright.sync_api import sync_playwright

from kamerbron.records import Answer
from tests.fakes.answerer import CAPACITY_QUESTION, CAPACITY_SENTENCE, FakeAnswerer, capacity_answer, refusal_answer
from tests.fakes.ports import free_port
from tests.fakes.server import serve
from tests.fakes.settings import make_settings
from webui.feedback import FeedbackStore
from webui.server import create_server

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
INJECTION = "<img src=x onerror=alert(1)><script>alert(2)</script> Wat zei de SP?"
TIMEOUT_MS = 20_000


class ScriptedAnswerer(FakeAnswerer):
    """Realistic replies chosen by the question: a refusal off-topic, hostile HTML when the question has it."""

    def _next(self, kind, question, history, filters) -> Answer:
        with self.lock:
            self.calls.append({"kind": kind, "question": question, "history": list(history), "filters": filters})
        if "kernenergie" in question.lower():
            return refusal_answer(question)
        answer = capacity_answer(question)
        if "<" in question:
            answer.citations[0].text = "Zij zei: <img src=x onerror=alert(3)> <script>alert(4)</script> einde."
            answer.answer = "Antwoord met <b onmouseover=alert(5)>opmaak</b> [1]."
        return answer


def tiny_png(width: int = 60, height: int = 20) -> bytes:
    """A solid blue PNG, written by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x15\x42\x73" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The real app on 127.0.0.1:<free port>, with a ScriptedAnswerer and an evaluation report."""
    root = tmp_path_factory.mktemp("browser")
    intranet_port = free_port()
    settings = make_settings(root, app={"allowed_origins": [f"http://localhost:{intranet_port}"]})
    run = settings.paths.eval_dir / "runs" / "2024-05-01T120000"
    run.mkdir(parents=True)
    (run / "recall.png").write_bytes(tiny_png())
    (run / "report.md").write_text(
        "# Evaluatierapport\n\n| maat | waarde |\n|---|---|\n| recall@8 | 0.91 |\n\n![Recall](recall.png)\n"
    )
    answerer = ScriptedAnswerer()
    with serve(create_server(settings, answerer)) as server:
        server.settings = settings
        server.answerer = answerer
        server.intranet_port = intranet_port
        yield server


@pytest.fixture(scope="module")
def intranet(live, tmp_path_factory):
    """Another site (its own origin) embedding the widget from the app, with data-lang="en".

    Served on 127.0.0.1:<intranet_port>; opened as http://localhost:<port> it is an allowed origin,
    as http://127.0.0.1:<port> it is not.
    """
    folder = tmp_path_factory.mktemp("intranet")
    (folder / "embed.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Other intranet</title></head>"
        "<body><h1>Another intranet</h1>"
        f"<script src='{live.base_url}/widget.js' data-lang='en' data-title='Ask the papers' "
        "data-accent='#0b5' data-filter-party='SP' defer></script></body></html>"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", live.intranet_port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield live.intranet_port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` (the browser tests need it)."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser):
    """A page in a fresh context that records every request and every dialog (alert) it sees."""
    context = browser.new_context(viewport={"width": 1360, "height": 960}, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.requests, page.dialogs = [], []
    page.on("request", lambda request: page.requests.append(request.url))

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, page


@pytest.fixture
def page(browser):
    context, page = open_page(browser)
    yield page
    context.close()


@pytest.fixture(scope="module")
def answered_chat(browser, live):
    """One chat page with the capacity question answered, shared by the tests that only look at it."""
    context, page = open_page(browser)
    ask_in_chat(page, live, CAPACITY_QUESTION)
    screenshot(page, "chat.png")
    yield page
    context.close()


@pytest.fixture(scope="module")
def answered_widget(browser, live):
    """One widget-demo page with the capacity question answered in the widget."""
    context, page = open_page(browser)
    ask_in_widget(page, live, CAPACITY_QUESTION)
    screenshot(page, "widget.png")
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def ask_in_chat(page, live, question: str) -> None:
    page.goto(live.base_url + "/")
    page.fill("#kb-question textarea", question)
    page.click("#kb-send")
    page.wait_for_selector("#kb-chat .kb-msg:not(:has(.kb-streaming))")


def ask_in_widget(page, live, question: str) -> None:
    page.goto(live.base_url + "/widget-demo")
    page.click("#kamerbron-widget .kbw-launcher")
    page.fill("#kamerbron-widget textarea", question)
    page.press("#kamerbron-widget textarea", "Enter")
    page.wait_for_selector("#kamerbron-widget .kbw-bot:not(.kbw-intro):not(.kbw-pending)")


# --- chat ---------------------------------------------------------------------------------------


def test_chat_answer_shows_a_source_card_per_citation(answered_chat):
    assert answered_chat.locator("#kb-chat .kb-card:not(.kb-card-other)").count() == 2


def test_chat_answer_shows_citation_markers(answered_chat):
    assert answered_chat.locator("#kb-chat .kb-answer .kb-ref").all_inner_texts() == ["[1]", "[2]"]


def test_chat_card_highlights_the_sentence_relied_on(answered_chat):
    assert answered_chat.locator("#kb-chat .kb-card").nth(1).locator(".kb-passage mark").first.inner_text() == (
        CAPACITY_SENTENCE
    )


def test_chat_card_links_to_the_official_document(answered_chat):
    link = answered_chat.locator("#kb-chat .kb-card a.kb-link").first
    assert link.get_attribute("href") == "https://zoek.officielebekendmakingen.nl/kst-28638-163.html"


def test_chat_other_passages_open_on_request(answered_chat):
    answered_chat.click("#kb-chat details.kb-other summary")
    assert answered_chat.locator("#kb-chat details.kb-other .kb-card-other").first.is_visible()


def test_chat_refusal_shows_closest_passages_not_answering(page, live):
    ask_in_chat(page, live, "Wat vindt de Kamer van kernenergie?")
    screenshot(page, "chat-refusal.png")
    assert page.locator("#kb-chat .kb-badge", has_text="niet beantwoordend").first.is_visible()


def test_chat_injected_html_is_shown_as_text(page, live):
    ask_in_chat(page, live, INJECTION)
    page.wait_for_timeout(300)
    screenshot(page, "chat-injection.png")
    shown = page.locator("#kb-chat .kb-question").inner_text()
    injected = page.locator("#kb-chat img[src='x'], #kb-chat .kb-msg script, #kb-chat .kb-msg b").count()
    assert (page.dialogs, injected, "<img src=x onerror=alert(1)>" in shown) == ([], 0, True)


def test_chat_injected_html_in_passage_is_shown_as_text(page, live):
    ask_in_chat(page, live, INJECTION)
    assert "<img src=x onerror=alert(3)>" in page.locator("#kb-chat .kb-card .kb-passage").first.inner_text()


def test_chat_like_is_stored_as_feedback(page, live):
    ask_in_chat(page, live, "Wie stelde een taaltoets voor sekswerkers voor?")
    page.click("#kb-chat button[aria-label='Vind ik leuk']")  # Gradio's Dutch label (locale nl-NL)
    page.wait_for_selector("#kb-status:has-text('Bedankt voor je feedback')")
    records = FeedbackStore(live.settings.paths.feedback_db).read()
    assert (records[-1].rating, records[-1].question) == ("like", "Wie stelde een taaltoets voor sekswerkers voor?")


def test_chat_filters_reach_the_answerer(page, live):
    page.goto(live.base_url + "/")
    page.click("#kb-party input")
    page.click("[role=listbox] [role=option][aria-label='SP']")
    page.fill("#kb-date-from textarea, #kb-date-from input", "2018-01-01")
    page.fill("#kb-question textarea", "Wat zei de SP over de politie?")
    page.click("#kb-send")
    page.wait_for_selector("#kb-chat .kb-msg:not(:has(.kb-streaming))")
    call = live.answerer.calls[-1]
    assert (call["filters"].parties, call["filters"].date_from) == (["SP"], "2018-01-01")


def test_evaluation_tab_shows_the_latest_report(page, live):
    page.goto(live.base_url + "/")
    page.get_by_role("tab", name="Evaluatie").click()
    page.wait_for_selector("#kb-report img")
    screenshot(page, "evaluation.png")
    assert page.locator("#kb-report h1").inner_text() == "Evaluatierapport"


# --- widget ---------------------------------------------------------------------------------------


def test_widget_answer_shows_a_citation(answered_widget):
    assert answered_widget.locator("#kamerbron-widget .kb-card .kb-card-n").all_inner_texts() == ["[1]", "[2]"]


def test_widget_card_links_to_the_official_document(answered_widget):
    link = answered_widget.locator("#kamerbron-widget .kb-card a").first
    assert (link.get_attribute("href"), link.get_attribute("rel")) == (
        "https://zoek.officielebekendmakingen.nl/kst-28638-163.html",
        "noopener noreferrer",
    )


def test_widget_long_passage_shows_excerpt_with_the_sentence(answered_widget):
    excerpt = answered_widget.locator("#kamerbron-widget .kb-card").nth(1).locator(":scope > .kb-passage")
    assert (excerpt.locator("mark").inner_text(), excerpt.inner_text()[:2]) == (CAPACITY_SENTENCE, "… ")


def test_widget_refusal_marks_passages_not_answering(page, live):
    ask_in_widget(page, live, "En kernenergie?")
    assert page.locator("#kamerbron-widget .kb-badge").first.text_content() == "niet beantwoordend"


def test_widget_injected_html_is_shown_as_text(page, live):
    ask_in_widget(page, live, INJECTION)
    page.wait_for_timeout(300)
    screenshot(page, "widget-injection.png")
    injected = page.locator("#kamerbron-widget img, #kamerbron-widget script, #kamerbron-widget b").count()
    shown = page.locator("#kamerbron-widget .kbw-user").inner_text()
    assert (page.dialogs, injected, shown) == ([], 0, INJECTION)


def test_widget_is_not_styled_by_the_host_page(page, live):
    page.goto(live.base_url + "/widget-demo")
    background = page.locator("#kamerbron-widget .kbw-launcher").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(21, 66, 115)"


def test_widget_works_from_an_allowed_other_origin_in_english(page, live, intranet):
    page.goto(f"http://localhost:{intranet}/embed.html")
    page.click("#kamerbron-widget .kbw-launcher")
    page.fill("#kamerbron-widget textarea", "What did the SP ask about police capacity?")
    page.press("#kamerbron-widget textarea", "Enter")
    page.wait_for_selector("#kamerbron-widget .kb-card")
    screenshot(page, "widget-cross-origin-en.png")
    assert (
        page.locator("#kamerbron-widget .kb-sources-title").inner_text().lower(),
        live.answerer.calls[-1]["filters"].parties,
    ) == ("sources", ["SP"])


def test_widget_from_a_disallowed_origin_gets_no_answer(page, live, intranet):
    before = len(live.answerer.calls)
    page.goto(f"http://127.0.0.1:{intranet}/embed.html")
    page.click("#kamerbron-widget .kbw-launcher")
    page.fill("#kamerbron-widget textarea", "What did the SP ask?")
    page.press("#kamerbron-widget textarea", "Enter")
    page.wait_for_selector("#kamerbron-widget .kbw-error")
    assert len(live.answerer.calls) == before


# --- offline and API ------------------------------------------------------------------------------


def test_no_request_leaves_the_app_host(page, live):
    ask_in_chat(page, live, CAPACITY_QUESTION)
    page.get_by_role("tab", name="Evaluatie").click()
    page.wait_for_selector("#kb-report img")
    ask_in_widget(page, live, CAPACITY_QUESTION)
    hosts = {urlsplit(url).netloc for url in page.requests if not url.startswith("data:")}
    assert hosts == {urlsplit(live.base_url).netloc}


def test_gradio_client_can_call_the_named_endpoint(live):
    client = Client(live.base_url, verbose=False)
    try:
        result = client.predict(CAPACITY_QUESTION, [], {"parties": ["SP"]}, api_name="/ask")
    finally:
        client.close()
    assert [c["n"] for c in result["citations"]] == [1, 2]


def test_gradio_client_gets_the_dutch_message_for_a_too_long_question(live):
    client = Client(live.base_url, verbose=False)
    try:
        with pytest.raises(Exception, match="De vraag is te lang"):
            client.predict("x" * 1001, None, None, api_name="/ask")
    finally:
        client.close()
