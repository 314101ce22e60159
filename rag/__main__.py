"""Command line: ``python -m rag search|ask|config``. Thin: validates arguments, calls the stages,
prints JSON for machines (``--json``, ``--batch``) or text for a person."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from kamerbron.errors import KamerbronError, QuestionInvalidError  # noqa: E402
from kamerbron.records import Answer, Filters, Passage  # noqa: E402
from kamerbron.settings import Settings  # noqa: E402
from kamerbron.fingerprint import collection_name, index_hash, settings_hash  # noqa: E402



def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--party", action="append", default=[], help="only this party (repeatable)")
    parser.add_argument("--speaker", action="append", default=[], help="only this speaker surname (repeatable)")
    parser.add_argument("--doc", action="append", default=[], help="only this document id or file name (repeatable)")
    parser.add_argument("--doc-type", action="append", default=[], choices=["debat", "schriftelijk_overleg", "brief"])
    parser.add_argument("--role", action="append", default=[], help="only this role, e.g. minister (repeatable)")
    parser.add_argument("--from", dest="date_from", default="", help="from date, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", default="", help="to date, YYYY-MM-DD")
    parser.add_argument("--batch", type=Path, help="file with one question per line, or JSON lines with 'question'")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _filters(args) -> Filters:
    import re

    for value in (args.date_from, args.date_to):
        if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise SystemExit(f"error: dates must look like 2017-02-16, got {value!r}")
    return Filters(
        parties=args.party, speakers=args.speaker, doc_ids=args.doc, doc_types=args.doc_type, roles=args.role,
        date_from=args.date_from, date_to=args.date_to,
    )


def read_batch(path: Path) -> list[str]:
    """Questions from a batch file: plain lines, or JSON lines with a 'question' field."""
    if not path.is_file():
        raise SystemExit(f"error: batch file {path} does not exist")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                questions.append(str(json.loads(line)["question"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise SystemExit(f"error: {path}:{number}: expected a JSON object with a 'question' field") from None
        else:
            questions.append(line.strip())
    return questions


def _print_answer(a: Answer) -> None:
    if a.notice:
        print(f"[{a.notice}]\n")
    print(a.answer)
    if a.citations:
        print("\nBronnen:")
        for c in a.citations:
            party = f" ({c.party})" if c.party else ""
            print(f"  [{c.n}] {c.speaker}{party}, {c.doc_title or c.source_file}, {c.date} {c.url}".rstrip())
    print(f"\n(instellingen {a.settings_hash})")


def cmd_search(args, settings: Settings) -> int:
    from rag.retrieve import Retriever

    filters = _filters(args)
    queries = read_batch(args.batch) if args.batch else [args.query]
    if not args.batch and not args.query:
        raise SystemExit("error: give a question, or --batch FILE")
    retriever = Retriever(settings)
    from rag.answer import validate_question

    for query in queries:
        try:
            query = validate_question(query, settings)
            results = retriever.retrieve(query, filters=filters, k=args.k)
        except QuestionInvalidError as exc:
            if not args.batch:
                raise
            print(json.dumps({"query": query, "error": str(exc)}, ensure_ascii=False))
            continue
        payload = {"query": query, "results": [p.to_json() for p in results]}
        if args.json or args.batch:
            print(json.dumps(payload, ensure_ascii=False))
        else:
            for p in results:
                party = f" ({p.party})" if p.party else ""
                tag = "" if p.via == "hit" else " (gekoppeld)"
                print(f"{p.rank:>2}. {p.speaker}{party} — {p.source_file} {p.date}{tag}\n    {p.text[:300]}")
    return 0


def cmd_ask(args, settings: Settings) -> int:
    from rag.answer import Answerer

    filters = _filters(args)
    if not args.batch and not args.question:
        raise SystemExit("error: give a question, or --batch FILE")
    questions = read_batch(args.batch) if args.batch else [args.question]
    answerer = Answerer(settings)
    for question in questions:
        try:
            a = answerer.answer(question, filters=filters)
        except QuestionInvalidError as exc:
            if not args.batch:
                raise
            print(json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False))
            continue
        if args.json or args.batch:
            print(json.dumps(a.to_json(), ensure_ascii=False))
        else:
            _print_answer(a)
    return 0


def cmd_config(args, settings: Settings) -> int:
    dump = settings.public_dump()
    dump["index_hash"] = index_hash(settings)
    dump["collection"] = collection_name(settings)
    dump["settings_hash"] = settings_hash(settings)
    print(json.dumps(dump, indent=2, ensure_ascii=False, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Kamerbron: search and ask.")
    sub = parser.add_subparsers(dest="command", required=True)
    search = sub.add_parser("search", help="ranked passages for a question")
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--k", type=int, default=10, help="number of passages (1-100)")
    _add_filters(search)
    ask = sub.add_parser("ask", help="a cited answer to a question")
    ask.add_argument("question", nargs="?", default="")
    _add_filters(ask)
    sub.add_parser("config", help="print the effective settings (secrets masked)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "k", 1) is not None and not 1 <= getattr(args, "k", 1) <= 100:
        print("error: --k must be between 1 and 100", file=sys.stderr)
        return 2
    try:
        settings = Settings()
        return {"search": cmd_search, "ask": cmd_ask, "config": cmd_config}[args.command](args, settings)
    except KamerbronError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # invalid settings from the environment
        print(f"error: invalid settings: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
