"""Benchmark: how fast Kamerbron is, how its cost grows with the corpus, and how it compares.

    python -m eval bench [--reuse-vectors] [--queries N] [--out DIR]
    python -m eval bench --scale 1 10 100 [--queries N] [--out DIR]

The first form ingests the bundled corpus into a fresh temporary index (parse, embed, index; size
on disk; peak memory), then times ``search`` (``Retriever.retrieve``) and ``ask`` (``Answerer.answer``,
extractive) over the evaluation questions, warm, and measures the same figures and Recall@5/MRR@10
for two alternatives built from the same chunks and vectors: llama-index's plain ``VectorStoreIndex``
over a Chroma collection, and BM25 alone. The second form builds synthetic corpora N times the size
(see eval/synthetic.py) and measures indexing, size, memory and query latency at each size, each
size in its own processes so memory figures do not mix.

Figures go to ``bench/out/<time>.json`` and ``docs/benchmark.json`` and a markdown table is printed.
This is a script that reports numbers; no test asserts a duration.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kamerbron.embed import resolve_backend
from kamerbron.fingerprint import index_hash, settings_hash
from kamerbron.settings import PROJECT_ROOT, Settings

OUT_DIR = PROJECT_ROOT / "bench" / "out"
DOCS_JSON = PROJECT_ROOT / "docs" / "benchmark.json"
EMBED_SAMPLE = 64
SEARCH_K = 10  # the evaluation's rank cutoff: Recall@5 and MRR@10 are read from the same call that is timed
SCHEMA = 1
DATE_FILTER = ("2017-01-01", "2017-12-31")  # the scale run's date-range filter

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


# ---------------------------------------------------------------- small helpers


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile with linear interpolation; None for no values."""
    if not len(values):
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def summarise_ms(samples: Sequence[float]) -> dict[str, float | int | None]:
    """n, p50, p95 and mean of latencies in milliseconds, rounded to 0.01 ms."""
    def r(x):
        return None if x is None else round(x, 2)

    return {
        "n": len(samples),
        "p50": r(percentile(samples, 50)),
        "p95": r(percentile(samples, 95)),
        "mean": r(float(np.mean(samples)) if len(samples) else None),
    }


def dir_size_mb(path: Path) -> float:
    """Bytes under ``path`` in MiB (0 when it does not exist)."""
    path = Path(path)
    if path.is_file():
        return round(path.stat().st_size / 2**20, 2)
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
    return round(total / 2**20, 2)


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB.

    VmHWM where the kernel reports it: ru_maxrss of a child process started with fork+exec
    still counts the parent's memory at the fork.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine_info() -> dict:
    """CPU model, cores, memory, load and accelerator of this machine."""
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        gpu = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "gpu": gpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def with_index_dir(settings: Settings, index_dir: Path) -> Settings:
    """The settings with another index folder, the embedded store and the extractive answer."""
    return settings.model_copy(
        update={
            "paths": settings.paths.model_copy(update={"index_dir": Path(index_dir)}),
            "chroma": settings.chroma.model_copy(update={"host": ""}),
            "answer": settings.answer.model_copy(update={"backend": "extractive"}),
            "llm": settings.llm.model_copy(update={"base_url": ""}),
        }
    )


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


# ---------------------------------------------------------------- queries and recall


@dataclass
class BenchQuery:
    """One evaluation question as a standalone query (follow-ups condensed), with its gold passages."""

    id: str
    question: str
    gold: list = field(default_factory=list)


def bench_queries(items: Sequence[Any], limit: int | None = None) -> list[BenchQuery]:
    """The evaluation questions as standalone queries; follow-ups condensed without an LLM."""
    from rag.condense import condense_question

    queries = []
    for item in items:
        question = item.question
        if item.history:
            question = condense_question(question, [(h.question, h.answer) for h in item.history], None)
        queries.append(BenchQuery(item.id, question, list(item.gold)))
    return queries[:limit] if limit else queries


