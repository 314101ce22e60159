"""The scale curve: synthetic corpora N times the bundled one (``bench.synthetic``), each indexed
and queried in fresh processes (``bench.scale_point``), so memory figures do not mix."""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from bench.embedding import StoredVectorEmbedder
from bench.measure import with_index_dir
from bench.queries import load_queries
from bench.scale_point import save_seed, scale_build, scale_serve
from bench.workers import run_worker, settings_spec
from ingest.build import build_index
from kamerbron.embed import build_embedder
from kamerbron.records import Chunk
from kamerbron.settings import Settings
from kamerbron.store import IndexStore


def seed_corpus(settings: Settings, workdir: Path) -> tuple[list[Chunk], np.ndarray, dict]:
    """The real corpus as chunks and vectors: vectors reused from the configured index when it
    holds them, otherwise embedded."""
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
    return index.chunks, index.vectors, note


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
    queries = [asdict(q) for q in load_queries(settings, set_path, limit)]
    chunks, vectors, seed_note = seed_corpus(settings, workdir)
    seed_dir = workdir / "seed"
    save_seed(chunks, vectors, seed_dir)
    points = []
    for factor in factors:
        started = time.perf_counter()
        index_dir = workdir / f"scale-{factor}"
        spec = {
            "factor": factor,
            "seed_dir": str(seed_dir),
            "settings": settings_spec(with_index_dir(settings, index_dir)),
            "queries": queries,
        }
        if isolate:
            built = run_worker("build", spec, workdir / f"scale-{factor}.spec.json")
            served = run_worker("serve", spec, workdir / f"scale-{factor}.spec.json")
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
