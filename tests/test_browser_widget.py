"""The <kamerbron-chat> web component in a real headless Chromium, against the real app served by uvicorn.

Pages are served at the app's own origin through Playwright's routing: a plain page, and a hostile one
whose CSS restyles div, button, p (and more) with !important. The widget must look the same on both
(computed styles inside its shadow root), must not restyle the page, must stream the answer, keep the
conversation for the page session, and show the same message markup as the Gradio chat.
Screenshots of the plain and the hostile page go to tests/artifacts/.
"""

from __future__ import annotations

import json
import threading

import pytest

from kamerbron.records import AnswerUpdate
from tests.fakes.answerer import CAPACITY_QUESTION, FakeAnswerer, capacity_answer
from tests.fakes.settings import make_settings
from tests.test_browser import ask_in_chat, browser, open_page, screenshot, serve  # noqa: F401
from webui.server import create_server

pytestmark = pytest.mark.browser

HOLD = "(stap voor stap)"  # a question with this in it streams half its answer, then waits for the test
HOLD_S = 20
HOSTILE_CSS = """
:root { --kbw-accent: red; --kb-accent: red; --kamerbron-height: 90px; }
html, body { font: italic 700 30px/4 "Comic Sans MS", cursive !important; color: purple !important;
  letter-spacing: 3px !important; word-spacing: 9px !important; text-transform: uppercase !important;
  text-align: center !important; white-space: pre !important; }
div, button, p, span, a, mark, textarea, form, details, summary, svg, kamerbron-chat {
  all: unset; color: red !important; font-size: 40px !important; background: yellow !important;
  padding: 30px !important; margin: 20px !important; border: 5px dashed green !important;
  line-height: 3 !important; display: block !important; opacity: .7 !important; }
* { box-sizing: content-box !important; }
kamerbron-chat { font-family: serif !important; cursor: wait !important; visibility: visible !important; }
"""
# Inside each widget's shadow root: its chrome, a question, and the answer's markup (webui/render.py).
SHADOW_SELECTORS = [
    ".kbw-launcher",
    ".kbw-launcher span",
    ".kbw-panel",
    ".kbw-head",
    ".kbw-title",
    ".kbw-sub",
    ".kbw-reset",
    ".kbw-close",
    ".kbw-log",
    ".kbw-user",
    ".kbw-bot:not(.kbw-intro)",
    ".kb-answer p",
    ".kb-ref",
    ".kb-sources-title",
    ".kb-card",
    ".kb-card-head",
    ".kb-card-n",
    ".kb-speaker",
    ".kb-party",
    ".kb-card-doc",
    ".kb-card-doc a",
    ".kb-passage",
    ".kb-passage mark",
    "details.kb-full summary",
    "details.kb-other summary",
    ".kbw-form",
    "textarea",
    ".kbw-send",
    ".kbw-foot",
]
LAUNCHER_ONLY = {".kbw-launcher", ".kbw-launcher span", ".kbw-close"}
STYLE_PROPERTIES = [
    "color",
    "background-color",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "line-height",
    "letter-spacing",
    "word-spacing",
    "text-transform",
    "text-align",
    "white-space",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "border-top-width",
    "border-top-style",
    "border-left-width",
    "border-left-color",
    "border-top-left-radius",
    "box-sizing",
    "display",
    "position",
    "width",
    "height",
    "opacity",
    "visibility",
    "cursor",
]
COMPUTED_IN_SHADOW = """([selectors, properties]) => {
  const out = {};
  for (const chat of document.querySelectorAll('kamerbron-chat')) {
    for (const selector of selectors) {
      const node = chat.shadowRoot.querySelector(selector);
      if (!node) continue;
      const style = getComputedStyle(node);
      out[chat.id + ' ' + selector] = Object.fromEntries(properties.map(p => [p, style.getPropertyValue(p)]));
    }
  }
  return out;
}"""
COMPUTED_ON_PAGE = """([selectors, properties]) => Object.fromEntries(selectors.map(selector => {
  const style = getComputedStyle(document.querySelector(selector));
  return [selector, Object.fromEntries(properties.map(p => [p, style.getPropertyValue(p)]))];
}))"""
# A message as structure: tag, class, link target and text of every node, in order.
SKELETON = """root => {
  const walk = node => Array.from(node.childNodes).map(child => {
    if (child.nodeType === Node.TEXT_NODE) return child.textContent;
    if (child.nodeType !== Node.ELEMENT_NODE) return null;
    return [child.tagName.toLowerCase(), child.getAttribute('class') || '', child.getAttribute('href') || '', walk(child)];
  }).filter(part => part !== null && part !== '');
  return walk(root);
}"""