def load_queries(settings: Settings, set_path: Path | None, limit: int | None) -> list[BenchQuery]:
    from eval.dataset import default_eval_path, load_eval_set

    items = load_eval_set(set_path or default_eval_path(settings), corpus_dir=settings.paths.corpus_dir)
    return bench_queries(items, limit)


def recall_figures(queries: Sequence[BenchQuery], results: Sequence[Sequence[Any]]) -> dict:
    """Mean Recall@5 and MRR@10 over the queries that have gold passages."""
    from eval.metrics import retrieval_metrics

    scored = [retrieval_metrics(list(r), q.gold) for q, r in zip(queries, results) if q.gold]
    if not scored:
        return {"recall@5": None, "mrr@10": None, "n": 0}
    return {
        "recall@5": round(float(np.mean([s["recall@5"] for s in scored])), 4),
        "mrr@10": round(float(np.mean([s["mrr@10"] for s in scored])), 4),
        "n": len(scored),
    }


def time_calls(fn: Callable[[str], Any], queries: Sequence[BenchQuery], *, warmup: bool = True) -> tuple[list[float], list]:
    """Latency in ms of ``fn(question)`` per query, after one untimed pass when ``warmup``."""
    if warmup:
        for q in queries:
            fn(q.question)
    latencies, results = [], []
    for q in queries:
        t0 = time.perf_counter()
        results.append(fn(q.question))
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies, results


# ---------------------------------------------------------------- embedding


class StoredVectorEmbedder:
    """Passages get the vector an existing index holds for the same text (content hash); only
    texts it lacks are embedded, with the configured embedder. Queries always use the embedder."""

    def __init__(self, source: Settings, fallback: Callable[[], Any]):
        self._source = source
        self._fallback_factory = fallback
        self._fallback = None
        self._table: dict[str, np.ndarray] | None = None
        self.hits = 0
        self.misses = 0
        self.dim = 0
        self.name = "stored-vectors"

    @property
    def fallback(self):
        if self._fallback is None:
            self._fallback = self._fallback_factory()
            self.dim = self._fallback.dim
        return self._fallback

    def _stored(self) -> dict[str, np.ndarray]:
        if self._table is None:
            from kamerbron.store import IndexStore

            store = IndexStore(self._source)
            state = store.current_state()
            self._table = {}
            if state is not None:
                collection = store.client.get_collection(state.generation)
                for offset in range(0, collection.count(), 5000):
                    got = collection.get(include=["embeddings", "metadatas"], limit=5000, offset=offset)
                    for vector, meta in zip(got["embeddings"], got["metadatas"]):
                        self._table[meta.get("content_hash", "")] = np.asarray(vector, dtype=np.float32)
        return self._table

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        found = self._stored()
        missing = [t for t, h in zip(texts, hashes) if h not in found]
        fresh = iter(self.fallback.embed_passages(missing)) if missing else iter(())
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        vectors = [found[h] if h in found else next(fresh) for h in hashes]
        return np.stack(vectors).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.fallback.embed_query(text)


def measure_embedding(embedder, texts: Sequence[str], batch_size: int) -> dict:
    """Passage embedding throughput on ``texts`` (a sample), in batches as the ingest does."""
    from ingest.build import embed_in_batches

    _, seconds = _timed(lambda: embed_in_batches(embedder, list(texts), batch_size, False))
    return {
        "chunks": len(texts),
        "seconds": round(seconds, 3),
        "chunks_per_s": round(len(texts) / seconds, 2) if seconds else None,
    }


def index_vectors(index) -> np.ndarray:
    """The stored vectors of a loaded index, in the order of its catalogue."""
    vectors: dict[str, np.ndarray] = {}
    total = index.collection.count()
    for offset in range(0, total, 5000):
        got = index.collection.get(include=["embeddings"], limit=5000, offset=offset)
        vectors.update(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))
    return np.stack([vectors[c.chunk_id] for c in index.chunks])


# ---------------------------------------------------------------- ingest


