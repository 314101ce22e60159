"""Baseline and regression gate: bless a run as ``eval/baseline.json``; compare a run with it.

A run fails the gate when a headline metric is worse than the baseline's by more than the
tolerance (absolute; direction-aware: ``wrongful_refusal_rate`` is better lower). Latency is
reported but never gated: timings are too noisy.

Some figures have a floor instead of a baseline (``QUOTE_FLOORS``): the extractive answer quotes
verbatim, so every quote it makes must verify (rag/verify.py), whatever the baseline says; a run
below the floor fails with no tolerance.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eval import metrics as m
from kamerbron.errors import KamerbronError

DEFAULT_TOLERANCE = 0.02
BASELINE_SCHEMA = 1

# The per-item metric that shows which items moved a headline metric.
ITEM_KEY = {
    "recall@5": "recall@5",
    "mrr@10": "mrr@10",
    "citation_precision": "citation_precision",
    "citation_validity": "citation_validity",
    "attribution": "attribution",
    "fact_recall": "fact_recall",
    "refusal_f1": "refusal_correct",
    "wrongful_refusal_rate": "refusal_correct",
}
# Per backend, the share of quotes that must be verified (pooled over the run's answers of that backend).
QUOTE_FLOORS = {"extractive": 1.0}
ITEM_KEY.update({f"quotes_verified[{backend}]": "quotes_verified" for backend in QUOTE_FLOORS})
ITEM_METRICS = tuple(dict.fromkeys(ITEM_KEY.values()))
_EPS = 1e-9


class EvalRunMissingError(KamerbronError):
    """No evaluation run where one was expected."""

    exit_code = 7


class EvalRunInvalidError(KamerbronError):
    """A run folder lacks summary.json/items.jsonl or they do not parse."""

    exit_code = 7


class BaselineMissingError(KamerbronError):
    exit_code = 7


class BaselineInvalidError(KamerbronError):
    exit_code = 7


@dataclass
class MetricChange:
    name: str
    before: float | None
    after: float | None
    higher_is_better: bool
    tolerance: float | None = None  # this metric's own allowed fall (0 for a floor); None: the gate's

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def fell_by(self) -> float | None:
        """How much worse the metric got (positive = worse), whatever its direction."""
        if self.delta is None:
            return None
        return -self.delta if self.higher_is_better else self.delta


@dataclass
class ItemChange:
    id: str
    metric: str
    before: float
    after: float


@dataclass
class GateResult:
    tolerance: float
    changes: list[MetricChange]
    worse_items: list[ItemChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline_run: str | None = None

    @property
    def fell(self) -> list[MetricChange]:
        """Headline metrics that got worse by more than the tolerance."""
        return [
            c for c in self.changes
            if (c.fell_by() or 0.0) > (self.tolerance if c.tolerance is None else c.tolerance) + _EPS
        ]  # fmt: skip

    @property
    def passed(self) -> bool:
        return not self.fell

    def items_behind(self, change: MetricChange) -> list[ItemChange]:
        """The items whose own metric got worse in the direction of a fallen headline metric."""
        return [i for i in self.worse_items if i.metric == ITEM_KEY.get(change.name)]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "tolerance": self.tolerance,
            "baseline_run": self.baseline_run,
            "changes": [asdict(c) | {"delta": c.delta, "fell_by": c.fell_by()} for c in self.changes],
            "fell": [c.name for c in self.fell],
            "worse_items": [asdict(i) for i in self.worse_items],
            "notes": list(self.notes),
        }


def gate_from_dict(data: dict) -> GateResult:
    """Rebuild a GateResult from ``summary["comparison"]``."""
    return GateResult(
        tolerance=data["tolerance"],
        changes=[
            MetricChange(c["name"], c["before"], c["after"], c["higher_is_better"], c.get("tolerance"))
            for c in data.get("changes", [])
        ],
        worse_items=[ItemChange(**i) for i in data.get("worse_items", [])],
        notes=list(data.get("notes", [])),
        baseline_run=data.get("baseline_run"),
    )


# ---------------------------------------------------------------------------
# Runs and baselines on disk


def latest_run(runs_root: Path) -> Path:
    """The newest run folder (by name, which starts with its UTC time) that has a summary."""
    runs = sorted(p for p in Path(runs_root).glob("*/summary.json")) if Path(runs_root).is_dir() else []
    if not runs:
        raise EvalRunMissingError(f"No evaluation run in {runs_root}. Run `python -m eval run` first.")
    return runs[-1].parent


def load_run(run_dir: Path) -> tuple[dict, list[dict]]:
    """summary.json and the records of items.jsonl of a run folder."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise EvalRunMissingError(f"Run folder {run_dir} does not exist. Pass a folder under eval/runs/.")
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        lines = (run_dir / "items.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise EvalRunInvalidError(
            f"Run folder {run_dir} is incomplete or damaged ({exc}). Re-run `python -m eval run`."
        ) from exc
    return summary, records


def make_baseline(summary: dict, records: list[dict], run_dir: Path | None = None) -> dict:
    """The baseline document: headline metrics, per-item key metrics, settings and set hashes."""
    return {
        "schema": BASELINE_SCHEMA,
        "blessed": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": summary.get("run_id") or (run_dir.name if run_dir else None),
        "settings_hash": summary.get("settings_hash"),
        "backend": summary.get("backend"),
        "eval_set": summary.get("eval_set"),
        "git_commit": summary.get("git_commit"),
        "n_items": summary.get("n_items"),
        "headline": summary.get("headline", {}),
        "latency_ms": summary.get("latency_ms"),
        "items": {str(r["id"]): {k: r["metrics"].get(k) for k in ITEM_METRICS} for r in records},
    }


