"""Parse one Kamerstuk into ``ParsedDocument(meta, turns, warnings)``: the entry points of ingest.

Every corpus file goes bytes -> :func:`ingest.formats.detect` -> the format's ``parse``: text,
VLOS XML, officielebekendmakingen XML or PDF, picked by content, never by the file name's
extension. Each format module describes how it splits a document into turns, and
``ingest.formats.common`` how facts from the text and the manifest entry are merged.
"""

from __future__ import annotations

from pathlib import Path

from ingest.formats import FALLBACK, MAX_INPUT_BYTES, detect
from ingest.formats.text import TEXT_FORMATS, parse_text
from ingest.formats.textfile import decode_bytes, read_bytes, read_text
from ingest.manifest import read_manifest
from kamerbron.records import ParsedDocument

__all__ = ["document_text", "parse_document", "parse_text", "read_text"]


def parse_document(path: Path, manifest: dict | None = None) -> ParsedDocument:
    """Parse one corpus file. ``manifest`` is this file's manifest entry; None loads the folder's manifest."""
    path = Path(path)
    raw = read_bytes(path, MAX_INPUT_BYTES)
    fmt = detect(raw, source_file=str(path))
    if manifest is None:
        manifest = read_manifest(path.parent).get(path.name, {})
    return fmt.parse(raw, doc_id=path.stem, source_file=path.name, manifest_entry=manifest)


def document_text(path: Path) -> str:
    """The whole text of one corpus file, before it is split: a text file decoded; the text of a
    PDF's or XML's turns, one paragraph each. Raises DocumentParseError as :func:`parse_document` does."""
    path = Path(path)
    raw = read_bytes(path, MAX_INPUT_BYTES)
    fmt = detect(raw, source_file=str(path))
    if fmt is FALLBACK or fmt in TEXT_FORMATS:
        return decode_bytes(raw, path.name)
    doc = fmt.parse(raw, doc_id=path.stem, source_file=path.name, manifest_entry={})
    return "\n\n".join(turn.text for turn in doc.turns)
