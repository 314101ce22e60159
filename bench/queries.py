"""The evaluation questions as standalone benchmark queries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.measure import BenchQuery
from eval.dataset import default_eval_path, load_eval_set
from kamerbron.settings import Settings
from rag.condense import condense_question


def bench_queries(items: Sequence[Any], limit: int | None = None) -> list[BenchQuery]:
    """The evaluation questions as standalone queries; follow-ups condensed without an LLM."""
    queries = []
    for item in items:
        question = item.question
        if item.history:
            question = condense_question(question, [(h.question, h.answer) for h in item.history], None)
        queries.append(BenchQuery(item.id, question, [g.model_dump() for g in item.gold]))
    return queries[:limit] if limit else queries


def load_queries(settings: Settings, set_path: Path | None, limit: int | None) -> list[BenchQuery]:
    """The first ``limit`` (all when None) questions of the evaluation set as benchmark queries."""
    items = load_eval_set(set_path or default_eval_path(settings), corpus_dir=settings.paths.corpus_dir)
    return bench_queries(items, limit)
