"""The one factory for passage-shaped records in tests."""

from __future__ import annotations

from kamerbron.records import Citation, Passage, chunk_id


def make_passage(**overrides) -> Passage:
    """A Passage whose ids agree with each other unless overridden.

    ``chunk_id`` "doc:turn:part" fills ``doc_id``, ``turn_index`` and ``part``; without it the id is built
    from them (defaults: document "d", turn 0). ``source_file`` defaults to "<doc_id>.txt".
    """
    fields = dict(overrides)
    if "chunk_id" in fields:
        doc, _, rest = str(fields["chunk_id"]).partition(":")
        turn, _, part = rest.partition(":")
        fields.setdefault("doc_id", doc)
        if turn.isdigit():
            fields.setdefault("turn_index", int(turn))
        if part.isdigit():
            fields.setdefault("part", int(part))
    fields.setdefault("doc_id", "d")
    fields.setdefault("turn_index", 0)
    fields.setdefault("chunk_id", chunk_id(fields["doc_id"], fields["turn_index"], fields.get("part", 0)))
    fields.setdefault("source_file", f"{fields['doc_id']}.txt")
    return Passage(**fields)


def make_citation(n: int = 1, *, sentences: list[str] | None = None, **overrides) -> Citation:
    """Citation number ``n`` of ``make_passage(**overrides)``, relying on ``sentences`` (default: none)."""
    return Citation.from_passage(n, make_passage(**overrides), list(sentences or []))
