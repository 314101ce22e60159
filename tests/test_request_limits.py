"""What one request may cost (issue #12, findings 1 and 6): body size, JSON depth and text, history
limits, on POST /api/ask and Gradio's routes alike; every refusal a 4xx with a Dutch message."""

from __future__ import annotations

import json

import pytest
from starlette.responses import JSONResponse
from starlette.testclient import TestClient

from tests.fakes.answerer import FakeAnswerer
from tests.fakes.settings import make_settings
from webui.api import json_problem
from webui.chat import ChatHandlers
from webui.server import RequestLimitsMiddleware, create_server

PROXY = ("127.0.0.1", 50000)
DEEP = b'{"question": "Vraag?", "history": ' + b"[" * 2000 + b"]" * 2000 + b"}"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    answerer = FakeAnswerer()
    server = create_server(make_settings(tmp_path_factory.mktemp("limits")), answerer)
    with TestClient(server, client=PROXY) as client:
        client.answerer = answerer
        yield client


def post_raw(client, path: str, body: bytes, **headers):
    return client.post(path, content=body, headers={"Content-Type": "application/json"} | headers)


def history(pairs: int, chars: int = 20) -> list[list[str]]:
    return [["v" * chars, "a" * chars] for _ in range(pairs)]


# --- body size ---------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(app):
    response = post_raw(app, "/api/ask", b'{"question": "' + b"x" * 300_000 + b'"}')
    assert response.status_code == 413


def test_413_says_why_in_dutch(app):
    response = post_raw(app, "/api/ask", b" " * 300_000)
    assert response.json()["error"] == "De aanvraag is te groot (maximaal 256 kB)."


def test_streamed_body_over_the_limit_is_413(app):
    def chunks():
        for _ in range(300):
            yield b"x" * 1024

    assert app.post("/api/ask", content=chunks()).status_code == 413


def test_body_limit_holds_on_gradio_routes(app):
    response = post_raw(app, "/gradio_api/queue/join", b'{"data": ["' + b"x" * 300_000 + b'"]}')
    assert response.status_code == 413


def test_body_limit_holds_on_unknown_routes(app):
    assert post_raw(app, "/nergens", b"x" * 300_000).status_code == 413


def test_oversized_body_does_not_reach_the_answerer(app):
    before = len(app.answerer.calls)
    post_raw(app, "/api/ask", b'{"question": "' + b"x" * 300_000 + b'"}')
    assert len(app.answerer.calls) == before


def test_body_limit_is_a_setting(tmp_path):
    server = create_server(make_settings(tmp_path, app={"max_body_bytes": 2048}), FakeAnswerer())
    response = TestClient(server).post("/api/ask", json={"question": "Vraag?", "history": history(1, 1500)})
    assert response.status_code == 413


# --- JSON depth and text -------------------------------------------------------------------------------


def test_json_nested_2000_levels_is_422(app):
    assert post_raw(app, "/api/ask", DEEP).status_code == 422


def test_json_nesting_message_is_dutch(app):
    assert post_raw(app, "/api/ask", DEEP).json()["error"].startswith("De aanvraag is te diep genest")


def test_json_nested_2000_levels_on_gradio_is_422(app):
    body = b'{"data": ' + b"[" * 2000 + b"]" * 2000 + b"}"
    assert post_raw(app, "/gradio_api/call/ask", body).status_code == 422


def test_brackets_inside_strings_do_not_count_as_depth():
    assert json_problem(json.dumps({"question": "[" * 5000}).encode()) is None


def test_lone_surrogate_in_question_is_422(app):
    assert post_raw(app, "/api/ask", b'{"question": "Wat zei de SP \\ud800?"}').status_code == 422


def test_lone_surrogate_in_history_is_422(app):
    body = b'{"question": "En de VVD?", "history": [["Wat zei de SP?", "Dit \\udfff"]]}'
    assert post_raw(app, "/api/ask", body).status_code == 422


def test_lone_surrogate_in_a_key_is_422(app):
    assert post_raw(app, "/api/ask", b'{"question": "Vraag?", "\\ud800": 1}').status_code == 422


def test_lone_surrogate_on_gradio_is_422(app):
    assert post_raw(app, "/gradio_api/call/ask", b'{"data": ["Wat \\ud800?"]}').status_code == 422


def test_surrogate_pair_is_fine(app):
    response = post_raw(app, "/api/ask", b'{"question": "Wat zei de SP \\ud83d\\ude00?"}')
    assert response.status_code == 200


