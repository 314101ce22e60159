"""Typed records passed between the ingest stages: parse -> chunk -> index."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

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


class Chunk(BaseModel):
    """The unit that is embedded and cited: a turn, or one part of a long turn."""

    chunk_id: str = Field(description="'{doc_id}:{turn_index}:{part}', stable across rebuilds of an unchanged file.")
    doc_id: str
    source_file: str
    turn_index: int
    part: int = 0
    n_parts: int = 1
    text: str = Field(description="The clean passage shown as a citation.")
    embed_text: str = Field(description="Passage with a short context header, as embedded and BM25-indexed.")
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
    dossier: str = ""
    number: str = ""
    content_hash: str = Field("", description="sha256 of embed_text: an unchanged chunk is never re-embedded.")


def chunk_id(doc_id: str, turn_index: int, part: int = 0) -> str:
    return f"{doc_id}:{turn_index}:{part}"
