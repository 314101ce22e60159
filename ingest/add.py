"""Add a file to the corpus folder: parse it first, copy it under its own name, record its metadata.

:func:`add_document` reads the file's bytes and parses them through the format registry (the
format is picked by content, never by the extension), so a file that cannot be indexed (empty,
damaged, a scan without a text layer, a VLOS skeleton without speeches) is refused with the
parser's message and never reaches the corpus. A readable file is copied into the corpus folder
under its original name and its manifest entry is written from what the file states about itself
(type, dossier, number, date, title, official URL, publication status).

Nothing in the corpus is ever overwritten: a different file of the same name, or of the same
document id (``x.pdf`` beside ``x.txt``), is refused; the same file added again changes nothing.
The copy is written to a hidden file first and linked into place only when complete, so an
interrupted add never leaves half a file that a build would read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.formats import CORPUS_SUFFIXES, MAX_INPUT_BYTES, detect
from ingest.formats.textfile import read_bytes
from ingest.manifest import MANIFEST_NAME, add_entry, entry_from_meta, load_manifest
from kamerbron.errors import CorpusConflictError, DocumentParseError
from kamerbron.records import DocumentMeta


@dataclass
class Added:
    """What :func:`add_document` did with one file."""

    source: Path
    target: Path
    format: str
    meta: DocumentMeta
    turns: int
    copied: bool = True  # False: the same file was already in the corpus
    entry_written: bool = True  # False: the manifest already had an entry for the name, kept as it was
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the CLI."""
        meta = self.meta
        facts = ", ".join(bit for bit in (meta.doc_type, meta.date, meta.status) if bit and bit != "onbekend")
        done = "added" if self.copied else "already in the corpus"
        entry = "manifest entry written" if self.entry_written else "manifest entry kept"
        return f"{done}: {self.target.name} ({self.format}; {self.turns} turns; {facts or 'no metadata'}); {entry}"


def add_document(path: Path, corpus_dir: Path) -> Added:
    """Parse ``path``, copy it into ``corpus_dir`` and write its manifest entry.

    Raises ``DocumentParseError`` when the file cannot be indexed and ``CorpusConflictError`` when
    another file of its name or document id is in the corpus; both name the file, and in both
    cases the corpus is left as it was.
    """
    path, corpus_dir = Path(path), Path(corpus_dir)
    name = path.name
    check_corpus_dir(corpus_dir)
    _check_name(name)
    raw = read_bytes(path, MAX_INPUT_BYTES)
    fmt = detect(raw, source_file=name)
    target = corpus_dir / name
    same_file = target.is_file() and target.read_bytes() == raw
    if target.exists() and not same_file:
        raise CorpusConflictError(
            f"{name}: a different file of that name is already in {corpus_dir}; nothing was changed. Rename the new "
            "file, or remove the old one (and its manifest entry) first."
        )
    stem_taken = [p.name for p in corpus_dir.iterdir() if p.stem == path.stem and p.name != name
                  and p.suffix.lower() in CORPUS_SUFFIXES]  # fmt: skip
    if stem_taken:
        raise CorpusConflictError(
            f"{name}: document id {path.stem!r} is already used by {stem_taken[0]} in {corpus_dir}; nothing was "
            "changed. Rename the new file."
        )
    manifest = load_manifest(corpus_dir)
    doc = fmt.parse(raw, doc_id=path.stem, source_file=name, manifest_entry=manifest.get(name, {}))
    if not doc.turns:
        why = "; ".join(doc.warnings) or "no text to index"
        raise DocumentParseError(f"{name}: nothing to index ({why}); it was not added.")
    copied = not same_file
    if copied:
        _copy_into(raw, target)
    entry = entry_from_meta(doc.meta)
    comment = f"Read from the file ({fmt.NAME}) by `python -m ingest add`." + (
        "" if entry else "\nThe file states no type, dossier, date or title: add what you know."
    )
    written = add_entry(corpus_dir, name, entry, comment=comment)
    return Added(path, target, fmt.NAME, doc.meta, len(doc.turns), copied, written, list(doc.warnings))


def check_corpus_dir(corpus_dir: Path) -> None:
    """Raise DocumentParseError, saying what to do, when ``corpus_dir`` is not a folder."""
    if not Path(corpus_dir).is_dir():
        raise DocumentParseError(
            f"{corpus_dir}: corpus folder not found; create it or set KAMERBRON_PATHS_CORPUS_DIR to the corpus folder."
        )


def _check_name(name: str) -> None:
    if name.startswith(".") or name == MANIFEST_NAME:
        raise CorpusConflictError(f"{name}: a corpus file name cannot start with '.' or be {MANIFEST_NAME}; rename it.")
    if Path(name).suffix.lower() not in CORPUS_SUFFIXES:
        raise CorpusConflictError(
            f"{name}: the corpus folder only lists files ending in {', '.join(CORPUS_SUFFIXES)}; rename the file "
            "with the ending of its format (its format is read from its content either way)."
        )


def _copy_into(raw: bytes, target: Path) -> None:
    """Write ``raw`` to ``target``, which must not exist, without ever showing a partial file there."""
    tmp = target.with_name(f".{target.name}.adding")
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, target)  # fails, rather than replaces, when a file appeared there meanwhile
        except FileExistsError:
            raise CorpusConflictError(
                f"{target.name}: a file of that name appeared in {target.parent} while adding; nothing was changed."
            ) from None
        except OSError:
            # A filesystem without hard links: rename, after checking once more.
            if target.exists():
                raise CorpusConflictError(
                    f"{target.name}: a file of that name appeared in {target.parent} while adding; nothing was changed."
                ) from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
