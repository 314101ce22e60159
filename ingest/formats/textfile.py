"""Reading a corpus file: its bytes (any format), and their text for the text formats.

Every format gets the same bytes from :func:`read_bytes`: the file must exist, be a regular
file and be no larger than the largest format accepts (the registry passes that limit; each
format then checks its own). Text formats decode them with :func:`decode_bytes`: at most 20 MB,
UTF-8 with or without BOM, else cp1252; empty files, NUL bytes and text full of control
characters are refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from kamerbron.errors import DocumentParseError

MAX_FILE_BYTES = 20 * 1024 * 1024
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F; a regex counts them in one pass.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a corpus file; a missing, irregular or over ``max_bytes`` file raises, naming the path."""
    path = Path(path)
    if not path.exists():
        raise DocumentParseError(f"{path}: file not found; check the path or remove it from the corpus list.")
    if not path.is_file():
        raise DocumentParseError(f"{path}: not a regular file; pass a corpus file (.txt, .md, .xml, .pdf) or a folder of them.")
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentParseError(
            f"{path}: file is {size / 1_048_576:.1f} MB, over the {max_bytes // 1_048_576} MB limit; split the "
            "document or remove it."
        )
    return path.read_bytes()


def read_text(path: Path) -> str:
    """Read a corpus file as text: UTF-8, else cp1252. Empty, binary or huge files raise."""
    return decode_bytes(read_bytes(path), str(path))


def decode_bytes(raw: bytes, name: str) -> str:
    """Decode file bytes (UTF-8 with or without BOM, else cp1252); ``name`` is used in error messages."""
    if len(raw) > MAX_FILE_BYTES:
        raise DocumentParseError(
            f"{name}: text file is {len(raw) / 1_048_576:.1f} MB, over the 20 MB limit; split the document or "
            "remove it."
        )
    if not raw.strip():
        raise DocumentParseError(f"{name}: file is empty; export the document text again or remove the file.")
    if b"\x00" in raw:
        raise DocumentParseError(f"{name}: file is binary (NUL bytes), not text; convert it to plain UTF-8 text first.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise DocumentParseError(
                f"{name}: not readable as UTF-8 or cp1252 text (byte {exc.start}); convert it to UTF-8 first."
            ) from exc
    control = len(CONTROL_RE.findall(text))
    if control > max(2, len(text) // 50):
        raise DocumentParseError(f"{name}: file looks binary (control characters), not text; convert it to UTF-8 text.")
    return text
