"""A damaged index says what is wrong and how to repair it; `ingest build` repairs it.

Each test damages one part of a real index in tmp_path (hash embedding): the BM25 index, the
catalogue, the pointer, or the generation the pointer names.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ingest.build import build_index
from kamerbron.errors import IndexDamagedError
from kamerbron.store import IndexStore
from tests.fakes.corpus import DEBATE, OTHER
from tests.fakes.ports import free_port
from tests.fakes.settings import ROOT, make_settings
from tests.test_build import CountingEmbedder

REPAIR = "`python -m ingest build --repair`"


@pytest.fixture
def built(tmp_path):
    """(settings, corpus folder, generation folder) of a built two-file index."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(DEBATE, encoding="utf-8")
    (corpus / "b.txt").write_text(OTHER, encoding="utf-8")
    settings = make_settings(tmp_path, paths={"corpus_dir": corpus})
    report = build_index([corpus], settings, progress=False)
    return settings, corpus, settings.paths.index_dir / report.generation


def _damage_bm25(folder):
    (folder / "bm25" / "params.index.json").write_text("garbage")


def _damage_catalogue(folder):
    with open(folder / "catalogue.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{broken\n")


def _truncate_catalogue(folder):
    lines = (folder / "catalogue.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "catalogue.jsonl").write_text("".join(lines[:-1]), encoding="utf-8")


def _rename_a_vector(folder):
    """The collection keeps as many records, but one chunk's vector is under another id."""
    store = IndexStore(make_settings(folder.parent.parent, paths={"index_dir": folder.parent}))
    collection = store.client.get_collection(folder.name)
    got = collection.get(limit=1, include=["embeddings", "documents", "metadatas"])
    collection.delete(ids=got["ids"])
    collection.add(
        ids=["renamed"], embeddings=got["embeddings"], documents=got["documents"], metadatas=got["metadatas"]
    )
    return got["ids"][0]


def _damage_pointer(settings):
    store = IndexStore(settings)
    store.client.get_collection(store.base).modify(metadata={"kind": "pointer", "state": "{not json"})


def _drop_generation(settings):
    store = IndexStore(settings)
    generation = store.current_state().generation
    store.client.delete_collection(generation)
    return generation


def test_damaged_bm25_index_names_it_and_the_repair(built):
    settings, _, folder = built
    _damage_bm25(folder)
    with pytest.raises(IndexDamagedError, match=rf"BM25 index .*{REPAIR}"):
        IndexStore(settings).load()


def _chunks(folder) -> int:
    return len((folder / "catalogue.jsonl").read_text(encoding="utf-8").splitlines())


def test_damaged_catalogue_names_the_line_and_the_repair(built):
    settings, _, folder = built
    broken_line = _chunks(folder) + 1
    _damage_catalogue(folder)
    with pytest.raises(IndexDamagedError, match=rf"line {broken_line} of .*catalogue\.jsonl is unreadable.*{REPAIR}"):
        IndexStore(settings).load()


def test_truncated_catalogue_is_found_damaged(built):
    settings, _, folder = built
    n = _chunks(folder)
    _truncate_catalogue(folder)
    with pytest.raises(IndexDamagedError, match=f"catalogue lists {n - 1} chunks, its collection holds {n}"):
        IndexStore(settings).load()


def test_catalogue_chunk_without_a_vector_is_found_damaged(built):
    settings, corpus, folder = built
    chunk_id = _rename_a_vector(folder)
    with pytest.raises(IndexDamagedError, match=rf"no vector for 1 of .* \(the first: {chunk_id}\).*{REPAIR}"):
        IndexStore(settings).load()
    with pytest.raises(IndexDamagedError, match=REPAIR):  # an unchanged build does not call it unchanged
        build_index([corpus], settings, progress=False)


def test_damaged_pointer_names_it_and_the_repair(built):
    settings, *_ = built
    _damage_pointer(settings)
    with pytest.raises(IndexDamagedError, match=rf"pointer .* is unreadable .*{REPAIR}"):
        IndexStore(settings).load()


def test_pointer_to_a_missing_generation_names_it_and_the_repair(built):
    settings, *_ = built
    generation = _drop_generation(settings)
    with pytest.raises(IndexDamagedError, match=rf"names generation {generation}, which is not in the store.*{REPAIR}"):
        IndexStore(settings).load()


def test_build_repairs_a_pointer_to_a_missing_generation(built):
    settings, corpus, _ = built
    _drop_generation(settings)
    build_index([corpus], settings, progress=False)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


def test_build_repairing_a_missing_generation_says_so(built):
    settings, corpus, _ = built
    generation = _drop_generation(settings)
    summary = build_index([corpus], settings, progress=False).summary()
    assert f"named generation {generation}, which is not in the store" in summary and "(unchanged)" not in summary


def test_plain_build_over_a_damaged_bm25_index_says_to_repair(built):
    settings, corpus, folder = built
    _damage_bm25(folder)
    with pytest.raises(IndexDamagedError, match=REPAIR):
        build_index([corpus], settings, progress=False)


@pytest.mark.parametrize("damage", [_damage_bm25, _damage_catalogue, _truncate_catalogue, _rename_a_vector])
def test_repair_mends_a_damaged_generation(built, damage):
    settings, corpus, folder = built
    n = _chunks(folder)
    damage(folder)
    build_index([corpus], settings, progress=False, repair=True)
    assert len(IndexStore(settings).load()) == n


def test_repair_embeds_nothing(built):
    settings, corpus, folder = built
    _damage_catalogue(folder)
    embedder = CountingEmbedder()
    build_index([corpus], settings, progress=False, repair=True, embedder=embedder)
    assert embedder.embedded == 0


def test_repair_replaces_an_unreadable_pointer(built):
    settings, corpus, _ = built
    _damage_pointer(settings)
    build_index([corpus], settings, progress=False, repair=True)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


def test_repair_keeps_a_document_not_given_when_the_catalogue_is_damaged(built, tmp_path):
    settings, corpus, folder = built
    _damage_catalogue(folder)
    build_index([corpus / "a.txt"], settings, progress=False, repair=True)
    assert {c.source_file for c in IndexStore(settings).load().chunks} == {"a.txt", "b.txt"}


# --- the edges: one line on stderr, the exit code of the README's table


def _run(args, settings):
    env = os.environ | {
        "KAMERBRON_PATHS_INDEX_DIR": str(settings.paths.index_dir),
        "KAMERBRON_PATHS_CORPUS_DIR": str(settings.paths.corpus_dir),
        "KAMERBRON_EMBEDDING_BACKEND": "hash",
    }
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_search_over_a_damaged_index_prints_one_line_and_exits_10(built):
    settings, _, folder = built
    _damage_bm25(folder)
    done = _run(["-m", "rag", "search", "politie"], settings)
    lines = done.stderr.strip().splitlines()
    assert (done.returncode, len(lines), lines[0].startswith("kamerbron: "), REPAIR in lines[0]) == (10, 1, True, True)


def test_cli_build_repairs_a_pointer_to_a_missing_generation(built):
    settings, *_ = built
    _drop_generation(settings)
    done = _run(["-m", "ingest", "build", "--no-progress"], settings)
    assert (done.returncode, "(unchanged)" in done.stdout) == (0, False)


def test_cli_build_repair_over_a_damaged_pointer_exits_0(built):
    settings, *_ = built
    _damage_pointer(settings)
    done = _run(["-m", "ingest", "build", "--repair", "--no-progress"], settings)
    assert (done.returncode, "Traceback" in done.stderr) == (0, False)


def test_app_over_a_damaged_index_prints_one_line_and_exits_10(built):
    settings, _, folder = built
    _damage_catalogue(folder)
    done = _run(["app.py", "--port", str(free_port())], settings)
    lines = done.stderr.strip().splitlines()
    assert (done.returncode, len(lines), REPAIR in lines[-1]) == (10, 1, True)
