"""The evaluation runner: answer every item of the eval set, score it, write the run folder.

A run folder ``<eval_dir>/runs/<UTC time>-<settings hash>/`` holds ``items.jsonl`` (one line per
item, written as soon as it is scored), ``summary.json``, ``report.md`` and the plots.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eval import metrics as m
from kamerbron.errors import EmbeddingModelError, IndexMissingError, KamerbronError
from kamerbron.fingerprint import settings_hash
from kamerbron.records import Answer
from kamerbron.settings import PROJECT_ROOT, Settings

RETRIEVAL_MODES = ("bm25", "dense", "hybrid")
TOP_PASSAGES_KEPT = 5
SUMMARY_SCHEMA = 1

# These mean no question can be answered at all: stop instead of scoring every item as a failure.
FATAL_ERRORS = (IndexMissingError, EmbeddingModelError)


def runs_dir(settings: Settings) -> Path:
    return settings.paths.eval_dir / "runs"


def default_set_path(settings: Settings) -> Path:
    from eval.dataset import default_eval_path

    return default_eval_path(settings)


def new_run_dir(settings: Settings, root: Path | None = None, *, now: datetime | None = None) -> Path:
    """A fresh, not yet existing folder ``<root>/<UTC time>-<settings hash>``."""
    root = root or runs_dir(settings)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = root / f"{stamp}-{settings_hash(settings)}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def set_info(path: Path | None, n_items: int) -> dict:
    """Version, file hash and size of the eval set, for the summary and the baseline."""
    if path is None or not Path(path).is_file():
        return {"path": str(path) if path else None, "version": None, "sha256": None, "n_items": n_items}
    path = Path(path)
    match = re.search(r"_v(\d+)$", path.stem)
    try:  # relative to the project, so a committed baseline names no machine's folders
        shown = str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        shown = str(path)
    return {
        "path": shown,
        "version": f"v{match.group(1)}" if match else path.stem,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
        "n_items": n_items,
    }


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


# ---------------------------------------------------------------------------
# One item


def _passage_view(p: Any, relevant: bool) -> dict:
    return {
        "rank": m.field(p, "rank", 0),
        "chunk_id": m.field(p, "chunk_id", ""),
        "source_file": m.field(p, "source_file", ""),
        "speaker": m.field(p, "speaker", ""),
        "party": m.field(p, "party", ""),
        "via": m.field(p, "via", ""),
        "relevant": relevant,
        "text": m.field(p, "text", ""),
    }


def _citation_view(c: Any, relevant: bool | None) -> dict:
    return {
        "n": m.field(c, "n"),
        "chunk_id": m.field(c, "chunk_id", ""),
        "source_file": m.field(c, "source_file", ""),
        "speaker": m.field(c, "speaker", ""),
        "party": m.field(c, "party", ""),
        "relevant": relevant,
        "text": m.field(c, "text", ""),
        "sentences": list(m.field(c, "sentences", []) or []),
    }


def _gold_view(gold: Sequence[Any]) -> list[dict]:
    return [{"source_file": m.field(g, "source_file", ""), "quote": m.field(g, "quote", "")} for g in gold]


def answer_item(item: Any, answerer: Any) -> tuple[Answer, list[tuple[str, str]], float, str | None]:
    """Answer the history questions, then the item's question with that history.

    Returns the final answer, the produced history, the wall time of the final call in ms
    and an error message (None when it went well). A domain error other than a fatal one is
    recorded on the item, which then counts as answered with nothing.
    """
    produced: list[tuple[str, str]] = []
    question = m.field(item, "question", "")
    try:
        for turn in m.field(item, "history", []) or []:
            previous = answerer.answer(m.field(turn, "question", ""), history=tuple(produced))
            produced.append((m.field(turn, "question", ""), previous.answer))
        started = time.perf_counter()
        answer = answerer.answer(question, history=tuple(produced))
        return answer, produced, (time.perf_counter() - started) * 1000, None
    except FATAL_ERRORS:
        raise
    except KamerbronError as exc:
        empty = Answer(question=question, answer="", notice=str(exc))
        return empty, produced, 0.0, f"{type(exc).__name__}: {exc}"


def score_item(item: Any, answer: Answer, matcher: m.QuoteMatcher) -> dict[str, float | None]:
    """All per-item metrics of one answered item (see eval.metrics for the definitions)."""
    gold = list(m.field(item, "gold", []) or [])
    answerable = bool(m.field(item, "answerable", True))
    scores: dict[str, float | None] = dict(m.retrieval_metrics(answer.retrieved, gold, matcher))
    scores["citation_precision"] = m.citation_precision(answer.citations, gold, matcher)
    scores["citation_validity"] = m.citation_validity(answer.answer, answer.citations, answer.retrieved)
    attribution = m.attribution(
        m.field(item, "speaker") if answerable else None,
        m.field(item, "party") if answerable else None,
        answer.answer,
        answer.citations,
    )
    scores["attribution"] = attribution["score"]
    scores["attribution_speaker"] = None if attribution["speaker"] is None else float(attribution["speaker"])
    scores["attribution_party"] = None if attribution["party"] is None else float(attribution["party"])
    facts = m.field(item, "facts", []) or []
    scores["fact_recall"] = m.fact_recall(facts, answer.answer) if answerable else None
    scores["refusal_correct"] = float(answer.refused == (not answerable))
    kind = m.field(item, "kind", "")
    scores["who_first_line"] = m.who_first_line(m.field(item, "speaker"), answer.answer) if kind == "who" else None
    scores["silent_parties_named"] = m.silent_parties_named(m.field(item, "silent_parties", []) or [], answer.answer)
    scores.update(m.quote_metrics(answer.quotes))
    return scores


def retrieval_by_mode(
    query: str, gold: Sequence[Any], retriever: Any, matcher: m.QuoteMatcher, modes: Sequence[str]
) -> dict[str, dict]:
    """Retrieval metrics of the query under each retrieval mode, or the error of a mode."""
    out: dict[str, dict] = {}
    for mode in modes:
        try:
            passages = retriever.retrieve(query, k=m.RANK_CUTOFF, mode=mode)
        except FATAL_ERRORS:
            raise
        except KamerbronError as exc:
            out[mode] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[mode] = m.retrieval_metrics(passages, gold, matcher)
    return out


# ---------------------------------------------------------------------------
# The run


def run_eval(
    items: Sequence[Any],
    answerer: Any,
    settings: Settings,
    out_dir: Path,
    *,
    set_path: Path | None = None,
    baseline: dict | None = None,
    tolerance: float | None = None,
    with_ragas: bool = True,
    ragas_scorer: Any = None,
    modes: Sequence[str] = RETRIEVAL_MODES,
    matcher: m.QuoteMatcher | None = None,
    progress: bool = True,
    limit_note: str | None = None,
) -> dict:
    """Answer and score ``items`` with ``answerer``; write the run into ``out_dir`` (created, must not
    exist yet); return the summary.

    ``answerer`` needs ``answer(question, *, history)`` and ``retriever.retrieve(query, *, k, mode)``
    (``rag.answer.Answerer``, or a fake in tests). With ``baseline``, the summary and report carry
    the comparison (``summary["comparison"]``); the caller decides the exit code from it.
    """
    from tqdm import tqdm

    from eval import gate, report

    matcher = matcher or m._default_matcher()
    if with_ragas and ragas_scorer is None:
        from eval.ragas_metrics import RagasScorer

        ragas_scorer = RagasScorer(settings, matcher=matcher)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=False)
    started = datetime.now(UTC)
    records: list[dict] = []
    with (out_dir / "items.jsonl").open("w", encoding="utf-8") as sink:
        for item in tqdm(items, desc="eval", unit="q", disable=not progress, file=sys.stderr):
            record = evaluate_item(item, answerer, matcher, modes=modes, ragas_scorer=ragas_scorer)
            records.append(record)
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
            sink.flush()

    summary = summarise(records, settings, set_path=set_path, started=started, run_dir=out_dir, modes=modes)
    summary["ragas"] = ragas_summary(records, ragas_scorer, with_ragas)
    if limit_note:
        summary["notes"].append(limit_note)
    if baseline is not None:
        kwargs = {} if tolerance is None else {"tolerance": tolerance}
        summary["comparison"] = gate.compare(summary, records, baseline, **kwargs).to_dict()
    report.write_report(out_dir, summary, records)
    return summary


def evaluate_item(
    item: Any,
    answerer: Any,
    matcher: m.QuoteMatcher,
    *,
    modes: Sequence[str] = RETRIEVAL_MODES,
    ragas_scorer: Any = None,
) -> dict:
    """Answer one item and return its record for items.jsonl."""
    answer, produced, latency_ms, error = answer_item(item, answerer)
    gold = list(m.field(item, "gold", []) or [])
    scores = score_item(item, answer, matcher)
    hits = m.gold_hits(answer.retrieved[:TOP_PASSAGES_KEPT], gold, matcher) if gold else []
    by_mode: dict[str, dict] = {}
    if gold and modes and error is None:
        query = answer.standalone_question or m.field(item, "question", "")
        by_mode = retrieval_by_mode(query, gold, answerer.retriever, matcher, modes)
    ragas: dict = {}
    if ragas_scorer is not None and error is None:
        ragas = ragas_scorer.score(
            question=answer.standalone_question or answer.question,
            answer=answer.answer,
            refused=answer.refused,
            contexts=[p.text for p in answer.retrieved],
            gold_quotes=[m.field(g, "quote", "") for g in gold],
            facts=m.field(item, "facts", []) or [],
        )
    return {
        "id": m.field(item, "id"),
        "kind": m.field(item, "kind"),
        "lang": m.field(item, "lang"),
        "question": m.field(item, "question"),
        "history": [{"question": q, "answer": a} for q, a in produced],
        "answerable": bool(m.field(item, "answerable", True)),
        "expected": {
            "speaker": m.field(item, "speaker"),
            "party": m.field(item, "party"),
            "facts": m.field(item, "facts", []) or [],
            "gold": _gold_view(gold),
        },
        "standalone_question": answer.standalone_question,
        "answer": answer.answer,
        "refused": answer.refused,
        "backend": answer.backend,
        "notice": answer.notice,
        "error": error,
        "metrics": scores,
        "score": m.item_score(scores),
        "retrieval_by_mode": by_mode,
        "ragas": ragas,
        "latency_ms": round(latency_ms, 2),
        "timings_ms": answer.timings_ms,
        "settings_hash": answer.settings_hash,
        "citations": [
            _citation_view(c, any(m.gold_in_passage(g, c, matcher) for g in gold) if gold else None)
            for c in answer.citations
        ],
        "quotes": [q.to_json() for q in answer.quotes],
        "retrieved_ids": [p.chunk_id for p in answer.retrieved],
        "retrieved_top": [
            _passage_view(p, bool(hits[i]) if gold else False)
            for i, p in enumerate(answer.retrieved[:TOP_PASSAGES_KEPT])
        ],
    }


def summarise(
    records: Sequence[dict],
    settings: Settings,
    *,
    set_path: Path | None,
    started: datetime,
    run_dir: Path,
    modes: Sequence[str] = RETRIEVAL_MODES,
) -> dict:
    """The run's summary.json (without the ragas block, added by the caller)."""
    overall = m.aggregate(records)
    per_kind = {}
    for kind in sorted({r["kind"] for r in records}, key=str):
        per_kind[kind] = m.aggregate([r for r in records if r["kind"] == kind])
    answered = [r for r in records if r["error"] is None]
    return {
        "schema": SUMMARY_SCHEMA,
        "run_id": Path(run_dir).name,
        "timestamp": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings_hash": settings_hash(settings),
        "settings": settings.public_dump(),
        "backend": {
            "requested": settings.answer.backend,
            "answers": dict(Counter(r["backend"] for r in answered)),
        },
        "eval_set": set_info(set_path, len(records)),
        "git_commit": git_commit(),
        "n_items": len(records),
        "n_errors": len(records) - len(answered),
        "headline": m.headline(overall),
        "metrics": overall,
        "per_kind": per_kind,
        "retrieval_by_mode": mode_summary(records, modes),
        "quotes_by_backend": m.quote_summary(records),
        "latency_ms": m.latency_summary([r["latency_ms"] for r in answered]),
        "notes": [],
    }


