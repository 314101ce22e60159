"""Typed records passed between the stages: parse -> chunk -> index -> retrieve -> answer.

Every stage imports its records from here. ``PassageFields`` is the one definition of what a
passage carries for citation (speaker, party, role, document, date, publication status, link);
``Chunk`` (what is indexed), ``Passage`` (what retrieval returns) and ``Citation`` (what an
answer relies on) share it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

DocType = Literal["debat", "schriftelijk_overleg", "brief", "onbekend"]
Role = Literal[
    "kamerlid",
    "voorzitter",
    "minister",
    "staatssecretaris",
    "fractie",
    "regering",
    "onbekend",
]


class DocumentMeta(BaseModel):
    """What is known about one source document: parsed from its text, gaps filled by the manifest."""

    doc_id: str = Field(description="Stable id: the corpus file name without extension.")
    source_file: str = Field(description="Corpus file name, e.g. 002_d05e322e15ff4b92.txt.")
    doc_type: DocType = "onbekend"
    dossier: str = Field("", description="Kamerstuk dossier number, e.g. '28 638'.")
    number: str = Field("", description="Document number within the dossier ('157'); empty when unknown.")
    date: str = Field("", description="ISO date of the meeting, letter or report; empty when unknown.")
    title: str = ""
    committee: str = ""
    url: str = Field("", description="Official source URL; empty when the document number is unknown.")
    chair: str = Field("", description="Surname of the chair from the header ('Voorzitter: Kuiken').")
    content_hash: str = Field("", description="sha256 of the raw file bytes.")
    status: str = Field(
        "",
        description="Publication status as the publisher states it, e.g. 'Ongecorrigeerd (Tussenpublicatie)' for "
        "an uncorrected Tweede Kamer report, which must not be cited as final; empty when none is stated.",
    )


class Turn(BaseModel):
    """One speaker turn (debate), party block or answer (consultation), or passage (letter)."""

    doc_id: str
    turn_index: int = Field(description="0-based position of the turn within its document.")
    speaker: str = Field(description="Speaker as printed, e.g. 'De heer Van Nispen' or 'leden van de SP-fractie'.")
    surname: str = ""
    party: str = ""
    role: Role = "onbekend"
    section: str = Field("", description="Heading the turn falls under, if any.")
    procedural: bool = Field(False, description="A chair's turn that only manages the meeting.")
    replies_to: list[int] = Field(
        default_factory=list,
        description="turn_index of the interruption or party question(s) this turn answers.",
    )
    text: str = Field(description="Clean, normalised text of the turn: no markup, footers or footnotes.")
    footnotes: list[str] = Field(default_factory=list)


class ParsedDocument(BaseModel):
    meta: DocumentMeta
    turns: list[Turn]
    warnings: list[str] = Field(default_factory=list)


class PassageFields(BaseModel):
    """Who said a passage, where and when: the fields every citable record carries."""

    chunk_id: str = Field(description="'{doc_id}:{turn_index}:{part}', stable across rebuilds of an unchanged file.")
    doc_id: str
    source_file: str
    speaker: str = ""
    party: str = ""
    role: str = ""
    date: str = ""
    url: str = ""
    doc_title: str = ""
    status: str = Field(
        "",
        description="The document's publication status, e.g. 'Ongecorrigeerd (Tussenpublicatie)'; shown on "
        "every source card, so that nobody cites an uncorrected report unknowingly.",
    )


class TurnFields(PassageFields):
    """A passage's place in its document: the turn it is part of and how it links to other turns."""

    turn_index: int
    part: int = 0
    surname: str = ""
    section: str = ""
    procedural: bool = False
    replies_to: list[int] = Field(default_factory=list)
    doc_type: str = ""


class Chunk(TurnFields):
    """The unit that is embedded and cited: a turn, or one part of a long turn."""

    n_parts: int = 1
    text: str = Field(description="The clean passage shown as a citation.")
    embed_text: str = Field(description="Passage with a short context header, as embedded and BM25-indexed.")
    dossier: str = ""
    number: str = ""
    content_hash: str = Field("", description="sha256 of embed_text: an unchanged chunk is never re-embedded.")


