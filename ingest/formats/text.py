"""Decoded text of any kind: the text format is chosen by content, as the registry does for bytes.

:func:`parse_text` is for text that is already decoded: a caller's string, or the text a
container format (PDF, XML) extracted. The text formats' ``score`` decides, the surest first;
text that none recognises is split as the manifest's ``doc_type`` says (the text states no type,
so the manifest fills it, as for every other fact), else one passage per paragraph with a warning.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from ingest.formats import consultation, debate, letter
from ingest.formats.common import Draft, Split, TextDocument, analyse, parse_kamerstuk_text, split_paragraphs
from kamerbron.records import ParsedDocument


class TextFormat(Protocol):
    """A format of Kamerstuk text: the registry's three names, plus what decoded text needs."""

    NAME: str
    DOC_TYPE: str

    def sniff(self, raw: bytes) -> float: ...

    def parse(
        self, raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None
    ) -> ParsedDocument: ...

    def score(self, doc: TextDocument) -> float: ...

    def split(self, doc: TextDocument, warnings: list[str]) -> list[Draft]: ...


# The registry lists these too (in FORMATS): both pick the surest score, the earlier on a tie.
TEXT_FORMATS: tuple[TextFormat, ...] = (debate, consultation, letter)
SPLIT_BY_DOC_TYPE: dict[str, Split] = {fmt.DOC_TYPE: fmt.split for fmt in TEXT_FORMATS}


def fallback_split(manifest_entry: dict | None) -> Split:
    """How to split text that no text format recognises: by the manifest's doc_type, else by paragraph."""
    return SPLIT_BY_DOC_TYPE.get((manifest_entry or {}).get("doc_type", ""), split_paragraphs)


def parse_text(
    text: str, *, doc_id: str, source_file: str, manifest_entry: dict | None = None, content_hash: str = ""
) -> ParsedDocument:
    """Parse decoded text; ``content_hash`` defaults to the sha256 of the text's UTF-8 bytes."""
    doc = analyse(text)
    best = max(TEXT_FORMATS, key=lambda fmt: fmt.score(doc))
    if best.score(doc) > 0:
        split, doc_type = best.split, best.DOC_TYPE
    else:
        split, doc_type = fallback_split(manifest_entry), "onbekend"
    return parse_kamerstuk_text(text, split, doc_type=doc_type, doc_id=doc_id, source_file=source_file,
                                manifest_entry=manifest_entry,
                                content_hash=content_hash or hashlib.sha256(text.encode("utf-8")).hexdigest())  # fmt: skip
