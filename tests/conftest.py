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
    from kamerbron.settings import Settings

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


# ---------------------------------------------------------------- a small hand-made index


def small_chunks(settings):
    from ingest.chunk import chunk_document
    from kamerbron.records import DocumentMeta, ParsedDocument, Turn
    meta = DocumentMeta(doc_id="d", source_file="d.txt", title="Verslag", date="2017-02-16", doc_type="debat")
    turns = [
        Turn(doc_id="d", turn_index=0, speaker="De heer Van Nispen", surname="Van Nispen", party="SP", role="kamerlid",
             text="De politie heeft te weinig capaciteit om mensenhandel aan te pakken."),
        Turn(doc_id="d", turn_index=1, speaker="Minister Blok", surname="Blok", role="minister", replies_to=[0],
             text="Er komt 2 miljoen euro extra voor de politie."),
        Turn(doc_id="d", turn_index=2, speaker="De voorzitter", surname="Van Oosten", role="voorzitter", procedural=True,
             text="Dank u wel. Het woord is aan de minister voor de politie."),
        Turn(doc_id="d", turn_index=3, speaker="Mevrouw Kuik", surname="Kuik", party="CDA", role="kamerlid",
             text="Het CDA wil een registratieplicht voor prostituees."),
    ]
    return chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)


def write_small_index(settings, chunks=None):
    """A four-turn debate (question, answer, procedural chair, other party) written as one generation."""
    chunks = chunks or small_chunks(settings)
    from kamerbron.embed import HashEmbedder
    from kamerbron.store import IndexStore

    store = IndexStore(settings)
    vectors = HashEmbedder(settings.embedding.dim).embed_passages([c.embed_text for c in chunks])
    return store, store.write_generation(chunks, vectors, {"d.txt": {"content_hash": "h", "chunks": len(chunks)}})


