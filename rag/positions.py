"""Standpunten: for a topic, what each party in the corpus said on it, cited, or that it said nothing.

Stage: (topic, retriever) -> ``Positions``: one ``PartyPosition`` per party that has a turn or a
question of its own in the loaded index, with its most relevant statements or ``silent=True``.

The method is the same for every topic; there are no per-topic rules or word lists:

1. Hybrid retrieval of the topic once per party (the party as a metadata filter), ``PARTY_CANDIDATES``
   passages each, so that a party whose words rank below the others' is still looked at; the topic
   is embedded once for all parties.
2. Only passages in which the party speaks for itself count: a member's turn (also the chair's when
   speaking as a party's spokesperson) or a party's questions in a written consultation; never the
   government, never a procedural chair's turn, never a passage that merely names the party.
3. Every sentence of those passages gets a relevance in [0, 1]: the idf-weighted share of the
   topic's words it holds (``EvidenceFinder.coverage``, Dutch stems and compound parts) mixed with
   its embedding similarity to the topic. A party's most relevant sentences above
   ``MIN_RELEVANCE`` (at most ``MAX_SENTENCES``) are its statements; a party without one is silent,
   shown as ``SILENT_LABEL``. The threshold is what keeps a party's unrelated words from making it
   "non-silent": a sentence needs most of the topic's words, the similarity only nudges.

Exporters: ``to_csv`` and ``to_markdown`` (and ``Positions.to_json``) for the CLI, the API and the tab.
"""

from __future__ import annotations

import csv
import io
import re
import threading

import numpy as np
from pydantic import BaseModel, Field

from kamerbron.errors import QuestionInvalidError
from kamerbron.fingerprint import index_shape, settings_hash
from kamerbron.records import Filters, Passage, PassageFields
from kamerbron.settings import Settings
from kamerbron.text import STOPWORDS, find_parties, format_date
from rag.answer import validate_question
from rag.evidence import EvidenceFinder, QuestionProfile, default_ranker
from rag.index import LoadedIndex
from rag.retrieve import Retriever

SILENT_LABEL = "niets gevonden in deze stukken"
# Passages retrieved per party: more than a chat answer reads in all (retrieval.top_k, 8).
PARTY_CANDIDATES = 12
# A party's statements: its best sentences at or above MIN_RELEVANCE, at most MAX_SENTENCES.
MAX_SENTENCES = 3
MIN_RELEVANCE = 0.5
# Relevance = COVERAGE_WEIGHT * word coverage + (1 - COVERAGE_WEIGHT) * scaled similarity: with at most
# 0.3 from the similarity, a sentence holding less than 2/7 of the topic's (weighted) words never counts.
COVERAGE_WEIGHT = 0.7
# Cosine similarities of the e5 model the sentence ranker was trained with run from about 0.80
# (unrelated) to 0.90 (related) (see rag.evidence.answer_features); they are scaled onto [0, 1] from
# there. Another embedding's similarity is used as it is, clipped to [0, 1].
E5_UNRELATED, E5_RELATED = 0.80, 0.90
MAX_TOPIC_CHARS = 200
# The roles of a passage in which a party speaks for itself ('voorzitter' only with a party: the chair
# speaking as a party's spokesperson).
MEMBER_ROLES = frozenset({"kamerlid", "fractie", "voorzitter", "onbekend", ""})


class Statement(PassageFields):
    """The sentences of one passage in which a party speaks on the topic, with what is needed to cite it."""

    turn_index: int = 0
    section: str = ""
    text: str = Field(description="The whole passage.")
    sentences: list[str] = Field(description="The sentences of the passage that are on the topic, in text order.")
    relevance: float = Field(description="Relevance of the best of those sentences, in [0, 1].")

    def to_json(self) -> dict:
        out = self.model_dump(exclude={"relevance", "turn_index"})
        out["relevance"] = round(self.relevance, 4)
        return out


