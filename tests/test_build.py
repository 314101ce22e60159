"""Incremental and safe index builds, on a two-file corpus in tmp_path."""

import os
import signal
import subprocess
import sys
import time

import pytest

from ingest.build import build_index, remove_documents
from kamerbron.embed import HashEmbedder
from kamerbron.errors import ArgumentInvalidError, DocumentParseError
from kamerbron.store import IndexStore, chunk_sentences
from tests.fakes.corpus import OTHER, write_corpus
from tests.fakes.settings import ROOT, make_settings


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
    return write_corpus(tmp_path)


def _build(path, settings, embedder=None):
    return build_index([path], settings, progress=False, embedder=embedder or CountingEmbedder())


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


def test_file_gone_from_the_corpus_stays_indexed(corpus, tmp_path):
    settings = make_settings(tmp_path, paths={"corpus_dir": corpus})
    _build(corpus, settings)
    (corpus / "b.txt").unlink()
    _build(corpus, settings)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


def test_file_gone_from_the_corpus_is_named_with_the_remove_command(corpus, tmp_path):
    settings = make_settings(tmp_path, paths={"corpus_dir": corpus})
    _build(corpus, settings)
    (corpus / "b.txt").unlink()
    summary = _build(corpus, settings).summary()
    assert "b.txt: indexed, but no longer in" in summary and "`python -m ingest remove b.txt`" in summary


# --- a build of some files updates those documents only; removing is explicit


def test_build_of_one_file_keeps_the_other_documents(corpus, settings):
    _build(corpus, settings)
    (corpus / "b.txt").write_text(OTHER.replace("dit najaar", "volgend voorjaar"), encoding="utf-8")
    _build(corpus / "b.txt", settings)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


def test_build_of_one_file_updates_that_document(corpus, settings):
    _build(corpus, settings)
    (corpus / "b.txt").write_text(OTHER.replace("dit najaar", "volgend voorjaar"), encoding="utf-8")
    _build(corpus / "b.txt", settings)
    assert "volgend voorjaar" in " ".join(c.text for c in IndexStore(settings).load().chunks)


def test_build_of_one_new_file_adds_it_to_the_index(corpus, settings, tmp_path):
    _build(corpus, settings)
    extra = tmp_path / "c.txt"
    extra.write_text(OTHER.replace("Segers", "Voordewind"), encoding="utf-8")
    _build(extra, settings)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt", "c.txt"}


def test_build_of_an_unchanged_file_writes_nothing(corpus, settings):
    first = _build(corpus, settings)
    assert _build(corpus / "a.txt", settings).generation == first.generation


@pytest.fixture
def own_corpus(corpus, tmp_path):
    """Settings whose corpus folder is ``corpus`` (``remove`` deletes files there), built once."""
    settings = make_settings(tmp_path, paths={"corpus_dir": corpus})
    _build(corpus, settings)
    return settings


def test_remove_takes_the_document_out_of_the_index(own_corpus):
    remove_documents(["b.txt"], own_corpus)
    assert {c.source_file for c in IndexStore(own_corpus).load().chunks} == {"a.txt"}


def test_remove_accepts_a_document_id(own_corpus):
    remove_documents(["b"], own_corpus)
    assert {c.source_file for c in IndexStore(own_corpus).load().chunks} == {"a.txt"}


def test_remove_embeds_nothing(own_corpus):
    embedder = CountingEmbedder()
    remove_documents(["b.txt"], own_corpus, embedder=embedder)
    assert embedder.embedded == 0


def test_remove_deletes_the_file_from_the_corpus_folder(own_corpus, corpus):
    remove_documents(["b.txt"], own_corpus)
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt"]


def test_removed_document_stays_out_after_a_corpus_build(own_corpus, corpus):
    remove_documents(["b.txt"], own_corpus)
    _build(corpus, own_corpus)
    assert {c.source_file for c in IndexStore(own_corpus).load().chunks} == {"a.txt"}


