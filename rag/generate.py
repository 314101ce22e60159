"""Generate a cited answer with an LLM from retrieved passages."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from kamerbron.records import Passage
from kamerbron.text import is_english
from rag.citations import ResolvedAnswer, StreamingCitationRenderer, resolve_citations
from rag.llm import ChatLLM
from rag.prompts import refusal_sentence, render_prompt

HISTORY_TURNS = 3
HISTORY_ANSWER_CHARS = 600
# Earlier questions are the user's own and were checked when asked, but an API caller sends the history.
HISTORY_QUESTION_CHARS = 1000
# A passage must never close or open a passage block itself: "</passage>" in its text becomes "‹/passage>".
_PASSAGE_TAG = re.compile(r"<(?=\s*/?\s*passages?\b)", re.IGNORECASE)
_NUMBER_MARKER = re.compile(r"\s*\[\d+\]")


def build_messages(
    question: str, passages: list[Passage], history: Sequence[tuple[str, str]] = ()
) -> list[dict[str, str]]:
    """System and user messages asking for a short answer citing passage ids.

    ``history`` holds earlier (question, answer) pairs; the last few are shown for context only.
    """
    shown = [
        {
            "chunk_id": p.chunk_id,
            "doc_id": p.doc_id,
            "speaker": _neutralise(p.speaker),
            "party": _neutralise(p.party),
            "role": _neutralise(p.role),
            "doc_title": _neutralise(p.doc_title),
            "date": p.date,
            "text": _neutralise(p.text),
        }
        for p in passages
    ]
    turns = [
        # Earlier answers lose their [n] markers so the model is not tempted to cite by number.
        {
            "question": q[:HISTORY_QUESTION_CHARS],
            "answer": _NUMBER_MARKER.sub("", a[: 2 * HISTORY_ANSWER_CHARS])[:HISTORY_ANSWER_CHARS],
        }
        for q, a in list(history)[-HISTORY_TURNS:]
    ]
    return [
        {"role": "system", "content": render_prompt("answer_system")},
        {"role": "user", "content": render_prompt("answer_user", question=question, passages=shown, history=turns)},
    ]


def generate_answer(
    question: str, passages: list[Passage], llm: ChatLLM, history: Sequence[tuple[str, str]] = ()
) -> ResolvedAnswer:
    """Ask ``llm`` and resolve its citations. Without passages the answer is a refusal and the LLM is not called.

    Raises LLMEndpointError when the endpoint fails.
    """
    if not passages:
        return _refusal(question)
    raw = llm.chat(build_messages(question, passages, history))
    return resolve_citations(raw, passages)


def stream_generate(
    question: str, passages: list[Passage], llm: ChatLLM, history: Sequence[tuple[str, str]] = ()
) -> Iterator[str | ResolvedAnswer]:
    """Yield the display text so far after each delta, then the final ResolvedAnswer.

    Raises LLMEndpointError, possibly after some text was yielded, when the endpoint fails.
    """
    if not passages:
        yield _refusal(question)
        return
    renderer = StreamingCitationRenderer(passages)
    shown = ""
    for delta in llm.stream_chat(build_messages(question, passages, history)):
        text = renderer.feed(delta)
        if text != shown:
            shown = text
            yield text
    yield resolve_citations(renderer.raw, passages)


def _refusal(question: str) -> ResolvedAnswer:
    return ResolvedAnswer(text=refusal_sentence(is_english(question)), refused=True)


def _neutralise(text: str) -> str:
    return _PASSAGE_TAG.sub("‹", text)
