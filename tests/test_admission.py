"""Admission to the answering slots (issue #12, finding 4): slots sized to the cores, API callers
never starving the chat, per-client limits, an honest Retry-After and Dutch queue messages."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from starlette.testclient import TestClient

from kamerbron.settings import Settings
from tests.fakes.answerer import FakeAnswerer
from tests.fakes.settings import make_settings
from webui.api import AskClientBusyError, AskGate, AskQueueFullError, answer_slots
from webui.server import create_server

PROXY = ("127.0.0.1", 50000)


def hold(
    gate: AskGate, channel: str, client: str, release: threading.Event, order: list | None = None
) -> threading.Thread:
    """A thread that takes a slot (waiting if need be), notes it in ``order`` and keeps it until ``release``."""

    def run() -> None:
        with gate.enter(channel, client):
            if order is not None:
                order.append(client)
            release.wait(timeout=30)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached")
        time.sleep(0.01)


# --- slots ------------------------------------------------------------------------------------------


def test_slots_follow_the_cores_by_default(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert answer_slots(Settings(_env_file=None)) == 8


def test_configured_concurrency_wins(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert answer_slots(Settings(_env_file=None, app={"concurrency": 3})) == 3


def test_api_share_of_the_slots_comes_from_settings():
    gate = AskGate.from_settings(Settings(_env_file=None, app={"concurrency": 8, "api_slot_share": 0.25}))
    assert (gate.slots, gate.api_slots) == (8, 2)


def test_api_holds_at_most_its_share():
    gate, release = AskGate(4, api_slots=2), threading.Event()
    threads = [hold(gate, "api", f"c{n}", release) for n in range(3)]
    wait_until(lambda: gate.snapshot()["waiting"]["api"] == 1)
    running = gate.snapshot()["running"]
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert running == {"api": 2}


def test_chat_takes_the_slots_api_may_not():
    gate, release = AskGate(4, api_slots=2), threading.Event()
    threads = [hold(gate, "api", f"a{n}", release) for n in range(3)]
    threads += [hold(gate, "chat", f"c{n}", release) for n in range(2)]
    wait_until(lambda: gate.snapshot()["running"].get("chat") == 2)
    release.set()
    for thread in threads:
        thread.join(timeout=10)


def test_free_slot_goes_to_the_waiting_chat_question_first():
    gate, first, rest, order = AskGate(1), threading.Event(), threading.Event(), []
    threads = [hold(gate, "api", "api-1", first, order)]
    wait_until(lambda: order == ["api-1"])
    threads.append(hold(gate, "api", "api-2", rest, order))
    wait_until(lambda: gate.snapshot()["waiting"]["api"] == 1)
    threads.append(hold(gate, "chat", "chat-1", rest, order))
    wait_until(lambda: gate.snapshot()["waiting"]["chat"] == 1)
    first.set()
    wait_until(lambda: len(order) == 2)
    rest.set()
    for thread in threads:
        thread.join(timeout=10)
    assert order == ["api-1", "chat-1", "api-2"]


# --- per-client limits ---------------------------------------------------------------------------------


def test_one_client_may_not_hold_more_than_its_share():
    gate, release = AskGate(2, per_client=2), threading.Event()
    threads = [hold(gate, "api", "same", release) for _ in range(2)]
    wait_until(lambda: sum(gate.snapshot()["running"].values()) + gate.snapshot()["waiting"]["api"] == 2)
    with pytest.raises(AskClientBusyError, match="Je hebt al 2 vragen in behandeling"):
        with gate.enter("api", "same"):
            pass
    release.set()
    for thread in threads:
        thread.join(timeout=10)


def test_other_clients_are_admitted_when_one_is_at_its_limit():
    gate, release = AskGate(4, per_client=1), threading.Event()
    threads = [hold(gate, "api", "same", release)]
    wait_until(lambda: gate.snapshot()["running"].get("api") == 1)
    with gate.enter("api", "other"):
        admitted = True
    release.set()
    threads[0].join(timeout=10)
    assert admitted


def test_full_api_queue_is_refused_in_dutch():
    gate, release = AskGate(1, api_waiting=1), threading.Event()
    threads = [hold(gate, "api", f"c{n}", release) for n in range(2)]
    wait_until(lambda: gate.snapshot()["waiting"]["api"] == 1)
    with pytest.raises(AskQueueFullError, match="Er wachten nu te veel vragen. Probeer het over"):
        with gate.enter("api", "c9"):
            pass
    release.set()
    for thread in threads:
        thread.join(timeout=10)


def test_waiting_api_request_that_goes_away_gives_up_its_place():
    gate, release = AskGate(1), threading.Event()
    holder = hold(gate, "api", "c0", release)
    wait_until(lambda: gate.snapshot()["running"].get("api") == 1)

    async def wait_then_leave() -> None:
        task = asyncio.ensure_future(gate.enter_async("api", "c1").__aenter__())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(wait_then_leave())
    waiting = gate.snapshot()["waiting"]["api"]
    release.set()
    holder.join(timeout=10)
    assert waiting == 0


# --- Retry-After -----------------------------------------------------------------------------------------


def test_retry_after_follows_the_measured_answer_time():
    now = [0.0]
    gate = AskGate(1, api_waiting=0, clock=lambda: now[0])
    for _ in range(30):
        with gate.enter("api", "c"):
            now[0] += 4.0
    with gate.enter("api", "c"):
        with pytest.raises(AskQueueFullError) as refused:
            with gate.enter("api", "d"):
                pass
    assert refused.value.retry_after_s == 4


def test_retry_after_grows_with_the_questions_ahead():
    now = [0.0]
    gate = AskGate(2, clock=lambda: now[0])
    for _ in range(30):
        with gate.enter("chat", "c"):
            now[0] += 2.0
    assert (gate.retry_after_s("chat"), gate.retry_after_s("chat", extra_waiting=6)) == (2, 8)


def test_retry_after_is_at_least_one_second():
    assert AskGate(4).retry_after_s("api") >= 1


class BlockingAnswerer(FakeAnswerer):
    """Holds every API answer (``answer``) until released; chat answers (``stream``) go through."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def answer(self, question, *, history=(), filters=None):
        self.entered.release()
        self.release.wait(timeout=30)
        return super().answer(question, history=history, filters=filters)


