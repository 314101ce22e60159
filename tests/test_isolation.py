"""The test suite's own guarantees: no network beyond loopback, no developer settings leaking in."""

from __future__ import annotations

import os
import socket

import pytest
from pytest_socket import SocketConnectBlockedError

from kamerbron.settings import ENV_FILE_VARIABLE


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_a_connection_outside_loopback_fails_the_test():
    # 192.0.2.1 is TEST-NET-1: the attempt is refused before any packet leaves
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("192.0.2.1", 80), timeout=1)


def test_a_connection_to_loopback_is_allowed():
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname(), timeout=5) as client,
    ):
        assert client.getpeername() == server.getsockname()


def test_no_kamerbron_variable_of_the_shell_reaches_a_test():
    assert {k: v for k, v in os.environ.items() if k.startswith("KAMERBRON_")} == {ENV_FILE_VARIABLE: ""}
