"""The corpus manifest: per-document metadata that the text itself does not state.

``<corpus_dir>/manifest.toml`` has one table per source file, keyed by file name::

    ["002_d05e322e15ff4b92.txt"]
    doc_type = "debat"            # debat | schriftelijk_overleg | brief
    dossier = "28 638"
    number = "157"
    date = "2017-02-16"           # ISO date
    title = "Mensenhandel; Verslag van een algemeen overleg"
    committee = "vaste commissie voor Veiligheid en Justitie"
    url = "https://zoek.officielebekendmakingen.nl/kst-28638-157.html"
    chair = "Van Oosten"
    status = "Ongecorrigeerd (Tussenpublicatie)"   # publication status, when not final

Every key is optional; leave a key out rather than guess. How manifest values and values
parsed from the text are combined is described in ``ingest.formats.common``. A build reads it
with :func:`read_manifest`, so an entry that is not valid fails only its own file: looking it up
raises ``DocumentParseError`` saying what to fix, and the other files still read their entries. The official
``url`` is a page on zoek.officielebekendmakingen.nl (``kst-…``, ``h-tk-…``) or on
www.tweedekamer.nl (a verslag); a Kamerstuk URL needs its ``number`` too.

:func:`add_entry` appends the entry of a newly added file (``python -m ingest add``), and
:func:`remove_entry` takes out the entry of a removed one (``python -m ingest remove``), each
leaving every other line and comment as it is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from pathlib import Path

from kamerbron.errors import DocumentParseError
from kamerbron.records import DocumentMeta

MANIFEST_NAME = "manifest.toml"
MANIFEST_KEYS = frozenset({"doc_type", "dossier", "number", "date", "title", "committee", "url", "chair", "status"})
DOC_TYPES = frozenset({"debat", "schriftelijk_overleg", "brief", "onbekend"})
# Official pages: a publication on officielebekendmakingen.nl ('kst-28638-157', 'h-tk-20172018-61-10')
# or a verslag on tweedekamer.nl.
URL_RE = re.compile(
    r"^https://(?:zoek\.officielebekendmakingen\.nl/[a-z]+(?:-[A-Za-z0-9]+)+\.html"
    r"|www\.tweedekamer\.nl/[^\s\"'<>]+)$"
)
KAMERSTUK_URL_RE = re.compile(r"^https://zoek\.officielebekendmakingen\.nl/kst-")
# What `ingest add` writes from a file's own metadata, in this order.
ADDED_KEYS = ("doc_type", "dossier", "number", "date", "title", "url", "status")


def manifest_path(corpus_dir: Path) -> Path:
    return Path(corpus_dir) / MANIFEST_NAME


class Manifest(dict):
    """The valid entries by source file name, plus the problem of each invalid one.

    ``get`` and ``[]`` raise ``DocumentParseError`` for a file whose entry is invalid, so that file
    fails and no other does; ``in`` is true for every file with an entry, valid or not.
    """

    def __init__(self, entries: dict[str, dict] | None = None, problems: dict[str, str] | None = None):
        super().__init__(entries or {})
        self.problems: dict[str, str] = dict(problems or {})

    def __getitem__(self, name: str) -> dict:
        self._check(name)
        return super().__getitem__(name)

    def get(self, name: str, default=None):
        self._check(name)
        return super().get(name, default)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or name in self.problems

    def _check(self, name: str) -> None:
        if name in self.problems:
            raise DocumentParseError(self.problems[name])


def read_manifest(corpus_dir: Path) -> Manifest:
    """Entries of ``corpus_dir/manifest.toml`` keyed by source file name; empty when there is none.

    A manifest that is not UTF-8 TOML raises ``DocumentParseError``; an invalid entry raises only
    when it is looked up (:class:`Manifest`), so a build fails that one file and no other.
    """
    path = manifest_path(corpus_dir)
    if not path.is_file():
        return Manifest()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DocumentParseError(f"{path}: not UTF-8 text; save the manifest as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocumentParseError(f"{path}: invalid TOML ({exc}); fix the syntax or remove the file.") from exc
    entries: dict[str, dict] = {}
    problems: dict[str, str] = {}
    for name, entry in data.items():
        try:
            entries[name] = _validate_entry(path, name, entry)
        except DocumentParseError as error:
            problems[name] = str(error)
    return Manifest(entries, problems)


def load_manifest(corpus_dir: Path) -> Manifest:
    """:func:`read_manifest`, raising ``DocumentParseError`` for the first invalid entry too."""
    manifest = read_manifest(corpus_dir)
    for problem in manifest.problems.values():
        raise DocumentParseError(problem)
    return manifest


def _validate_entry(path: Path, name: str, entry: object) -> dict:
    where = f"{path} [{name!r}]"
    if not isinstance(entry, dict):
        raise DocumentParseError(
            f'{where}: expected a table of fields; write it as ["{name}"] followed by key = "value" lines.'
        )
    unknown = sorted(set(entry) - MANIFEST_KEYS)
    if unknown:
        raise DocumentParseError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(MANIFEST_KEYS))}."
        )
    for key, value in entry.items():
        if not isinstance(value, str):
            raise DocumentParseError(f'{where}: {key} must be a quoted string, e.g. {key} = "..."')
    if entry.get("doc_type", "onbekend") not in DOC_TYPES:
        raise DocumentParseError(
            f"{where}: doc_type {entry['doc_type']!r} is not one of {', '.join(sorted(DOC_TYPES))}."
        )
    if entry.get("date"):
        try:
            dt.date.fromisoformat(entry["date"])
        except ValueError as exc:
            raise DocumentParseError(f"{where}: date {entry['date']!r} is not an ISO date (YYYY-MM-DD).") from exc
    if entry.get("url") and not URL_RE.match(entry["url"]):
        raise DocumentParseError(
            f"{where}: url {entry['url']!r} is not an official page; give "
            "https://zoek.officielebekendmakingen.nl/<identifier>.html (e.g. kst-28638-157) or a "
            "https://www.tweedekamer.nl/ page of the verslag."
        )
    if entry.get("url") and KAMERSTUK_URL_RE.match(entry["url"]) and not entry.get("number"):
        raise DocumentParseError(f"{where}: url given without number; give both, or leave the url out.")
    return dict(entry)


def entry_from_meta(meta: DocumentMeta) -> dict[str, str]:
    """The manifest entry that records what a parsed file states about itself (empty values left out)."""
    values = {key: str(getattr(meta, key) or "") for key in ADDED_KEYS}
    if values["doc_type"] == "onbekend":
        values["doc_type"] = ""
    return {key: value for key, value in values.items() if value}


def add_entry(corpus_dir: Path, name: str, entry: dict[str, str], *, comment: str = "") -> bool:
    """Append ``entry`` for file ``name`` to the manifest; False (nothing written) when it has one.

    The manifest is rewritten whole through a temporary file and checked to load before it
    replaces the old one, so a failure leaves the old manifest as it was.
    """
    path = manifest_path(corpus_dir)
    existing = load_manifest(corpus_dir)  # raises on a broken manifest: never append to one
    if name in existing:
        return False
    _validate_entry(path, name, entry)
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    lines.append(f"[{_toml_string(name)}]")
    lines += [f"{key} = {_toml_string(value)}" for key, value in entry.items()]
    if old and not old.endswith("\n"):
        old += "\n"
    new = old + ("\n" if old.strip() else "") + "\n".join(lines) + "\n"
    try:
        readable = tomllib.loads(new).get(name) == entry  # the appended table must read back as written
    except tomllib.TOMLDecodeError:
        readable = False
    if not readable:
        raise DocumentParseError(f"{path}: could not write an entry for {name!r}; rename the file or add it by hand.")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, except that TOML also escapes DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def remove_entry(corpus_dir: Path, name: str) -> bool:
    """Take the entry of file ``name`` out of the manifest; False (nothing written) when it has none.

    Removes the table's header line, its keys and the comment lines right above it; the result
    must read back as the old manifest without that one entry, or nothing is written.
    """
    path = manifest_path(corpus_dir)
    if not path.is_file():
        return False
    old = path.read_text(encoding="utf-8")
    try:
        before = tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise DocumentParseError(
            f"{path}: invalid TOML ({exc}); fix the syntax, then remove the entry of {name!r}."
        ) from exc
    if name not in before:
        return False
    lines = old.splitlines(keepends=True)
    headers = [i for i, line in enumerate(lines) if line.lstrip().startswith("[")]
    start = next((i for i in headers if _table_name(lines[i]) == name), None)
    if start is None:
        raise DocumentParseError(f"{path}: the entry of {name!r} is not a plain table; remove it by hand.")
    end = next((i for i in headers if i > start), len(lines))
    while end > start + 1 and lines[end - 1].lstrip().startswith("#"):
        end -= 1  # comments above the next table belong to it
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    new = "".join(lines[:start] + lines[end:])
    expected = {key: value for key, value in before.items() if key != name}
    try:
        readable = tomllib.loads(new) == expected
    except tomllib.TOMLDecodeError:
        readable = False
    if not readable:
        raise DocumentParseError(f"{path}: could not take out the entry of {name!r}; remove it by hand.")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return True


def _table_name(line: str) -> str | None:
    """The key of a ``["name"]`` or ``[name]`` table header line, else None."""
    try:
        keys = list(tomllib.loads(line.strip() + "\n"))
    except tomllib.TOMLDecodeError:
        return None
    return keys[0] if len(keys) == 1 else None
