"""Incremental and safe index builds, on a two-file corpus in tmp_path."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ingest.build import build_index
from kamerbron.embed import HashEmbedder
from kamerbron.errors import DocumentParseError
from kamerbron.store import IndexStore, chunk_sentences
from tests.fakes.settings import ROOT

DEBATE = """Voorzitter: Van Oosten

De **voorzitter**:
Goedemorgen. Ik geef het woord aan de heer Van Nispen.

De heer **Van Nispen** (SP):
Voorzitter. De politie heeft veel te weinig capaciteit om mensenhandel aan te pakken. Dat moet anders.

Minister **Blok**:
Er komt twee miljoen euro extra voor de aanpak van mensenhandel door de politie.
"""

OTHER = """Voorzitter: Kuiken

De heer **Segers** (ChristenUnie):
Voorzitter. Wij willen dat de klant van een gedwongen prostituee strafbaar wordt.

Staatssecretaris **Harbers**:
Het wetsvoorstel over strafbaarstelling van klanten komt dit najaar naar de Kamer.
"""


class CountingEmbedder(HashEmbedder):
    """Hash embedding that counts the passages it embeds, and can be told to fail."""

    def __init__(self, dim=384, fail_after: int | None = None):
        super().__init__(dim)
        self.embedded = 0
        self.fail_after = fail_after

    def embed_passages(self, texts):
        if self.fail_after is not None and self.embedded + len(texts) > self.fail_after:
            raise RuntimeError("embedding crashed")
        self.embedded += len(texts)
        return super().embed_passages(texts)


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(DEBATE, encoding="utf-8")
    (folder / "b.txt").write_text(OTHER, encoding="utf-8")
    return folder


def _build(corpus, settings, embedder=None):
    return build_index([corpus], settings, progress=False, embedder=embedder or CountingEmbedder())


def test_first_build_embeds_every_chunk(corpus, settings):
    embedder = CountingEmbedder()
    report = _build(corpus, settings, embedder)
    assert embedder.embedded == report.chunks + report.sentences_embedded and report.embedded == report.chunks > 0


def test_first_build_embeds_every_distinct_sentence(corpus, settings):
    report = _build(corpus, settings)
    assert report.sentences_embedded == len(chunk_sentences(IndexStore(settings).load().chunks)) > 0


def test_sentence_vectors_are_stored_and_loaded(corpus, settings):
    _build(corpus, settings)
    stored = IndexStore(settings).load()
    assert set(stored.sentence_vectors) == set(chunk_sentences(stored.chunks))


def test_unchanged_rebuild_does_no_embedding_work(corpus, settings):
    _build(corpus, settings)
    embedder = CountingEmbedder()
    _build(corpus, settings, embedder)
    assert embedder.embedded == 0


def test_unchanged_rebuild_keeps_the_generation(corpus, settings):
    first = _build(corpus, settings)
    assert _build(corpus, settings).generation == first.generation


def test_changed_file_embeds_only_its_changed_chunks(corpus, settings):
    _build(corpus, settings)
    (corpus / "b.txt").write_text(OTHER.replace("dit najaar", "volgend voorjaar"), encoding="utf-8")
    embedder = CountingEmbedder()
    report = _build(corpus, settings, embedder)
    # the changed chunk, and the one sentence of it that changed
    assert (report.embedded, report.sentences_embedded, embedder.embedded) == (1, 1, 2)


def test_changed_file_replaces_its_own_chunks(corpus, settings):
    _build(corpus, settings)
    (corpus / "b.txt").write_text(OTHER.replace("dit najaar", "volgend voorjaar"), encoding="utf-8")
    _build(corpus, settings)
    texts = " ".join(c.text for c in IndexStore(settings).load().chunks)
    assert "volgend voorjaar" in texts and "dit najaar" not in texts


def test_removed_file_loses_its_chunks(corpus, settings):
    _build(corpus, settings)
    (corpus / "b.txt").unlink()
    _build(corpus, settings)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt"}


def test_failed_build_leaves_previous_index_queryable(corpus, settings):
    _build(corpus, settings)
    (corpus / "c.txt").write_text(OTHER.replace("Segers", "Voordewind"), encoding="utf-8")
    with pytest.raises(RuntimeError):
        _build(corpus, settings, CountingEmbedder(fail_after=0))
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


def test_build_after_a_failed_one_succeeds(corpus, settings):
    _build(corpus, settings)
    (corpus / "c.txt").write_text(OTHER.replace("Segers", "Voordewind"), encoding="utf-8")
    with pytest.raises(RuntimeError):
        _build(corpus, settings, CountingEmbedder(fail_after=0))
    _build(corpus, settings)
    assert "c.txt" in {c.source_file for c in IndexStore(settings).load().chunks}


def test_empty_file_fails_with_its_name_while_others_index(corpus, settings):
    (corpus / "leeg.txt").write_bytes(b"")
    report = _build(corpus, settings)
    assert [name for name, _ in report.failed] == ["leeg.txt"] and report.documents == 2


def test_file_that_breaks_keeps_its_previous_chunks(corpus, settings):
    _build(corpus, settings)
    (corpus / "b.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    report = _build(corpus, settings)
    kept = {c.source_file for c in IndexStore(settings).load().chunks}
    assert report.failed and kept == {"a.txt", "b.txt"}


def test_binary_file_is_reported(corpus, settings):
    (corpus / "plaatje.txt").write_bytes(bytes(range(256)) * 10)
    assert "plaatje.txt" in [name for name, _ in _build(corpus, settings).failed]


def test_missing_path_raises_clear_error(settings, tmp_path):
    with pytest.raises(DocumentParseError, match="no such file"):
        build_index([tmp_path / "nope"], settings, progress=False, embedder=CountingEmbedder())


def test_new_parser_version_reuses_vectors_of_unchanged_chunks(corpus, settings, monkeypatch):
    _build(corpus, settings)
    monkeypatch.setattr("kamerbron.fingerprint.PARSER_VERSION", "test-next")
    embedder = CountingEmbedder()
    report = _build(corpus, settings, embedder)
    assert report.changed and embedder.embedded == 0


KILLED_BUILD = """
import sys, time
from pathlib import Path
from llama_index.vector_stores.chroma import ChromaVectorStore
from ingest.build import build_index
from kamerbron.settings import Settings

