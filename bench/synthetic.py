"""A synthetic corpus N times the size of the real one, for the scale benchmark.

Every real document is copied N-1 times. Each copy gets its own doc id and file name, a shifted
date, other speaker surnames and parties, sentences moved between turns of the same document
and some words swapped for synonyms, so BM25 statistics and filters do not degenerate into
exact duplicates. A copy's vector is the real chunk's vector with a small random perturbation,
renormalised: nothing is embedded at scale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re

import numpy as np

from kamerbron.records import Chunk, chunk_id
from kamerbron.text import PARTIES, split_sentences

SURNAMES = (
    "De Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "De Boer", "Mulder", "De Groot", "Bos", "Vos",
    "Peters", "Hendriks", "Van Leeuwen", "Dekker", "Brouwer", "De Wit", "Dijkstra", "Smits", "De Graaf",
    "Van der Meer", "Van der Linden", "Kok", "Jacobs", "De Haan", "Vermeulen", "Van den Berg", "Van der Heijden",
    "Schouten", "Van Beek", "Willems", "Van Vliet", "Van de Ven", "Hoekstra", "Maas", "Verhoeven", "Koster",
    "Van Dam", "Prins", "Blom", "Huisman", "Kuipers", "Van Wijk", "Post", "Kuiper", "Veenstra", "Kramer",
    "Van den Brink", "Scholten", "Timmermans",
)  # fmt: skip
# Swapped both ways; close enough in meaning that the copies stay on topic.
SYNONYMS = {
    "politie": "opsporing", "slachtoffers": "gedupeerden", "maatregelen": "stappen", "minister": "bewindspersoon",
    "gemeenten": "gemeentes", "belangrijk": "van belang", "extra": "aanvullende", "aanpak": "bestrijding",
    "kabinet": "regering", "wetsvoorstel": "voorstel", "prostituees": "sekswerkers", "vragen": "kwesties",
    "geld": "middelen", "onderzoek": "studie", "snel": "spoedig", "problemen": "knelpunten",
    "vergunning": "licentie", "registratie": "inschrijving", "toezicht": "controle", "zorgen": "bezwaren",
}  # fmt: skip
_SWAP = {**SYNONYMS, **{v: k for k, v in SYNONYMS.items() if " " not in v}}
_SWAP_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, _SWAP), key=len, reverse=True)) + r")\b")

# Per copy, the share of sentences moved to another turn of the same document and the share of
# synonym occurrences swapped: set by hand when the generator was written, enough that a copy's BM25
# statistics differ from the original's while it stays on topic (docs/benchmark.md reports the 30%).
SENTENCE_MOVE_SHARE = 0.3
WORD_SWAP_SHARE = 0.5
# Norm of the perturbation of a unit vector, set by hand for a cosine to the original of
# 1/sqrt(1 + 0.25**2), about 0.97 (a random direction is nearly orthogonal in 384 dimensions).
VECTOR_NOISE = 0.25
# A copy's dates move by up to ten years either way (set by hand), so copies spread over the years a
# date filter selects instead of piling onto the real documents' dates.
DATE_SHIFT_DAYS = 3650


def copy_prefix(copy: int) -> str:
    return f"syn{copy:04d}_"


def perturb(vectors: np.ndarray, rng: np.random.Generator, noise: float = VECTOR_NOISE) -> np.ndarray:
    """Unit vectors near ``vectors``: a random direction of norm ``noise`` added, then renormalised."""
    vectors = np.asarray(vectors, dtype=np.float32)
    direction = rng.standard_normal(vectors.shape).astype(np.float32)
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
    moved = vectors + noise * direction
    return moved / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)


def _shift_date(date: str, days: int) -> str:
    try:
        return (dt.date.fromisoformat(date) + dt.timedelta(days=days)).isoformat()
    except ValueError:
        return date


def _swap_words(text: str, rng: random.Random) -> str:
    return _SWAP_PATTERN.sub(lambda m: _SWAP[m.group(1)] if rng.random() < WORD_SWAP_SHARE else m.group(1), text)


def _header(chunk: Chunk) -> str:
    who = chunk.speaker or "Onbekende spreker"
    if chunk.party:
        who += f" ({chunk.party})"
    return " | ".join(bit for bit in (who, chunk.doc_title, chunk.date, chunk.section) if bit)


def _mixed_texts(chunks: list[Chunk], rng: random.Random) -> list[str]:
    """The chunks' texts with a share of their sentences moved between chunks of the document."""
    sentences = [split_sentences(c.text) or [c.text] for c in chunks]
    slots = [(i, j) for i, s in enumerate(sentences) for j in range(len(s))]
    moving = [slot for slot in slots if rng.random() < SENTENCE_MOVE_SHARE]
    picked = [sentences[i][j] for i, j in moving]
    rng.shuffle(picked)
    for (i, j), sentence in zip(moving, picked):
        sentences[i][j] = sentence
    return [" ".join(s) for s in sentences]


