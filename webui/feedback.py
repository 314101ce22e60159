"""Durable chat feedback: one JSON line per like, dislike or comment, appended and fsynced."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from kamerbron.records import Answer


class FeedbackRecord(BaseModel):
    """One piece of feedback on one answer, as stored in the feedback file."""

    timestamp: str = Field(description="ISO 8601 UTC time the feedback was given.")
    question: str
    answer: str = Field(description="Answer text with [n] markers.")
    refused: bool = False
    citations: list[dict] = Field(default_factory=list)
    settings_hash: str = ""
    rating: Literal["like", "dislike"] | None = None
    comment: str = ""
    user: str = Field("", description="Signed-in user, when authentication is on.")

    @classmethod
    def from_answer(
        cls, answer: Answer, *, rating: str | None = None, comment: str = "", user: str = ""
    ) -> FeedbackRecord:
        return cls(
            timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
            question=answer.question,
            answer=answer.answer,
            refused=answer.refused,
            citations=[c.model_dump() for c in answer.citations],
            settings_hash=answer.settings_hash,
            rating=rating,
            comment=comment,
            user=user,
        )


class FeedbackStore:
    """Appends feedback records to a JSON-lines file; never rewrites or truncates it.

    A thread lock serialises writers in this process and ``flock`` those in other processes,
    so concurrent appends never interleave within a line.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: FeedbackRecord) -> None:
        line = json.dumps(record.model_dump(), ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read(self) -> list[FeedbackRecord]:
        """All records; a damaged line (e.g. from a crash mid-write) is skipped, not fatal."""
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(FeedbackRecord.model_validate_json(line))
            except ValueError:
                continue
        return records


class FeedbackRateLimit:
    """At most ``per_minute`` feedback records per client in any 60 seconds, so no one can flood the file.

    Remembers at most ``max_clients`` clients; the one idle longest is forgotten first.
    """

    WINDOW_S = 60.0

    def __init__(
        self, per_minute: int, *, max_clients: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._times: dict[str, deque[float]] = {}

    def allow(self, client: str) -> bool:
        """Count one record for ``client`` and say whether it may be stored."""
        now = self._clock()
        with self._lock:
            times = self._times.pop(client, None) or deque()
            while times and now - times[0] >= self.WINDOW_S:
                times.popleft()
            allowed = len(times) < self.per_minute
            if allowed:
                times.append(now)
            self._times[client] = times  # re-inserted last: dicts keep order, so the first is the idlest
            while len(self._times) > self.max_clients:
                del self._times[next(iter(self._times))]
            return allowed
