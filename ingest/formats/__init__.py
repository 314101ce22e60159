"""Input formats: one module per format, each with the same interface, picked by content.

A format module exposes three names (see :class:`DocumentFormat`; it need not import anything
from here)::

    NAME: str
    def sniff(raw: bytes) -> bool | float: ...
    def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument: ...

``sniff`` says how sure the module is that it can parse the bytes: ``True`` or 1.0 when the
bytes can only be this format (a magic number, an XML root element); the text formats give
0.9 to 0.5 when the document's own structure shows its kind (speaker labels, part headings, a
signature) and 0.2 when only its title does; ``False`` or 0 when it cannot parse them. ``parse``
decodes the bytes itself (text formats through ``ingest.formats.textfile``), hashes the raw
bytes into ``meta.content_hash``, and raises ``DocumentParseError`` naming ``source_file``.

The text formats (``debate``, ``consultation``, ``letter``) also expose ``DOC_TYPE``,
``score(doc)`` and ``split(doc, warnings)`` on the analysed text (``ingest.formats.text``), so
that text a container format extracted can be parsed with ``ingest.formats.text.parse_text``.

To add a format: write ``ingest/formats/<name>.py`` with those three names, import it below and
add one line to :data:`FORMATS`. No other format module changes.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ingest.formats import plain
from ingest.formats.text import TEXT_FORMATS
from ingest.formats.textfile import decode_bytes
from kamerbron.records import ParsedDocument


@runtime_checkable
class DocumentFormat(Protocol):
    """What the registry needs of a format module."""

    NAME: str

    def sniff(self, raw: bytes) -> bool | float: ...

    def parse(
        self, raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None
    ) -> ParsedDocument: ...


# The surest sniff wins, the earlier entry on a tie. A sure format (sniff 1.0) ends the search,
# so list those first: their bytes are then never decoded and normalised as text.
FORMATS: tuple[DocumentFormat, ...] = (
    *TEXT_FORMATS,  # debate, consultation, letter
)
# Text that no format recognises.
FALLBACK: DocumentFormat = plain


def detect(raw: bytes, *, source_file: str) -> DocumentFormat:
    """The format that parses ``raw``, by content; ``source_file`` names the file in errors.

    Text that no format recognises goes to :data:`FALLBACK`; bytes that no format recognises
    and that are not text either raise ``DocumentParseError`` saying why (empty, binary, ...).
    """
    best, best_score = FALLBACK, 0.0
    for fmt in FORMATS:
        score = float(fmt.sniff(raw))
        if score >= 1.0:
            return fmt
        if score > best_score:
            best, best_score = fmt, score
    if best is FALLBACK:
        decode_bytes(raw, source_file)  # raises, saying why, when the bytes are not text either
    return best
