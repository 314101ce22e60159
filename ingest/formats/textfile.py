"""Reading a corpus file: its bytes (any format), and their text for the text formats.

Every format gets the same bytes from :func:`read_bytes`: the file must exist, be a regular
file and be no larger than the largest format accepts (the registry passes that limit; each
format then checks its own). Text formats decode them with :func:`decode_bytes`: at most 20 MB,
UTF-16 or UTF-32 when a byte order mark says so, else UTF-8 with or without BOM, else cp1252;
empty files, NUL bytes and text full of control characters are refused.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from kamerbron.errors import DocumentParseError

MAX_FILE_BYTES = 20 * 1024 * 1024
# Unicode category Cc is exactly U+0000-U+001F and U+007F-U+009F; a regex counts them in one pass.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
# Byte order marks of the wide encodings (Windows Notepad's "Unicode" is UTF-16 LE with a mark).
# UTF-32 first: its little-endian mark begins with UTF-16's.
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)  # fmt: skip


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a corpus file; a missing, irregular or over ``max_bytes`` file raises, naming the path."""
    path = Path(path)
    if not path.exists():
        raise DocumentParseError(f"{path}: file not found; check the path or remove it from the corpus list.")
    if not path.is_file():
        raise DocumentParseError(
            f"{path}: not a regular file; pass a corpus file (.txt, .md, .xml, .pdf) or a folder of them."
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentParseError(
            f"{path}: file is {size / 1_048_576:.1f} MB, over the {max_bytes // 1_048_576} MB limit; split the "
            "document or remove it."
        )
    return path.read_bytes()


def read_text(path: Path) -> str:
    """Read a corpus file as text (see :func:`decode_bytes`). Empty, binary or huge files raise."""
    return decode_bytes(read_bytes(path), str(path))


def decode_bytes(raw: bytes, name: str) -> str:
    """Decode file bytes (UTF-16 or UTF-32 with a BOM, UTF-8 with or without one, else cp1252);
    ``name`` is used in error messages."""
    if len(raw) > MAX_FILE_BYTES:
        raise DocumentParseError(
            f"{name}: text file is {len(raw) / 1_048_576:.1f} MB, over the 20 MB limit; split the document or "
            "remove it."
        )
    wide = next((encoding for bom, encoding in WIDE_BOMS if raw.startswith(bom)), None)
    if wide:
        try:
            text = raw.decode(wide)
        except UnicodeDecodeError as exc:
            raise DocumentParseError(
                f"{name}: starts with a {wide.upper()} byte order mark but is not {wide.upper()} text (byte "
                f"{exc.start}); convert it to UTF-8 first."
            ) from exc
        if not text.strip():
            raise DocumentParseError(f"{name}: file is empty; export the document text again or remove the file.")
        # Any even run of bytes decodes as UTF-16: binary behind a stray mark reads as CJK, not Latin text.
        if sum(ch < "\u0250" for ch in text) < len(text) / 2:
            raise DocumentParseError(f"{name}: file looks binary (not Latin text after its {wide.upper()} byte order "
                                     "mark); convert it to UTF-8 text.")  # fmt: skip
    else:
        text = _decode_narrow(raw, name)
    control = len(CONTROL_RE.findall(text))
    if control > max(2, len(text) // 50):
        raise DocumentParseError(f"{name}: file looks binary (control characters), not text; convert it to UTF-8 text.")
    return text


def _decode_narrow(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else cp1252."""
    if not raw.strip():
        raise DocumentParseError(f"{name}: file is empty; export the document text again or remove the file.")
    if b"\x00" in raw:
        raise DocumentParseError(
            f"{name}: file is binary (NUL bytes), not text; convert it to plain UTF-8 text first (UTF-16 text is "
            "read when it starts with a byte order mark)."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise DocumentParseError(
                f"{name}: not readable as UTF-8 or cp1252 text (byte {exc.start}); convert it to UTF-8 first."
            ) from exc
