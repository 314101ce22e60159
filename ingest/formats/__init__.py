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
add one line to :data:`FORMATS` (and its file name ending to :data:`CORPUS_SUFFIXES`, which lists
a corpus folder). No other format module changes. A format that accepts files over 20 MB says so
in ``MAX_BYTES``; :data:`MAX_INPUT_BYTES` lets files that large be read at all.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from ingest.formats import officiele, pdf, plain, vlos
from ingest.formats.text import TEXT_FORMATS
from ingest.formats.textfile import MAX_FILE_BYTES, decode_bytes
from kamerbron.errors import DocumentParseError
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
    vlos,  # Tweede Kamer Open Data verslag (root vlosCoreDocument)
    officiele,  # officielebekendmakingen publication (root officiele-publicatie)
    pdf,  # '%PDF-' header
    *TEXT_FORMATS,  # debate, consultation, letter
)
# Text that no format recognises.
FALLBACK: DocumentFormat = plain

# An XML declaration, and the root element after it when it is in the first 4 KB.
_XML_RE = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml\b(?:.*?<(?P<root>[A-Za-z_][\w:.-]*))?", re.DOTALL)

# File name endings of corpus files, for listing a corpus folder; which format parses a file is
# decided by its content, never by this.
CORPUS_SUFFIXES: tuple[str, ...] = (".txt", ".md", ".xml", ".pdf")
# The most bytes any format accepts; each format refuses what is over its own limit (text 20 MB).
MAX_INPUT_BYTES: int = max(getattr(fmt, "MAX_BYTES", MAX_FILE_BYTES) for fmt in FORMATS)


def detect(raw: bytes, *, source_file: str) -> DocumentFormat:
    """The format that parses ``raw``, by content; ``source_file`` names the file in errors.

    Text that no format recognises goes to :data:`FALLBACK`; bytes that no format recognises
    and that are not text either raise ``DocumentParseError`` saying why (empty, binary, ...),
    and so does XML of a kind no format reads, rather than being indexed as text with its markup.
    """
    best, best_score = FALLBACK, 0.0
    for fmt in FORMATS:
        score = float(fmt.sniff(raw))
        if score >= 1.0:
            return fmt
        if score > best_score:
            best, best_score = fmt, score
    if m := _XML_RE.match(raw[:4096]):
        root = m.group("root").decode("ascii", "replace") if m.group("root") else "?"
        raise DocumentParseError(
            f"{source_file}: XML of a kind Kamerbron does not read (root <{root}>); add a Tweede Kamer verslag "
            "(VLOS XML) or an officielebekendmakingen publication, or the document's text."
        )
    if best is FALLBACK:
        decode_bytes(raw, source_file)  # raises, saying why, when the bytes are not text either
    return best
