"""The chat's event handlers, free of any running server so they can be tested directly."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import gradio as gr

from kamerbron.errors import KamerbronError, QuestionInvalidError
from kamerbron.records import Answer, AnswerUpdate, Filters
from kamerbron.settings import Settings
from webui import render
from webui.api import AskGate, answer_payload, make_filters, parse_filters, parse_history, validate_question
from webui.feedback import FeedbackRecord, FeedbackStore

log = logging.getLogger(__name__)

UNEXPECTED_ERROR = (
    "Er ging iets mis bij het beantwoorden van de vraag. Probeer het opnieuw; "
    "blijft het misgaan, meld het dan aan de beheerder."
)
MAX_COMMENT_CHARS = 2000


class AnswererLike(Protocol):
    """What the app needs from rag.answer.Answerer."""

    def answer(self, question: str, *, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None) -> Answer: ...

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
        self.feedback = feedback or FeedbackStore(settings.paths.feedback_path)
        self.gate = gate or AskGate(settings.app.concurrency)
        self.unavailable = unavailable
        self._rating_clock = itertools.count(1)

    def _require_answerer(self) -> AnswererLike:
        if self.answerer is None:
            raise self.unavailable or KamerbronError("De antwoordmodule is niet geladen; herstart de app.")
        return self.answerer

    # --- answering -------------------------------------------------------------------------

    def ask(self, question: Any, history: Any = None, filters: Any = None) -> Answer:
        """One complete answer for the JSON and Gradio APIs; raises KamerbronError subclasses."""
        question = validate_question(question, self.settings)
        parsed_history = parse_history(history)
        parsed_filters = filters if isinstance(filters, Filters) else parse_filters(filters)
        answerer = self._require_answerer()
        with self.gate.enter():
            return answerer.answer(question, history=parsed_history, filters=parsed_filters)

    def ask_api(
        self, question: str, history: list[list[str]] | None = None, filters: dict | None = None
    ) -> dict:
        """Answer a question with citations (Gradio API endpoint "ask").

        history: earlier [question, answer] pairs of the conversation; filters: fields of
        kamerbron.records.Filters, e.g. {"parties": ["SP"], "date_from": "2020-01-01"}.
        """
        try:
            return answer_payload(self.ask(question, history, filters))
        except KamerbronError as error:
            raise gr.Error(str(error), print_exception=False) from None

    def respond(
        self,
        question: str,
        turns: list[dict] | None,
        parties: list[str] | None = None,
        speakers: list[str] | None = None,
        doc_ids: list[str] | None = None,
        date_from: str | None = "",
        date_to: str | None = "",
    ) -> Iterator[tuple[list[dict], list[dict], str]]:
        """Stream the answer to ``question``: yields (chat messages, turns, question box text)."""
        turns = list(turns or [])
        history = [(t["question"], t["answer"].answer) for t in turns if t.get("answer") is not None]
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
            answerer = self._require_answerer()
            with self.gate.enter():
                for update in answerer.stream(clean, history=history, filters=filters):
                    if update.final is not None:
                        turn["answer"] = update.final
                    else:
                        turn["partial"] = update.text
                    yield self.messages(turns), turns, ""
            if turn["answer"] is None:
                raise KamerbronError("Het antwoord is onvolledig gebleven. Stel de vraag opnieuw.")
        except KamerbronError as error:
            turn["error"] = str(error)
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
                content = render.answer_html(turn["answer"])
            else:
                content = render.streaming_html(turn.get("partial", ""))
            out.append({"role": "assistant", "content": content})
        return out

    @staticmethod
    def clear() -> tuple[list, list, str, str]:
        """Empty chat, turns, question box and feedback status."""
        return [], [], "", ""

    # --- feedback --------------------------------------------------------------------------

    def like(self, turns: list[dict] | None, data: gr.LikeData, request: gr.Request | None = None) -> tuple[list[dict], str]:
        """Store a like or dislike of an answer; returns (turns, status message)."""
        turns = list(turns or [])
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        position = int(index) // 2
        if not 0 <= position < len(turns) or turns[position].get("answer") is None:
            return turns, "Feedback kan alleen bij een antwoord worden gegeven."
        if data.liked is True:
            rating = "like"
        elif data.liked is False:
            rating = "dislike"
        else:
            return turns, ""
        turn = turns[position]
        turn["rating"] = rating
        turn["rated_at"] = next(self._rating_clock)
        self.feedback.append(FeedbackRecord.from_answer(turn["answer"], rating=rating, user=_user(request)))
        return turns, "Bedankt voor je feedback. Je kunt er hieronder nog een opmerking bij zetten."

    def comment(
        self, turns: list[dict] | None, text: str, request: gr.Request | None = None
    ) -> tuple[list[dict], str, str]:
        """Store a comment on the answer rated last, or else the latest answer.

        Returns (turns, comment box text, status message).
        """
        turns = list(turns or [])
        text = (text or "").strip()
        if not text:
            return turns, "", "Typ eerst een opmerking."
        if len(text) > MAX_COMMENT_CHARS:
            return turns, text, f"De opmerking is te lang ({len(text)} tekens); het maximum is {MAX_COMMENT_CHARS}."
        answered = [t for t in turns if t.get("answer") is not None]
        if not answered:
            return turns, text, "Er is nog geen antwoord om een opmerking bij te plaatsen."
        rated = [t for t in answered if t.get("rated_at")]
        target = max(rated, key=lambda t: t["rated_at"]) if rated else answered[-1]
        self.feedback.append(
            FeedbackRecord.from_answer(target["answer"], rating=target.get("rating"), comment=text, user=_user(request))
        )
        return turns, "", f"Opmerking opgeslagen bij het antwoord op: “{render.md_text(target['question'])}”."


def _user(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request is not None else ""
