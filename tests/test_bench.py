"""The benchmark's helpers and a tiny run on a hash-embedding index; no timing is asserted."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

from bench.__main__ import build_parser
from bench.embedding import StoredVectorEmbedder
from bench.llamaindex import llama_embedding
from bench.machine import dir_size_mb, machine_info
from bench.measure import percentile, summarise_ms
from bench.queries import bench_queries
from bench.report import render
from bench.run import run_bench
from bench.synthetic import copy_prefix, file_state, perturb, synthetic_corpus
from eval.dataset import load_eval_set
from kamerbron.embed import HashEmbedder
from kamerbron.records import Filters
from kamerbron.store import IndexStore, chunk_to_metadata, metadata_to_chunk
from rag.index import LoadedIndex
from tests.conftest import ROOT, make_settings

EVAL_SET = ROOT / "eval" / "data" / "kamerbron_eval_v1.jsonl"


@pytest.fixture(scope="module")
def seed(corpus_index):
    settings, _ = corpus_index
    index = IndexStore(settings).load()
    return index.chunks, index.vectors


@pytest.fixture(scope="module")
def tripled(seed):
    chunks, vectors = seed
    return synthetic_corpus(chunks, vectors, 3, seed=1)


# ---------------------------------------------------------------- synthetic corpus


def test_synthetic_corpus_has_factor_times_the_chunks(seed, tripled):
    assert len(tripled[0]) == 3 * len(seed[0])


def test_synthetic_chunk_ids_are_unique(tripled):
    ids = [c.chunk_id for c in tripled[0]]
    assert len(set(ids)) == len(ids)


def test_synthetic_vectors_are_unit_length(tripled):
    assert np.allclose(np.linalg.norm(tripled[1], axis=1), 1.0, atol=1e-5)


def test_synthetic_vectors_match_the_chunks(tripled):
    chunks, vectors = tripled
    assert vectors.shape[0] == len(chunks)


def test_synthetic_vectors_stay_near_their_originals(seed, tripled):
    n = len(seed[0])
    cosines = np.sum(seed[1] * tripled[1][n : 2 * n], axis=1)
    assert 0.8 < float(cosines.mean()) < 0.999


def test_factor_one_is_the_real_corpus(seed):
    chunks, vectors = synthetic_corpus(*seed, 1)
    assert [c.chunk_id for c in chunks] == [c.chunk_id for c in seed[0]]


def test_copies_get_their_own_source_files(seed, tripled):
    copies = {c.source_file for c in tripled[0][len(seed[0]) :]}
    assert all(name.startswith((copy_prefix(1), copy_prefix(2))) for name in copies)


def test_copies_vary_speakers(seed, tripled):
    n = len(seed[0])
    original = {c.surname for c in seed[0] if c.surname}
    copied = {c.surname for c in tripled[0][n:] if c.surname}
    assert copied - original


def test_copies_vary_the_wording(seed, tripled):
    n = len(seed[0])
    changed = sum(a.text != b.text for a, b in zip(seed[0], tripled[0][n : 2 * n]))
    assert changed > n // 4


def test_copies_shift_dates(seed, tripled):
    n = len(seed[0])
    assert any(a.date and a.date != b.date for a, b in zip(seed[0], tripled[0][n : 2 * n]))


def test_content_hash_follows_the_embedded_text(tripled):
    chunk = tripled[0][-1]
    assert chunk.content_hash == hashlib.sha256(chunk.embed_text.encode()).hexdigest()


def test_factor_below_one_is_refused(seed):
    with pytest.raises(ValueError, match="at least 1"):
        synthetic_corpus(*seed, 0)


def test_perturb_keeps_unit_length():
    vectors = np.eye(4, dtype=np.float32)
    moved = perturb(vectors, np.random.default_rng(0))
    assert np.allclose(np.linalg.norm(moved, axis=1), 1.0, atol=1e-6)


def test_file_state_counts_chunks_per_file(seed):
    files = file_state(seed[0])
    assert sum(f["chunks"] for f in files.values()) == len(seed[0])


# ---------------------------------------------------------------- helpers


def test_percentile_interpolates():
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0


def test_percentile_of_nothing_is_none():
    assert percentile([], 95) is None


def test_p95_of_hundred_values():
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


def test_summarise_ms_has_p50_and_p95():
    assert summarise_ms([1.0, 2.0, 3.0]) == {"n": 3, "p50": 2.0, "p95": 2.9, "mean": 2.0}


def test_dir_size_counts_files(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 2**20)
    assert dir_size_mb(tmp_path) == 1.0


def test_machine_info_names_the_cpu():
    assert machine_info()["cores"] >= 1


def test_llama_embedding_wraps_our_embedder():
    embedder = HashEmbedder(16)
    wrapped = llama_embedding(embedder)
    assert wrapped.get_query_embedding("politie") == pytest.approx(embedder.embed_query("politie").tolist())


def test_follow_up_questions_are_condensed():
    items = [i for i in load_eval_set(EVAL_SET, corpus_dir=ROOT / "data" / "corpus") if i.history][:1]
    assert bench_queries(items)[0].question != items[0].question


def test_stored_vector_embedder_reuses_vectors(corpus_index, seed):
    settings, _ = corpus_index
    calls = []
    embedder = StoredVectorEmbedder(settings, lambda: calls.append(1) or HashEmbedder(settings.embedding.dim))
    vectors = embedder.embed_passages([c.embed_text for c in seed[0][:5]])
    assert (np.allclose(vectors, seed[1][:5]), embedder.hits, calls) == (True, 5, [])


# ---------------------------------------------------------------- tiny runs


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    settings = make_settings(tmp)
    result, path = run_bench(
        settings,
        out_dir=tmp / "out",
        docs_json=tmp / "docs" / "benchmark.json",
        set_path=EVAL_SET,
        limit=4,
        log=lambda _: None,
    )
    return result, path, tmp


def test_comparison_writes_json_with_expected_keys(comparison):
    _, path, _ = comparison
    data = json.loads(path.read_text())
    assert {"machine", "ingest", "embedding", "systems", "ratios", "duration_s"} <= set(data)


def test_comparison_measures_three_systems(comparison):
    result, _, _ = comparison
    assert set(result["systems"]) == {"kamerbron", "llamaindex_vector", "bm25"}


def test_comparison_reports_latency_percentiles(comparison):
    result, _, _ = comparison
    assert {"p50", "p95"} <= set(result["systems"]["kamerbron"]["search_ms"])


def test_comparison_reports_recall_for_each_system(comparison):
    result, _, _ = comparison
    assert all(s["recall@5"] is not None for s in result["systems"].values())


def test_comparison_ingest_is_split_into_phases(comparison):
    result, _, _ = comparison
    assert {"seconds_parse", "seconds_embed", "seconds_index", "size_mb", "peak_rss_mb"} <= set(result["ingest"])


def test_comparison_updates_docs_json(comparison):
    _, _, tmp = comparison
    assert "comparison" in json.loads((tmp / "docs" / "benchmark.json").read_text())


def test_comparison_renders_a_markdown_table(comparison):
    result, _, _ = comparison
    assert "| Recall@5 |" in render(result)


def test_scale_run_reports_each_factor(tmp_path):
    settings = make_settings(tmp_path)
    result, _ = run_bench(
        settings,
        scales=(1, 2),
        out_dir=tmp_path / "out",
        docs_json=None,
        set_path=EVAL_SET,
        limit=2,
        isolate=False,
        log=lambda _: None,
    )
    points = result["scale"]["points"]
    assert [(p["factor"], p["chunks"]) for p in points] == [(1, points[0]["chunks"]), (2, 2 * points[0]["chunks"])]


def test_bench_command_takes_scale_and_queries():
    args = build_parser().parse_args(["--scale", "1", "10", "--queries", "5"])
    assert (args.scale, args.queries) == ([1, 10], 5)


# The worker processes time the imports an app start pays, so their own modules must not import them.
WORKER_MUST_NOT_PRELOAD = {
    "bench.coldstart": ("rag", "kamerbron.store", "chromadb", "llama_index", "bm25s"),
    "bench.scale_point": ("rag",),
}


@pytest.mark.parametrize("module", sorted(WORKER_MUST_NOT_PRELOAD))
def test_worker_module_leaves_what_it_times_unimported(module):
    code = (
        f"import sys, {module}\n"
        f"names = {WORKER_MUST_NOT_PRELOAD[module]!r}\n"
        "print(*sorted(m for m in sys.modules if any(m == n or m.startswith(n + '.') for n in names)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


# ---------------------------------------------------------------- the index paths the scale curve changed


@pytest.fixture(scope="module")
def loaded(corpus_index):
    settings, _ = corpus_index
    return LoadedIndex(IndexStore(settings).load())


def _assert_exact_top(hits, vectors, query, mask, n):
    """``hits`` are the ``n`` passing chunks nearest ``query`` by a float64 cosine, best first (order
    among scores equal to float32 rounding is free)."""
    unit = vectors.astype(np.float64) / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    allowed = np.flatnonzero(mask)
    best = np.sort(scores[allowed])[::-1][:n]
    assert len(hits) == len(best)
    assert all(mask[i] for i, _ in hits)
    assert np.allclose([s for _, s in hits], best, atol=1e-5)  # the n best similarities, in order
    assert np.allclose([scores[i] for i, _ in hits], best, atol=1e-5)  # and they are these chunks'


def test_narrow_filter_searches_only_passing_chunks(loaded, seed):
    filters = Filters(parties=["SP"])
    query = seed[1][3]
    hits = loaded.dense_search(query, 5, filters)
    _assert_exact_top(hits, seed[1], query, loaded.filter_mask(filters), 5)


def test_broad_filter_keeps_nearest_passing_chunks(loaded, seed):
    filters = Filters(doc_types=["debat"])
    query = seed[1][7]
    hits = loaded.dense_search(query, 5, filters)
    _assert_exact_top(hits, seed[1], query, loaded.filter_mask(filters), 5)


def test_dense_search_is_exact_for_every_chunk_as_query(loaded, seed):
    # the vectors Chroma stores, ranked by numpy: the same 40 in the same order for every query
    everything = np.ones(len(loaded), dtype=bool)
    for position in range(0, len(loaded), 7):
        query = seed[1][position]
        _assert_exact_top(loaded.dense_search(query, 40), seed[1], query, everything, 40)


def test_dense_search_breaks_ties_in_catalogue_order(loaded, seed):
    query = seed[1][5] * 3.0  # not unit length: scaled before the product
    doubled = LoadedIndex(loaded.stored)
    doubled.vectors = np.vstack([loaded.vectors[:10], loaded.vectors[5:6]])  # chunk 5's vector again, at 10
    hits = doubled.dense_search(query, 2)
    assert [i for i, _ in hits] == [5, 10]
    assert round(hits[0][1], 4) == round(hits[1][1], 4) == 1.0


def test_dense_search_with_nothing_allowed_or_asked_is_empty(loaded, seed):
    assert loaded.dense_search(seed[1][0], 5, Filters(parties=["Geen Partij"])) == []
    assert loaded.dense_search(seed[1][0], 0) == []


def test_dense_similarity_is_the_cosine(loaded, seed):
    position, similarity = loaded.dense_search(seed[1][11], 1)[0]
    assert (position, round(similarity, 4)) == (11, 1.0)


def test_filtered_bm25_returns_only_passing_chunks_best_first(loaded):
    filters = Filters(date_from="2018-01-01")
    hits = loaded.bm25_search("mensenhandel slachtoffers opvang", 20, filters)
    mask = loaded.filter_mask(filters)
    scores = [s for _, s in hits]
    assert hits and all(mask[i] for i, _ in hits) and scores == sorted(scores, reverse=True)


def test_bm25_top_n_are_the_best_scores(loaded):
    token_ids = [
        loaded.bm25.vocab_dict[t] for t in loaded.analyzer.tokens("politie capaciteit") if t in loaded.bm25.vocab_dict
    ]
    scores = loaded.bm25.get_scores(token_ids)
    hits = loaded.bm25_search("politie capaciteit", 5)
    assert [round(s, 5) for _, s in hits] == [round(float(s), 5) for s in sorted(scores, reverse=True)[:5]]


def test_metadata_keeps_only_the_header_of_the_embedded_text(seed):
    chunk = seed[0][0]
    meta = chunk_to_metadata(chunk)
    assert "embed_text" not in meta and metadata_to_chunk(chunk.chunk_id, chunk.text, meta) == chunk