def test_remove_takes_out_the_manifest_entry_and_keeps_the_others(corpus, tmp_path):
    (corpus / "manifest.toml").write_text(
        '# the debate\n["a.txt"]\ndoc_type = "debat"\n\n# the other one\n["b.txt"]\ndate = "2018-01-02"\n',
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, paths={"corpus_dir": corpus})
    _build(corpus, settings)
    remove_documents(["b.txt"], settings)
    assert (corpus / "manifest.toml").read_text(encoding="utf-8") == '# the debate\n["a.txt"]\ndoc_type = "debat"\n\n'


def test_remove_keeps_a_corpus_file_that_differs_from_the_indexed_one(own_corpus, corpus):
    (corpus / "b.txt").write_text(OTHER + "\nNog een zin.\n", encoding="utf-8")
    report = remove_documents(["b.txt"], own_corpus)
    assert (corpus / "b.txt").exists() and "differs from the indexed one" in report.summary()


def test_remove_of_a_name_not_in_the_index_changes_nothing(own_corpus):
    before = IndexStore(own_corpus).current_state().generation
    with pytest.raises(ArgumentInvalidError, match="not in the index: c.txt"):
        remove_documents(["b.txt", "c.txt"], own_corpus)
    assert IndexStore(own_corpus).current_state().generation == before


def test_remove_of_every_document_is_refused(own_corpus):
    with pytest.raises(ArgumentInvalidError, match="empty index"):
        remove_documents(["a.txt", "b.txt"], own_corpus)


def test_build_after_a_remove_reuses_the_vectors_of_the_replaced_generation(own_corpus, corpus):
    kept = (corpus / "b.txt").read_bytes()
    remove_documents(["b.txt"], own_corpus)
    (corpus / "b.txt").write_bytes(kept)
    embedder = CountingEmbedder()
    _build(corpus / "b.txt", own_corpus, embedder)
    assert embedder.embedded == 0


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
import kamerbron.store
from ingest.build import build_index
from kamerbron.settings import Settings

original_add = kamerbron.store.add_chunks

def add_then_hang(collection, chunks, vectors):
    original_add(collection, chunks, vectors)  # half the new generation is written ...
    Path(sys.argv[2]).write_text("writing")
    time.sleep(120)                             # ... and here the process is killed

kamerbron.store.add_chunks = add_then_hang
build_index([Path(sys.argv[1])], Settings(), progress=False)
"""


def _kill_a_build_while_it_writes(corpus, settings, tmp_path):
    """Index a, b; add c; start a build in a subprocess and SIGKILL it halfway through writing."""
    _build(corpus, settings)
    (corpus / "c.txt").write_text(OTHER.replace("Segers", "Voordewind"), encoding="utf-8")
    marker = tmp_path / "marker"
    env = os.environ | {
        "KAMERBRON_PATHS_INDEX_DIR": str(settings.paths.index_dir),
        "KAMERBRON_EMBEDDING_BACKEND": "hash",
    }
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


def _ingest_cli(args, settings):
    env = os.environ | {
        "KAMERBRON_PATHS_INDEX_DIR": str(settings.paths.index_dir),
        "KAMERBRON_PATHS_CORPUS_DIR": str(settings.paths.corpus_dir),
        "KAMERBRON_EMBEDDING_BACKEND": "hash",
    }
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_cli_build_of_one_file_keeps_the_other_documents(own_corpus, corpus):
    (corpus / "b.txt").write_text(OTHER.replace("dit najaar", "volgend voorjaar"), encoding="utf-8")
    done = _ingest_cli(["build", str(corpus / "b.txt"), "--no-progress"], own_corpus)
    assert (done.returncode, {c.source_file for c in IndexStore(own_corpus).load().chunks}) == (0, {"a.txt", "b.txt"})


def test_cli_remove_of_an_unknown_name_is_one_line_with_exit_2(own_corpus):
    done = _ingest_cli(["remove", "nope.txt"], own_corpus)
    assert (done.returncode, done.stderr.count("\n"), "not in the index: nope.txt" in done.stderr) == (2, 1, True)