def test_body_that_is_not_utf8_is_400(app):
    response = post_raw(app, "/api/ask", b'{"question": "Wat zei de SP \xff?"}')
    assert (response.status_code, response.json()["error"]) == (400, "De aanvraag is geen geldige UTF-8-tekst.")


def test_question_with_surrogate_is_refused_in_the_chat(tmp_path):
    messages, _, _ = list(ChatHandlers(FakeAnswerer(), make_settings(tmp_path)).respond("Wat zei de SP \ud800?", []))[
        -1
    ]
    html = messages[-1]["content"]
    assert "tekens die geen tekst zijn" in html


# --- history -----------------------------------------------------------------------------------------------


def test_history_over_the_pair_limit_is_422(app):
    response = app.post("/api/ask", json={"question": "En de VVD?", "history": history(21)})
    assert response.status_code == 422


def test_history_of_1000_pairs_is_422_not_500(app):
    response = app.post("/api/ask", json={"question": "En de VVD?", "history": history(1200)})
    assert (response.status_code, response.json()["error"][:38]) == (422, "De gespreksgeschiedenis is te lang (12")


def test_history_over_the_character_limit_is_422(app):
    response = app.post("/api/ask", json={"question": "En de VVD?", "history": history(5, 5000)})
    assert (response.status_code, "tekens; maximaal 40000" in response.json()["error"]) == (422, True)


def test_history_within_the_limits_is_answered(app):
    response = app.post("/api/ask", json={"question": "En de VVD?", "history": history(20, 900)})
    assert response.status_code == 200


def test_long_history_does_not_reach_the_answerer(app):
    before = len(app.answerer.calls)
    app.post("/api/ask", json={"question": "En de VVD?", "history": history(21)})
    assert len(app.answerer.calls) == before


def test_history_limits_hold_on_the_gradio_api(app):
    event = app.post("/gradio_api/call/ask", json={"data": ["En de VVD?", history(21), None]}).json()["event_id"]
    stream = app.get(f"/gradio_api/call/ask/{event}").text
    assert "event: error" in stream and "De gespreksgeschiedenis is te lang" in stream


def test_history_limits_are_settings(tmp_path):
    settings = make_settings(tmp_path, app={"max_history_pairs": 2})
    response = TestClient(create_server(settings, FakeAnswerer())).post(
        "/api/ask", json={"question": "En de VVD?", "history": history(3)}
    )
    assert response.status_code == 422


def test_long_chat_passes_only_the_last_pairs(tmp_path):
    answerer = FakeAnswerer()
    handlers = ChatHandlers(answerer, make_settings(tmp_path, app={"max_history_pairs": 3}))
    turns: list = []
    for n in range(5):
        *_, (_, turns, _) = handlers.respond(f"Vraag {n} over mensenhandel?", turns)
    assert [q for q, _ in answerer.calls[-1]["history"]] == [f"Vraag {n} over mensenhandel?" for n in (1, 2, 3)]


# --- Gradio's own refusals, in Dutch ---------------------------------------------------------------------


def test_gradio_body_of_the_wrong_shape_is_422_in_dutch(app):
    response = app.post("/gradio_api/call/ask", json={"data": "geen lijst"})
    assert (response.status_code, response.json()["detail"]) == (
        422,
        "De aanvraag heeft niet de vorm die dit adres verwacht.",
    )


def queue_full_app(scope, receive, send):
    """Stands in for Gradio answering a full queue, as gradio/routes.py does."""
    return JSONResponse({"detail": "Queue is full. Max size is 64 and size is 64."}, status_code=503)(
        scope, receive, send
    )


@pytest.fixture
def full_queue():
    limits = RequestLimitsMiddleware(
        queue_full_app, max_body_bytes=1024, per_client=4, gradio_backlog=lambda client: 0, retry_after_s=lambda: 7
    )
    return TestClient(limits)


def test_gradio_full_queue_is_429(full_queue):
    assert full_queue.post("/gradio_api/queue/join", json={"data": []}).status_code == 429


def test_gradio_full_queue_message_is_dutch(full_queue):
    detail = full_queue.post("/gradio_api/queue/join", json={"data": []}).json()["detail"]
    assert detail == "Het is nu te druk: er wachten al veel vragen. Probeer het over 7 seconden opnieuw."


def test_gradio_full_queue_has_retry_after(full_queue):
    assert full_queue.post("/gradio_api/queue/join", json={"data": []}).headers["retry-after"] == "7"
