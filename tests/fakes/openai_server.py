"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests, with scripted replies.

It speaks enough of the chat-completions protocol for the ``openai`` SDK and llama-index's
``OpenAILike``: ``POST /v1/chat/completions`` (JSON, or server-sent events when the request
says ``"stream": true``) and ``GET /v1/models``. Replies are taken from a queue, one per
chat request, in order; every request body is recorded.

Usage::

    from tests.fakes.openai_server import Reply, fake_openai_server

    with fake_openai_server() as server:
        server.queue("Het antwoord [002_d05e322e15ff4b92:14:0].")
        server.queue(Reply.error(500))            # HTTP 500 with an OpenAI error body
        server.queue(Reply.slow("te laat", 2.0))  # waits 2 s before answering: trips a short timeout
        server.queue(Reply.garbage())             # 200 with a body that is not JSON
        settings = LLMSettings(base_url=server.base_url, model=server.model)
        ...
        server.requests[0]["model"]       # the JSON body of the first chat request
        server.request_text(0)            # all message contents of that request, joined

Or as the pytest fixture ``openai_server`` (registered in tests/conftest.py): take it as an
argument. A chat request that finds the queue empty gets HTTP 500
with the message ``fake_openai: no reply queued``, so a test never passes on a reply it did not script.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

DEFAULT_MODEL = "fake-model"
CHUNK_CHARS = 5


@dataclass(frozen=True)
class Reply:
    """One scripted reply to a chat request.

    ``text``: the assistant message. ``status``: HTTP status; anything but 200 sends an OpenAI
    error body with ``text`` as its message. ``delay_s``: wait this long before sending anything.
    ``not_json``: send a body that is not JSON (or, when streaming, an event that is not JSON).
    ``chunks``: the deltas of a streamed reply; by default ``text`` is cut every few characters.
    """

    text: str = ""
    status: int = 200
    delay_s: float = 0.0
    not_json: bool = False
    chunks: tuple[str, ...] | None = None

    @classmethod
    def ok(cls, text: str, *, chunks: list[str] | None = None) -> Reply:
        return cls(text=text if chunks is None else "".join(chunks), chunks=None if chunks is None else tuple(chunks))

    @classmethod
    def error(cls, status: int, message: str = "fake_openai: scripted error") -> Reply:
        return cls(text=message, status=status)

    @classmethod
    def slow(cls, text: str, delay_s: float) -> Reply:
        return cls(text=text, delay_s=delay_s)

    @classmethod
    def garbage(cls) -> Reply:
        return cls(not_json=True)

    def deltas(self) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        return [self.text[i : i + CHUNK_CHARS] for i in range(0, len(self.text), CHUNK_CHARS)]


@dataclass
class FakeOpenAIServer:
    """Handle on a running fake server: where it listens, what to answer, what it was asked."""

    base_url: str
    model: str
    requests: list[dict] = field(default_factory=list)
    request_headers: list[dict[str, str]] = field(default_factory=list)
    _replies: deque[Reply] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)

    def queue(self, reply: Reply | str, *, times: int = 1) -> None:
        """Script the next reply (a string is a plain text reply); ``times`` repeats it."""
        reply = Reply.ok(reply) if isinstance(reply, str) else reply
        with self._lock:
            self._replies.extend([reply] * times)

    def pending(self) -> int:
        """Replies queued but not yet sent."""
        with self._lock:
            return len(self._replies)

    def request_text(self, index: int = -1) -> str:
        """All message contents of one recorded chat request, joined by blank lines."""
        return "\n\n".join(str(m.get("content", "")) for m in self.requests[index].get("messages", []))

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else Reply.error(500, "fake_openai: no reply queued")

    def _record(self, body: dict, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(body)
            self.request_headers.append(headers)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeOpenAI/1.0"
    fake: FakeOpenAIServer  # set on a subclass per server

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature of the base class
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": self.fake.model, "object": "model", "created": 0, "owned_by": "fake"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(404, f"fake_openai: no route GET {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"fake_openai: no route POST {self.path}")
            return
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_error(400, "fake_openai: request body is not JSON")
            return
        self.fake._record(body, {k.lower(): v for k, v in self.headers.items()})
        reply = self.fake._next_reply()
        if reply.delay_s and self.fake._closing.wait(reply.delay_s):
            return
        try:
            if reply.status != 200:
                self._send_error(reply.status, reply.text)
            elif body.get("stream"):
                self._send_stream(reply, body.get("model", self.fake.model))
            elif reply.not_json:
                self._send_bytes(200, b"<html>this is not JSON{", "application/json")
            else:
                self._send_json(200, _completion(reply.text, body.get("model", self.fake.model)))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired): nothing left to answer

    def _send_stream(self, reply: Reply, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if reply.not_json:
            self._event("this is not JSON{")
            return
        self._event(json.dumps(_chunk(model, {"role": "assistant", "content": ""}, None)))
        for delta in reply.deltas():
            self._event(json.dumps(_chunk(model, {"content": delta}, None)))
        self._event(json.dumps(_chunk(model, {}, "stop")))
        self._event("[DONE]")

    def _event(self, data: str) -> None:
        self.wfile.write(f"data: {data}\n\n".encode())
        self.wfile.flush()

    def _send_error(self, status: int, message: str) -> None:
        error = {"message": message, "type": "fake_error", "param": None, "code": str(status)}
        self._send_json(status, {"error": error})

    def _send_json(self, status: int, payload: dict) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _completion(text: str, model: str) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict, finish_reason: str | None) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Do not wait for handlers still sleeping on a scripted delay when the test ends.
    block_on_close = False


@contextmanager
def fake_openai_server(model: str = DEFAULT_MODEL) -> Iterator[FakeOpenAIServer]:
    """Run a fake OpenAI server on 127.0.0.1 on a free port for the duration of the block."""
    handler = type("_BoundHandler", (_Handler,), {})
    httpd = _Server(("127.0.0.1", 0), handler)
    host, port = httpd.server_address[:2]
    fake = FakeOpenAIServer(base_url=f"http://{host}:{port}/v1", model=model)
    handler.fake = fake
    # A short poll interval makes shutdown (the end of every test) quick.
    serve = {"poll_interval": 0.05}
    thread = threading.Thread(target=httpd.serve_forever, kwargs=serve, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake._closing.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAIServer]:
    """Pytest fixture: a fresh fake OpenAI server per test."""
    with fake_openai_server() as server:
        yield server
