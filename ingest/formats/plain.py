"""Text that no format recognises: the registry's fallback.

The manifest's ``doc_type``, when it names one, says how to split the text (the text states no
type of its own, so the manifest fills it, as for every other fact). Otherwise each paragraph
becomes one passage (role 'onbekend', speaker '') and a warning says so.
"""

from __future__ import annotations

from ingest.formats.common import parse_kamerstuk, sniff_document
from ingest.formats.text import fallback_split
from kamerbron.records import ParsedDocument

NAME = "plain"


def sniff(raw: bytes) -> bool:
    """Whether the bytes are text at all; the registry falls back to plain text, it never prefers it."""
    return sniff_document(raw) is not None


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    return parse_kamerstuk(raw, fallback_split(manifest_entry), doc_type="onbekend", doc_id=doc_id,
                           source_file=source_file, manifest_entry=manifest_entry)  # fmt: skip
