"""The chat's event handlers, free of any running server so they can be tested directly."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import gradio as gr

from kamerbron.errors import KamerbronError, QuestionInvalidError
from kamerbron.records import Answer, AnswerUpdate, Filters
from kamerbron.settings import Settings
from webui import render
from webui.api import (
    AskGate,
    Channel,
    answer_payload,
    make_filters,
    parse_filters,
    parse_history,
    public_message,
    validate_question,
)
from webui.feedback import FeedbackRateLimit, FeedbackStore
from webui.positions_tab import positions_link_html

log = logging.getLogger(__name__)

UNEXPECTED_ERROR = (
    "Er ging iets mis bij het beantwoorden van de vraag. Probeer het opnieuw; "
    "blijft het misgaan, meld het dan aan de beheerder."
)
MAX_COMMENT_CHARS = 2000
FEEDBACK_ONLY_ON_ANSWERS = "Feedback kan alleen bij een antwoord worden gegeven."
FEEDBACK_TOO_FAST = "Je geeft wel erg snel feedback. Probeer het over een minuut opnieuw."
# The scope state key where webui.server puts the client (signed-in user or address) of a request.
CLIENT_STATE_KEY = "kamerbron_client"


@dataclass(frozen=True)
class AskRequest:
    """A checked question with its history and filters, ready to be answered."""

    question: str
    history: list[tuple[str, str]]
    filters: Filters | None


class AnswererLike(Protocol):
    """What the app needs from rag.answer.Answerer."""

    def answer(
        self, question: str, *, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None
    ) -> Answer: ...

    def stream(
        self, question: str, *, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None
    ) -> Iterator[AnswerUpdate]: ...

    def facets(self) -> dict: ...


class ChatHandlers:
    """Turns chat events into answers, messages and feedback.

    The conversation lives in a per-session list of turns (gr.State): dicts with the question,
    the final Answer or an error message, the streamed text so far, and the rating given.
    """

    def __init__(
        self,
        answerer: AnswererLike | None,
        settings: Settings,
        *,
        feedback: FeedbackStore | None = None,
        gate: AskGate | None = None,
        unavailable: KamerbronError | None = None,
    ) -> None:
        self.answerer = answerer
        self.settings = settings
        self.feedback = feedback or FeedbackStore.from_settings(settings)
        self.gate = gate or AskGate.from_settings(settings)
        self.unavailable = unavailable
        self.feedback_limit = FeedbackRateLimit(settings.app.feedback_per_minute)
        self._rating_clock = itertools.count(1)

    def require_answerer(self) -> AnswererLike:
        if self.answerer is None:
            raise self.unavailable or KamerbronError("De antwoordmodule is niet geladen; herstart de app.")
        return self.answerer

    # --- answering -------------------------------------------------------------------------

    def prepare(self, question: Any, history: Any = None, filters: Any = None) -> AskRequest:
        """Check an API request's fields (cheap, before any slot is taken); raises KamerbronError subclasses."""
        return AskRequest(
            question=validate_question(question, self.settings),
            history=parse_history(history, self.settings),
            filters=filters if isinstance(filters, Filters) else parse_filters(filters),
        )

    def ask(
        self, question: Any, history: Any = None, filters: Any = None, *, channel: Channel = "api", client: str = ""
    ) -> Answer:
        """One complete answer for the JSON and Gradio APIs; raises KamerbronError subclasses."""
        request = self.prepare(question, history, filters)
        answerer = self.require_answerer()
        with self.gate.enter(channel, client):
            return self.answer_and_record(answerer, request, channel)

    def answer_and_record(self, answerer: AnswererLike, request: AskRequest, channel: Channel) -> Answer:
        """Answer a checked request (its slot already taken) and record the question in the feedback database."""
        started = time.perf_counter()
        answer = answerer.answer(request.question, history=request.history, filters=request.filters)
        self.feedback.record_question(answer, channel=channel, latency_ms=(time.perf_counter() - started) * 1000)
        return answer

    def ask_api(
        self,
        question: str,
        history: list[list[str]] | None = None,
        filters: dict | None = None,
        request: gr.Request | None = None,
    ) -> dict:
        """Answer a question with citations (Gradio API endpoint "ask").

        history: earlier [question, answer] pairs of the conversation; filters: fields of
        kamerbron.records.Filters, e.g. {"parties": ["SP"], "date_from": "2020-01-01"}.
        """
        try:
            return answer_payload(self.ask(question, history, filters, channel="api", client=client_of(request)))
        except KamerbronError as error:
            raise gr.Error(public_message(error), title="Fout", print_exception=False) from None

    def respond(
        self,
        question: str,
        turns: list[dict] | None,
        parties: list[str] | None = None,
        speakers: list[str] | None = None,
        doc_ids: list[str] | None = None,
        date_from: str | None = "",
        date_to: str | None = "",
        request: gr.Request | None = None,
    ) -> Iterator[tuple[list[dict], list[dict], str]]:
        """Stream the answer to ``question``: yields (chat messages, turns, question box text)."""
        turns = list(turns or [])
        answered = [(t["question"], t["answer"].answer) for t in turns if t.get("answer") is not None]
        # A long chat keeps all its turns on screen; answering needs only the last few.
        history = answered[-self.settings.app.max_history_pairs :]
        turn: dict = {"question": question or "", "answer": None, "error": "", "partial": "", "rating": None}
        turns.append(turn)
        try:
            clean = validate_question(question, self.settings)
            filters = make_filters(
                parties=parties, speakers=speakers, doc_ids=doc_ids, date_from=date_from or "", date_to=date_to or ""
            )
        except QuestionInvalidError as error:
            turn["error"] = str(error)
            # Keep the text in the box so a too-long question can be shortened rather than retyped.
            yield self.messages(turns), turns, question or ""
            return
        turn["question"] = clean
        yield self.messages(turns), turns, ""
        try:
            answerer = self.require_answerer()
            with self.gate.enter("chat", client_of(request)):
                started = time.perf_counter()
                for update in answerer.stream(clean, history=history, filters=filters):
                    if update.final is not None:
                        turn["answer"] = update.final
                    else:
                        turn["partial"] = update.text
                    yield self.messages(turns), turns, ""
            if turn["answer"] is None:
                raise KamerbronError("Het antwoord is onvolledig gebleven. Stel de vraag opnieuw.")
            turn["question_id"] = self.feedback.record_question(
                turn["answer"], channel="chat", latency_ms=(time.perf_counter() - started) * 1000
            )
        except KamerbronError as error:
            turn["error"] = public_message(error)
        except Exception:
            log.exception("answering failed for question %r", clean)
            turn["error"] = UNEXPECTED_ERROR
        yield self.messages(turns), turns, ""

    @staticmethod
    def messages(turns: list[dict]) -> list[dict]:
        """The chatbot's messages: one user and one assistant message per turn, in that order."""
        out = []
        for turn in turns:
            out.append({"role": "user", "content": render.question_html(turn["question"])})
            if turn.get("error"):
                content = render.error_html(turn["error"])
            elif turn.get("answer") is not None:
                content = render.answer_html(turn["answer"]) + positions_link_html(turn["question"])
            else:
                content = render.streaming_html(turn.get("partial", ""))
            out.append({"role": "assistant", "content": content})
        return out

    @staticmethod
    def clear() -> tuple[list, list, str, str]:
        """Empty chat, turns, question box and feedback status."""
        return [], [], "", ""

    # --- feedback --------------------------------------------------------------------------

    def like(
        self, turns: list[dict] | None, data: gr.EventData, request: gr.Request | None = None
    ) -> tuple[list[dict], str]:
        """Store a like or dislike of an answer this session received; returns (turns, status message).

        ``data`` comes from the browser and is not trusted: only the index of an answered turn in
        this session's own turns (server-side state) counts; anything else is turned away with a message.
        """
        turns = list(turns or [])
        event = getattr(data, "_data", None)
        event = event if isinstance(event, dict) else {}
        position = _message_position(event.get("index"))
        if position is None or not 0 <= position // 2 < len(turns) or turns[position // 2].get("answer") is None:
            return turns, FEEDBACK_ONLY_ON_ANSWERS
        liked = event.get("liked")
        if liked is True:
            rating = "like"
        elif liked is False:
            rating = "dislike"
        else:
            return turns, ""
        if not self.feedback_limit.allow(client_of(request)):
            return turns, FEEDBACK_TOO_FAST
        turn = turns[position // 2]
        turn["rating"] = rating
        turn["rated_at"] = next(self._rating_clock)
        turn["question_id"] = self.feedback.record_vote(
            turn["answer"], question_id=turn.get("question_id"), rating=rating, user=_user(request)
        )
        return turns, "Bedankt voor je feedback. Je kunt er hieronder nog een opmerking bij zetten."

    def comment(
        self, turns: list[dict] | None, text: str, request: gr.Request | None = None
    ) -> tuple[list[dict], str, str]:
        """Store a comment on the answer rated last, or else the latest answer.

        Returns (turns, comment box text, status message).
        """
        turns = list(turns or [])
        text = (text if isinstance(text, str) else "").strip()
        if not text:
            return turns, "", "Typ eerst een opmerking."
        if len(text) > MAX_COMMENT_CHARS:
            return turns, text, f"De opmerking is te lang ({len(text)} tekens); het maximum is {MAX_COMMENT_CHARS}."
        answered = [t for t in turns if t.get("answer") is not None]
        if not answered:
            return turns, text, "Er is nog geen antwoord om een opmerking bij te plaatsen."
        if not self.feedback_limit.allow(client_of(request)):
            return turns, text, FEEDBACK_TOO_FAST
        rated = [t for t in answered if t.get("rated_at")]
        target = max(rated, key=lambda t: t["rated_at"]) if rated else answered[-1]
        target["question_id"] = self.feedback.record_vote(
            target["answer"],
            question_id=target.get("question_id"),
            rating=target.get("rating"),
            comment=text,
            user=_user(request),
        )
        return turns, "", f"Opmerking opgeslagen bij het antwoord op: “{render.md_text(target['question'])}”."


def client_of(request: gr.Request | None) -> str:
    """Who asks, for per-client limits: set by webui.server's middleware (user, else address)."""
    inner = getattr(request, "request", None) if request is not None else None
    state = getattr(inner, "state", None)
    client = getattr(state, CLIENT_STATE_KEY, None) if state is not None else None
    if isinstance(client, str) and client:
        return client
    host = getattr(getattr(inner, "client", None), "host", None)
    return f"ip:{host}" if host else ""


def _message_position(index: Any) -> int | None:
    """The chat message index of a like event: an int, or [row, column] from a 2-D chatbot; else None."""
    if isinstance(index, (list, tuple)) and index:
        index = index[0]
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        return None
    return index


def _user(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request is not None else ""
