"""Chat feedback: the store (``kamerbron.feedback_store``, shared with ``eval``) and a per-client rate limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from kamerbron.feedback_store import FeedbackStore

__all__ = ["FeedbackRateLimit", "FeedbackStore"]


class FeedbackRateLimit:
    """At most ``per_minute`` feedback records per client in any 60 seconds, so no one can flood the database.

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
