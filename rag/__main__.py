"""Command line: ``python -m rag search|ask|commitments|config``. Thin: validates arguments, calls the stages,
prints JSON for machines (``--json``, ``--batch``) or text for a person."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from pydantic import ValidationError

# Before chromadb and huggingface_hub are imported: no telemetry, no model downloads.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.build import corpus_files  # noqa: E402
from ingest.commitments import corpus_commitments  # noqa: E402
from kamerbron.cli import run_main  # noqa: E402
from kamerbron.errors import ArgumentInvalidError, QuestionInvalidError  # noqa: E402
from kamerbron.fingerprint import collection_name, index_hash, settings_hash  # noqa: E402
from kamerbron.records import Answer, Filters, validation_message  # noqa: E402
from kamerbron.settings import Settings, load_settings  # noqa: E402
from rag.answer import Answerer, validate_question  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402

MAX_K = 100


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
    for option, value in (("--from", args.date_from), ("--to", args.date_to)):
        if value and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ArgumentInvalidError(f"{option} takes a date like 2017-02-16, got {value!r}")
    try:
        return Filters(
            parties=args.party,
            speakers=args.speaker,
            doc_ids=args.doc,
            doc_types=args.doc_type,
            roles=args.role,
            date_from=args.date_from,
            date_to=args.date_to,
        )
    except ValidationError as error:  # e.g. 2017-02-30, or --from after --to
        raise ArgumentInvalidError(validation_message(error)) from None


def read_batch(path: Path) -> list[str]:
    """Questions from a batch file: plain lines, or JSON lines with a 'question' field."""
    if not path.is_file():
        raise ArgumentInvalidError(f"batch file {path} does not exist; give a file with one question per line")
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                questions.append(str(json.loads(line)["question"]))
            except (json.JSONDecodeError, KeyError, TypeError):
                raise ArgumentInvalidError(
                    f"{path}:{number}: expected a JSON object with a 'question' field, or a plain question"
                ) from None
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
            status = f" [{c.status}]" if c.status else ""
            print(f"  [{c.n}] {c.speaker}{party}, {c.doc_title or c.source_file}, {c.date}{status} {c.url}".rstrip())
    print(f"\n(instellingen {a.settings_hash})")


def _questions(args, given: str | None, settings: Settings) -> list[str]:
    """The batch file's questions, or the one question given, validated before anything is loaded."""
    if args.batch:
        return read_batch(args.batch)
    if given is None:
        raise ArgumentInvalidError("give a question, or --batch FILE")
    return [validate_question(given, settings)]


def cmd_search(args, settings: Settings) -> int:
    filters = _filters(args)
    queries = _questions(args, args.query, settings)
    retriever = Retriever(settings)
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
    filters = _filters(args)
    questions = _questions(args, args.question, settings)
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


def cmd_commitments(args, settings: Settings) -> int:
    """The toezeggingen read out at the end of the corpus's debates, one per line."""
    if args.who is not None and not args.who.strip():
        raise ArgumentInvalidError("--who takes a surname or a role, e.g. --who Harbers or --who minister")
    corpus_dir = settings.paths.corpus_dir
    known = {p.stem for p in corpus_files([corpus_dir])}
    for doc in args.doc:
        if Path(doc).stem not in known:
            raise ArgumentInvalidError(f"--doc {doc}: no such document in {corpus_dir}; give a file name from there")
    who = (args.who or "").strip().lower()
    for c in corpus_commitments(corpus_dir, doc_ids=args.doc, max_words=settings.chunk.max_words):
        if who and who not in (c.who or "").lower() and who not in c.role.lower():
            continue
        if args.json:
            print(json.dumps(c.to_json(), ensure_ascii=False))
            continue
        extra = "".join(
            f" [{label}: {value}]"
            for label, value in (("termijn", c.deadline), ("voorbehoud", c.qualification))
            if value
        )
        print(f"- {c.who or c.role or 'onbekend'} ({c.date}, {c.doc_id}): {c.text}{extra} ({c.chunk_id})")
    return 0


def cmd_config(args, settings: Settings) -> int:
    dump = settings.public_dump()
    dump["index_hash"] = index_hash(settings)
    dump["collection"] = collection_name(settings)
    dump["settings_hash"] = settings_hash(settings)
    print(json.dumps(dump, indent=2, ensure_ascii=False, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Kamerbron: search, ask and list commitments.")
    sub = parser.add_subparsers(dest="command", required=True)
    search = sub.add_parser("search", help="ranked passages for a question")
    search.add_argument("query", nargs="?")
    search.add_argument("--k", type=int, default=10, help="number of passages (1-100)")
    _add_filters(search)
    ask = sub.add_parser("ask", help="a cited answer to a question")
    ask.add_argument("question", nargs="?")
    _add_filters(ask)
    commitments = sub.add_parser("commitments", help="the toezeggingen read out at the end of the debates")
    commitments.add_argument("--who", help="only commitments of this surname or role, e.g. Harbers or minister")
    commitments.add_argument(
        "--doc", action="append", default=[], help="only this document id or file name (repeatable)"
    )
    commitments.add_argument("--json", action="store_true", help="print one JSON object per line")
    sub.add_parser("config", help="print the effective settings (secrets masked)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if not 1 <= getattr(args, "k", 1) <= MAX_K:
            raise ArgumentInvalidError(f"--k must be between 1 and {MAX_K}, got {args.k}")
        settings = load_settings()
        commands = {"search": cmd_search, "ask": cmd_ask, "commitments": cmd_commitments, "config": cmd_config}
        return commands[args.command](args, settings)

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
