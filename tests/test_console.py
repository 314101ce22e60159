"""The `kamerbron` console command (issue #13): each subcommand reaches its existing entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kamerbron_app.console import SUBCOMMANDS, main
from tests.fakes.settings import ROOT

TIMEOUT_S = 120
SCRIPT = Path(sys.executable).parent / "kamerbron"
# What each entry point's --help says first: proof that the subcommand reached it.
HELP_MARKERS = {
    "serve": "Start de Kamerbron-chat",
    "ingest": "Parse and index the Kamerbron corpus",
    "ask": "usage: python -m rag ask",
    "eval": "Kamerbron evaluation",
}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kamerbron_app.console", *args],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_every_subcommand_has_a_help_marker():
    assert set(HELP_MARKERS) == set(SUBCOMMANDS) == {"serve", "ingest", "ask", "eval"}


@pytest.mark.parametrize("subcommand", sorted(HELP_MARKERS))
def test_subcommand_help_comes_from_its_entry_point(subcommand):
    done = _run(subcommand, "--help")
    assert (done.returncode, HELP_MARKERS[subcommand] in done.stdout) == (0, True), done.stderr


def test_help_lists_the_subcommands():
    assert "{serve,ingest,ask,eval}" in _run("--help").stdout


def test_without_subcommand_exits_2():
    assert _run().returncode == 2


def test_unknown_subcommand_exits_2():
    assert _run("bouw").returncode == 2


def test_ask_passes_its_arguments_to_rag_ask(monkeypatch):
    seen = []
    monkeypatch.setattr("rag.__main__.main", lambda argv: seen.append(argv) or 0)
    main(["ask", "Wie stelde een taaltoets voor?", "--json"])
    assert seen == [["ask", "Wie stelde een taaltoets voor?", "--json"]]


def test_console_script_is_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"kamerbron": "kamerbron_app.console:main"}


@pytest.mark.skipif(not SCRIPT.exists(), reason="the kamerbron script is not installed: run pip install -e .")
def test_installed_script_reaches_ingest():
    done = subprocess.run(
        [str(SCRIPT), "ingest", "--help"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert HELP_MARKERS["ingest"] in done.stdout
