"""What the chat, the Gradio API and POST /api/ask share: request checks, admission, JSON shape."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from kamerbron.errors import KamerbronError, LLMEndpointError, QuestionInvalidError
from kamerbron.records import Answer, Filters, validation_message
from kamerbron.settings import Settings
from rag.answer import validate_question as validate
from rag.llm import user_reason
from webui.api_models import AskRequestBody, ask_body_model, inline_refs

log = logging.getLogger(__name__)

Channel = Literal["chat", "api"]
CHANNELS: tuple[Channel, ...] = ("chat", "api")
# Deeper JSON than any request of the app has (the Gradio envelope is about 5 levels); parsing and
# walking deeper input only costs stack.
MAX_JSON_DEPTH = 32
# A question waits at most this long for an answering slot before it is turned away.
MAX_WAIT_S = 120.0
# The answer time assumed until one has been measured, and how fast the measured average moves.
ANSWER_TIME_PRIOR_S = 1.0
ANSWER_TIME_WEIGHT = 0.2
FILTERS_INVALID = "De filters zijn ongeldig: kies partijen, sprekers en documenten uit de lijsten."
NOT_JSON = "De aanvraag is geen geldige JSON."
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def public_message(error: KamerbronError) -> str:
    """What a user reads for ``error``: its own Dutch message, except for the LLM endpoint's.

    An LLMEndpointError names the endpoint URL and settings, which are for the log, not for users.
    """
    if isinstance(error, LLMEndpointError):
        log.warning("LLM endpoint error shown to the user as a generic message: %s", error)
        return f"Het taalmodel gaf geen antwoord ({user_reason(error)}). Probeer het later opnieuw."
    return str(error)


def ask_request_schema(settings: Settings) -> dict:
    """The body POST /api/ask takes, as JSON Schema without references (the fuzz test draws from it)."""
    return inline_refs(ask_body_model(settings).model_json_schema())


class AskQueueFullError(KamerbronError):
    """Too many questions are being answered or waiting; the client should try again after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AskClientBusyError(AskQueueFullError):
    """This client already has as many questions waiting or being answered as it may."""


class AskRequestInvalidError(KamerbronError):
    """The body of an API request is not what /api/ask takes (HTTP 400). Message in Dutch."""


class AskRequestUnprocessableError(AskRequestInvalidError):
    """Well-formed, but over a limit or with unusable text: a history too long, lone surrogates (HTTP 422)."""


def answer_slots(settings: Settings) -> int:
    """Questions answered at once: ``app.concurrency`` when it is set, else one per CPU core.

    Answering (embedding, ranking, composing) is CPU-bound, so more slots than cores only add waiting.
    """
    if "concurrency" in settings.app.model_fields_set:
        return settings.app.concurrency
    return max(2, os.cpu_count() or 2)


def seconds_nl(seconds: int) -> str:
    return "1 seconde" if seconds == 1 else f"{seconds} seconden"


def client_busy_message(limit: int, wait: int) -> str:
    questions = "1 vraag" if limit == 1 else f"{limit} vragen"
    return (
        f"Je hebt al {questions} in behandeling. Wacht op het antwoord, of probeer het over {seconds_nl(wait)} opnieuw."
    )


@dataclass(eq=False)
class _Ticket:
    channel: Channel
    client: str
    wake: Callable[[], None]
    admitted: bool = False
    started: float = field(default=0.0)