def copy_document(chunks: list[Chunk], copy: int, rng: random.Random) -> list[Chunk]:
    """One synthetic copy of a document's chunks (all of one doc_id, in order)."""
    prefix = copy_prefix(copy)
    days = rng.randint(-DATE_SHIFT_DAYS, DATE_SHIFT_DAYS)
    surnames = {c.surname for c in chunks if c.surname}
    new_surname = {s: rng.choice(SURNAMES) for s in sorted(surnames)}
    parties = {c.party for c in chunks if c.party}
    new_party = {p: rng.choice(PARTIES) for p in sorted(parties)}
    texts = _mixed_texts(chunks, rng)
    copies = []
    for chunk, text in zip(chunks, texts):
        doc_id = prefix + chunk.doc_id
        surname = new_surname.get(chunk.surname, chunk.surname)
        speaker = chunk.speaker.replace(chunk.surname, surname) if chunk.surname else chunk.speaker
        party = new_party.get(chunk.party, chunk.party)
        if chunk.party:
            speaker = speaker.replace(chunk.party, party)
        new = chunk.model_copy(
            update={
                "chunk_id": chunk_id(doc_id, chunk.turn_index, chunk.part),
                "doc_id": doc_id,
                "source_file": prefix + chunk.source_file,
                "speaker": speaker,
                "surname": surname,
                "party": party,
                "date": _shift_date(chunk.date, days),
                "text": _swap_words(text, rng),
            }
        )
        has_header = chunk.embed_text != chunk.text
        new.embed_text = f"{_header(new)}\n{new.text}" if has_header else new.text
        new.content_hash = hashlib.sha256(new.embed_text.encode()).hexdigest()
        copies.append(new)
    return copies


def synthetic_corpus(
    chunks: list[Chunk], vectors: np.ndarray, factor: int, *, seed: int = 0
) -> tuple[list[Chunk], np.ndarray]:
    """The real chunks plus ``factor - 1`` synthetic copies of every document, with their vectors."""
    if factor < 1:
        raise ValueError(f"factor must be at least 1, not {factor}")
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vectors = np.asarray(vectors, dtype=np.float32)
    by_doc: dict[str, list[int]] = {}
    for i, chunk in enumerate(chunks):
        by_doc.setdefault(chunk.doc_id, []).append(i)
    out_chunks = list(chunks)
    out_vectors = [vectors]
    for copy in range(1, factor):
        for positions in by_doc.values():
            out_chunks += copy_document([chunks[i] for i in positions], copy, rng)
            out_vectors.append(perturb(vectors[positions], nrng))
    return out_chunks, np.concatenate(out_vectors)


def file_state(chunks: list[Chunk]) -> dict[str, dict]:
    """The per-file state an index generation records, for a corpus that was never parsed from files."""
    files: dict[str, dict] = {}
    for chunk in chunks:
        entry = files.setdefault(chunk.source_file, {"content_hash": "", "chunks": 0})
        entry["chunks"] += 1
        entry["content_hash"] = hashlib.sha256((entry["content_hash"] + chunk.content_hash).encode()).hexdigest()
    return files
