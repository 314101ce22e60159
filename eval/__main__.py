"""Command line of the evaluation.

    python -m eval run [--backend extractive|llm] [--compare [BASELINE]] [--tolerance T]
                       [--limit N] [--set PATH] [--out DIR] [--no-ragas] [--quiet]
    python -m eval baseline [RUN_DIR] [--output PATH]
    python -m eval compare RUN_DIR [BASELINE] [--tolerance T]
    python -m eval calibrate [--max-wrongful 0.05]
    python -m eval feedback [--db PATH] [--export FILE] [--json]

Exit codes: 0 ok; 1 a headline metric fell by more than the tolerance; a domain error exits with
its own code (README, "Exit codes"; eval input errors: 7) and one line on stderr.

A new subcommand adds an ``_add_<name>(subparsers)`` function that registers its parser with
``set_defaults(func=<handler>)`` and is listed in ``SUBCOMMANDS``; a handler takes the parsed
arguments and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eval import calibrate, gate, report, run
from eval import feedback as feedback_review
from eval.dataset import load_eval_set
from kamerbron.cli import run_main
from kamerbron.errors import ArgumentInvalidError
from kamerbron.feedback_store import FeedbackStore, FeedbackStoreError
from kamerbron.settings import load_settings
from rag.answer import Answerer

GATE_FAILED = 1


def _settings(backend: str | None = None):
    settings = load_settings()
    if backend:
        settings.answer = settings.answer.model_copy(update={"backend": backend})
    return settings


def _baseline_path(settings, value: str | None) -> Path:
    return Path(value) if value else settings.paths.eval_dir / "baseline.json"


# ---------------------------------------------------------------------------
# run


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="answer the eval set, score it and write a run folder")
    p.add_argument("--backend", choices=["extractive", "llm"], help="answer backend (default: settings)")
    p.add_argument(
        "--compare",
        nargs="?",
        const="",
        metavar="BASELINE",
        help="compare with a baseline (default eval/baseline.json, skipped with a note while it does not exist); "
        "exit 1 when a headline metric fell",
    )
    p.add_argument("--tolerance", type=float, default=gate.DEFAULT_TOLERANCE, help="allowed absolute fall")
    p.add_argument("--limit", type=_positive_int, help="only the first N items")
    p.add_argument(
        "--set", dest="set_path", type=Path, help="eval set JSONL (default eval/data/kamerbron_eval_v1.jsonl)"
    )
    p.add_argument("--out", type=Path, help="folder to create the run folder in (default eval/runs)")
    p.add_argument("--no-ragas", action="store_true", help="skip the ragas metrics")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args.backend)
    set_path = args.set_path or run.default_set_path(settings)
    items = load_eval_set(set_path, settings=settings)
    note = None
    if args.limit is not None:
        note = f"Limited to the first {min(args.limit, len(items))} of {len(items)} items (--limit)."
        items = items[: args.limit]
    baseline = None
    default_baseline = _baseline_path(settings, None)
    if args.compare == "" and not default_baseline.is_file():
        # The very first run has nothing to compare with: it becomes the baseline candidate.
        print(
            f"eval: no baseline at {default_baseline} yet; bless a run with `python -m eval baseline`.", file=sys.stderr
        )
    elif args.compare is not None:
        baseline = gate.load_baseline(_baseline_path(settings, args.compare))

    answerer = Answerer(settings)
    out_dir = run.new_run_dir(settings, args.out)
    summary = run.run_eval(
        items,
        answerer,
        settings,
        out_dir,
        set_path=set_path,
        baseline=baseline,
        tolerance=args.tolerance,
        with_ragas=not args.no_ragas,
        progress=not args.quiet,
        limit_note=note,
    )
    _print_headline(summary, out_dir)
    return _verdict(summary)


def _print_headline(summary: dict, out_dir: Path) -> None:
    print(f"Run written to {out_dir}")
    for name, value in summary["headline"].items():
        print(f"  {name:<22} {'n/a' if value is None else f'{value:.3f}'}")
    lat = summary.get("latency_ms") or {}
    if lat.get("p50") is not None:
        print(f"  latency p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms (not gated)")


def _verdict(summary: dict) -> int:
    comparison = summary.get("comparison")
    if not comparison:
        return 0
    result = gate.gate_from_dict(comparison)
    print(gate.format_gate(result))
    if result.passed:
        return 0
    print(f"eval: regression against the baseline: {', '.join(c.name for c in result.fell)}", file=sys.stderr)
    return GATE_FAILED


# ---------------------------------------------------------------------------
# baseline, compare


def _add_baseline(sub) -> None:
    p = sub.add_parser("baseline", help="bless a run (default: the newest) as eval/baseline.json")
    p.add_argument("run_dir", nargs="?", type=Path, help="run folder (default: newest under eval/runs)")
    p.add_argument("--output", type=Path, help="where to write the baseline (default eval/baseline.json)")
    p.set_defaults(func=cmd_baseline)


def cmd_baseline(args: argparse.Namespace) -> int:
    settings = _settings()
    run_dir = args.run_dir or gate.latest_run(run.runs_dir(settings))
    target = args.output or _baseline_path(settings, None)
    baseline = gate.bless(run_dir, target)
    print(f"Baseline {target} now holds run {baseline['run_id']} ({len(baseline['items'])} items).")
    return 0


def _add_compare(sub) -> None:
    p = sub.add_parser("compare", help="compare an existing run with a baseline; exit 1 on regression")
    p.add_argument("run_dir", type=Path, help="run folder")
    p.add_argument("baseline", nargs="?", help="baseline file (default eval/baseline.json)")
    p.add_argument("--tolerance", type=float, default=gate.DEFAULT_TOLERANCE, help="allowed absolute fall")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    settings = _settings()
    summary, records = gate.load_run(args.run_dir)
    baseline = gate.load_baseline(_baseline_path(settings, args.baseline))
    summary["comparison"] = gate.compare(summary, records, baseline, args.tolerance).to_dict()
    report.write_report(args.run_dir, summary, records)
    return _verdict(summary)


# ---------------------------------------------------------------------------
# calibrate


def _add_calibrate(sub) -> None:
    p = sub.add_parser("calibrate", help="sweep the extractive refusal threshold over the eval set")
    p.add_argument(
        "--set", dest="set_path", type=Path, help="eval set JSONL (default eval/data/kamerbron_eval_v1.jsonl)"
    )
    p.add_argument("--max-wrongful", type=float, default=0.05, help="allowed share of wrongly refused answerable items")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    settings = _settings("extractive")
    items = load_eval_set(args.set_path or run.default_set_path(settings), settings=settings)
    table = calibrate.sweep(calibrate.confidences(items, Answerer(settings)))
    print("threshold  refused unanswerable  wrongly refused answerable")
    for row in table:
        print(
            f"{row.threshold:9.3f}  {row.refused_unanswerable:>3}/{row.n_unanswerable:<3} ({row.recall:5.1%})"
            f"       {row.wrongful:>3}/{row.n_answerable:<3} ({row.wrongful_rate:5.1%})"
        )
    best = calibrate.suggest(table, args.max_wrongful)
    print(
        f"\nsuggested: KAMERBRON_ANSWER_REFUSAL_THRESHOLD={best.threshold} (current {settings.answer.refusal_threshold})"
    )
    return 0


# ---------------------------------------------------------------------------
# feedback


def _add_feedback(sub) -> None:
    p = sub.add_parser("feedback", help="list the disliked and refused questions of the app; export draft eval items")
    p.add_argument("--db", type=Path, help="feedback database (default: settings, data/feedback.sqlite3)")
    p.add_argument(
        "--export", type=Path, metavar="FILE", help="write them as draft eval items (JSONL) to this new file"
    )
    p.add_argument("--json", action="store_true", help="print them as JSON")
    p.set_defaults(func=cmd_feedback)


def cmd_feedback(args: argparse.Namespace) -> int:
    if args.export is not None and args.export.exists():
        raise ArgumentInvalidError(f"{args.export} already exists (it may hold edited drafts): choose another file.")
    if args.export is not None and not args.export.parent.is_dir():
        raise ArgumentInvalidError(f"The folder of {args.export} does not exist: create it or choose another file.")
    settings = _settings()
    path = args.db or settings.paths.feedback_db
    legacy = None if args.db else settings.paths.feedback_path
    if not path.is_file() and not (legacy and legacy.is_file()):
        raise FeedbackStoreError(
            f"No feedback database at {path}: the app creates it when it answers its first question. "
            "Pass --db or set KAMERBRON_PATHS_FEEDBACK_DB."
        )
    reviews = FeedbackStore(path, legacy_jsonl=legacy, strict=True).for_review()
    if args.json:
        print(json.dumps([feedback_review.review_json(r) for r in reviews], ensure_ascii=False, indent=2))
    else:
        _print_reviews(path, reviews)
    if args.export is not None:
        feedback_review.write_drafts(args.export, [feedback_review.draft_item(r) for r in reviews])
        print(
            f"{len(reviews)} draft items written to {args.export}: fill in kind, answerable, gold and facts, "
            "delete the feedback field, then add them to the evaluation set.",
            file=sys.stderr if args.json else sys.stdout,
        )
    return 0


def _print_reviews(path: Path, reviews) -> None:
    disliked = sum(r.rating == "dislike" for r in reviews)
    refused = sum(r.question.refused for r in reviews)
    print(f"{path}: {len(reviews)} questions to review ({disliked} disliked, {refused} refused)")
    for review in reviews:
        asked = review.question
        reasons = ", ".join(
            reason for reason, on in (("disliked", review.rating == "dislike"), ("refused", asked.refused)) if on
        )
        print(f"\n#{asked.id}  {asked.asked_at}  {reasons}  ({asked.channel})")
        print(f"  {asked.question}")
        if asked.standalone_question:
            print(f"  (as understood: {asked.standalone_question})")
        for comment in review.comments:
            comment = " ".join(comment.split())
            print(f"  comment: {comment if len(comment) <= 300 else comment[:299] + '…'}")


SUBCOMMANDS = (_add_run, _add_baseline, _add_compare, _add_calibrate, _add_feedback)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Kamerbron evaluation.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
