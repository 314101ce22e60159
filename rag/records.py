"""Typed records of the answering stages: retrieve -> answer."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Passage(BaseModel):
    """A retrieved chunk with everything needed to cite it."""

    chunk_id: str
    doc_id: str
    source_file: str
    turn_index: int
    part: int = 0
    speaker: str = ""
    surname: str = ""
    party: str = ""
    role: str = ""
    section: str = ""
    procedural: bool = False
    replies_to: list[int] = Field(default_factory=list)
    doc_type: str = ""
    doc_title: str = ""
    date: str = ""
    url: str = ""
    text: str = ""
    score: float = 0.0
    rank: int = 0
    via: str = Field("", description="Why it is here: 'hit', or 'linked' when brought along by a linked hit.")
    linked_from: str = Field("", description="chunk_id of the hit that brought this passage along.")
    dense_score: float | None = Field(None, description="Cosine similarity to the question, when dense search found it.")
    bm25_score: float | None = Field(None, description="BM25 score, when BM25 found it.")


class Citation(BaseModel):
    """A passage the answer relies on, numbered in order of first use."""

    n: int
    chunk_id: str
    doc_id: str
    source_file: str
    speaker: str = ""
    party: str = ""
    role: str = ""
    date: str = ""
    url: str = ""
    doc_title: str = ""
    text: str = Field(description="The passage text.")
    sentences: list[str] = Field(default_factory=list, description="The sentence(s) of the passage relied on.")


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
    timings_ms: dict[str, float] = Field(default_factory=dict)
    settings_hash: str = ""


class Filters(BaseModel):
    """Metadata filters on retrieval; an empty field filters nothing."""

    doc_ids: list[str] = Field(default_factory=list, description="doc_id or source file names.")
    doc_types: list[str] = Field(default_factory=list)
    parties: list[str] = Field(default_factory=list, description="Case-insensitive party names, e.g. 'SP'.")
    speakers: list[str] = Field(default_factory=list, description="Case-insensitive surnames or printed speakers.")
    roles: list[str] = Field(default_factory=list)
    date_from: str = Field("", description="ISO date, inclusive.")
    date_to: str = Field("", description="ISO date, inclusive.")

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


class AnswerUpdate(BaseModel):
    """One step of a streamed answer: the text so far, and the final Answer on the last step."""

    text: str = ""
    final: Answer | None = None
