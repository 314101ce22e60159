"""Write a run's summary.json, report.md and plots (PNG, matplotlib Agg)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from eval import metrics as m

WORST_ITEMS = 10
PASSAGE_CHARS = 600
KIND_PLOT_METRICS = ("recall@5", "mrr@10", "citation_precision", "attribution", "fact_recall", "refusal_accuracy")
KIND_TABLE_METRICS = (
    "recall@5", "mrr@10", "ndcg@10", "citation_precision", "citation_validity",
    "attribution", "fact_recall", "refusal_accuracy",
)  # fmt: skip
MODE_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")

PLOT_KINDS = "metrics_by_kind.png"
PLOT_LATENCY = "latency.png"
PLOT_BASELINE = "baseline_change.png"


def write_report(run_dir: Path, summary: dict, records: Sequence[dict]) -> list[Path]:
    """Write summary.json, the plots and report.md into ``run_dir``; return the paths written."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    written = [_write_json(run_dir / "summary.json", summary)]
    plots = write_plots(run_dir, summary, records)
    written += plots
    report = run_dir / "report.md"
    report.write_text(render_markdown(summary, records, [p.name for p in plots]), encoding="utf-8")
    written.append(report)
    return written


def _write_json(path: Path, data: dict) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# ---------------------------------------------------------------------------
# Markdown


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _one_line(text: str, limit: int | None = None) -> str:
    text = " ".join(str(text or "").split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(summary: dict, records: Sequence[dict], plots: Sequence[str] = ()) -> str:
    """The human-readable report of a run."""
    s = summary
    out = [f"# Kamerbron evaluation {s.get('run_id', '')}", ""]
    eval_set = s.get("eval_set") or {}
    backend = s.get("backend") or {}
    out += [
        f"- When: {s.get('timestamp')} (UTC)",
        f"- Settings hash: `{s.get('settings_hash')}`; backend requested `{backend.get('requested')}`, "
        f"answers by {backend.get('answers')}",
        f"- Eval set: {eval_set.get('version')} (`{eval_set.get('sha256')}`), {s.get('n_items')} items, "
        f"{s.get('n_errors', 0)} errors",
        f"- Git commit: `{s.get('git_commit')}`",
        "",
    ]
    for note in s.get("notes", []):
        out.append(f"> {note}")
    if s.get("notes"):
        out.append("")

    comparison = s.get("comparison")
    base = {c["name"]: c for c in (comparison or {}).get("changes", [])}
    out += ["## Headline", ""]
    header = ["metric", "value"] + (["baseline", "change"] if comparison else [])
    rows = []
    for name, value in (s.get("headline") or {}).items():
        row = [name + ("" if m.HEADLINE.get(name, True) else " (lower is better)"), _fmt(value)]
        if comparison:
            c = base.get(name, {})
            flag = " ⚠" if name in comparison.get("fell", []) else ""
            row += [
                _fmt(c.get("before")),
                (_fmt(c.get("delta")) if c.get("delta") is None else f"{c['delta']:+.3f}") + flag,
            ]
        rows.append(row)
    metrics = s.get("metrics") or {}
    for extra in ("recall@1", "recall@10", "ndcg@10", "refusal_precision", "refusal_recall", "refusal_accuracy"):
        if extra not in (s.get("headline") or {}):
            rows.append([extra + " (not gated)", _fmt(metrics.get(extra))] + (["", ""] if comparison else []))
    out += _table(header, rows)

    if comparison:
        out += _comparison_section(comparison)

    out += ["## Per kind", ""]
    rows = [
        [kind, str(v.get("n"))] + [_fmt(v.get(k)) for k in KIND_TABLE_METRICS]
        for kind, v in s.get("per_kind", {}).items()
    ]
    out += _table(["kind", "n", *KIND_TABLE_METRICS], rows)

    out += [
        "## Retrieval by mode",
        "",
        "Each mode retrieves the top 10 for the (standalone) question of every item with gold passages.",
        "",
    ]
    rows = [
        [mode, str(v.get("n"))] + [_fmt(v.get(k)) for k in MODE_METRICS] + [str(v.get("errors", 0))]
        for mode, v in (s.get("retrieval_by_mode") or {}).items()
    ]
    out += _table(["mode", "n", *MODE_METRICS, "errors"], rows)

    lat = s.get("latency_ms") or {}
    out += [
        "## Latency",
        "",
        f"Wall time of the final `answer()` call per item (ms), not gated: p50 {_fmt(lat.get('p50'), 0)}, "
        f"p95 {_fmt(lat.get('p95'), 0)}, mean {_fmt(lat.get('mean'), 0)}, max {_fmt(lat.get('max'), 0)} "
        f"over {lat.get('n', 0)} items.",
        "",
    ]

    out += _ragas_section(s.get("ragas") or {})

    if plots:
        out += ["## Plots", ""] + [f"![{Path(p).stem}]({p})" for p in plots] + [""]

    out += _worst_section(records)
    out += [
        "## Definitions",
        "",
        "See the docstring of `eval/metrics.py` (relevance, recall@k, MRR, nDCG, attribution, citation "
        "precision and validity, refusal, fact normalisation) and `eval/ragas_metrics.py`.",
        "",
    ]
    return "\n".join(out)


def _comparison_section(comparison: dict) -> list[str]:
    verdict = "PASSED" if comparison.get("passed") else "FAILED"
    out = [
        "## Change against the baseline",
        "",
        f"Gate **{verdict}** against baseline `{comparison.get('baseline_run')}` at tolerance "
        f"{comparison.get('tolerance')} (absolute).",
        "",
    ]
    for note in comparison.get("notes", []):
        out.append(f"- {note}")
    if comparison.get("fell"):
        out.append(f"- Fell beyond tolerance: {', '.join(comparison['fell'])}")
    out.append("")
    worse = comparison.get("worse_items", [])
    if worse:
        out += [f"Items that got worse ({len({w['id'] for w in worse})}):", ""]
        rows = [[w["id"], w["metric"], _fmt(w["before"]), _fmt(w["after"])] for w in worse]
        out += _table(["item", "metric", "before", "after"], rows)
    return out


def _ragas_section(ragas: dict) -> list[str]:
    out = ["## ragas", ""]
    rows = []
    for name, v in (ragas.get("metrics") or {}).items():
        errors = (ragas.get("errors") or {}).get(name, 0)
        rows.append([name, _fmt(v.get("mean")), str(v.get("n")), f"{errors} errors" if errors else ""])
    for name, reason in (ragas.get("skipped") or {}).items():
        if name not in (ragas.get("metrics") or {}):
            rows.append([name, "skipped", "0", reason])
    if rows:
        out += _table(["metric", "mean", "n", "note"], rows)
    else:
        out += ["No ragas metrics in this run.", ""]
    return out


def worst_records(records: Sequence[dict], n: int = WORST_ITEMS) -> list[dict]:
    """The n items with the lowest item score (ties: by id)."""
    return sorted(records, key=lambda r: (r.get("score", 1.0), str(r.get("id"))))[:n]


def _worst_section(records: Sequence[dict]) -> list[str]:
    out = [f"## The {WORST_ITEMS} worst items", ""]
    for rank, r in enumerate(worst_records(records), start=1):
        exp = r.get("expected") or {}
        shown = {k: v for k, v in r.get("metrics", {}).items() if v is not None}
        out += [
            f"### {rank}. `{r.get('id')}` ({r.get('kind')}, score {_fmt(r.get('score'))})",
            "",
            f"**Question:** {_one_line(r.get('question'))}",
            "",
        ]
        for turn in r.get("history") or []:
            out.append(f"- earlier: {_one_line(turn['question'])} → {_one_line(turn['answer'], 200)}")
        if r.get("history"):
            out.append("")
        expected = []
        if not r.get("answerable", True):
            expected.append("a refusal (unanswerable)")
        if exp.get("speaker") or exp.get("party"):
            expected.append(f"speaker {exp.get('speaker') or '–'}, party {exp.get('party') or '–'}")
        if exp.get("facts"):
            expected.append("facts " + "; ".join(" / ".join(f) for f in exp["facts"]))
        for g in exp.get("gold") or []:
            expected.append(f"quote in {g['source_file']}: “{_one_line(g['quote'], 200)}”")
        out += [f"**Expected:** {' · '.join(expected) or '–'}", ""]
        answer = _one_line(r.get("answer")) or "(empty)"
        tag = " *(refused)*" if r.get("refused") else ""
        out += [f"**Answer{tag}:** {answer}", ""]
        if r.get("error"):
            out += [f"**Error:** {r['error']}", ""]
        out += ["**Metrics:** " + ", ".join(f"{k} {_fmt(v)}" for k, v in shown.items()), ""]
        out += ["**Retrieved:**", ""]
        for p in r.get("retrieved_top") or []:
            mark = "✓" if p.get("relevant") else "·"
            who = f"{p.get('speaker') or '?'}" + (f" ({p['party']})" if p.get("party") else "")
            out.append(
                f"{p.get('rank')}. {mark} `{p.get('source_file')}` — {who}: {_one_line(p.get('text'), PASSAGE_CHARS)}"
            )
        if not r.get("retrieved_top"):
            out.append("(nothing retrieved)")
        out.append("")
    return out


# ---------------------------------------------------------------------------
# Plots


def write_plots(run_dir: Path, summary: dict, records: Sequence[dict]) -> list[Path]:
    """Metrics per kind, latency distribution and (with a comparison) the change against baseline."""
    # matplotlib is heavy: loaded only when a report is written, never by the app or the CLI's other commands
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    per_kind = summary.get("per_kind") or {}
    if per_kind:
        kinds = list(per_kind)
        fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(kinds) + 2), 4))
        width = 0.8 / len(KIND_PLOT_METRICS)
        for i, metric in enumerate(KIND_PLOT_METRICS):
            values = [per_kind[k].get(metric) for k in kinds]
            xs = [x + (i - (len(KIND_PLOT_METRICS) - 1) / 2) * width for x in range(len(kinds))]
            ax.bar(xs, [v if v is not None else 0.0 for v in values], width, label=metric)
        ax.set_xticks(range(len(kinds)), kinds, rotation=20)
        ax.set_ylim(0, 1.25)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_title("Metrics per question kind")
        ax.legend(fontsize=7, ncol=len(KIND_PLOT_METRICS), loc="upper center")
        fig.tight_layout()
        written.append(_save(fig, run_dir / PLOT_KINDS, plt))

    latencies = [r["latency_ms"] for r in records if r.get("error") is None and r.get("latency_ms") is not None]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if latencies:
        ax.hist(latencies, bins=min(30, max(5, len(latencies) // 2)))
        lat = summary.get("latency_ms") or {}
        for label, style in (("p50", "--"), ("p95", ":")):
            if lat.get(label) is not None:
                ax.axvline(lat[label], linestyle=style, color="black", label=f"{label} {lat[label]:.0f} ms")
        ax.legend()
    ax.set_xlabel("ms per question")
    ax.set_ylabel("items")
    ax.set_title("Answer latency")
    fig.tight_layout()
    written.append(_save(fig, run_dir / PLOT_LATENCY, plt))

    comparison = summary.get("comparison")
    if comparison:
        changes = [c for c in comparison.get("changes", []) if c.get("delta") is not None]
        fig, ax = plt.subplots(figsize=(6, 0.4 * len(changes) + 1.5))
        names = [c["name"] for c in changes]
        # Plot "better" to the right for every metric, whatever its direction.
        gains = [-c["fell_by"] for c in changes]
        colors = ["tab:red" if c["name"] in comparison.get("fell", []) else "tab:gray" for c in changes]
        ax.barh(names, gains, color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        tol = comparison.get("tolerance", 0)
        ax.axvline(-tol, color="tab:red", linestyle=":", linewidth=0.8)
        ax.set_xlabel("change against baseline (right = better)")
        ax.set_title("Change against baseline")
        fig.tight_layout()
        written.append(_save(fig, run_dir / PLOT_BASELINE, plt))
    else:
        (run_dir / PLOT_BASELINE).unlink(missing_ok=True)
    return written


def _save(fig, path: Path, plt) -> Path:
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
