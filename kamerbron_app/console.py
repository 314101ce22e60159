"""``kamerbron serve | ingest | ask | eval``: one command in front of the existing entry points.

Each subcommand hands the rest of its arguments to an entry point that already exists, unchanged:

    kamerbron serve [--host H] [--port P]   = python app.py ...
    kamerbron ingest build ...              = python -m ingest build ...
    kamerbron ask "vraag" [--json] ...      = python -m rag ask ...
    kamerbron eval run ...                  = python -m eval run ...
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    """An existing entry point: the module whose ``main(argv)`` runs it, and arguments put in front."""

    module: str
    help: str
    prefix: tuple[str, ...] = ()


SUBCOMMANDS = {
    "serve": Subcommand("app", "start the chat, the JSON and OpenAI-compatible APIs and the widget (python app.py)"),
    "ingest": Subcommand("ingest.__main__", "parse, add, build or repair the index (python -m ingest)"),
    "ask": Subcommand("rag.__main__", "a cited answer to a question (python -m rag ask)", ("ask",)),
    "eval": Subcommand("eval.__main__", "run, compare or calibrate the evaluation (python -m eval)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kamerbron",
        description="Kamerbron: vragen over Kamerstukken, met bronvermelding per passage.",
        epilog="'kamerbron SUBCOMMAND --help' shows the options of each subcommand.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
    for name, command in SUBCOMMANDS.items():
        # add_help=False: --help goes on to the entry point, which knows the options.
        sub.add_parser(name, help=command.help, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # Only the subcommand's name is read here; the entry point validates the rest.
    command = SUBCOMMANDS[parser.parse_args(argv[:1]).command]
    # Imported on demand: each entry point loads its own heavy stack (gradio, torch, chromadb).
    entry = importlib.import_module(command.module)
    return entry.main([*command.prefix, *argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