class HeldAnswerer(FakeAnswerer):
    """Streams half the answer, and for a question with HOLD in it waits for ``release`` before the rest."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def stream(self, question, *, history=(), filters=None):
        final = self._next("stream", question, history, filters)
        words = final.answer.split(" ")
        yield AnswerUpdate(text=" ".join(words[: len(words) // 2]))
        if HOLD in question:
            self.release.wait(HOLD_S)
        yield AnswerUpdate(text=final.answer)
        yield AnswerUpdate(text=final.answer, final=final)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    answerer = HeldAnswerer()
    with serve(create_server(make_settings(tmp_path_factory.mktemp("widget")), answerer)) as server:
        server.answerer = answerer
        yield server


def host_page(style: str = "", *, widgets: bool = True) -> str:
    """An intranet page: an inline widget and a launcher (when ``widgets``), then the page's own p, div, button."""
    chats = (
        "<section style='width:640px'><kamerbron-chat id='inline' mode='inline' style='--kamerbron-height: 480px'>"
        "</kamerbron-chat></section><kamerbron-chat id='kamerbron-widget' mode='launcher'></kamerbron-chat>"
        "<script src='/widget.js'></script>"
        if widgets
        else ""
    )
    return (
        "<!doctype html><html lang='nl'><head><meta charset='utf-8'><title>Intranet</title>"
        f"<style>{style}</style></head><body>{chats}"
        "<p id='host-p'>Tekst van de pagina zelf.</p><div id='host-div'>Een blok van de pagina.</div>"
        "<button id='host-button' type='button'>Knop van de pagina</button></body></html>"
    )


def open_host(browser, live, html: str, path: str = "/intranet"):  # noqa: F811
    """A fresh page showing ``html`` at the app's origin (``path``), widgets defined."""
    context, page = open_page(browser)
    page.route(
        live.base_url + path,
        lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html),
    )
    page.goto(live.base_url + path)
    if "<kamerbron-chat" in html:
        page.wait_for_function("() => [...document.querySelectorAll('kamerbron-chat')].every(c => c.shadowRoot)")
    return context, page


def ask(page, chat_id: str, question: str, *, wait: bool = True) -> None:
    chat = page.locator(f"#{chat_id}")
    if chat_id == "kamerbron-widget" and chat.locator(".kbw-panel").is_hidden():
        chat.locator(".kbw-launcher").click()
    answers = chat.locator(".kbw-bot:not(.kbw-intro):not(.kbw-pending)")
    before = answers.count()  # a restored conversation already shows answers: wait for a new one
    chat.locator("textarea").fill(question)
    chat.locator("textarea").press("Enter")
    if wait:
        answers.nth(before).wait_for()


def answered(browser, live, style: str, name: str):  # noqa: F811
    """A host page with a question answered in both widgets, other passages and whole passage opened."""
    context, page = open_host(browser, live, host_page(style))
    for chat_id in ("inline", "kamerbron-widget"):
        ask(page, chat_id, CAPACITY_QUESTION)
        chat = page.locator(f"#{chat_id}")
        chat.locator("details.kb-other summary").click()
        chat.locator("details.kb-full summary").first.click()
        chat.locator(".kbw-log").evaluate("log => { log.scrollTop = 0; }")
    page.mouse.move(0, 0)
    screenshot(page, name)
    return context, page


@pytest.fixture(scope="module")
def plain(browser, live):  # noqa: F811
    context, page = answered(browser, live, "", "widget-plain-page.png")
    yield page
    context.close()


@pytest.fixture(scope="module")
def hostile(browser, live):  # noqa: F811
    context, page = answered(browser, live, HOSTILE_CSS, "widget-hostile-page.png")
    yield page
    context.close()


def shadow_styles(page) -> dict:
    return page.evaluate(COMPUTED_IN_SHADOW, [SHADOW_SELECTORS, STYLE_PROPERTIES])


# --- the host page's CSS cannot reach in, the widget's cannot leak out ---------------------------------


def test_every_compared_element_is_there(plain):
    expected = {f"kamerbron-widget {s}" for s in SHADOW_SELECTORS} | {
        f"inline {s}" for s in SHADOW_SELECTORS if s not in LAUNCHER_ONLY
    }
    assert set(shadow_styles(plain)) == expected


def test_hostile_page_css_does_not_change_the_widget(plain, hostile):
    assert shadow_styles(hostile) == shadow_styles(plain)


def test_hostile_page_css_does_apply_to_the_page_itself(hostile):
    assert hostile.locator("#host-p").evaluate("p => getComputedStyle(p).fontSize") == "40px"


def test_widget_css_does_not_leak_into_the_page(browser, live, plain):  # noqa: F811
    context, bare = open_host(browser, live, host_page(widgets=False), path="/zonder-widget")
    selectors = ["#host-p", "#host-div", "#host-button"]
    try:
        without = bare.evaluate(COMPUTED_ON_PAGE, [selectors, STYLE_PROPERTIES])
    finally:
        context.close()
    assert plain.evaluate(COMPUTED_ON_PAGE, [selectors, STYLE_PROPERTIES]) == without