class PartyPosition(BaseModel):
    """One party's row: its statements on the topic, best first, or silent when it said nothing on it."""

    party: str
    silent: bool = Field(description="True when none of the party's own passages is on the topic.")
    statements: list[Statement] = Field(default_factory=list)

    def to_json(self, topic: str = "") -> dict:
        out = {"party": self.party, "silent": self.silent, "statements": [s.to_json() for s in self.statements]}
        return {"topic": topic, **out} if topic else out


class Positions(BaseModel):
    """The positions of every party in the loaded index on one topic: speaking parties first."""

    topic: str
    parties: list[PartyPosition]
    settings_hash: str = ""

    def to_json(self) -> dict:
        """The shape of ``GET /api/positions?format=json``."""
        return {
            "topic": self.topic,
            "parties": [p.to_json() for p in self.parties],
            "settings_hash": self.settings_hash,
        }

    def json_lines(self) -> list[dict]:
        """One object per party, as ``python -m rag positions TOPIC --json`` prints them."""
        return [p.to_json(self.topic) for p in self.parties]

    def speaking(self) -> list[str]:
        return [p.party for p in self.parties if not p.silent]

    def silent(self) -> list[str]:
        return [p.party for p in self.parties if p.silent]


def validate_topic(topic: object, settings: Settings) -> str:
    """The cleaned topic, or QuestionInvalidError with a Dutch message for the user."""
    if isinstance(topic, str) and not topic.strip():
        raise QuestionInvalidError("Geef een onderwerp, bijvoorbeeld 'taaleis' of 'pooierverbod'.")
    cleaned = validate_question(topic, settings)
    if len(cleaned) > MAX_TOPIC_CHARS:
        raise QuestionInvalidError(
            f"Het onderwerp is te lang ({len(cleaned)} tekens; maximaal {MAX_TOPIC_CHARS}). "
            "Noem alleen het onderwerp, bijvoorbeeld 'registratieplicht'."
        )
    return cleaned


