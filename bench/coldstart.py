"""Import and load time of one system in a fresh process, as an app start pays them.

    python -m bench.coldstart load SPEC RESULT    (started by ``bench.workers.run_worker``)

The system's packages are imported inside ``cold_load``, after the clock starts, so nothing this
module imports may import them (rag, kamerbron.store, chromadb, llama_index, bm25s).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from bench.llamaindex import load_llamaindex
from bench.measure import timed
from bench.workers import run_as_worker, spec_settings
from kamerbron.embed import build_embedder


def cold_load(spec: dict) -> dict:
    """Import and load time of ``spec['system']`` ("kamerbron" or "llamaindex_vector") and its embedder."""
    settings = spec_settings(spec)
    t0 = time.perf_counter()
    if spec["system"] == "kamerbron":
        from rag.answer import Answerer  # a fresh worker process: this is the app's import cost

        imported = time.perf_counter() - t0
        answerer, load_s = timed(lambda: Answerer(settings))
        _, model_s = timed(lambda: answerer.retriever.embedder)
    else:
        # a fresh worker process: this is llama-index's import cost
        import llama_index.core  # noqa: F401
        import llama_index.vector_stores.chroma  # noqa: F401

        imported = time.perf_counter() - t0
        embedder, model_s = timed(lambda: build_embedder(settings))
        _, load_s = timed(lambda: load_llamaindex(Path(spec["workdir"]) / "llamaindex", embedder))
    return {"import_s": round(imported, 3), "load_s": round(load_s, 3), "embedder_load_s": round(model_s, 3)}


if __name__ == "__main__":
    sys.exit(run_as_worker({"load": cold_load}))
