"""What the chat, the Gradio API and POST /api/ask share: validation, the answer gate, JSON shape."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from pydantic import ValidationError

from rag.errors import KamerbronError, QuestionInvalidError
from rag.records import Answer, Filters
from rag.settings import Settings

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
    from rag.answer import validate_question as validate

    return validate(question, settings)


def _check_date(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise QuestionInvalidError(
            f"De datum '{value}' bij '{label}' is ongeldig; gebruik de vorm JJJJ-MM-DD, bijvoorbeeld 2021-03-15."
        ) from None


def make_filters(
    *,
    parties: list[str] | None = None,
    speakers: list[str] | None = None,
    doc_ids: list[str] | None = None,
    date_from: str = "",
    date_to: str = "",
) -> Filters | None:
    """Filters from the chat's filter fields, or None when nothing is filtered."""
    filters = Filters(
        parties=list(parties or []),
        speakers=list(speakers or []),
        doc_ids=list(doc_ids or []),
        date_from=_check_date(date_from, "periode vanaf"),
        date_to=_check_date(date_to, "periode tot en met"),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise QuestionInvalidError("De periode klopt niet: de begindatum ligt na de einddatum.")
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
        fields = ", ".join(str(e["loc"][0]) for e in error.errors() if e.get("loc"))
        raise AskRequestInvalidError(f"Ongeldige waarde in 'filters' ({fields}): gebruik lijsten van tekst.") from None
    filters.date_from = _check_date(filters.date_from, "date_from")
    filters.date_to = _check_date(filters.date_to, "date_to")
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
    """The JSON of an answer: exactly `python -m rag ask --json`, plus each retrieved passage's
    doc_title and url, which the widget needs for the cards of passages it does not cite."""
    from rag.__main__ import answer_json

    payload = answer_json(answer)
    for item, passage in zip(payload["retrieved"], answer.retrieved):
        item["doc_title"], item["url"] = passage.doc_title, passage.url
    return payload
