"""Identity and abuse (issue #12, findings 5 and 6): the trusted user header only from configured
proxies, feedback only on this session's answers and rate-limited, uploads closed, like events that
used to give a 500."""

from __future__ import annotations

import gradio as gr
import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from kamerbron.errors import SettingsInvalidError
from kamerbron.settings import Settings, load_settings
from tests.fakes.answerer import CAPACITY_QUESTION, FakeAnswerer
from tests.fakes.settings import make_settings
from webui.chat import FEEDBACK_ONLY_ON_ANSWERS, FEEDBACK_TOO_FAST, ChatHandlers
from webui.feedback import FeedbackRateLimit, FeedbackStore
from webui.server import Access, create_server

PROXY = "10.0.0.2"
HEADER = {"X-Remote-User": "j.jansen"}


def proxied_app(tmp_path, peer: str, proxies: list[str]) -> TestClient:
    settings = make_settings(tmp_path, app={"trusted_user_header": "X-Remote-User", "trusted_proxies": proxies})
    return TestClient(create_server(settings, FakeAnswerer()), client=(peer, 50000))


# --- the trusted user header ---------------------------------------------------------------------------


def test_user_header_from_elsewhere_is_401(tmp_path):
    client = proxied_app(tmp_path, "192.168.1.50", [PROXY])
    assert client.post("/api/ask", json={"question": "Vraag?"}, headers=HEADER).status_code == 401


def test_user_header_from_elsewhere_is_refused_in_dutch(tmp_path):
    client = proxied_app(tmp_path, "192.168.1.50", [PROXY])
    error = client.post("/api/ask", json={"question": "Vraag?"}, headers=HEADER).json()["error"]
    assert error.startswith("Aanmelden kan alleen via het intranet")


def test_user_header_from_elsewhere_cannot_open_the_chat(tmp_path):
    assert proxied_app(tmp_path, "192.168.1.50", [PROXY]).get("/", headers=HEADER).status_code == 401


def test_user_header_from_the_proxy_is_answered(tmp_path):
    client = proxied_app(tmp_path, PROXY, [PROXY])
    assert client.post("/api/ask", json={"question": "Vraag?"}, headers=HEADER).status_code == 200


def test_proxy_range_is_accepted(tmp_path):
    client = proxied_app(tmp_path, "10.0.7.9", ["10.0.0.0/16"])
    assert client.post("/api/ask", json={"question": "Vraag?"}, headers=HEADER).status_code == 200


def test_no_configured_proxy_trusts_no_one(tmp_path):
    client = proxied_app(tmp_path, "127.0.0.1", [])
    assert client.post("/api/ask", json={"question": "Vraag?"}, headers=HEADER).status_code == 401


def test_loopback_is_the_default_proxy(tmp_path):
    settings = make_settings(tmp_path, app={"trusted_user_header": "X-Remote-User"})
    client = TestClient(create_server(settings, FakeAnswerer()), client=("127.0.0.1", 50000))
    assert client.post("/api/ask", json={"question": "Vraag?"}, headers=HEADER).status_code == 200


def test_trusted_proxies_must_be_addresses(monkeypatch):
    monkeypatch.setenv("KAMERBRON_APP_TRUSTED_PROXIES", '["intranet-proxy"]')
    with pytest.raises(SettingsInvalidError, match="KAMERBRON_APP_TRUSTED_PROXIES"):
        load_settings()


def access(proxies: list[str]) -> Access:
    return Access(Settings(_env_file=None, app={"trusted_proxies": proxies}))


def test_forwarded_address_counts_from_a_proxy():
    scope = {"client": (PROXY, 1)}
    assert access([PROXY]).client_address(scope, Headers({"x-forwarded-for": "203.0.113.5"})) == "203.0.113.5"


def test_forwarded_address_is_ignored_from_elsewhere():
    scope = {"client": ("198.51.100.9", 1)}
    assert access([PROXY]).client_address(scope, Headers({"x-forwarded-for": "203.0.113.5"})) == "198.51.100.9"


def test_forwarded_chain_is_read_from_the_right():
    scope = {"client": (PROXY, 1)}
    headers = Headers({"x-forwarded-for": "1.2.3.4, 203.0.113.5, 10.0.0.3"})
    assert access([PROXY, "10.0.0.3"]).client_address(scope, headers) == "203.0.113.5"


