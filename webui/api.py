"""What the chat, the Gradio API and POST /api/ask share: validation, the answer gate, JSON shape."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from kamerbron.errors import KamerbronError, QuestionInvalidError
from kamerbron.records import Answer, Filters, validation_message
from kamerbron.settings import Settings
from rag.answer import validate_question as validate

# Requests allowed to wait per answering slot before POST /api/ask answers 429.
WAITING_PER_SLOT = 4


class AskQueueFullError(KamerbronError):
    """Too many questions are being answered or waiting; the client should try again shortly."""


class AskRequestInvalidError(KamerbronError):
    """The body of an API request is not what /api/ask takes. Message in Dutch."""


class AskGate:
    """At most ``concurrency`` questions answered at once, at most ``max_waiting`` more waiting.

    Shared by the chat and POST /api/ask, so both together never exceed the configured concurrency.
    """

    def __init__(self, concurrency: int, max_waiting: int | None = None) -> None:
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self._admitted = 0
        waiting = concurrency * WAITING_PER_SLOT if max_waiting is None else max_waiting
        self.capacity = concurrency + waiting

    @contextmanager
    def enter(self) -> Iterator[None]:
        with self._lock:
            if self._admitted >= self.capacity:
                raise AskQueueFullError(
                    "Er worden nu te veel vragen tegelijk beantwoord. Probeer het over een halve minuut opnieuw."
                )
            self._admitted += 1
        try:
            with self._slots:
                yield
        finally:
            with self._lock:
                self._admitted -= 1


def validate_question(question: Any, settings: Settings) -> str:
    """The cleaned question, or QuestionInvalidError with a Dutch message (the answering stage's own rules)."""
    return validate(question, settings)


def make_filters(
    *,
    parties: list[str] | None = None,
    speakers: list[str] | None = None,
    doc_ids: list[str] | None = None,
    date_from: str = "",
    date_to: str = "",
) -> Filters | None:
    """Filters from the chat's filter fields, or None when nothing is filtered."""
    try:
        filters = Filters(
            parties=list(parties or []),
            speakers=list(speakers or []),
            doc_ids=list(doc_ids or []),
            date_from=date_from or "",
            date_to=date_to or "",
        )
    except ValidationError as error:
        raise QuestionInvalidError(validation_message(error)) from None
    return None if filters.is_empty() else filters


def parse_filters(raw: Any) -> Filters | None:
    """Filters from an API request's "filters" object; unknown fields are refused, not ignored."""
    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        raise AskRequestInvalidError("'filters' moet een object zijn, bijvoorbeeld {\"parties\": [\"SP\"]}.")
    unknown = sorted(set(raw) - set(Filters.model_fields))
    if unknown:
        raise AskRequestInvalidError(
            f"Onbekend filter: {', '.join(unknown)}. Toegestaan: {', '.join(Filters.model_fields)}."
        )
    try:
        filters = Filters.model_validate(raw)
    except ValidationError as error:
        if all(e.get("type") == "value_error" for e in error.errors()):
            raise QuestionInvalidError(validation_message(error)) from None
        fields = ", ".join(str(e["loc"][0]) for e in error.errors() if e.get("loc"))
        raise AskRequestInvalidError(f"Ongeldige waarde in 'filters' ({fields}): gebruik lijsten van tekst.") from None
    return None if filters.is_empty() else filters


def parse_history(raw: Any) -> list[tuple[str, str]]:
    """[[question, answer], ...] from an API request."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list) or not all(
        isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
        for pair in raw
    ):
        raise AskRequestInvalidError("'history' moet een lijst van [vraag, antwoord]-paren zijn.")
    return [(q, a) for q, a in raw]


def answer_payload(answer: Answer) -> dict:
    """The JSON of an answer: exactly `python -m rag ask --json`."""
    return answer.to_json()
