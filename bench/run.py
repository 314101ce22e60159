"""One benchmark run: the comparison on the bundled corpus, or the scale curve, stamped with the
machine and the settings and written to ``bench/out/`` and ``docs/benchmark.json``."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.comparison import run_comparison
from bench.machine import load_average, machine_info
from bench.measure import SEARCH_K
from bench.report import DOCS_JSON, update_docs_json, write_run
from bench.scale import run_scale
from kamerbron.embed import resolve_backend
from kamerbron.fingerprint import index_hash, settings_hash
from kamerbron.settings import Settings

# Version of the JSON layout of a run; raise it when a key is renamed or removed.
SCHEMA = 1


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
            result["scale"] = run_scale(
                settings, scales, workdir, set_path=set_path, limit=limit, isolate=isolate, log=log
            )
        else:
            result.update(
                run_comparison(
                    settings, workdir, reuse_vectors=reuse_vectors, set_path=set_path, limit=limit, isolate=isolate
                )
            )
    finally:
        if keep:
            log(f"bench: work folder kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    result["machine"]["load_avg_end"] = load_average()
    path = write_run(result, out_dir)
    if docs_json is not None:
        update_docs_json(Path(docs_json), result)
    return result, path