def test_widget_adds_no_stylesheet_to_the_page(plain):
    assert plain.evaluate("document.styleSheets.length") == 1  # the host page's own <style>


# --- modes, markup, streaming, the page session --------------------------------------------------------


def test_inline_mode_shows_the_panel_without_a_launcher(plain):
    inline = plain.locator("#inline")
    assert (inline.locator(".kbw-panel").is_visible(), inline.locator(".kbw-launcher").count()) == (True, 0)


def test_launcher_is_a_labelled_button_controlling_a_dialog(plain):
    launcher = plain.locator("#kamerbron-widget .kbw-launcher")
    assert (launcher.get_attribute("aria-expanded"), plain.get_by_role("dialog", name="Kamerbron").count()) == (
        "true",
        1,
    )


def test_answers_are_announced_politely(plain):
    assert plain.locator("#inline .kbw-log").get_attribute("aria-live") == "polite"


def test_widget_shows_the_same_message_markup_as_the_chat(browser, live, plain):  # noqa: F811
    context, chat = open_page(browser)
    try:
        ask_in_chat(chat, live, CAPACITY_QUESTION)
        in_chat = chat.locator("#kb-chat .kb-msg").last.evaluate(SKELETON)
    finally:
        context.close()
    assert plain.locator("#inline .kbw-bot .kb-msg").last.evaluate(SKELETON) == in_chat


def test_answer_streams_before_it_is_complete(browser, live):  # noqa: F811
    live.answerer.release.clear()
    context, page = open_host(browser, live, host_page(), path="/stroom")
    try:
        ask(page, "inline", f"{CAPACITY_QUESTION} {HOLD}", wait=False)
        streaming = page.locator("#inline .kbw-streaming")
        streaming.wait_for()
        seen = (streaming.inner_text(), page.locator("#inline .kb-card").count())
        live.answerer.release.set()
        page.locator("#inline .kb-card").first.wait_for()
    finally:
        live.answerer.release.set()
        context.close()
    words = capacity_answer().answer.split(" ")
    assert seen == (" ".join(words[: len(words) // 2]), 0)


def test_conversation_is_kept_for_the_page_session(browser, live):  # noqa: F811
    context, page = open_host(browser, live, host_page(), path="/sessie")
    try:
        ask(page, "inline", CAPACITY_QUESTION)
        page.reload()
        page.locator("#inline .kb-card").first.wait_for()
        shown = page.locator("#inline .kbw-user").all_inner_texts()
        ask(page, "inline", "En wat zei de staatssecretaris daarna?")
    finally:
        context.close()
    assert (shown, [q for q, _ in live.answerer.calls[-1]["history"]]) == ([CAPACITY_QUESTION], [CAPACITY_QUESTION])


def test_new_conversation_forgets_the_page_session(browser, live):  # noqa: F811
    context, page = open_host(browser, live, host_page(), path="/opnieuw")
    try:
        ask(page, "inline", CAPACITY_QUESTION)
        page.locator("#inline .kbw-reset").click()
        page.reload()
        page.locator("#inline .kbw-intro").wait_for()
        left = page.locator("#inline .kbw-user").count()
    finally:
        context.close()
    assert left == 0


def test_stored_markup_passes_the_allowlist(browser, live):  # noqa: F811
    # sessionStorage is the page's to write: what comes back from it is cleaned like the server's markup
    hostile = (
        "<img src=x onerror=alert(1)><script>alert(2)</script><b onmouseover=alert(3)>vet</b>"
        "<a class='kb-link' href='javascript:alert(4)' onclick='alert(5)'>link</a><p>tekst</p>"
    )
    stored = {"history": [], "log": [{"kind": "bot", "html": hostile}]}
    context, page = open_host(browser, live, host_page(), path="/schoon")
    try:
        page.evaluate("s => sessionStorage.setItem('kamerbron-chat:/schoon:inline', s)", json.dumps(stored))
        page.reload()
        message = page.locator("#inline .kbw-bot:not(.kbw-intro)")
        message.wait_for()
        shown = message.evaluate("m => m.innerHTML")
    finally:
        context.close()
    assert (shown, page.dialogs) == (
        '<a class="kb-link" target="_blank" rel="noopener noreferrer">link</a><p>tekst</p>',
        [],
    )


def test_old_script_tag_alone_adds_a_launcher(browser, live):  # noqa: F811
    html = "<!doctype html><html><body><script src='/widget.js' data-lang='en' data-title='Ask the papers'></script>"
    context, page = open_host(browser, live, html + "</body></html>", path="/oud")
    try:
        page.locator("#kamerbron-widget .kbw-launcher").click()
        title = page.locator("#kamerbron-widget .kbw-title").inner_text()
        mode = page.locator("kamerbron-chat").get_attribute("mode")
    finally:
        context.close()
    assert (title, mode) == ("Ask the papers", "launcher")
