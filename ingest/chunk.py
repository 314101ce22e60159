"""Chunking: one chunk per turn; a turn too long for the embedding model is split at sentence
boundaries into parts of roughly equal length, each carrying the turn's full metadata."""

from __future__ import annotations

import hashlib
import math

from kamerbron.records import Chunk, DocumentMeta, ParsedDocument, Turn, chunk_id
from kamerbron.settings import ChunkSettings
from kamerbron.text import split_sentences


def _split_long_sentence(sentence: str, max_words: int) -> list[str]:
    words = sentence.split()
    return [" ".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]


def split_turn_text(text: str, max_words: int) -> list[str]:
    """Parts of at most about ``max_words`` words, cut at sentence boundaries, balanced in size."""
    n_words = len(text.split())
    if n_words <= max_words:
        return [text]
    sentences: list[str] = []
    for sentence in split_sentences(text):
        sentences.extend(_split_long_sentence(sentence, max_words) if len(sentence.split()) > max_words else [sentence])
    n_parts = math.ceil(n_words / max_words)
    target = n_words / n_parts
    parts: list[list[str]] = [[]]
    count = 0
    for sentence in sentences:
        words = len(sentence.split())
        # start a new part when this one reached its share, or the sentence would overflow the limit
        if parts[-1] and (count >= target or count + words > max_words):
            parts.append([])
            count = 0
        parts[-1].append(sentence)
        count += words
    return [" ".join(p) for p in parts if p]


def context_header(turn: Turn, meta: DocumentMeta) -> str:
    who = turn.speaker or "Onbekende spreker"
    if turn.party:
        who += f" ({turn.party})"
    bits = [who]
    if meta.title:
        bits.append(meta.title)
    if meta.date:
        bits.append(meta.date)
    if turn.section:
        bits.append(turn.section)
    return " | ".join(bits)


def chunk_document(doc: ParsedDocument, settings: ChunkSettings) -> list[Chunk]:
    """All chunks of one parsed document, with ids derived from doc id, turn index and part."""
    meta = doc.meta
    chunks: list[Chunk] = []
    for turn in doc.turns:
        if not turn.text.strip():
            continue
        parts = split_turn_text(turn.text, settings.max_words)
        header = context_header(turn, meta) if settings.context_header else ""
        for part, text in enumerate(parts):
            embed_text = f"{header}\n{text}" if header else text
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(meta.doc_id, turn.turn_index, part),
                    doc_id=meta.doc_id,
                    source_file=meta.source_file,
                    turn_index=turn.turn_index,
                    part=part,
                    n_parts=len(parts),
                    text=text,
                    embed_text=embed_text,
                    speaker=turn.speaker,
                    surname=turn.surname,
                    party=turn.party,
                    role=turn.role,
                    section=turn.section,
                    procedural=turn.procedural,
                    replies_to=turn.replies_to,
                    doc_type=meta.doc_type,
                    doc_title=meta.title,
                    date=meta.date,
                    url=meta.url,
                    status=meta.status,
                    dossier=meta.dossier,
                    number=meta.number,
                    content_hash=hashlib.sha256(embed_text.encode()).hexdigest(),
                )
            )
    return chunks
