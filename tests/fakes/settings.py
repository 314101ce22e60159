"""Settings for tests: every path under a tmp folder, the hash embedding, never a .env."""

from __future__ import annotations

from pathlib import Path

from kamerbron.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "corpus"
# Real official files beside the project (../shared/formats), read-only; tests skip when absent.
SHARED_FORMATS = ROOT.parent / "shared" / "formats"
FIXTURES = ROOT / "tests" / "fixtures"


def make_settings(tmp: Path, **overrides: dict) -> Settings:
    """Settings with every path under ``tmp`` and the deterministic hash embedding.

    ``overrides`` update whole groups field by field, e.g. ``make_settings(tmp, app={"concurrency": 1})``.
    """
    groups: dict[str, dict] = {
        "paths": {
            "index_dir": tmp / "index",
            "corpus_dir": CORPUS,
            "feedback_path": tmp / "feedback.jsonl",
            "eval_dir": tmp / "eval",
        },
        "embedding": {"backend": "hash"},
    }
    for group, values in overrides.items():
        groups.setdefault(group, {}).update(values)
    return Settings(_env_file=None, **groups)
