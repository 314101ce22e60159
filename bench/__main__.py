"""Command line of the benchmark.

    python -m bench [--reuse-vectors] [--queries N] [--set PATH] [--out DIR] [--no-docs] [--keep]
    python -m bench --scale 1 10 100 [--queries N] [--set PATH] [--out DIR] [--no-docs] [--keep]

The first form measures ingest and query cost on the bundled corpus against two alternatives; the
second how cost grows with the corpus. A markdown table is printed; the figures go to
``bench/out/<time>.json`` and ``docs/benchmark.json``. A domain error ends it through the shared
error path (``kamerbron.cli.run_main``): one line on stderr and the error's exit code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.report import DOCS_JSON, render
from bench.run import run_bench
from kamerbron.cli import run_main
from kamerbron.settings import load_settings


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="measure ingest and query cost against two alternatives, or with --scale how cost grows with the corpus",
    )
    parser.add_argument(
        "--scale",
        nargs="+",
        type=_positive_int,
        metavar="N",
        help="synthetic corpora N times the bundled one, e.g. --scale 1 10 100",
    )
    parser.add_argument("--out", type=Path, help="folder for the JSON figures (default bench/out)")
    parser.add_argument("--queries", type=_positive_int, help="only the first N evaluation questions")
    parser.add_argument(
        "--reuse-vectors",
        action="store_true",
        help="take passage vectors from the configured index instead of embedding (embedding measured on a sample)",
    )
    parser.add_argument(
        "--set", dest="set_path", type=Path, help="eval set JSONL (default eval/data/kamerbron_eval_v1.jsonl)"
    )
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmark.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(lambda: _bench(args))


def _bench(args: argparse.Namespace) -> int:
    result, path = run_bench(
        load_settings(),
        scales=args.scale or (),
        out_dir=args.out,
        docs_json=None if args.no_docs else DOCS_JSON,
        set_path=args.set_path,
        limit=args.queries,
        reuse_vectors=args.reuse_vectors,
        keep=args.keep,
    )
    print(render(result))
    print(f"\nFigures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