def mode_summary(records: Sequence[dict], modes: Sequence[str]) -> dict[str, dict]:
    """Mean retrieval metrics per retrieval mode over the items with gold passages."""
    out: dict[str, dict] = {}
    for mode in modes:
        results = [r["retrieval_by_mode"][mode] for r in records if mode in r.get("retrieval_by_mode", {})]
        ok = [x for x in results if "error" not in x]
        names = [f"recall@{k}" for k in m.KS] + [f"mrr@{m.RANK_CUTOFF}", f"ndcg@{m.RANK_CUTOFF}"]
        out[mode] = {"n": len(ok), "errors": len(results) - len(ok)} | {n: m.mean(x.get(n) for x in ok) for n in names}
    return out


def ragas_summary(records: Sequence[dict], scorer: Any, enabled: bool) -> dict:
    """Mean of each ragas metric, how many items it scored, and why the others did not run."""
    from eval.ragas_metrics import LLM_METRICS, NON_LLM_METRICS

    if not enabled:
        reason = "ragas disabled for this run (--no-ragas)"
        return {"metrics": {}, "skipped": dict.fromkeys(NON_LLM_METRICS + LLM_METRICS, reason), "errors": {}}
    metrics: dict[str, dict] = {}
    errors: Counter = Counter()
    for name in NON_LLM_METRICS + LLM_METRICS:
        values = [r["ragas"].get("scores", {}).get(name) for r in records if r.get("ragas")]
        kept = [v for v in values if v is not None]
        if kept or name not in getattr(scorer, "skipped", {}):
            metrics[name] = {"mean": m.mean(kept), "n": len(kept)}
    for r in records:
        errors.update((r.get("ragas") or {}).get("errors", {}).keys())
    return {"metrics": metrics, "skipped": dict(getattr(scorer, "skipped", {})), "errors": dict(errors)}
