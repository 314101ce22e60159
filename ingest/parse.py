"""Parse one Kamerstuk into ``ParsedDocument(meta, turns, warnings)``: the entry points of ingest.

The format is picked by content (``ingest.formats``); each format module describes how it
splits a document into turns, and ``ingest.formats.common`` how facts from the text and the
manifest entry are merged.
"""

from __future__ import annotations

from pathlib import Path

from ingest.formats import detect
from ingest.formats.text import parse_text
from ingest.formats.textfile import read_bytes, read_text
from ingest.manifest import load_manifest
from kamerbron.records import ParsedDocument

__all__ = ["parse_document", "parse_text", "read_text"]


def parse_document(path: Path, manifest: dict | None = None) -> ParsedDocument:
    """Parse one corpus file. ``manifest`` is this file's manifest entry; None loads the folder's manifest."""
    path = Path(path)
    raw = read_bytes(path)
    fmt = detect(raw, source_file=str(path))
    if manifest is None:
        manifest = load_manifest(path.parent).get(path.name, {})
    return fmt.parse(raw, doc_id=path.stem, source_file=path.name, manifest_entry=manifest)