def measure_ingest(settings: Settings, corpus_dir: Path, *, reuse_from: Settings | None) -> dict:
    """Ingest ``corpus_dir`` into ``settings.paths.index_dir`` (a fresh folder) and report its cost."""
    from ingest.build import build_index
    from kamerbron.embed import build_embedder

    model, model_load_s = _timed(lambda: build_embedder(settings))
    embedder = StoredVectorEmbedder(reuse_from, lambda: model) if reuse_from is not None else model
    rss_before = rss_mb()
    report, seconds = _timed(lambda: build_index([corpus_dir], settings, progress=False, embedder=embedder))
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


def measure_embedding_sample(settings: Settings, chunks: Sequence[Any], sample: int = EMBED_SAMPLE) -> dict:
    from kamerbron.embed import build_embedder

    model, load_s = _timed(lambda: build_embedder(settings))
    step = max(1, len(chunks) // sample) if chunks else 1
    texts = [c.embed_text for c in chunks[::step][:sample]]
    figures = measure_embedding(model, texts, settings.embedding.batch_size)
    figures.update(embedder=getattr(model, "name", ""), load_s=round(load_s, 3), device=_embedding_device(settings))
    return figures


def _embedding_device(settings: Settings) -> str:
    backend = resolve_backend(settings.embedding)
    if backend != "sentence-transformers":
        return "cpu"
    from kamerbron.embed import pick_device

    return pick_device(settings.embedding.device)


# ---------------------------------------------------------------- the systems compared


@functools.cache
def _llama_embedding_class():
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class KamerbronEmbedding(BaseEmbedding):
        """Our embedder as a llama-index embedding model, so both systems embed queries alike."""

        _embedder: Any = PrivateAttr()

        def __init__(self, embedder, **kwargs):
            super().__init__(model_name=getattr(embedder, "name", "kamerbron"), **kwargs)
            self._embedder = embedder

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_passages(texts).tolist()

    return KamerbronEmbedding


def llama_embedding(embedder):
    """Wrap a Kamerbron embedder as a llama-index ``BaseEmbedding``."""
    return _llama_embedding_class()(embedder)


LLAMA_METADATA = ("source_file", "doc_id", "speaker", "party", "date", "doc_title", "url")
LLAMA_COLLECTION = "llamaindex_plain"


def _chroma(path: Path):
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    return chromadb.PersistentClient(path=str(path), settings=ChromaConfig(anonymized_telemetry=False))


def build_llamaindex(chunks: Sequence[Any], vectors: np.ndarray, folder: Path, embedder) -> dict:
    """llama-index's plain VectorStoreIndex over a new Chroma collection, from the same chunks and vectors."""
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    def build():
        collection = _chroma(folder).get_or_create_collection(LLAMA_COLLECTION)
        nodes = [
            TextNode(id_=c.chunk_id, text=c.text, metadata={k: getattr(c, k) for k in LLAMA_METADATA}, embedding=v.tolist())
            for c, v in zip(chunks, vectors)
        ]
        storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        VectorStoreIndex(nodes, storage_context=storage, embed_model=llama_embedding(embedder), show_progress=False)

    _, seconds = _timed(build)
    return {"index_s": round(seconds, 3), "size_mb": dir_size_mb(folder)}


def load_llamaindex(folder: Path, embedder, k: int = SEARCH_K):
    from llama_index.core import VectorStoreIndex
    from llama_index.vector_stores.chroma import ChromaVectorStore

    store = ChromaVectorStore(chroma_collection=_chroma(folder).get_collection(LLAMA_COLLECTION))
    index = VectorStoreIndex.from_vector_store(store, embed_model=llama_embedding(embedder))
    return index.as_retriever(similarity_top_k=k)


def _llama_passages(nodes) -> list[dict]:
    return [{"source_file": n.node.metadata.get("source_file", ""), "text": n.node.get_content()} for n in nodes]


def measure_kamerbron(settings: Settings, queries: Sequence[BenchQuery], *, embedder=None) -> tuple[dict, Any]:
    """Load time, warm search and ask latency, stage timings and Recall@5 of Kamerbron (hybrid)."""
    from rag.answer import Answerer
    from rag.retrieve import Retriever

    rss_before = rss_mb()
    answerer, load_s = _timed(lambda: Answerer(settings, retriever=Retriever(settings, embedder=embedder)))
    retriever = answerer.retriever
    _, embedder_load_s = _timed(lambda: retriever.embedder)
    rss_loaded = rss_mb()
    stages: dict[str, list[float]] = {}

    def search(question: str):
        passages = retriever.retrieve(question, k=SEARCH_K)
        for name, ms in retriever.last_timings_ms.items():
            stages.setdefault(name, []).append(ms)
        return passages

    search_ms, results = time_calls(search, queries)
    stages = {name: values[-len(queries):] for name, values in stages.items()}  # the timed pass only
    ask_ms, _ = time_calls(lambda q: answerer.answer(q), queries, warmup=False)
    figures = {
        "load_s": round(load_s, 3),
        "embedder_load_s": round(embedder_load_s, 3),
        "search_ms": summarise_ms(search_ms),
        "ask_ms": summarise_ms(ask_ms),
        "stages_ms": {name: summarise_ms(values) for name, values in stages.items()},
        **recall_figures(queries, results),
        "rss_loaded_mb": rss_loaded,
        "rss_load_delta_mb": round(rss_loaded - rss_before, 1),
        "rss_after_mb": rss_mb(),
    }
    return figures, answerer


def measure_bm25(answerer, queries: Sequence[BenchQuery], workdir: Path) -> dict:
    """BM25 alone: our BM25 side (mode='bm25'); its index is the BM25 folder plus the catalogue."""
    import bm25s

    from kamerbron.records import Chunk
    from kamerbron.analyzer import Analyzer, build_bm25

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

    _, index_s = _timed(build)
    _, load_s = _timed(load)
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


def measure_llamaindex(chunks, vectors, embedder, queries: Sequence[BenchQuery], workdir: Path) -> dict:
    folder = workdir / "llamaindex"
    built = build_llamaindex(chunks, vectors, folder, embedder)
    retriever, load_s = _timed(lambda: load_llamaindex(folder, embedder))
    search_ms, results = time_calls(lambda q: _llama_passages(retriever.retrieve(q)), queries)
    return {
        **built,
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


# ---------------------------------------------------------------- the comparison run


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
    kamerbron, answerer = measure_kamerbron(bench, queries)
    index = answerer.retriever.index
    if reuse_vectors or not ingest["seconds_embed"]:
        embedding = measure_embedding_sample(bench, index.chunks)
    else:
        embedding = {
            "chunks": ingest["chunks"],
            "seconds": ingest["seconds_embed"],
            "chunks_per_s": round(ingest["chunks"] / ingest["seconds_embed"], 2),
            "embedder": ingest["embedder"],
            "load_s": ingest["embedder_load_s"],
            "device": _embedding_device(bench),
        }
    kamerbron["index_s"] = ingest["seconds_index"]
    kamerbron["size_mb"] = ingest["size_mb"]
    vectors = index_vectors(index)
    systems = {
        "kamerbron": kamerbron,
        "llamaindex_vector": measure_llamaindex(index.chunks, vectors, answerer.retriever.embedder, queries, workdir),
        "bm25": measure_bm25(answerer, queries, workdir),
    }
    if isolate:
        for name in ("kamerbron", "llamaindex_vector"):
            spec = {"settings": json.loads(bench.model_dump_json()), "workdir": str(workdir), "system": name}
            systems[name]["warm_process_load_s"] = systems[name]["load_s"]
            systems[name].update(_run_worker("load", spec, workdir / f"load-{name}.spec.json"))
    return {
        "queries": len(queries),
        "ingest": ingest,
        "embedding": embedding,
        "systems": systems,
        "ratios": ratios(systems),
    }


# ---------------------------------------------------------------- scale


def seed_corpus(settings: Settings, workdir: Path) -> tuple[list, np.ndarray, dict]:
    """The real corpus as chunks and vectors: vectors reused from the configured index when it
    holds them, otherwise embedded."""
    from ingest.build import build_index
    from kamerbron.embed import build_embedder
    from kamerbron.store import IndexStore

    seed = with_index_dir(settings, workdir / "seed-index")
    reusable = False
    if settings.chroma.host or (Path(settings.paths.index_dir) / "chroma").exists():
        try:
            reusable = IndexStore(settings).current_state() is not None
        except Exception:  # an unreachable server or unreadable store: embed instead
            reusable = False
    model = functools.cache(lambda: build_embedder(settings))
    embedder = StoredVectorEmbedder(settings, model) if reusable else model()
    build_index([seed.paths.corpus_dir], seed, progress=False, embedder=embedder)
    index = IndexStore(seed).load()
    note = {
        "chunks": len(index.chunks),
        "vectors_reused": getattr(embedder, "hits", 0),
        "vectors_embedded": getattr(embedder, "misses", len(index.chunks) if not reusable else 0),
    }
    return index.chunks, index_vectors(index), note


def save_seed(chunks: Sequence[Any], vectors: np.ndarray, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(c.model_dump_json() + "\n" for c in chunks)
    np.save(folder / "vectors.npy", vectors)


def load_seed(folder: Path) -> tuple[list, np.ndarray]:
    from kamerbron.records import Chunk

    with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
        chunks = [Chunk.model_validate_json(line) for line in fh]
    return chunks, np.load(folder / "vectors.npy")


def _spec_settings(spec: dict) -> Settings:
    return Settings(_env_file=None, **spec["settings"])


def scale_build(spec: dict) -> dict:
    """Generate the corpus of one scale factor and write it as an index generation."""
    from eval.synthetic import file_state, synthetic_corpus
    from kamerbron.analyzer import Analyzer, build_bm25
    from kamerbron.store import IndexStore

    settings = _spec_settings(spec)
    seed_chunks, seed_vectors = load_seed(Path(spec["seed_dir"]))
    (chunks, vectors), generate_s = _timed(lambda: synthetic_corpus(seed_chunks, seed_vectors, spec["factor"], seed=spec["factor"]))
    files = file_state(chunks)
    rss_before = rss_mb()
    store = IndexStore(settings)
    state, index_s = _timed(lambda: store.write_generation(chunks, vectors, files))
    _, bm25_s = _timed(lambda: build_bm25(chunks, Analyzer()))
    index_dir = Path(settings.paths.index_dir)
    generation = index_dir / state.generation
    return {
        "factor": spec["factor"],
        "chunks": len(chunks),
        "documents": len(files),
        "generate_s": round(generate_s, 3),
        "index_s": round(index_s, 3),
        "index_chunks_per_s": round(len(chunks) / index_s, 1) if index_s else None,
        "bm25_build_s": round(bm25_s, 3),
        "size_mb": dir_size_mb(index_dir),
        "size_chroma_mb": dir_size_mb(index_dir / "chroma"),
        "size_bm25_mb": dir_size_mb(generation / "bm25"),
        "size_catalogue_mb": dir_size_mb(generation / "catalogue.jsonl"),
        "build_rss_before_mb": rss_before,
        "build_peak_rss_mb": peak_rss_mb(),
    }


def _common_party(index) -> str:
    parties: dict[str, int] = {}
    for c in index.chunks[: 10 * 1000]:
        if c.party:
            parties[c.party] = parties.get(c.party, 0) + 1
    return max(parties, key=parties.get) if parties else ""


def scale_serve(spec: dict) -> dict:
    """Load the index of one scale factor as an app would and time search and ask on it."""
    from kamerbron.analyzer import Analyzer, build_bm25
    from kamerbron.store import IndexStore
    from kamerbron.records import Filters

    t0 = time.perf_counter()
    import rag.answer  # noqa: F401  (a fresh worker process: this is the app's import cost)

    import_s = time.perf_counter() - t0
    settings = _spec_settings(spec)
    queries = load_queries(settings, Path(spec["set_path"]) if spec.get("set_path") else None, spec.get("limit"))
    kamerbron, answerer = measure_kamerbron(settings, queries)
    retriever = answerer.retriever
    party = _common_party(retriever.index)
    by_party = Filters(parties=[party]) if party else None
    party_ms, _ = time_calls(lambda q: retriever.retrieve(q, k=SEARCH_K, filters=by_party), queries)
    by_date = Filters(date_from=DATE_FILTER[0], date_to=DATE_FILTER[1])
    date_ms, _ = time_calls(lambda q: retriever.retrieve(q, k=SEARCH_K, filters=by_date), queries)
    serve_peak = peak_rss_mb()
    # With a Chroma server the catalogue and BM25 are rebuilt from Chroma at load: time that path too.
    store = IndexStore(settings)
    state = store.current_state()
    _, server_load_s = _timed(lambda: build_bm25(store._chunks_from_chroma(state.generation), Analyzer()))
    return {
        **kamerbron,
        "import_s": round(import_s, 3),
        "search_filtered_ms": summarise_ms(party_ms),
        "filter": {"parties": [party]} if party else {},
        "search_date_filtered_ms": summarise_ms(date_ms),
        "date_filter": list(DATE_FILTER),
        "date_filter_share": round(float(retriever.index.filter_mask(by_date).mean()), 4),
        "server_mode_load_s": round(server_load_s, 3),
        "serve_peak_rss_mb": serve_peak,
        "server_mode_peak_rss_mb": peak_rss_mb(),
    }


def cold_load(spec: dict) -> dict:
    """Import and load time of one system (``spec['system']``) in a fresh process, as an app start pays them."""
    settings = _spec_settings(spec)
    t0 = time.perf_counter()
    from kamerbron.embed import build_embedder

    if spec["system"] == "kamerbron":
        from rag.answer import Answerer

        imported = time.perf_counter() - t0
        answerer, load_s = _timed(lambda: Answerer(settings))
        _, model_s = _timed(lambda: answerer.retriever.embedder)
    else:
        import llama_index.core  # noqa: F401
        import llama_index.vector_stores.chroma  # noqa: F401

        imported = time.perf_counter() - t0
        embedder, model_s = _timed(lambda: build_embedder(settings))
        _, load_s = _timed(lambda: load_llamaindex(Path(spec["workdir"]) / "llamaindex", embedder))
    return {"import_s": round(imported, 3), "load_s": round(load_s, 3), "embedder_load_s": round(model_s, 3)}


def _run_worker(phase: str, spec: dict, spec_path: Path) -> dict:
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    result_path = spec_path.with_suffix(f".{phase}.json")
    subprocess.run(
        [sys.executable, "-m", "eval.bench", "worker", phase, str(spec_path), str(result_path)],
        cwd=PROJECT_ROOT, check=True,
    )
    return json.loads(result_path.read_text(encoding="utf-8"))


def run_scale(
    settings: Settings,
    factors: Sequence[int],
    workdir: Path,
    *,
    set_path: Path | None = None,
    limit: int | None = None,
    isolate: bool = True,
    log: Callable[[str], None] = lambda line: None,
) -> dict:
    """Index and query synthetic corpora of each factor; each factor in fresh processes when ``isolate``."""
    chunks, vectors, seed_note = seed_corpus(settings, workdir)
    seed_dir = workdir / "seed"
    save_seed(chunks, vectors, seed_dir)
    points = []
    for factor in factors:
        started = time.perf_counter()
        index_dir = workdir / f"scale-{factor}"
        bench = with_index_dir(settings, index_dir)
        spec = {
            "factor": factor,
            "seed_dir": str(seed_dir),
            "settings": json.loads(bench.model_dump_json()),
            "set_path": str(set_path) if set_path else None,
            "limit": limit,
        }
        if isolate:
            built = _run_worker("build", spec, workdir / f"scale-{factor}.spec.json")
            served = _run_worker("serve", spec, workdir / f"scale-{factor}.spec.json")
        else:
            built, served = scale_build(spec), scale_serve(spec)
        shutil.rmtree(index_dir, ignore_errors=True)
        point = {**built, **served, "wall_s": round(time.perf_counter() - started, 1)}
        points.append(point)
        log(
            f"scale {factor}x: {point['chunks']} chunks, index {point['index_s']:.1f} s, "
            f"search p50 {point['search_ms']['p50']:.1f} ms, ask p50 {point['ask_ms']['p50']:.1f} ms "
            f"({point['wall_s']:.0f} s)"
        )
    return {"seed": seed_note, "points": points, "isolated": isolate}


# ---------------------------------------------------------------- tables


def _f(value, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def comparison_table(result: dict) -> str:
    systems = result["systems"]
    names = {"kamerbron": "Kamerbron (hybrid)", "llamaindex_vector": "llama-index VectorStoreIndex", "bm25": "BM25 alone"}
    cols = [k for k in names if k in systems]
    rows = [
        ("index build (s)", lambda s: _f(s.get("index_s"), 2)),
        ("index size (MiB)", lambda s: _f(s.get("size_mb"), 1)),
        (
            "cold start: import + load + model (s)",
            lambda s: f"{_f(s.get('import_s'), 2)} + {_f(s.get('load_s'), 2)} + {_f(s.get('embedder_load_s'), 2)}",
        ),
        ("search p50 / p95 (ms)", lambda s: f"{_f(s['search_ms']['p50'])} / {_f(s['search_ms']['p95'])}"),
        ("ask p50 / p95 (ms)", lambda s: f"{_f(s['ask_ms']['p50'])} / {_f(s['ask_ms']['p95'])}" if s.get("ask_ms") else "n/a"),
        ("Recall@5", lambda s: _f(s.get("recall@5"), 3)),
        ("MRR@10", lambda s: _f(s.get("mrr@10"), 3)),
    ]
    lines = ["| | " + " | ".join(names[c] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for label, get in rows:
        lines.append(f"| {label} | " + " | ".join(get(systems[c]) for c in cols) + " |")
    ratio = result["ratios"]
    lines.append(
        "| Kamerbron search p50 ÷ this | 1 | "
        + " | ".join(_f(ratio[c]["search_p50"], 2) for c in cols if c != "kamerbron") + " |"
    )
    lines.append(
        "| Kamerbron Recall@5 ÷ this | 1 | " + " | ".join(_f(ratio[c]["recall@5"], 2) for c in cols if c != "kamerbron") + " |"
    )
    return "\n".join(lines)


def ingest_table(result: dict) -> str:
    ing, emb = result["ingest"], result["embedding"]
    embed_cell = (
        f"reused from the existing index ({_f(ing['seconds_embed'], 2)} s); measured on {emb['chunks']} chunks: "
        f"{_f(emb['chunks_per_s'], 1)} chunks/s ({emb['embedder']}, {emb['device']})"
        if ing["vectors_reused"]
        else f"{_f(ing['seconds_embed'], 1)} s, {_f(emb['chunks_per_s'], 1)} chunks/s ({emb['embedder']}, {emb['device']})"
    )
    rows = [
        ("documents / turns / chunks", f"{ing['documents']} / {ing['turns']} / {ing['chunks']}"),
        ("parse + chunk", f"{_f(ing['seconds_parse'], 2)} s"),
        ("embed", embed_cell),
        ("index (Chroma + BM25 + catalogue)", f"{_f(ing['seconds_index'], 2)} s ({_f(ing['index_chunks_per_s'], 0)} chunks/s)"),
        ("total", f"{_f(ing['seconds'], 1)} s ({_f(ing['chunks_per_s'], 1)} chunks/s)"),
        (
            "index on disk",
            f"{_f(ing['size_mb'])} MiB (Chroma {_f(ing['size_chroma_mb'])}, BM25 {_f(ing['size_bm25_mb'], 2)}, "
            f"catalogue {_f(ing['size_catalogue_mb'], 2)})",
        ),
        ("peak memory (process)", f"{_f(ing['peak_rss_mb'], 0)} MiB"),
    ]
    return "\n".join(["| ingest | |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows])


def scale_table(result: dict) -> str:
    head = (
        "| corpus | chunks | index (s) | chunks/s | on disk (MiB) | build peak RSS (MiB) | load (s) | "
        "serving peak RSS (MiB) | search p50 / p95 (ms) | party / date filtered search p50 (ms) | ask p50 / p95 (ms) | "
        "embed / dense / bm25 p50 (ms) | Recall@5 | server-mode load (s) / peak RSS (MiB) |"
    )
    lines = [head, "|---" * head.count("|") + "|"]
    lines[1] = "|---" * (head.count("|") - 1) + "|"
    for p in result["points"]:
        st = p.get("stages_ms", {})
        stage = " / ".join(_f((st.get(k) or {}).get("p50")) for k in ("embed_ms", "dense_ms", "bm25_ms"))
        lines.append(
            f"| {p['factor']}× | {p['chunks']} | {_f(p['index_s'])} | {_f(p['index_chunks_per_s'], 0)} | "
            f"{_f(p['size_mb'])} | {_f(p['build_peak_rss_mb'], 0)} | {_f(p['load_s'], 2)} | "
            f"{_f(p['serve_peak_rss_mb'], 0)} | {_f(p['search_ms']['p50'])} / {_f(p['search_ms']['p95'])} | "
            f"{_f(p['search_filtered_ms']['p50'])} / {_f(p['search_date_filtered_ms']['p50'])} | "
            f"{_f(p['ask_ms']['p50'])} / {_f(p['ask_ms']['p95'])} | {stage} | "
            f"{_f(p['recall@5'], 3)} | {_f(p['server_mode_load_s'], 1)} / {_f(p.get('server_mode_peak_rss_mb'), 0)} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the run


def run_bench(
    settings: Settings | None = None,
    *,
    scales: Sequence[int] = (),
    out_dir: Path | None = None,
    docs_json: Path | None = DOCS_JSON,
    set_path: Path | None = None,
    limit: int | None = None,
    reuse_vectors: bool = False,
    isolate: bool = True,
    keep: bool = False,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> tuple[dict, Path]:
    """Run the comparison (no ``scales``) or the scale benchmark; write and return the figures."""
    settings = settings or Settings()
    started = time.perf_counter()
    result: dict = {
        "schema": SCHEMA,
        "kind": "scale" if scales else "comparison",
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_info(),
        "settings": {
            "embedding_backend": resolve_backend(settings.embedding),
            "index_hash": index_hash(settings),
            "settings_hash": settings_hash(settings),
            "retrieval_mode": settings.retrieval.mode,
            "candidates": settings.retrieval.candidates,
            "search_k": SEARCH_K,
        },
    }
    workdir = Path(tempfile.mkdtemp(prefix="kamerbron-bench-"))
    try:
        if scales:
            result["scale"] = run_scale(settings, scales, workdir, set_path=set_path, limit=limit, isolate=isolate, log=log)
        else:
            result.update(
                run_comparison(settings, workdir, reuse_vectors=reuse_vectors, set_path=set_path, limit=limit, isolate=isolate)
            )
    finally:
        if keep:
            log(f"bench: work folder kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    out_dir = Path(out_dir or OUT_DIR)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{result['kind']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if docs_json is not None:
        update_docs_json(Path(docs_json), result)
    return result, path


def update_docs_json(path: Path, result: dict) -> None:
    """Keep the latest comparison and the latest scale run side by side in one committed file."""
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = {}
    current[result["kind"]] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def render(result: dict) -> str:
    m = result["machine"]
    head = (
        f"{result['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, "
        f"GPU: {m['gpu'] or 'none'}; load average {m['load_avg']} -> {m.get('load_avg_end')}; "
        f"run took {result['duration_s']:.0f} s"
    )
    if result["kind"] == "scale":
        return f"{head}\n\n{scale_table(result['scale'])}"
    return f"{head}\n\n{ingest_table(result)}\n\n{comparison_table(result)}"


# ---------------------------------------------------------------- worker entry point


def _worker_main(argv: list[str]) -> int:
    phase, spec_path, result_path = argv
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = {"build": scale_build, "serve": scale_serve, "load": cold_load}[phase](spec)
    Path(result_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        sys.exit(_worker_main(sys.argv[2:]))
    sys.exit("usage: python -m eval bench (this module's own entry point is for its worker processes)")
