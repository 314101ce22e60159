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

Every key is optional; leave a key out rather than guess. How manifest values and values
parsed from the text are combined is described in ``ingest.parse``.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

from kamerbron.errors import DocumentParseError

MANIFEST_NAME = "manifest.toml"
MANIFEST_KEYS = frozenset({"doc_type", "dossier", "number", "date", "title", "committee", "url", "chair"})
DOC_TYPES = frozenset({"debat", "schriftelijk_overleg", "brief", "onbekend"})
URL_RE = re.compile(r"^https://zoek\.officielebekendmakingen\.nl/kst-\d+(?:-[A-Z]+)?-\d+\.html$")


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
            f"{where}: url {entry['url']!r} is not https://zoek.officielebekendmakingen.nl/kst-<dossier>-<nr>.html."
        )
    if entry.get("url") and not entry.get("number"):
        raise DocumentParseError(f"{where}: url given without number; give both, or leave the url out.")
    return dict(entry)
