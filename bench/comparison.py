"""Kamerbron against two simpler set-ups on the bundled corpus: llama-index's plain
``VectorStoreIndex`` over a Chroma collection, and BM25 alone, all from the same chunks and vectors.

The corpus is ingested into a fresh temporary index (parse, embed, index; size on disk; peak
memory), then ``search`` (``Retriever.retrieve``) and ``ask`` (``Answerer.answer``, extractive) are
timed warm over the evaluation questions, with Recall@5 and MRR@10 for each system.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from bench.embedding import StoredVectorEmbedder, embedding_device, measure_embedding_sample
from bench.llamaindex import build_llamaindex, llama_passages, load_llamaindex
from bench.machine import dir_size_mb, peak_rss_mb, rss_mb
from bench.measure import (
    SEARCH_K,
    BenchQuery,
    measure_kamerbron,
    recall_figures,
    summarise_ms,
    time_calls,
    timed,
    with_index_dir,
)  # fmt: skip
from bench.queries import load_queries
from bench.workers import run_worker, settings_spec
from ingest.build import build_index
from kamerbron.analyzer import Analyzer, build_bm25
from kamerbron.embed import build_embedder
from kamerbron.records import Chunk
from kamerbron.settings import Settings
from rag.answer import Answerer


def measure_ingest(settings: Settings, corpus_dir: Path, *, reuse_from: Settings | None) -> dict:
    """Ingest ``corpus_dir`` into ``settings.paths.index_dir`` (a fresh folder) and report its cost."""
    model, model_load_s = timed(lambda: build_embedder(settings))
    embedder = StoredVectorEmbedder(reuse_from, lambda: model) if reuse_from is not None else model
    rss_before = rss_mb()
    report, seconds = timed(lambda: build_index([corpus_dir], settings, progress=False, embedder=embedder))
    index_dir = Path(settings.paths.index_dir)
    generation = index_dir / report.generation
    figures = {
        "documents": report.documents,
        "turns": report.turns,
        "chunks": report.chunks,
        "failed": [name for name, _ in report.failed],
        "embedder": getattr(model, "name", type(model).__name__),
        "embedder_load_s": round(model_load_s, 3),
        "seconds": round(seconds, 3),
        "seconds_parse": round(report.seconds_parse, 3),
        "seconds_embed": round(report.seconds_embed, 3),
        "seconds_index": round(report.seconds_index, 3),
        "chunks_per_s": round(report.chunks / seconds, 2) if seconds else None,
        "index_chunks_per_s": round(report.chunks / report.seconds_index, 2) if report.seconds_index else None,
        "size_mb": dir_size_mb(index_dir),
        "size_chroma_mb": dir_size_mb(index_dir / "chroma"),
        "size_bm25_mb": dir_size_mb(generation / "bm25"),
        "size_catalogue_mb": dir_size_mb(generation / "catalogue.jsonl"),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_mb(),
        "peak_rss_mb": peak_rss_mb(),
        "vectors_reused": reuse_from is not None,
    }
    if reuse_from is not None:
        figures["vectors_reused_hits"] = embedder.hits
        figures["vectors_embedded"] = embedder.misses
    return figures


def measure_bm25(answerer: Answerer, queries: Sequence[BenchQuery], workdir: Path) -> dict:
    """BM25 alone: our BM25 side (mode='bm25'); its index is the BM25 folder plus the catalogue."""
    index = answerer.retriever.index
    folder = workdir / "bm25-only"
    folder.mkdir(parents=True, exist_ok=True)

    def build():
        build_bm25(index.chunks, Analyzer()).save(str(folder / "bm25"), show_progress=False)
        with open(folder / "catalogue.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(c.model_dump_json() + "\n" for c in index.chunks)

    def load():
        with open(folder / "catalogue.jsonl", encoding="utf-8") as fh:
            chunks = [Chunk.model_validate_json(line) for line in fh]
        return chunks, bm25s.BM25.load(str(folder / "bm25"), show_progress=False)

    _, index_s = timed(build)
    _, load_s = timed(load)
    retriever = answerer.retriever
    search_ms, results = time_calls(lambda q: retriever.retrieve(q, k=SEARCH_K, mode="bm25"), queries)
    return {
        "index_s": round(index_s, 3),
        "size_mb": dir_size_mb(folder),
        "load_s": round(load_s, 3),
        "search_ms": summarise_ms(search_ms),
        "ask_ms": None,
        **recall_figures(queries, results),
    }


def measure_llamaindex(
    chunks: Sequence[Chunk], vectors: np.ndarray, embedder, queries: Sequence[BenchQuery], workdir: Path
) -> dict:
    """llama-index's VectorStoreIndex: build time, size, load time, warm search latency and recall."""
    folder = workdir / "llamaindex"
    _, index_s = timed(lambda: build_llamaindex(chunks, vectors, folder, embedder))
    size_mb = dir_size_mb(folder)
    retriever, load_s = timed(lambda: load_llamaindex(folder, embedder))
    search_ms, results = time_calls(lambda q: llama_passages(retriever.retrieve(q)), queries)
    return {
        "index_s": round(index_s, 3),
        "size_mb": size_mb,
        "load_s": round(load_s, 3),
        "search_ms": summarise_ms(search_ms),
        "ask_ms": None,
        **recall_figures(queries, results),
    }


