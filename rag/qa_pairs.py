"""Vragen en antwoorden: each party question of a written consultation beside the government's answer.

Stage: (index, filters) -> ``list[QAPair]``. The links are the ones ingest made
(``ingest/formats/consultation.py``): an answer turn's ``replies_to`` names the question turns it
answers, and ``LoadedIndex.answered_by`` reads them the other way. Nothing is matched again here.
A question no turn of its document answers is open; in a consultation whose government reply is not
in the source at all (part II missing, as in the 2023 consultation on the action plan) every
question is open, and ``reply_in_document`` says why.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from kamerbron.errors import ArgumentInvalidError
from kamerbron.records import Chunk, Passage
from kamerbron.text import GOVERNMENT_ROLES
from rag.index import LoadedIndex

CONSULTATION = "schriftelijk_overleg"
OPEN_LABEL = "geen antwoord in deze stukken"


class QAFilterInvalidError(ArgumentInvalidError):
    """A party, section or document filter that matches nothing; the message (Dutch) lists what does."""


class QAPair(BaseModel):
    """One party question (a party's block of questions under a heading) and the answers linked to it."""

    question: Passage = Field(description="The party's question turn, all its parts; chunk_id is its first part's.")
    answers: list[Passage] = Field(default_factory=list, description="The government turns linked to it, in order.")
    open: bool = Field(description="True when no turn of the document answers it.")
    reply_in_document: bool = Field(
        True, description="False when the document holds no government reply at all (part II missing from the source)."
    )

    def to_json(self) -> dict:
        """One pair as ``python -m rag questions --json`` and ``GET /api/questions`` print it."""
        return {
            "question": _passage_json(self.question),
            "answers": [_passage_json(a) for a in self.answers],
            "open": self.open,
            "reply_in_document": self.reply_in_document,
        }


def _passage_json(p: Passage) -> dict:
    out = p.model_dump(
        include={"chunk_id", "doc_id", "source_file", "turn_index", "speaker", "party", "role", "section", "date"}
    )
    out |= p.model_dump(include={"doc_title", "url", "status", "text"})
    return out


def _turn_passage(index: LoadedIndex, doc_id: str, turn_index: int) -> Passage | None:
    """The whole turn as one passage: its parts' texts joined, cited by its first part."""
    chunks: list[Chunk] = index.turn_chunks(doc_id, turn_index)
    if not chunks:
        return None
    chunks = sorted(chunks, key=lambda c: c.part)
    passage = Passage.from_chunk(chunks[0], via="hit")
    passage.text = "\n\n".join(c.text for c in chunks)
    return passage


def _is_question(c: Chunk) -> bool:
    return c.doc_type == CONSULTATION and c.role == "fractie" and bool(c.party) and c.part == 0


def consultation_facets(index: LoadedIndex) -> dict:
    """What the filters offer: the consultations, the asking parties and the sections with questions."""
    questions = [c for c in index.chunks if _is_question(c)]
    documents: dict[str, dict] = {}
    for c in questions:
        documents.setdefault(c.doc_id, {"doc_id": c.doc_id, "title": c.doc_title, "date": c.date})
    return {
        "documents": list(documents.values()),
        "parties": sorted({c.party for c in questions}, key=str.lower),
        "sections": list(dict.fromkeys(c.section for c in questions if c.section)),
    }


def question_answer_pairs(index: LoadedIndex, *, party: str = "", section: str = "", doc: str = "") -> list[QAPair]:
    """The party questions of the index's written consultations with their linked answers, in document order.

    ``party``: exact party name, any case; ``section``: part of a section heading, any case;
    ``doc``: a document id or file name. A filter that matches no question raises QAFilterInvalidError.
    """
    party, section, doc = (party or "").strip(), " ".join((section or "").split()), (doc or "").strip()
    questions, replied = [], set()
    for c in index.chunks:
        if _is_question(c):
            questions.append(c)
        elif c.doc_type == CONSULTATION and c.role in GOVERNMENT_ROLES:
            replied.add(c.doc_id)
    questions.sort(key=lambda c: (c.doc_id, c.turn_index))
    asking = {c.party.lower() for c in questions}
    if doc:
        wanted = doc.removesuffix(".txt")
        questions = [c for c in questions if c.doc_id == wanted or c.source_file == doc]
        if not questions:
            known = ", ".join(d["doc_id"] for d in consultation_facets(index)["documents"]) or "geen"
            raise QAFilterInvalidError(
                f"Document '{doc}' is geen schriftelijk overleg in de index. Schriftelijke overleggen: {known}."
            )
    if party:
        if party.lower() not in asking:
            known = ", ".join(consultation_facets(index)["parties"]) or "geen"
            raise QAFilterInvalidError(
                f"Partij '{party}' stelde geen vragen in de schriftelijke overleggen. Partijen met vragen: {known}."
            )
        questions = [c for c in questions if c.party.lower() == party.lower()]
    if section:
        # a heading as the filter lists it; else any heading that holds the text
        heading = lambda c: " ".join(c.section.split()).lower()  # noqa: E731
        exact = [c for c in questions if heading(c) == section.lower()]
        questions = exact or [c for c in questions if section.lower() in heading(c)]
        if not questions:
            sections = consultation_facets(index)["sections"]
            raise QAFilterInvalidError(
                f"Geen vragen onder een kop met '{section}'. Kies een kop uit de lijst, bijvoorbeeld "
                f"'{sections[0] if sections else 'Inleiding'}'."
            )
    pairs = []
    for c in questions:
        question = _turn_passage(index, c.doc_id, c.turn_index)
        answers = [
            a
            for t in sorted(set(index.answered_by.get((c.doc_id, c.turn_index), [])))
            if (a := _turn_passage(index, c.doc_id, t)) is not None and a.role in GOVERNMENT_ROLES
        ]
        pairs.append(
            QAPair(question=question, answers=answers, open=not answers, reply_in_document=c.doc_id in replied)
        )
    return pairs
