"""The real app under uvicorn on 127.0.0.1, in a thread: for browser and HTTP tests."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
import uvicorn

from tests.fakes.ports import free_port


@contextlib.contextmanager
def serve(app):
    """The app under uvicorn on 127.0.0.1:<free port> in a thread; ``.base_url`` is set."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        pytest.fail("the app did not start under uvicorn")
    server.base_url = f"http://127.0.0.1:{server.config.port}"
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
