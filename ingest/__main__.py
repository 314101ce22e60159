"""Command line for ingest: ``python -m ingest {parse,stats,build,add,remove}``.

* ``parse FILE [--json]``: the turns of one file, readable or as JSON lines.
* ``stats [PATH ...] [--json]``: turns and words per document, speaker and party.
* ``build [PATH ...] [--repair]``: parse, chunk, embed and index the documents of those files,
  leaving every other indexed document as it is (``ingest.build.build_index``).
* ``add FILE ...``: copy files into the corpus folder with their manifest entries
  (``ingest.add.add_document``), then build as ``build`` does.
* ``remove NAME ...``: take documents out of the index, and their files out of the corpus folder
  (``ingest.build.remove_documents``).

FILE is a text (.txt, .md), VLOS or officielebekendmakingen XML, or PDF file; its format is read
from its content. PATH is a corpus file or a folder of them; the default is the corpus folder
from settings. Domain errors end the command with one line on stderr and the error's exit code
(``kamerbron.cli.run_main``); ``add`` reports each file it cannot add on a line of its own and
adds the others.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from ingest.add import add_document, check_corpus_dir
from ingest.build import BuildReport, build_index, remove_documents
from ingest.formats import CORPUS_SUFFIXES
from ingest.parse import parse_document
from kamerbron.cli import report, run_main
from kamerbron.errors import DocumentParseError, KamerbronError
from kamerbron.records import ParsedDocument
from kamerbron.settings import load_settings

TURN_FIELDS = (
    "doc_id", "turn_index", "speaker", "surname", "party", "role",
    "section", "procedural", "replies_to", "text", "footnotes",
)  # fmt: skip


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders to their corpus files (.txt, .md, .xml, .pdf; sorted); files are kept as given, duplicates dropped."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES
                           and not p.name.startswith("."))  # fmt: skip
        else:
            found = [path]
        files.extend(f for f in found if f not in files)
    return files


def _existing(parser: argparse.ArgumentParser, paths: list[Path], *, files_only: bool = False) -> list[Path]:
    for path in paths:
        if not path.exists():
            parser.error(f"{path}: no such file or folder")
        if files_only and not path.is_file():
            parser.error(f"{path}: not a file; give a corpus file (.txt, .md, .xml, .pdf)")
    return paths


def _cmd_parse(args: argparse.Namespace) -> int:
    doc = parse_document(args.file)
    for warning in doc.warnings:
        print(f"warning: {doc.meta.source_file}: {warning}", file=sys.stderr)
    if args.json:
        for turn in doc.turns:
            row = turn.model_dump(include=set(TURN_FIELDS))
            print(json.dumps({k: row[k] for k in TURN_FIELDS}, ensure_ascii=False))
        return 0
    meta = doc.meta
    print(f"{meta.doc_id}  {meta.doc_type}  {meta.title or '(no title)'}")
    print(
        f"dossier {meta.dossier or '-'}  nr. {meta.number or '-'}  date {meta.date or '-'}  {meta.url or ''}".rstrip()
    )
    if meta.status:
        print(f"status {meta.status}")
    for turn in doc.turns:
        who = turn.speaker or "(passage)"
        if turn.party:
            who += f" ({turn.party})"
        if turn.role == "voorzitter" and turn.surname:
            who += f" [{turn.surname}]"
        flags = []
        if turn.procedural:
            flags.append("procedural")
        if turn.replies_to:
            flags.append("replies to " + ", ".join(map(str, turn.replies_to)))
        print(f"\n[{turn.turn_index}] {who} — {turn.role}" + (f" — {'; '.join(flags)}" if flags else ""))
        if turn.section:
            print(f"    § {turn.section}")
        for para in turn.text.split("\n\n"):
            print(f"    {para}")
        for note in turn.footnotes:
            print(f"    ^ {note}")
    return 0


def compute_stats(docs: list[ParsedDocument]) -> dict:
    """Turns and words (whitespace-separated tokens) per document, per speaker and per party."""
    documents, speakers, parties = [], {}, {}
    for doc in docs:
        words = 0
        for turn in doc.turns:
            n = len(turn.text.split())
            words += n
            key = (turn.speaker, turn.surname, turn.party)
            s = speakers.setdefault(key, {"speaker": turn.speaker, "surname": turn.surname, "party": turn.party,
                                          "turns": 0, "words": 0})  # fmt: skip
            s["turns"] += 1
            s["words"] += n
            p = parties.setdefault(turn.party, {"party": turn.party, "turns": 0, "words": 0})
            p["turns"] += 1
            p["words"] += n
        documents.append({"doc_id": doc.meta.doc_id, "doc_type": doc.meta.doc_type,
                          "turns": len(doc.turns), "words": words})  # fmt: skip
    by_words = lambda row: (-row["words"], str(row.get("speaker", row.get("party"))))  # noqa: E731
    return {
        "documents": documents,
        "speakers": sorted(speakers.values(), key=by_words),
        "parties": sorted(parties.values(), key=by_words),
    }


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    numeric = [all(str(r[i]).isdigit() for r in rows) and rows for i in range(len(header))]

    def line(cells: list) -> str:
        return "  ".join(
            str(c).rjust(w) if numeric[i] else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    return "\n".join([title, line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _cmd_stats(args: argparse.Namespace) -> int:
    files = collect_files(args.paths or [load_settings().paths.corpus_dir])
    if not files:
        raise DocumentParseError(
            f"no corpus files ({', '.join(CORPUS_SUFFIXES)}) in {', '.join(map(str, args.paths))}; point PATH at the "
            "corpus folder."
        )
    stats = compute_stats([parse_document(f) for f in files])
    if args.json:
        print(json.dumps(stats, ensure_ascii=False, indent=2))
        return 0
    docs = [[d["doc_id"], d["doc_type"], d["turns"], d["words"]] for d in stats["documents"]]
    speakers = []
    for s in stats["speakers"]:
        name = s["speaker"] or "(passage)"
        if s["surname"] and s["surname"] not in name:
            name += f" [{s['surname']}]"
        speakers.append([name, s["party"] or "-", s["turns"], s["words"]])
    parties = [[p["party"] or "(none)", p["turns"], p["words"]] for p in stats["parties"]]
    print(_table("Documents", ["document", "type", "turns", "words"], docs))
    print()
    print(_table("Speakers", ["speaker", "party", "turns", "words"], speakers))
    print()
    print(_table("Parties", ["party", "turns", "words"], parties))
    return 0


def _print_build(report: BuildReport) -> int:
    summary = getattr(report, "summary", None)
    if callable(summary):
        print(summary())
    else:
        print(
            f"documents {report.documents}  turns {report.turns}  chunks {report.chunks}  embedded {report.embedded}  "
            f"skipped {report.skipped}  removed {report.removed}  failed {len(report.failed)}  {report.seconds:.1f} s"
        )
    for file, message in report.failed:
        print(f"failed: {file}: {message}", file=sys.stderr)
    return DocumentParseError.exit_code if report.failed else 0


def _cmd_build(args: argparse.Namespace) -> int:
    settings = load_settings()
    # Folders are passed through: build_index expands them with its own notion of corpus files.
    return _print_build(
        build_index(
            list(args.paths) or [settings.paths.corpus_dir], settings, progress=not args.no_progress, repair=args.repair
        )
    )


def _cmd_remove(args: argparse.Namespace) -> int:
    return _print_build(remove_documents(args.names, load_settings()))


def _cmd_add(args: argparse.Namespace) -> int:
    settings = load_settings()
    corpus_dir = settings.paths.corpus_dir
    check_corpus_dir(corpus_dir)
    accepted = refused = 0
    for path in args.files:
        try:
            added = add_document(path, corpus_dir)
        except KamerbronError as error:
            report(str(error))
            refused += 1
            continue
        accepted += 1
        print(added.summary())  # its warnings come with the build's summary below
    code = _print_build(build_index([corpus_dir], settings, progress=not args.no_progress)) if accepted else 0
    return code or (DocumentParseError.exit_code if refused else 0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Parse and index the Kamerbron corpus.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("parse", help="show the turns of one corpus file")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help="one JSON object per turn")
    s = sub.add_parser("stats", help="turns and words per document, speaker and party")
    s.add_argument("paths", type=Path, nargs="*", metavar="PATH", help="files or folders (default: the corpus)")
    s.add_argument("--json", action="store_true", help="print JSON instead of tables")
    b = sub.add_parser("build", help="parse, chunk, embed and index the corpus")
    b.add_argument("paths", type=Path, nargs="*", metavar="PATH", help="files or folders (default: the corpus)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.add_argument("--repair", action="store_true",
                   help="write a fresh generation even when nothing changed, replacing a damaged pointer, "
                        "catalogue or BM25 index (stored vectors are reused)")  # fmt: skip
    a = sub.add_parser("add", help="copy files into the corpus folder with their manifest entries, then build")
    a.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help="text, VLOS XML, officielebekendmakingen XML or PDF files (format read from the content)")  # fmt: skip
    a.add_argument("--no-progress", action="store_true", help="no progress bar")
    r = sub.add_parser("remove", help="take documents out of the index and their files out of the corpus folder")
    r.add_argument("names", nargs="+", metavar="NAME", help="file names or document ids of indexed documents")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "parse":
        _existing(parser, [args.file], files_only=True)
    elif args.command == "add":
        _existing(parser, args.files, files_only=True)
    elif args.command != "remove":
        _existing(parser, args.paths)
    handler = {"parse": _cmd_parse, "stats": _cmd_stats, "build": _cmd_build, "add": _cmd_add,
               "remove": _cmd_remove}[args.command]  # fmt: skip
    return run_main(lambda: handler(args))


if __name__ == "__main__":
    sys.exit(main())
