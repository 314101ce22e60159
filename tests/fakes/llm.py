"""An in-process fake of ``rag.llm.ChatLLM`` for code that takes an llm."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

CHUNK_CHARS = 5


class QueuedChatLLM:
    """Replies from a queue; a queued exception is raised instead of replying.

    ``calls`` records the messages of every call. Streaming yields the reply in chunks of a few characters.
    """

    def __init__(self, *replies: str | Exception) -> None:
        self.replies: deque[str | Exception] = deque(replies)
        self.calls: list[list[dict[str, str]]] = []

    def chat(self, messages: list[dict[str, str]]) -> str:
        self.calls.append(messages)
        if not self.replies:
            raise AssertionError("QueuedChatLLM: no reply queued")
        reply = self.replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        return reply

    def stream_chat(self, messages: list[dict[str, str]]) -> Iterator[str]:
        reply = self.chat(messages)
        for i in range(0, len(reply), CHUNK_CHARS):
            yield reply[i : i + CHUNK_CHARS]