class AskGate:
    """Admission to the answering slots, shared by the chat, the Gradio API and POST /api/ask.

    - At most ``slots`` questions are answered at once; API requests hold at most ``api_slots`` of them.
    - A free slot goes to a waiting chat question before a waiting API request, so API callers
      cannot starve the people in the chat.
    - At most ``api_waiting`` API requests wait; the chat's waiting room is Gradio's queue.
    - One client (user or address) has at most ``per_client`` questions waiting or answered at once.
    - ``retry_after_s`` estimates when a turned-away client may try again, from the measured
      recent answer time and the number of questions ahead.

    Chat questions wait in their (Gradio worker) thread; API requests wait in the event loop, so a
    full queue holds no threads.
    """

    def __init__(
        self,
        slots: int,
        *,
        api_slots: int | None = None,
        api_waiting: int | None = None,
        per_client: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = max(1, slots)
        self.api_slots = max(1, min(self.slots, api_slots or self.slots))
        self.api_waiting = 4 * self.slots if api_waiting is None else api_waiting
        self.per_client = per_client
        self._clock = clock
        self._lock = threading.Lock()
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, deque[_Ticket]] = {channel: deque() for channel in CHANNELS}
        self._by_client: Counter[str] = Counter()
        self._average_s = ANSWER_TIME_PRIOR_S

    @classmethod
    def from_settings(cls, settings: Settings, *, api_waiting: int | None = None) -> AskGate:
        slots = answer_slots(settings)
        app = settings.app
        return cls(
            slots,
            api_slots=max(1, math.floor(slots * app.api_slot_share)),
            api_waiting=app.api_queue_size if api_waiting is None else api_waiting,
            per_client=app.max_per_client,
        )

    # --- entering ------------------------------------------------------------------------------

    @contextmanager
    def enter(self, channel: Channel = "chat", client: str = "") -> Iterator[None]:
        """Hold an answering slot for the block; waits in this thread. Raises AskQueueFullError."""
        woken = threading.Event()
        ticket = self._take(channel, client, woken.set)
        if not ticket.admitted and not woken.wait(MAX_WAIT_S):
            self._give_up(ticket)
        try:
            yield
        finally:
            self._leave(ticket)

    @asynccontextmanager
    async def enter_async(self, channel: Channel = "api", client: str = "") -> AsyncIterator[None]:
        """Hold an answering slot for the block; waits in the event loop. Raises AskQueueFullError."""
        loop = asyncio.get_running_loop()
        admitted = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(lambda: admitted.done() or admitted.set_result(None))

        ticket = self._take(channel, client, wake)
        if not ticket.admitted:
            try:
                await asyncio.wait_for(asyncio.shield(admitted), MAX_WAIT_S)
            except TimeoutError:
                self._give_up(ticket)
            except BaseException:
                # The client went away while waiting: its place (or the slot just given to it) goes to the next.
                self._leave(ticket)
                raise
        try:
            yield
        finally:
            self._leave(ticket)

    def _take(self, channel: Channel, client: str, wake: Callable[[], None]) -> _Ticket:
        with self._lock:
            if self.per_client is not None and self._by_client[client] >= self.per_client:
                wait = self._estimate(self._average_s)
                raise AskClientBusyError(client_busy_message(self.per_client, wait), wait)
            ticket = _Ticket(channel, client, wake)
            if self._free(channel) and not self._waiting[channel]:
                self._admit(ticket)
            elif channel == "api" and len(self._waiting["api"]) >= self.api_waiting:
                wait = self._retry_after_locked("api")
                raise AskQueueFullError(
                    f"Er wachten nu te veel vragen. Probeer het over {seconds_nl(wait)} opnieuw.", wait
                )
            else:
                self._waiting[channel].append(ticket)
            self._by_client[client] += 1
            return ticket

    def _give_up(self, ticket: _Ticket) -> None:
        with self._lock:
            if ticket.admitted:
                return
        self._leave(ticket)
        wait = self.retry_after_s(ticket.channel)
        raise AskQueueFullError(
            f"Het duurde te lang voordat je vraag aan de beurt was. Probeer het over {seconds_nl(wait)} opnieuw.", wait
        )

    def _leave(self, ticket: _Ticket) -> None:
        with self._lock:
            if ticket.admitted:
                self._running[ticket.channel] -= 1
                elapsed = self._clock() - ticket.started
                self._average_s += ANSWER_TIME_WEIGHT * (elapsed - self._average_s)
            elif ticket in self._waiting[ticket.channel]:
                self._waiting[ticket.channel].remove(ticket)
            else:
                return  # already left
            ticket.admitted = False
            self._by_client[ticket.client] -= 1
            if self._by_client[ticket.client] <= 0:
                del self._by_client[ticket.client]
            self._dispatch()

    def _free(self, channel: Channel) -> bool:
        busy = self._running["chat"] + self._running["api"]
        return busy < self.slots and (channel == "chat" or self._running["api"] < self.api_slots)

    def _admit(self, ticket: _Ticket) -> None:
        ticket.admitted = True
        ticket.started = self._clock()
        self._running[ticket.channel] += 1

    def _dispatch(self) -> None:
        for channel in CHANNELS:
            while self._waiting[channel] and self._free(channel):
                ticket = self._waiting[channel].popleft()
                self._admit(ticket)
                ticket.wake()

    # --- telling clients when to come back ---------------------------------------------------------

    def retry_after_s(self, channel: Channel, *, extra_waiting: int = 0) -> int:
        """Seconds until a question turned away now would likely get a slot (at least 1)."""
        with self._lock:
            return self._retry_after_locked(channel, extra_waiting)

    def _retry_after_locked(self, channel: Channel, extra_waiting: int = 0) -> int:
        ahead = len(self._waiting["chat"]) + extra_waiting + (len(self._waiting["api"]) if channel == "api" else 0)
        width = self.slots if channel == "chat" else self.api_slots
        return self._estimate(self._average_s * (1 + ahead / width))

    @staticmethod
    def _estimate(seconds: float) -> int:
        return max(1, min(600, math.ceil(seconds)))

    def admitted(self, client: str) -> int:
        """Questions of ``client`` waiting for or holding a slot."""
        with self._lock:
            return self._by_client.get(client, 0)

    def snapshot(self) -> dict:
        """Slots in use and questions waiting per channel, and clients admitted (for tests and /api/health)."""
        with self._lock:
            return {
                "slots": self.slots,
                "api_slots": self.api_slots,
                "running": dict(self._running),
                "waiting": {c: len(q) for c, q in self._waiting.items()},
                "clients": len(self._by_client),
                "average_answer_s": round(self._average_s, 3),
            }


# --- checking a request --------------------------------------------------------------------------


