"""The widget's side of the app without a browser: the answer markup it is sent (webui/render.py, the
same the chat shows), in Dutch or English, and the cross-origin rules of the route it streams from."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.fakes.answerer import CAPACITY_QUESTION, FakeAnswerer, capacity_answer, refusal_answer
from tests.fakes.settings import make_settings
from webui.render import LABELS, answer_html
from webui.server import create_server

INTRANET = "https://intranet.example"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("widget-api"), app={"allowed_origins": [INTRANET]})
    with TestClient(create_server(settings, FakeAnswerer())) as client:
        yield client


def final_payload(app, **extra) -> dict:
    """The ``kamerbron`` field of the last chunk of a streamed answer to the capacity question."""
    body = {"model": "kamerbron", "stream": True, "messages": [{"role": "user", "content": CAPACITY_QUESTION}]}
    response = app.post("/v1/chat/completions", json=body | extra)
    events = [line.removeprefix("data: ") for line in response.text.splitlines() if line.startswith("data: ")]
    chunks = [json.loads(event) for event in events if event != "[DONE]"]
    return next(chunk["kamerbron"] for chunk in chunks if "kamerbron" in chunk)


def test_stream_carries_the_chats_markup_when_asked(app):
    assert final_payload(app, html="nl")["html"] == answer_html(capacity_answer())


def test_stream_carries_no_markup_unless_asked(app):
    assert "html" not in final_payload(app)


def test_stream_markup_in_english(app):
    html = final_payload(app, html="en")["html"]
    assert (LABELS["en"].sources in html, LABELS["nl"].sources in html) == (True, False)


def test_unknown_markup_language_is_400(app):
    body = {"model": "kamerbron", "messages": [{"role": "user", "content": CAPACITY_QUESTION}], "html": "fr"}
    assert app.post("/v1/chat/completions", json=body).status_code == 400


def test_english_card_names_the_official_source():
    assert ">Official source</a>" in answer_html(capacity_answer(), lang="en")


def test_english_card_keeps_the_dutch_date_out_of_a_title_that_has_it():
    answer = capacity_answer()
    answer.citations[0].doc_title = "Verslag van een algemeen overleg, gehouden op 27 september 2018"
    assert "27 September 2018" not in answer_html(answer, lang="en").split('class="kb-card"')[1]


def test_english_refusal_marks_passages_not_answering():
    assert f'<span class="kb-badge">{LABELS["en"].not_answering}</span>' in answer_html(refusal_answer(), lang="en")


def test_every_label_has_an_english_counterpart():
    assert LABELS["en"].quote_warnings.keys() == LABELS["nl"].quote_warnings.keys()


def test_cors_preflight_for_the_streaming_route(app):
    headers = {
        "Origin": INTRANET,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    response = app.options("/v1/chat/completions", headers=headers)
    assert (response.status_code, response.headers.get("access-control-allow-origin")) == (204, INTRANET)


def test_streaming_route_refuses_a_disallowed_origin(app):
    body = {"model": "kamerbron", "messages": [{"role": "user", "content": CAPACITY_QUESTION}]}
    assert app.post("/v1/chat/completions", json=body, headers={"Origin": "https://evil.example"}).status_code == 403


def test_widget_script_defines_the_element(app):
    assert 'customElements.define("kamerbron-chat"' in app.get("/widget.js").text