def ratios(systems: dict) -> dict:
    """Kamerbron's search p50 and Recall@5 divided by each alternative's."""
    ours = systems["kamerbron"]
    out = {}
    for name, other in systems.items():
        if name == "kamerbron":
            continue
        p50, other_p50 = ours["search_ms"]["p50"], other["search_ms"]["p50"]
        r5, other_r5 = ours["recall@5"], other["recall@5"]
        out[name] = {
            "search_p50": round(p50 / other_p50, 2) if p50 and other_p50 else None,
            "recall@5": round(r5 / other_r5, 3) if r5 is not None and other_r5 else None,
        }
    return out


def _embedding_figures(ingest: dict, settings: Settings, chunks: Sequence[Any], measure_sample: bool) -> dict:
    """Throughput from the ingest itself, or from a sample when the ingest embedded nothing."""
    if measure_sample:
        return measure_embedding_sample(settings, chunks)
    return {
        "chunks": ingest["chunks"],
        "seconds": ingest["seconds_embed"],
        "chunks_per_s": round(ingest["chunks"] / ingest["seconds_embed"], 2),
        "embedder": ingest["embedder"],
        "load_s": ingest["embedder_load_s"],
        "device": embedding_device(settings),
    }


def run_comparison(
    settings: Settings,
    workdir: Path,
    *,
    reuse_vectors: bool = False,
    set_path: Path | None = None,
    limit: int | None = None,
    isolate: bool = True,
) -> dict:
    """Ingest into ``workdir`` and measure Kamerbron and both alternatives on the same chunks and vectors.

    With ``isolate`` the load times are measured again in a fresh process (imports included), as an
    app start pays them; in this process the libraries are already imported and the store is open.
    """
    bench = with_index_dir(settings, workdir / "index")
    queries = load_queries(bench, set_path, limit)
    ingest = measure_ingest(bench, bench.paths.corpus_dir, reuse_from=settings if reuse_vectors else None)
    kamerbron, answerer = measure_kamerbron(lambda: Answerer(bench), queries)
    index = answerer.retriever.index
    embedding = _embedding_figures(ingest, bench, index.chunks, reuse_vectors or not ingest["seconds_embed"])
    kamerbron["index_s"] = ingest["seconds_index"]
    kamerbron["size_mb"] = ingest["size_mb"]
    vectors = index.vectors
    systems = {
        "kamerbron": kamerbron,
        "llamaindex_vector": measure_llamaindex(index.chunks, vectors, answerer.retriever.embedder, queries, workdir),
        "bm25": measure_bm25(answerer, queries, workdir),
    }
    if isolate:
        for name in ("kamerbron", "llamaindex_vector"):
            spec = {"settings": settings_spec(bench), "workdir": str(workdir), "system": name}
            systems[name]["warm_process_load_s"] = systems[name]["load_s"]
            systems[name].update(run_worker("load", spec, workdir / f"load-{name}.spec.json"))
    return {
        "queries": len(queries),
        "ingest": ingest,
        "embedding": embedding,
        "systems": systems,
        "ratios": ratios(systems),
    }