def json_problem(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> tuple[int, str] | None:
    """(HTTP status, Dutch message) when a JSON body cannot be taken, else None.

    Depth is counted without parsing (deep nesting is what breaks parsers), then every string, keys
    included, is checked for lone surrogates (``"\\ud800"``), which no text can be encoded with.
    """
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "De aanvraag is geen geldige UTF-8-tekst."
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub(b'""', raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    if deepest > max_depth:
        return 422, f"De aanvraag is te diep genest ({deepest} niveaus; maximaal {max_depth})."
    try:
        data = json.loads(raw)
    except ValueError:
        return 400, NOT_JSON
    if any(_SURROGATE.search(text) for text in _strings(data)):
        return 422, "De aanvraag bevat tekens die geen tekst zijn (losse surrogaten). Stuur geldige Unicode-tekst."
    return None


def _strings(data: Any) -> Iterator[str]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def validate_question(question: Any, settings: Settings) -> str:
    """The cleaned question, or QuestionInvalidError with a Dutch message (the answering stage's own rules)."""
    if isinstance(question, str) and _SURROGATE.search(question):
        raise QuestionInvalidError("De vraag bevat tekens die geen tekst zijn. Typ de vraag opnieuw.")
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
        if all(e.get("type") == "value_error" for e in error.errors()):
            raise QuestionInvalidError(validation_message(error)) from None
        raise QuestionInvalidError(FILTERS_INVALID) from None
    except TypeError:
        raise QuestionInvalidError(FILTERS_INVALID) from None
    return None if filters.is_empty() else filters


def parse_filters(raw: Any) -> Filters | None:
    """Filters from an API request's "filters" object; unknown fields are refused, not ignored."""
    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        raise AskRequestInvalidError('\'filters\' moet een object zijn, bijvoorbeeld {"parties": ["SP"]}.')
    unknown = sorted(str(key) for key in set(raw) - set(Filters.model_fields))
    if unknown:
        raise AskRequestInvalidError(
            f"Onbekend filter: {', '.join(unknown)}. Toegestaan: {', '.join(Filters.model_fields)}."
        )
    try:
        filters = Filters.model_validate(raw)
    except ValidationError as error:
        if all(e.get("type") == "value_error" for e in error.errors()):
            raise QuestionInvalidError(validation_message(error)) from None
        fields = ", ".join(sorted({str(e["loc"][0]) for e in error.errors() if e.get("loc")}))
        raise AskRequestInvalidError(f"Ongeldige waarde in 'filters' ({fields}): gebruik lijsten van tekst.") from None
    return None if filters.is_empty() else filters


def parse_history(raw: Any, settings: Settings) -> list[tuple[str, str]]:
    """[[question, answer], ...] from an API request, within ``app.max_history_pairs`` and ``_chars``."""
    if raw in (None, []):
        return []
    if not isinstance(raw, list) or not all(
        isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair) for pair in raw
    ):
        raise AskRequestInvalidError("'history' moet een lijst van [vraag, antwoord]-paren zijn.")
    limits = settings.app
    if len(raw) > limits.max_history_pairs:
        raise AskRequestUnprocessableError(
            f"De gespreksgeschiedenis is te lang ({len(raw)} paren; maximaal {limits.max_history_pairs}). "
            "Stuur alleen de laatste vragen en antwoorden mee, of begin een nieuw gesprek."
        )
    chars = sum(len(q) + len(a) for q, a in raw)
    if chars > limits.max_history_chars:
        raise AskRequestUnprocessableError(
            f"De gespreksgeschiedenis is te lang ({chars} tekens; maximaal {limits.max_history_chars}). "
            "Stuur alleen de laatste vragen en antwoorden mee, of begin een nieuw gesprek."
        )
    if any(_SURROGATE.search(text) for pair in raw for text in pair):
        raise AskRequestUnprocessableError("De gespreksgeschiedenis bevat tekens die geen tekst zijn.")
    return [(q, a) for q, a in raw]


def ask_problem(body: Any, settings: Settings) -> tuple[int, str]:
    """(HTTP status, Dutch message) for a POST /api/ask body that AskRequestBody refused.

    The request's own checks name the first problem, in the order the route takes the fields. A body
    they all pass, which the model holds stricter (a question over the limit only by its spaces), gets
    a pointer to the schema.
    """
    if not isinstance(body, dict):
        return 400, 'Verwacht een object zoals {"question": "..."}.'
    allowed = list(AskRequestBody.model_fields)
    unknown = sorted(str(key) for key in set(body) - set(allowed))
    if unknown:
        return 400, f"Onbekend veld: {', '.join(unknown)}. Toegestaan: {', '.join(allowed)}."
    try:
        validate_question(body.get("question"), settings)
        parse_history(body.get("history"), settings)
        parse_filters(body.get("filters"))
    except AskRequestUnprocessableError as error:
        return 422, str(error)
    except (QuestionInvalidError, AskRequestInvalidError) as error:
        return 400, str(error)
    return 400, "De aanvraag heeft niet de vorm die POST /api/ask verwacht; zie het schema op /openapi.json."


def answer_payload(answer: Answer) -> dict:
    """The JSON of an answer: exactly `python -m rag ask --json`."""
    return answer.to_json()