def bless(run_dir: Path, baseline_path: Path) -> dict:
    """Write the run's baseline to ``baseline_path`` and return it."""
    summary, records = load_run(run_dir)
    baseline = make_baseline(summary, records, Path(run_dir))
    baseline_path = Path(baseline_path)
    baseline_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = baseline_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(baseline, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(baseline_path)
    return baseline


def load_baseline(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise BaselineMissingError(
            f"No baseline at {path}. Bless a run first with `python -m eval baseline [RUN_DIR]`."
        )
    try:
        baseline = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BaselineInvalidError(f"Baseline {path} does not parse ({exc}). Bless a run again.") from exc
    if not isinstance(baseline, dict) or "headline" not in baseline:
        raise BaselineInvalidError(f"Baseline {path} has no headline metrics. Bless a run again.")
    return baseline


# ---------------------------------------------------------------------------
# Comparing


def compare(summary: dict, records: list[dict], baseline: dict, tolerance: float = DEFAULT_TOLERANCE) -> GateResult:
    """Compare a run's headline and per-item metrics with a baseline."""
    before, after = baseline.get("headline", {}), summary.get("headline", {})
    changes = [MetricChange(name, before.get(name), after.get(name), up) for name, up in m.HEADLINE.items()]
    floors = quote_floors(records)
    changes += floors
    notes = []
    for c in changes:
        if c.before is not None and c.after is None:
            notes.append(f"{c.name} was {c.before:.3f} in the baseline and is undefined in this run.")
    base_set = (baseline.get("eval_set") or {}).get("sha256")
    run_set = (summary.get("eval_set") or {}).get("sha256")
    if base_set and run_set and base_set != run_set:
        notes.append("The eval set changed since the baseline; items are compared by id.")
    if baseline.get("n_items") and summary.get("n_items") != baseline.get("n_items"):
        notes.append(f"This run has {summary.get('n_items')} items, the baseline {baseline.get('n_items')}.")
    if baseline.get("settings_hash") != summary.get("settings_hash"):
        notes.append(f"Settings differ: baseline {baseline.get('settings_hash')}, run {summary.get('settings_hash')}.")

    base_items = baseline.get("items", {})
    worse = []
    for r in records:
        old = base_items.get(str(r["id"]))
        if old is None:
            continue
        for key in ITEM_METRICS:
            was, now = old.get(key), r["metrics"].get(key)
            if was is not None and now is not None and now < was - _EPS:
                worse.append(ItemChange(str(r["id"]), key, was, now))
    worse += _below_floor(records, floors, worse)
    return GateResult(tolerance, changes, worse, notes, baseline.get("run_id"))


def quote_floors(records: list[dict]) -> list[MetricChange]:
    """One change per backend in QUOTE_FLOORS whose answers quoted anything: the floor as 'before',
    the run's pooled share of verified quotes as 'after', with no tolerance."""
    summary = m.quote_summary(records)
    return [
        MetricChange(f"quotes_verified[{backend}]", floor, summary[backend]["quotes_verified"], True, 0.0)
        for backend, floor in QUOTE_FLOORS.items()
        if summary.get(backend, {}).get("quotes_verified") is not None
    ]


def _below_floor(records: list[dict], floors: list[MetricChange], listed: list[ItemChange]) -> list[ItemChange]:
    """The items under a quote floor (floor as 'before'), unless already listed against the baseline."""
    seen = {(i.id, i.metric) for i in listed}
    below = []
    for floor in floors:
        backend = floor.name.removeprefix("quotes_verified[").removesuffix("]")
        for r in records:
            value = r.get("metrics", {}).get("quotes_verified")
            if r.get("backend") == backend and value is not None and value < floor.before - _EPS:
                if (str(r["id"]), "quotes_verified") not in seen:
                    below.append(ItemChange(str(r["id"]), "quotes_verified", floor.before, value))
    return below


def format_gate(result: GateResult) -> str:
    """A readable account of the comparison: each headline metric, what fell, which items got worse."""
    lines = [f"Compared with baseline {result.baseline_run or '?'} (tolerance {result.tolerance:.3f}):"]
    for c in result.changes:
        if c.delta is None:
            shown = f"{_fmt(c.before)} -> {_fmt(c.after)}"
        else:
            shown = f"{c.before:.3f} -> {c.after:.3f} ({c.delta:+.3f})"
        flag = "  FELL" if c in result.fell else ""
        lines.append(f"  {c.name:<22} {shown}{flag}")
    for note in result.notes:
        lines.append(f"  note: {note}")
    for c in result.fell:
        items = result.items_behind(c)
        direction = "lower is better" if not c.higher_is_better else "higher is better"
        lines.append(f"{c.name} fell by {c.fell_by():.3f} ({direction}); items that got worse:")
        for i in items or []:
            lines.append(f"  {i.id}: {i.metric} {i.before:.3f} -> {i.after:.3f}")
        if not items:
            lines.append("  (no single item; the set or the aggregation changed)")
    lines.append("GATE PASSED" if result.passed else "GATE FAILED: " + ", ".join(c.name for c in result.fell))
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
