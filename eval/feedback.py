"""Disliked and refused questions from the app's feedback database, as draft evaluation items.

A draft item is an ``eval.dataset.EvalItem`` with what only a person can decide left as ``"TODO"``
(``kind``, ``answerable``) or empty (``gold``, ``facts``), plus a ``feedback`` field holding what the app
gave: the answer, its citations and the user's rating and comments. To turn a draft into gold: fill in
the TODOs and the gold quotes (from the cited passages or the corpus), delete ``feedback``, and append the
line to the evaluation set; ``to_eval_item`` does that check and ``python -m eval.dataset`` the rest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eval.dataset import EvalItem, EvalSetError, GoldPassage, HistoryTurn, Kind
from kamerbron.feedback_store import Rating, Review
from kamerbron.text import is_english

TODO = "TODO"
ID_PREFIX = "feedback-"
PASSAGE_CHARS = 600  # enough of a cited passage to pick a quote from


class DraftCitation(BaseModel):
    """A passage the answer cited, for choosing a gold quote."""

    model_config = ConfigDict(extra="forbid")

    n: int | None = None
    source_file: str
    chunk_id: str = ""
    speaker: str = ""
    party: str = ""
    date: str = ""
    text: str = Field("", description=f"The passage, cut at {PASSAGE_CHARS} characters.")


class DraftFeedback(BaseModel):
    """What the app answered and what the user said about it; delete it when the item is done."""

    model_config = ConfigDict(extra="forbid")

    question_id: int = Field(description="Row id in the feedback database's questions table.")
    asked_at: str
    asked: str = Field(description="The question as typed (``question`` may be the condensed follow-up).")
    refused: bool
    rating: Rating | None
    comments: list[str] = Field(default_factory=list)
    answer: str
    citations: list[DraftCitation] = Field(default_factory=list)
    settings_hash: str = ""
    channel: str = ""


class DraftItem(BaseModel):
    """An evaluation item still to be finished by a person: EvalItem's fields plus ``feedback``."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    kind: Kind | Literal["TODO"] = TODO
    lang: Literal["nl", "en"]
    question: str = Field(min_length=1)
    history: list[HistoryTurn] = Field(default_factory=list)
    gold: list[GoldPassage] = Field(default_factory=list)
    facts: list[list[str]] = Field(default_factory=list)
    speaker: str | None = None
    party: str | None = None
    silent_parties: list[str] = Field(default_factory=list)
    answerable: bool | Literal["TODO"] = TODO
    notes: str = ""
    feedback: DraftFeedback

    def todo(self) -> list[str]:
        """The fields a person still has to fill in."""
        return [name for name in ("kind", "answerable") if getattr(self, name) == TODO]

    def to_eval_item(self) -> EvalItem:
        """The finished evaluation item; raises EvalSetError naming what is still to do or invalid."""
        if self.todo():
            raise EvalSetError(f"Draft {self.id}: fill in {', '.join(self.todo())} (still {TODO!r}).")
        try:
            return EvalItem.model_validate(self.model_dump(exclude={"feedback"}))
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in error.errors())
            raise EvalSetError(f"Draft {self.id} is not a valid evaluation item yet: {problems}.") from None


def draft_item(review: Review) -> DraftItem:
    """The draft evaluation item for one disliked or refused question."""
    asked = review.question
    question = asked.standalone_question or asked.question
    reasons = (["refused"] if asked.refused else []) + (["disliked"] if review.rating == "dislike" else [])
    return DraftItem(
        id=f"{ID_PREFIX}{asked.id}",
        lang="en" if is_english(question) else "nl",
        question=question,
        notes=f"From app feedback ({', '.join(reasons)}); fill in kind, answerable, gold and facts, "
        "then delete the feedback field.",
        feedback=DraftFeedback(
            question_id=asked.id,
            asked_at=asked.asked_at,
            asked=asked.question,
            refused=asked.refused,
            rating=review.rating,
            comments=review.comments,
            answer=asked.answer,
            citations=[_citation(c) for c in asked.citations if c.get("source_file")],
            settings_hash=asked.settings_hash,
            channel=asked.channel,
        ),
    )


def _citation(citation: dict) -> DraftCitation:
    return DraftCitation(
        n=citation.get("n"),
        source_file=citation["source_file"],
        chunk_id=citation.get("chunk_id", ""),
        speaker=citation.get("speaker", ""),
        party=citation.get("party", ""),
        date=citation.get("date", ""),
        text=str(citation.get("text", ""))[:PASSAGE_CHARS],
    )


def write_drafts(path: Path, drafts: list[DraftItem]) -> None:
    """Write drafts as JSON lines, one item a line like the evaluation set; an existing file is kept."""
    with open(path, "x", encoding="utf-8") as handle:
        for draft in drafts:
            handle.write(json.dumps(draft.model_dump(mode="json"), ensure_ascii=False) + "\n")


def load_drafts(path: Path) -> list[DraftItem]:
    """Read a drafts file; raises EvalSetError naming every bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise EvalSetError(f"Cannot read the drafts file {path}: {error}. Check the path.") from error
    drafts, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            drafts.append(DraftItem.model_validate_json(line))
        except ValidationError as error:
            problems.append(
                f"line {number}: {error.errors()[0]['msg']} ({'.'.join(map(str, error.errors()[0]['loc']))})"
            )
    if problems:
        raise EvalSetError(f"Invalid drafts file {path}:\n" + "\n".join(problems))
    return drafts


def review_json(review: Review) -> dict:
    """One disliked or refused question as ``python -m eval feedback --json`` prints it."""
    asked = review.question
    return {
        "question_id": asked.id,
        "asked_at": asked.asked_at,
        "question": asked.question,
        "standalone_question": asked.standalone_question,
        "refused": asked.refused,
        "rating": review.rating,
        "comments": review.comments,
        "answer": asked.answer,
        "citations": [_citation(c).model_dump() for c in asked.citations if c.get("source_file")],
        "settings_hash": asked.settings_hash,
        "latency_ms": asked.latency_ms,
        "channel": asked.channel,
    }