@pytest.fixture
def blocked(tmp_path):
    """The app with 2 slots (1 for the API) whose API answers hang until released."""
    answerer = BlockingAnswerer()
    server = create_server(make_settings(tmp_path, app={"concurrency": 2}), answerer)
    with TestClient(server, client=PROXY) as client:
        client.answerer, client.handlers = answerer, server.state.handlers
        yield client
        answerer.release.set()


def ask_from(client, address: str, results: list) -> threading.Thread:
    def run() -> None:
        response = client.post("/api/ask", json={"question": "Vraag?"}, headers={"X-Forwarded-For": address})
        results.append(response)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_chat_is_answered_while_30_api_clients_saturate(blocked):
    results: list = []
    threads = [ask_from(blocked, f"10.0.0.{n}", results) for n in range(1, 31)]
    assert blocked.answerer.entered.acquire(timeout=10)
    wait_until(lambda: blocked.handlers.gate.snapshot()["waiting"]["api"] == 29)
    *_, (messages, turns, _) = blocked.handlers.respond("Wat zei de SP over de politie?", [])
    blocked.answerer.release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert turns[-1]["answer"] is not None


def test_30_api_clients_are_all_answered(blocked):
    results: list = []
    threads = [ask_from(blocked, f"10.0.0.{n}", results) for n in range(1, 31)]
    assert blocked.answerer.entered.acquire(timeout=10)
    blocked.answerer.release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.status_code for r in results) == [200] * 30