original_add = ChromaVectorStore.add

def add_then_hang(self, nodes, **kwargs):
    ids = original_add(self, nodes, **kwargs)  # half the new generation is written ...
    Path(sys.argv[2]).write_text("writing")
    time.sleep(120)                             # ... and here the process is killed
    return ids

ChromaVectorStore.add = add_then_hang
build_index([Path(sys.argv[1])], Settings(), progress=False)
"""


def _kill_a_build_while_it_writes(corpus, settings, tmp_path):
    """Index a, b; add c; start a build in a subprocess and SIGKILL it halfway through writing."""
    _build(corpus, settings)
    (corpus / "c.txt").write_text(OTHER.replace("Segers", "Voordewind"), encoding="utf-8")
    marker = tmp_path / "marker"
    env = os.environ | {"KAMERBRON_PATHS_INDEX_DIR": str(settings.paths.index_dir), "KAMERBRON_EMBEDDING_BACKEND": "hash"}
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(corpus), str(marker)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert marker.exists(), "the build never started writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_build_killed_while_writing_leaves_previous_index_intact(corpus, settings, tmp_path):
    _kill_a_build_while_it_writes(corpus, settings, tmp_path)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


def test_build_after_a_killed_one_completes(corpus, settings, tmp_path):
    _kill_a_build_while_it_writes(corpus, settings, tmp_path)
    _build(corpus, settings)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt", "c.txt"}
