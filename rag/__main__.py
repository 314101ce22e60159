"""Command line: ``python -m rag search|ask|commitments|positions|questions|config``. Thin: validates arguments, calls the stages,
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
from kamerbron.cli import run_main  # noqa: E402
from kamerbron.errors import ArgumentInvalidError, QuestionInvalidError  # noqa: E402
from kamerbron.fingerprint import collection_name, index_hash, settings_hash  # noqa: E402
from kamerbron.records import Answer, Filters, validation_message  # noqa: E402
from kamerbron.settings import Settings, load_settings  # noqa: E402
from kamerbron.store import IndexStore  # noqa: E402
from rag.answer import Answerer, validate_question  # noqa: E402
from rag.commitments import CommitmentFilter, filter_commitments, load_commitments  # noqa: E402
from rag.index import LoadedIndex  # noqa: E402
from rag.positions import SILENT_LABEL, PositionFinder, statement_label, to_csv, to_markdown, validate_topic  # noqa: E402
from rag.qa_pairs import OPEN_LABEL, question_answer_pairs  # noqa: E402
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
    """The toezeggingen read out at the end of the corpus's debates, one per line, with what may fulfil them."""
    if args.who is not None and not args.who.strip():
        raise ArgumentInvalidError("--who takes a surname or a role, e.g. --who Harbers or --who minister")
    flt = CommitmentFilter.parse(
        who=args.who, doc_ids=args.doc, date_from=args.date_from, date_to=args.date_to, status=args.status
    )
    corpus_dir = settings.paths.corpus_dir
    known = {p.stem for p in corpus_files([corpus_dir])}
    for doc in args.doc:
        if Path(doc).stem not in known:
            raise ArgumentInvalidError(f"--doc {doc}: no such document in {corpus_dir}; give a file name from there")
    for c in filter_commitments(load_commitments(settings), flt):
        if args.json:
            print(json.dumps(c.to_json(), ensure_ascii=False))
            continue
        extra = "".join(
            f" [{label}: {value}]"
            for label, value in (("termijn", c.deadline), ("voorbehoud", c.qualification))
            if value
        )
        print(f"- {c.who or c.role or 'onbekend'} ({c.date}, {c.doc_id}): {c.text}{extra} ({c.chunk_id})")
        if c.fulfilled_by:
            print(f"    mogelijk ingelost door {c.fulfilled_by}: {c.fulfilled_reason}")
    return 0


def cmd_positions(args, settings: Settings) -> int:
    """What each party said on a topic, cited; 'niets gevonden in deze stukken' for the silent ones."""
    if args.json and args.format:
        raise ArgumentInvalidError("--json and --format exclude each other; give one of them")
    if args.topic is None:
        raise ArgumentInvalidError('give a topic, e.g. python -m rag positions "taaleis"')
    topic = validate_topic(args.topic, settings)
    result = PositionFinder(settings=settings).find(topic)
    if args.json:
        for line in result.json_lines():
            print(json.dumps(line, ensure_ascii=False))
    elif args.format:
        sys.stdout.write(to_csv(result) if args.format == "csv" else to_markdown(result))
    else:
        print(f"Standpunten over “{result.topic}”")
        for row in result.parties:
            if row.silent:
                print(f"\n{row.party}: {SILENT_LABEL}")
                continue
            print(f"\n{row.party}:")
            for s in row.statements:
                print(f"  - “{' … '.join(s.sentences)}”\n    {statement_label(s)} ({s.chunk_id}) {s.url}".rstrip())
    return 0


def cmd_questions(args, settings: Settings) -> int:
    """The party questions of the written consultations, each with the government answers linked to it."""
    index = LoadedIndex(IndexStore(settings).load())
    pairs = question_answer_pairs(index, party=args.party, section=args.section, doc=args.doc)
    for pair in pairs:
        if args.json:
            print(json.dumps(pair.to_json(), ensure_ascii=False))
            continue
        q = pair.question
        print(f"- {q.speaker} ({q.doc_id}, {q.section or 'zonder kop'}) [{q.chunk_id}]")
        print(f"    vraag: {' '.join(q.text.split())[:300]}")
        if pair.open:
            print(f"    antwoord: {OPEN_LABEL}")
        for a in pair.answers:
            print(f"    antwoord ({a.speaker}) [{a.chunk_id}]: {' '.join(a.text.split())[:300]}")
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
    commitments.add_argument("--from", dest="date_from", default="", help="debates from this date, YYYY-MM-DD")
    commitments.add_argument("--to", dest="date_to", default="", help="debates up to this date, YYYY-MM-DD")
    commitments.add_argument(
        "--status", choices=["open", "ingelost"], default="", help="only open ones, or only possibly fulfilled ones"
    )
    commitments.add_argument("--json", action="store_true", help="print one JSON object per line")
    positions = sub.add_parser("positions", help="what each party said on a topic, or that it said nothing")
    positions.add_argument("topic", nargs="?", help="the topic, e.g. taaleis or pooierverbod")
    positions.add_argument("--json", action="store_true", help="print one JSON object per party")
    positions.add_argument("--format", choices=["csv", "md"], help="print the table as CSV or Markdown")
    questions = sub.add_parser("questions", help="party questions of written consultations beside their answers")
    questions.add_argument("--doc", default="", help="only this document id or file name")
    questions.add_argument("--party", default="", help="only this party's questions, e.g. SP")
    questions.add_argument("--section", default="", help="only questions under a heading holding this text")
    questions.add_argument("--json", action="store_true", help="print one JSON object per question")
    sub.add_parser("config", help="print the effective settings (secrets masked)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if not 1 <= getattr(args, "k", 1) <= MAX_K:
            raise ArgumentInvalidError(f"--k must be between 1 and {MAX_K}, got {args.k}")
        settings = load_settings()
        commands = {
            "search": cmd_search,
            "ask": cmd_ask,
            "commitments": cmd_commitments,
            "positions": cmd_positions,
            "questions": cmd_questions,
            "config": cmd_config,
        }
        return commands[args.command](args, settings)

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
