"""What every measurement shares: timing, latency percentiles, recall over the evaluation questions,
Kamerbron's own figures, and the settings of a throwaway index.

Nothing of ``rag`` is imported here: the scale curve's serving worker (``bench.scale_point``) imports
this module before it times the app's import of ``rag.answer``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.machine import rss_mb
from eval.metrics import percentile, retrieval_metrics
from kamerbron.settings import Settings

# The evaluation's rank cutoff: Recall@5 and MRR@10 are read from the same call that is timed.
SEARCH_K = 10


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the seconds it took."""
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


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


@dataclass
class BenchQuery:
    """One evaluation question as a standalone query (follow-ups condensed), with its gold passages
    as plain ``{"source_file", "quote"}`` dicts, so a query travels to a worker process as JSON."""

    id: str
    question: str
    gold: list[dict] = field(default_factory=list)


def time_calls(
    fn: Callable[[str], Any], queries: Sequence[BenchQuery], *, warmup: bool = True
) -> tuple[list[float], list]:
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


def recall_figures(queries: Sequence[BenchQuery], results: Sequence[Sequence[Any]]) -> dict:
    """Mean Recall@5 and MRR@10 over the queries that have gold passages."""
    scored = [retrieval_metrics(list(r), q.gold) for q, r in zip(queries, results) if q.gold]
    if not scored:
        return {"recall@5": None, "mrr@10": None, "n": 0}
    return {
        "recall@5": round(float(np.mean([s["recall@5"] for s in scored])), 4),
        "mrr@10": round(float(np.mean([s["mrr@10"] for s in scored])), 4),
        "n": len(scored),
    }


def measure_kamerbron(load: Callable[[], Any], queries: Sequence[BenchQuery]) -> tuple[dict, Any]:
    """Load time, warm search and ask latency, stage timings and Recall@5 of Kamerbron (hybrid).

    ``load`` builds the ``rag.answer.Answerer`` to measure and its time is the load time; the caller
    passes it so that this module imports nothing of rag (see the module docstring).
    """
    rss_before = rss_mb()
    answerer, load_s = timed(load)
    retriever = answerer.retriever
    _, embedder_load_s = timed(lambda: retriever.embedder)
    rss_loaded = rss_mb()
    stages: dict[str, list[float]] = {}

    def search(question: str):
        passages = retriever.retrieve(question, k=SEARCH_K)
        for name, ms in retriever.last_timings_ms.items():
            stages.setdefault(name, []).append(ms)
        return passages

    search_ms, results = time_calls(search, queries)
    stages = {name: values[-len(queries) :] for name, values in stages.items()}  # the timed pass only
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
