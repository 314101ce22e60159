"""One point of the scale curve: build, then serve, the synthetic corpus of one factor, each
normally in a fresh process so that memory figures do not mix.

    python -m bench.scale_point build|serve SPEC RESULT    (started by ``bench.workers.run_worker``)

``scale_serve`` times the app's import of ``rag.answer``, so nothing this module imports may import rag.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.machine import dir_size_mb, peak_rss_mb, rss_mb
from bench.measure import SEARCH_K, BenchQuery, measure_kamerbron, summarise_ms, time_calls, timed
from bench.synthetic import file_state, synthetic_corpus
from bench.workers import run_as_worker, spec_settings
from kamerbron.analyzer import Analyzer, build_bm25
from kamerbron.records import Chunk, Filters
from kamerbron.store import IndexStore

# The date-range filter timed at each size: one year, 4.7% of the chunks at 100x (docs/benchmark.md).
DATE_FILTER = ("2017-01-01", "2017-12-31")
# Chunks counted to pick the party filter's party (the most common one): a round cap set by hand so
# the count stays short at 100x; it is a choice of filter, not a figure.
PARTY_SAMPLE = 10_000


def save_seed(chunks: Sequence[Chunk], vectors: np.ndarray, folder: Path) -> None:
    """Write the real corpus's chunks and vectors, for the workers to generate copies from."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(c.model_dump_json() + "\n" for c in chunks)
    np.save(folder / "vectors.npy", vectors)


def load_seed(folder: Path) -> tuple[list[Chunk], np.ndarray]:
    with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
        chunks = [Chunk.model_validate_json(line) for line in fh]
    return chunks, np.load(folder / "vectors.npy")


def scale_build(spec: dict) -> dict:
    """Generate the corpus of one scale factor and write it as an index generation."""
    settings = spec_settings(spec)
    seed_chunks, seed_vectors = load_seed(Path(spec["seed_dir"]))
    (chunks, vectors), generate_s = timed(
        lambda: synthetic_corpus(seed_chunks, seed_vectors, spec["factor"], seed=spec["factor"])
    )
    files = file_state(chunks)
    rss_before = rss_mb()
    store = IndexStore(settings)
    state, index_s = timed(lambda: store.write_generation(chunks, vectors, files))
    _, bm25_s = timed(lambda: build_bm25(chunks, Analyzer()))
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


def common_party(index) -> str:
    """The party with the most chunks among the first ``PARTY_SAMPLE``; "" when none has a party."""
    parties: dict[str, int] = {}
    for c in index.chunks[:PARTY_SAMPLE]:
        if c.party:
            parties[c.party] = parties.get(c.party, 0) + 1
    return max(parties, key=parties.get) if parties else ""


def scale_serve(spec: dict) -> dict:
    """Load the index of one scale factor as an app would and time search and ask on it."""
    t0 = time.perf_counter()
    from rag.answer import Answerer  # a fresh worker process: this is the app's import cost

    import_s = time.perf_counter() - t0
    settings = spec_settings(spec)
    queries = [BenchQuery(**q) for q in spec["queries"]]
    kamerbron, answerer = measure_kamerbron(lambda: Answerer(settings), queries)
    retriever = answerer.retriever
    party = common_party(retriever.index)
    by_party = Filters(parties=[party]) if party else None
    party_ms, _ = time_calls(lambda q: retriever.retrieve(q, k=SEARCH_K, filters=by_party), queries)
    by_date = Filters(date_from=DATE_FILTER[0], date_to=DATE_FILTER[1])
    date_ms, _ = time_calls(lambda q: retriever.retrieve(q, k=SEARCH_K, filters=by_date), queries)
    serve_peak = peak_rss_mb()
    # With a Chroma server the catalogue and BM25 are rebuilt from Chroma at load: time that path too.
    store = IndexStore(settings)
    state = store.current_state()
    _, server_load_s = timed(lambda: build_bm25(store._chunks_from_chroma(state.generation), Analyzer()))
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


if __name__ == "__main__":
    sys.exit(run_as_worker({"build": scale_build, "serve": scale_serve}))