def chunk_id(doc_id: str, turn_index: int, part: int = 0) -> str:
    return f"{doc_id}:{turn_index}:{part}"


class Passage(TurnFields):
    """A retrieved chunk with everything needed to cite it."""

    text: str = ""
    score: float = Field(
        0.0,
        description="Retrieval score, higher is better, comparable within one question only: the learned "
        "passage ranker's log-odds (may be negative) when it orders retrieval, else the fused RRF score.",
    )
    rank: int = 0
    via: str = Field("", description="Why it is here: 'hit', or 'linked' when brought along by a linked hit.")
    linked_from: str = Field("", description="chunk_id of the hit that brought this passage along.")
    dense_score: float | None = Field(
        None, description="Cosine similarity to the question, when dense search found it."
    )
    bm25_score: float | None = Field(None, description="BM25 score, when BM25 found it.")

    @classmethod
    def from_chunk(cls, chunk: Chunk, **extra) -> Passage:
        return cls(**chunk.model_dump(include=set(TurnFields.model_fields) | {"text"}), **extra)

    def to_json(self) -> dict:
        """One search result as the CLI and the API print it."""
        out = self.model_dump(
            include={
                "rank",
                "chunk_id",
                "doc_id",
                "source_file",
                "speaker",
                "party",
                "role",
                "date",
                "text",
                "doc_title",
                "url",
                "status",
            }
        )
        out["score"] = round(self.score, 6)
        if self.via != "hit":
            out["via"], out["linked_from"] = self.via, self.linked_from
        return out


class Citation(PassageFields):
    """A passage the answer relies on, numbered in order of first use."""

    n: int
    text: str = Field(description="The passage text.")
    sentences: list[str] = Field(default_factory=list, description="The sentence(s) of the passage relied on.")

    @classmethod
    def from_passage(cls, n: int, passage: Passage, sentences: list[str]) -> Citation:
        return cls(n=n, sentences=sentences, **passage.model_dump(include=set(PassageFields.model_fields) | {"text"}))

    def to_json(self) -> dict:
        """The citation as the CLI, the API and the eval runs print it."""
        return self.model_dump()


class Commitment(BaseModel):
    """A toezegging: a commitment of the government that the chair read out at the end of a debate."""

    who: str | None = Field(
        None, description="Surname of the government speaker who committed; None when not one of the debate's."
    )
    role: str = Field("", description="Who committed as the chair named them, e.g. 'Staatssecretaris van VWS'.")
    text: str = Field(description="The commitment as the chair read it out.")
    deadline: str | None = Field(None, description="The term stated, as printed: 'voor de zomer', 'in november'.")
    qualification: str | None = Field(None, description="A reservation added, as printed: 'Indien mogelijk'.")
    doc_id: str
    doc_title: str = ""
    date: str = ""
    url: str = Field("", description="Official source of the debate's report; empty when unknown.")
    chunk_id: str = Field(description="The chunk of the chair's turn that holds the commitment.")
    fulfilled_by: str | None = Field(
        None,
        description="chunk_id of a later government passage that plausibly fulfils it ('mogelijk ingelost'); "
        "None unless the evidence is clear (rag/commitments.py).",
    )
    fulfilled_reason: str | None = Field(
        None, description="Why, in Dutch: 'brief van 13 november 2018 levert het plan van aanpak; ...'."
    )
    evidence: Citation | None = Field(
        None, description="The passage of ``fulfilled_by``, with the sentence that delivers in ``sentences``."
    )

    def to_json(self) -> dict:
        """One commitment as ``python -m rag commitments --json`` and ``GET /api/commitments`` print it."""
        return self.model_dump()


QuoteStatus = Literal["verified", "repaired", "misattributed", "unverified"]