# --- uploads -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    with TestClient(create_server(make_settings(tmp_path_factory.mktemp("access")), FakeAnswerer())) as client:
        yield client


def test_gradio_upload_is_closed(app):
    response = app.post("/gradio_api/upload", files={"files": ("brief.txt", b"hallo")})
    assert (response.status_code, response.json()["error"]) == (403, "Bestanden uploaden kan niet in Kamerbron.")


# --- like events ------------------------------------------------------------------------------------------------


def like_fn_index(client: TestClient) -> int:
    return next(d["id"] for d in client.get("/config").json()["dependencies"] if d.get("api_name") == "like")


@pytest.mark.parametrize("index", ["abc", None, [None, None], {"rij": 1}, -1, 10**30, True])
def test_like_event_with_a_bad_index_is_answered_not_500(app, index):
    response = app.post(
        "/gradio_api/run/predict",
        json={
            "fn_index": like_fn_index(app),
            "data": [None],
            "session_hash": "s-like",
            "event_data": {"index": index, "value": "", "liked": True},
        },
    )
    assert (response.status_code, response.json()["data"][-1]) == (200, FEEDBACK_ONLY_ON_ANSWERS)


def test_like_event_without_event_data_is_answered_not_500(app):
    response = app.post(
        "/gradio_api/run/predict",
        json={"fn_index": like_fn_index(app), "data": [None], "session_hash": "s-like", "event_data": None},
    )
    assert response.status_code == 200


def like(handlers: ChatHandlers, turns, index, liked=True):
    return handlers.like(turns, gr.LikeData(None, {"index": index, "value": "", "liked": liked}))


@pytest.mark.parametrize("index", ["abc", None, "1", 1.0, [], ["x", 0]])
def test_like_with_a_bad_index_stores_nothing(settings, index):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    *_, (_, turns, _) = handlers.respond(CAPACITY_QUESTION, [])
    _, status = like(handlers, turns, index)
    assert (status, FeedbackStore(settings.paths.feedback_db).read()) == (FEEDBACK_ONLY_ON_ANSWERS, [])


def test_like_in_another_session_stores_nothing(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    handlers.respond(CAPACITY_QUESTION, [])
    like(handlers, [], 1)
    assert FeedbackStore(settings.paths.feedback_db).read() == []


def test_like_of_an_answer_of_this_session_is_stored(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    *_, (_, turns, _) = handlers.respond(CAPACITY_QUESTION, [])
    like(handlers, turns, [1, None])
    assert FeedbackStore(settings.paths.feedback_db).read()[0].question == CAPACITY_QUESTION


# --- feedback rate limit -------------------------------------------------------------------------------------------


def test_feedback_past_the_rate_limit_is_refused(tmp_path):
    settings = make_settings(tmp_path, app={"feedback_per_minute": 3})
    handlers = ChatHandlers(FakeAnswerer(), settings)
    *_, (_, turns, _) = handlers.respond(CAPACITY_QUESTION, [])
    statuses = [like(handlers, turns, 1, liked)[1] for liked in (True, False, True, False)]
    assert (statuses[-1], len(FeedbackStore(settings.paths.feedback_db).read())) == (FEEDBACK_TOO_FAST, 3)


def test_comments_count_towards_the_rate_limit(tmp_path):
    settings = make_settings(tmp_path, app={"feedback_per_minute": 1})
    handlers = ChatHandlers(FakeAnswerer(), settings)
    *_, (_, turns, _) = handlers.respond(CAPACITY_QUESTION, [])
    like(handlers, turns, 1)
    assert handlers.comment(turns, "Nog iets.")[2] == FEEDBACK_TOO_FAST


def test_rate_limit_is_per_client():
    limit = FeedbackRateLimit(1)
    assert (limit.allow("ip:1"), limit.allow("ip:1"), limit.allow("ip:2")) == (True, False, True)


def test_rate_limit_window_moves_on():
    now = [0.0]
    limit = FeedbackRateLimit(1, clock=lambda: now[0])
    limit.allow("c")
    now[0] = 61.0
    assert limit.allow("c")


def test_rate_limit_forgets_the_idlest_client_first():
    limit = FeedbackRateLimit(1, max_clients=2)
    for client in ("a", "b", "c"):
        limit.allow(client)
    assert (limit.allow("a"), limit.allow("c")) == (True, False)