class _RememberedQuery:
    """A retriever's embedder that remembers the last query's vector: the topic is searched once per
    party and embedded once. The vector is kept with its text in one tuple, so threads never mix them."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever
        self._last: tuple[str, np.ndarray] | None = None

    def embed_query(self, text: str) -> np.ndarray:
        last = self._last
        if last is not None and last[0] == text:
            return last[1]
        vector = self._retriever.embedder.embed_query(text)
        self._last = (text, vector)
        return vector

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._retriever.embedder.embed_passages(texts)


class PositionFinder:
    """Finds the parties' positions on topics over one retriever's index; cheap to call repeatedly."""

    def __init__(
        self,
        retriever: Retriever | None = None,
        *,
        settings: Settings | None = None,
        finder: EvidenceFinder | None = None,
    ) -> None:
        """``finder``: an EvidenceFinder over the same index to share (the answerer's); else one is made."""
        retriever = retriever or Retriever(settings)
        self.settings = settings or retriever.settings
        # a retriever of its own over the same (live) index, whose embedder embeds a topic once
        self.retriever = Retriever(
            self.settings, index=retriever.index, embedder=_RememberedQuery(retriever), reranker=retriever.reranker
        )
        self.base = retriever
        self._finder = finder
        self._parties: tuple[LoadedIndex | None, list[str]] = (None, [])
        self._lock = threading.Lock()
        self.settings_hash = settings_hash(self.settings)

    @property
    def finder(self) -> EvidenceFinder:
        if self._finder is None:
            embedding = index_shape(self.settings)["embedding_model"]
            self._finder = EvidenceFinder(
                self.retriever.index, self.retriever.embedder.embed_query, default_ranker(), embedding=embedding
            )
        return self._finder

    def parties(self) -> list[str]:
        """The parties with a turn or question of their own in the index served now, alphabetically."""
        index = self.retriever.index.current
        with self._lock:
            made_for, parties = self._parties
            if made_for is not index:
                parties = sorted({c.party for c in index.chunks if _speaks_for_party(c)}, key=str.lower)
                self._parties = (index, parties)
        return parties

    def find(self, topic: str) -> Positions:
        """The positions of every party on ``topic``; raises QuestionInvalidError for an unusable topic."""
        topic = validate_topic(topic, self.settings)
        vector = self.retriever.embedder.embed_query(topic)
        scale = (E5_UNRELATED, E5_RELATED) if self.finder.learned_embedding else (0.0, 1.0)
        rows = []
        for party in self.parties():
            found = self.retriever.retrieve(topic, filters=Filters(parties=[party]), k=PARTY_CANDIDATES)
            own = [p for p in found if p.party == party and _speaks_for_party(p)]
            rows.append(self._party_position(party, own, topic, vector, scale))
        best = {r.party: max((s.relevance for s in r.statements), default=0.0) for r in rows}
        rows.sort(key=lambda r: (r.silent, -best[r.party], r.party.lower()))
        return Positions(topic=topic, parties=rows, settings_hash=self.settings_hash)

    def _party_position(
        self,
        party: str,
        passages: list[Passage],
        topic: str,
        vector: np.ndarray,
        scale: tuple[float, float],
    ) -> PartyPosition:
        evidence = self.finder.find(topic, passages, vector)
        low, high = scale
        scored = []
        for s in evidence.sentences:
            similarity = min(max((s.features["dense"] - low) / (high - low), 0.0), 1.0)
            relevance = COVERAGE_WEIGHT * s.features["coverage"] + (1.0 - COVERAGE_WEIGHT) * similarity
            if relevance >= MIN_RELEVANCE:
                scored.append((relevance, s))
        scored.sort(key=lambda rs: (-rs[0], rs[1].passage_index, rs[1].position))
        chosen, seen = [], set()
        for relevance, s in scored:
            key = " ".join(s.text.lower().split())
            if key not in seen:  # a sentence a party repeated (or quoted twice) is one statement
                seen.add(key)
                chosen.append((relevance, s))
            if len(chosen) == MAX_SENTENCES:
                break
        by_passage: dict[int, list[tuple[float, object]]] = {}
        for relevance, s in chosen:
            by_passage.setdefault(s.passage_index, []).append((relevance, s))
        statements = []
        for index, picked in by_passage.items():
            p = passages[index]
            picked.sort(key=lambda rs: rs[1].position)
            statements.append(
                Statement(
                    **p.model_dump(include=set(PassageFields.model_fields)),
                    turn_index=p.turn_index,
                    section=p.section,
                    text=p.text,
                    sentences=[s.text for _, s in picked],
                    relevance=max(r for r, _ in picked),
                )
            )
        statements.sort(key=lambda st: -st.relevance)
        return PartyPosition(party=party, silent=not statements, statements=statements)


def _speaks_for_party(p) -> bool:
    """A passage in which a party speaks for itself: not the government, not a procedural chair's turn."""
    return bool(p.party) and p.role in MEMBER_ROLES and not p.procedural


def positions(topic: str, *, retriever: Retriever | None = None, settings: Settings | None = None) -> Positions:
    """The parties' positions on ``topic``; builds a retriever from settings unless one is injected."""
    return PositionFinder(retriever, settings=settings).find(topic)


# ---------------------------------------------------------------- from a chat question

# Words of a comparison question that say it is one, not what it is about.
_COMPARISON_WORDS = re.compile(
    r"\b(?:verschil\w*|vergelijk\w*|partij(?:en)?|fracties?|kamerleden|standpunt(?:en)?|mening(?:en)?|vinden|vonden"
    r"|vindt|denken|dachten|denkt|eens|oneens|versus|vs|tegenover|stonden|staan|parties|party|differ\w*|compare\w*"
    r"|views?|positions?|think|thought|stand|opinions?)\b",
    re.I,
)
# "... over X", "... about X": what follows is the topic.
_TOPIC_AFTER = re.compile(
    r"\b(?:over|omtrent|inzake|ten aanzien van|wat betreft|about|on|regarding)\s+(?P<topic>.+)$", re.I
)
_LEADING_ARTICLE = re.compile(r"^(?:de|het|een|the|a|an)\s+", re.I)


def comparison_topic(question: str) -> str:
    """The topic of a question comparing parties ("Hoe verschilden de partijen over de registratieplicht
    voor prostituees?" -> "registratieplicht voor prostituees"); '' when it does not compare parties.
    "Welke partijen waren voor een pooierverbod?" asks who (one line per party in the chat answer), and
    its topic is still one the positions table lays out party by party."""
    if not isinstance(question, str):
        return ""
    profile = QuestionProfile.of(question)
    if not (profile.compare or profile.who_plural):
        return ""
    text = " ".join(question.split()).rstrip("?!. ")
    match = _TOPIC_AFTER.search(text)
    if match:
        topic = _LEADING_ARTICLE.sub("", match.group("topic").strip())
    else:
        words = [
            w
            for w in re.findall(r"[\w'-]+", text)
            if w.lower() not in STOPWORDS and not _COMPARISON_WORDS.fullmatch(w) and not find_parties(w)
        ]
        topic = " ".join(words)
    for party in find_parties(topic):
        topic = re.sub(rf"\b(?:de\s+|het\s+)?{re.escape(party)}(?:-fractie)?\b", " ", topic, flags=re.I)
    return " ".join(topic.split())[:MAX_TOPIC_CHARS]


# ---------------------------------------------------------------- exporters

CSV_COLUMNS = ("partij", "status", "spreker", "rol", "datum", "document", "uitspraak", "relevantie", "passage", "bron")


def statement_label(s: Statement) -> str:
    """'Mevrouw Kuik (CDA), 27 september 2018' / 'De leden van de SGP-fractie'."""
    who = s.speaker or "Onbekende spreker"
    if s.role == "fractie":
        who = f"De {who}" if not who.lower().startswith("de ") else who
    elif s.party:
        who = f"{who} ({s.party})"
    date = format_date(s.date)
    return f"{who}, {date}" if date else who


def to_csv(result: Positions) -> str:
    """One row per statement (a party with several repeats its name), one row per silent party."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in result.parties:
        if row.silent:
            writer.writerow([row.party, SILENT_LABEL, "", "", "", "", "", "", "", ""])
            continue
        for s in row.statements:
            writer.writerow(
                [
                    row.party,
                    "standpunt",
                    s.speaker,
                    s.role,
                    s.date,
                    s.doc_title or s.source_file,
                    " … ".join(s.sentences),
                    f"{s.relevance:.2f}",
                    s.chunk_id,
                    s.url,
                ]
            )
    return out.getvalue()


def _md_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def to_markdown(result: Positions) -> str:
    """A Markdown table with one row per party, each statement quoted and cited."""
    lines = [
        f"# Standpunten over “{_md_cell(result.topic)}”",
        "",
        "| Partij | Uitspraken |",
        "|---|---|",
    ]
    for row in result.parties:
        if row.silent:
            cell = f"*{SILENT_LABEL}*"
        else:
            quotes = []
            for s in row.statements:
                source = f"[{_md_cell(s.doc_title or s.source_file)}]({s.url})" if s.url else _md_cell(s.doc_title)
                cited = f"{_md_cell(statement_label(s))}; {source} (`{s.chunk_id}`)"
                quotes.append(f"“{_md_cell(' … '.join(s.sentences))}” — {cited}")
            cell = "<br>".join(quotes)
        lines.append(f"| {_md_cell(row.party)} | {cell} |")
    lines.append("")
    lines.append(f"Instellingen {result.settings_hash}." if result.settings_hash else "")
    return "\n".join(lines).rstrip() + "\n"
