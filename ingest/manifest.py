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
parsed from the text are combined is described in ``ingest.formats.common``. The official
``url`` is a page on zoek.officielebekendmakingen.nl (``kst-…``, ``h-tk-…``) or on
www.tweedekamer.nl (a verslag); a Kamerstuk URL needs its ``number`` too.

:func:`add_entry` appends the entry of a newly added file (``python -m ingest add``), leaving
every existing line and comment as it is.
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
MANIFEST_KEYS = frozenset(
    {"doc_type", "dossier", "number", "date", "title", "committee", "url", "chair", "status"}
)
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


def load_manifest(corpus_dir: Path) -> dict[str, dict]:
    """Entries of ``corpus_dir/manifest.toml`` keyed by source file name; {} when there is none."""
    path = manifest_path(corpus_dir)
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise DocumentParseError(f"{path}: not UTF-8 text; save the manifest as UTF-8.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocumentParseError(f"{path}: invalid TOML ({exc}); fix the syntax or remove the file.") from exc
    return {name: _validate_entry(path, name, entry) for name, entry in data.items()}


def _validate_entry(path: Path, name: str, entry: object) -> dict:
    where = f"{path} [{name!r}]"
    if not isinstance(entry, dict):
        raise DocumentParseError(f'{where}: expected a table of fields; write it as ["{name}"] followed by key = "value" lines.')
    unknown = sorted(set(entry) - MANIFEST_KEYS)
    if unknown:
        raise DocumentParseError(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(MANIFEST_KEYS))}."
        )
    for key, value in entry.items():
        if not isinstance(value, str):
            raise DocumentParseError(f'{where}: {key} must be a quoted string, e.g. {key} = "..."')
    if entry.get("doc_type", "onbekend") not in DOC_TYPES:
        raise DocumentParseError(f"{where}: doc_type {entry['doc_type']!r} is not one of {', '.join(sorted(DOC_TYPES))}.")
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