def test_one_api_client_gets_429_past_its_limit(blocked):
    results: list = []
    threads = [ask_from(blocked, "10.0.0.7", results) for _ in range(4)]
    gate = blocked.handlers.gate
    wait_until(
        lambda: (
            gate.snapshot()["clients"] == 1
            and sum(gate.snapshot()["running"].values()) == 1
            and gate.snapshot()["waiting"]["api"] == 3
        )
    )
    response = blocked.post("/api/ask", json={"question": "Vraag?"}, headers={"X-Forwarded-For": "10.0.0.7"})
    blocked.answerer.release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert (response.status_code, response.json()["error"][:31]) == (429, "Je hebt al 4 vragen in behandel")


def test_429_retry_after_is_honest_for_a_fast_queue(tmp_path):
    answerer = BlockingAnswerer()
    answerer.release.set()
    server = create_server(make_settings(tmp_path, app={"concurrency": 1}), answerer, api_max_waiting=0)
    with TestClient(server, client=PROXY) as client:
        for _ in range(5):
            client.post("/api/ask", json={"question": "Vraag?"})
        answerer.release.clear()
        answerer.entered = threading.Semaphore(0)
        results: list = []
        first = ask_from(client, "10.0.0.1", results)
        assert answerer.entered.acquire(timeout=10)
        response = client.post("/api/ask", json={"question": "Vraag?"}, headers={"X-Forwarded-For": "10.0.0.2"})
        answerer.release.set()
        first.join(timeout=30)
    assert (response.status_code, int(response.headers["retry-after"]) <= 2) == (429, True)


def test_gradio_api_client_past_its_limit_gets_429_in_dutch(tmp_path):
    answerer = BlockingAnswerer()
    server = create_server(make_settings(tmp_path, app={"concurrency": 2, "max_per_client": 1}), answerer)
    with TestClient(server, client=PROXY) as client:
        first = client.post("/gradio_api/call/ask", json={"data": ["Vraag?", None, None]})
        assert answerer.entered.acquire(timeout=10)
        second = client.post("/gradio_api/call/ask", json={"data": ["Nog een vraag?", None, None]})
        answerer.release.set()
        client.get(f"/gradio_api/call/ask/{first.json()['event_id']}")
    assert (second.status_code, second.json()["detail"][:31], "retry-after" in second.headers) == (
        429,
        "Je hebt al 1 vraag in behandeli",
        True,
    )


def test_gradio_api_client_is_admitted_again_after_its_answer(tmp_path):
    answerer = BlockingAnswerer()
    answerer.release.set()
    server = create_server(make_settings(tmp_path, app={"concurrency": 2, "max_per_client": 1}), answerer)
    with TestClient(server, client=PROXY) as client:
        first = client.post("/gradio_api/call/ask", json={"data": ["Vraag?", None, None]}).json()["event_id"]
        client.get(f"/gradio_api/call/ask/{first}")
        second = client.post("/gradio_api/call/ask", json={"data": ["Nog een vraag?", None, None]})
    assert second.status_code == 200


def test_gradio_questions_still_waiting_in_gradios_queue_count_for_the_client(tmp_path):
    # 2 slots, 1 for the API: the first call is answered (and hangs), the second waits in Gradio's queue
    answerer = BlockingAnswerer()
    server = create_server(make_settings(tmp_path, app={"concurrency": 2, "max_per_client": 2}), answerer)
    with TestClient(server, client=PROXY) as client:
        events = [client.post("/gradio_api/call/ask", json={"data": [f"Vraag {n}?", None, None]}) for n in (1, 2)]
        assert answerer.entered.acquire(timeout=10)
        third = client.post("/gradio_api/call/ask", json={"data": ["Vraag 3?", None, None]})
        answerer.release.set()
        for event in events:
            client.get(f"/gradio_api/call/ask/{event.json()['event_id']}")
    assert (server.state.handlers.gate.snapshot()["running"].get("api", 0), third.status_code) == (0, 429)
