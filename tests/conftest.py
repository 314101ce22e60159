"""Shared fixtures. Every test runs offline, with settings isolated from the machine's environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["RAGAS_DO_NOT_TRACK"] = "true"

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("KAMERBRON_"):
            monkeypatch.delenv(name)


def make_settings(tmp: Path, **overrides):
    """Settings with every path under ``tmp`` and the deterministic hash embedding."""
    from rag.settings import Settings

    groups = {
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


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory):
    """The bundled corpus indexed once per session with the hash embedding: (settings, BuildReport)."""
    from ingest.build import build_index

    tmp = tmp_path_factory.mktemp("corpus-index")
    settings = make_settings(tmp)
    report = build_index([CORPUS], settings, progress=False)
    return settings, report


@pytest.fixture(scope="session")
def corpus_answerer(corpus_index):
    from rag.answer import Answerer

    settings, _ = corpus_index
    return Answerer(settings)