class QuoteCheck(BaseModel):
    """One quoted span or cited sentence of an answer, checked against its source (rag/verify.py)."""

    text: str = Field(description="The span as the answer had it, without quotation marks or citation markers.")
    kind: Literal["quote", "sentence"] = Field(
        "quote", description="'quote': text between quotation marks; 'sentence': a cited sentence without a quote."
    )
    status: QuoteStatus = Field(
        description="'verified': verbatim in the source; 'repaired': close, the exact source text now stands in the "
        "answer; 'misattributed': the words are another speaker's; 'unverified': not found."
    )
    chunk_id: str = Field(
        "", description="The passage holding the words (for 'unverified': the cited passage, if any)."
    )
    n: int | None = Field(None, description="The citation number the answer gave it, if any.")
    source_text: str = Field(
        "",
        description="The text now standing in the answer when it differs: for 'repaired' the exact source text; "
        "for whole sentences quoted with some left out, the quote with ' … ' where they were.",
    )
    actual_speaker: str = Field("", description="For 'misattributed': who said it, e.g. 'De heer Van Nispen (SP)'.")
    claimed: str = Field("", description="For 'misattributed': whom the answer credited, e.g. 'Blok'.")

    def to_json(self) -> dict:
        """One entry of an answer's ``quotes``; the optional fields only where they say something."""
        out = self.model_dump(include={"text", "kind", "status", "chunk_id", "n"})
        if self.source_text:
            out["source_text"] = self.source_text
        if self.status == "misattributed":
            out["actual_speaker"], out["claimed"] = self.actual_speaker, self.claimed
        return out


class Answer(BaseModel):
    question: str
    standalone_question: str = Field("", description="The question after follow-up condensing.")
    answer: str = Field(description="Answer text with [n] citation markers.")
    refused: bool = False
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[Passage] = Field(default_factory=list)
    backend: str = Field("extractive", description="'extractive' or 'llm'.")
    notice: str = Field("", description="Visible notice, e.g. that the LLM failed and the extractive answer is shown.")
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="Answer sentences without a valid citation (LLM backend)."
    )
    quotes: list[QuoteCheck] = Field(
        default_factory=list, description="Every quoted span and cited sentence, checked against its source."
    )
    timings_ms: dict[str, float] = Field(default_factory=dict)
    settings_hash: str = ""

    def to_json(self) -> dict:
        """The answer's JSON shape: ``python -m rag ask --json``, ``POST /api/ask`` and eval runs."""
        return {
            "question": self.question,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [p.to_json() for p in self.retrieved],
            "timings_ms": self.timings_ms,
            "settings_hash": self.settings_hash,
            "backend": self.backend,
            "notice": self.notice,
            "standalone_question": self.standalone_question,
            "unsupported_sentences": self.unsupported_sentences,
            "quotes": [q.to_json() for q in self.quotes],
        }


class Filters(BaseModel):
    """Metadata filters on retrieval; an empty field filters nothing."""

    doc_ids: list[str] = Field(default_factory=list, description="doc_id or source file names.")
    doc_types: list[str] = Field(default_factory=list)
    parties: list[str] = Field(default_factory=list, description="Case-insensitive party names, e.g. 'SP'.")
    speakers: list[str] = Field(default_factory=list, description="Case-insensitive surnames or printed speakers.")
    roles: list[str] = Field(default_factory=list)
    date_from: str = Field("", description="ISO date, inclusive.")
    date_to: str = Field("", description="ISO date, inclusive.")

    @field_validator("date_from", "date_to")
    @classmethod
    def _iso_date(cls, value: str, info: ValidationInfo) -> str:
        value = (value or "").strip()
        if not value:
            return ""
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            # Dutch: the app shows this message to the user as it is
            raise ValueError(
                f"De datum '{value}' bij '{info.field_name}' is ongeldig; gebruik de vorm JJJJ-MM-DD, "
                "bijvoorbeeld 2021-03-15."
            ) from None

    @model_validator(mode="after")
    def _ordered(self) -> Filters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("De periode klopt niet: de begindatum ligt na de einddatum.")
        return self

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


def validation_message(error: ValidationError) -> str:
    """The messages of a pydantic ValidationError without pydantic's framing, for a person."""
    return " ".join(str(e["msg"]).removeprefix("Value error, ") for e in error.errors())


class AnswerUpdate(BaseModel):
    """One step of a streamed answer: the text so far, and the final Answer on the last step."""

    text: str = ""
    final: Answer | None = None
