"""The one error path of `python -m ingest|rag|eval` and `python app.py`: one stderr line, one exit code."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import app
from eval.__main__ import main as eval_main
from ingest.__main__ import main as ingest_main
from kamerbron.cli import INTERRUPTED, run_main
from kamerbron.errors import ChromaUnreachableError, IndexMissingError, QuestionInvalidError, SettingsInvalidError
from rag.__main__ import main as rag_main
from tests.fakes.ports import free_port
from tests.fakes.settings import FIXTURES, ROOT

# Each command reads its settings before doing any work.
COMMANDS = {
    "ingest": [sys.executable, "-m", "ingest", "stats"],
    "rag": [sys.executable, "-m", "rag", "config"],
    "eval": [sys.executable, "-m", "eval", "baseline"],
    "app": [sys.executable, "app.py"],
}
TIMEOUT_S = 120


def _run(command: list[str], cwd=ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=cwd, env=os.environ | env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


# --- kamerbron.cli.run_main ---------------------------------------------------------------------


def test_domain_error_is_one_prefixed_line_and_its_code(capsys):
    def body() -> int:
        raise IndexMissingError("No index.\nBuild it with `python -m ingest build`.")

    code = run_main(body)
    assert (code, capsys.readouterr().err) == (3, "kamerbron: No index. Build it with `python -m ingest build`.\n")


def test_ctrl_c_exits_130(capsys):
    def body() -> int:
        raise KeyboardInterrupt

    assert (run_main(body), capsys.readouterr().err) == (INTERRUPTED, "kamerbron: interrupted\n")


def test_exit_code_of_the_body_is_returned():
    assert run_main(lambda: 0) == 0


# --- invalid settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("entry_point", sorted(COMMANDS))
def test_invalid_setting_is_one_line_and_exit_code_8(entry_point):
    proc = _run(COMMANDS[entry_point], KAMERBRON_APP_PORT="abc")
    message = "kamerbron: KAMERBRON_APP_PORT must be a whole number, got 'abc'. Fix it in the environment."
    assert (proc.returncode, message in proc.stderr.splitlines(), "Traceback" in proc.stderr) == (
        SettingsInvalidError.exit_code,
        True,
        False,
    ), proc.stderr


def test_cli_ignores_a_dotenv_in_its_working_directory(tmp_path):
    (tmp_path / ".env").write_text("KAMERBRON_APP_PORT=abc\n", encoding="utf-8")
    proc = _run([sys.executable, "-m", "rag", "config"], cwd=tmp_path, PYTHONPATH=str(ROOT))
    assert (proc.returncode, proc.stderr) == (0, "")


# --- an unreachable Chroma server ---------------------------------------------------------------


@pytest.fixture
def no_chroma(monkeypatch) -> int:
    """Settings that point at a Chroma server on a free loopback port, where none runs."""
    port = free_port()
    monkeypatch.setenv("KAMERBRON_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("KAMERBRON_CHROMA_PORT", str(port))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    return port


@pytest.mark.parametrize(
    "run",
    [
        lambda: rag_main(["search", "politie"]),
        lambda: ingest_main(["build", "--no-progress", str(FIXTURES / "debate_interruptions.txt")]),
        lambda: eval_main(["calibrate"]),
        lambda: app.main([]),
    ],
    ids=["rag", "ingest", "eval", "app"],
)
def test_unreachable_chroma_names_host_port_and_how_to_start_one(no_chroma, run, capsys):
    code = run()
    err = capsys.readouterr().err
    assert (
        code,
        f"127.0.0.1:{no_chroma}" in err,
        f"`chroma run --path data/chroma --host 127.0.0.1 --port {no_chroma}`" in err,
    ) == (
        ChromaUnreachableError.exit_code,
        True,
        True,
    ), err


def test_unreachable_chroma_from_the_real_cli(tmp_path):
    port = free_port()
    proc = _run(
        [sys.executable, "-m", "rag", "search", "politie"],
        KAMERBRON_CHROMA_HOST="127.0.0.1",
        KAMERBRON_CHROMA_PORT=str(port),
    )
    assert (proc.returncode, f"kamerbron: Cannot reach the Chroma server at 127.0.0.1:{port}" in proc.stderr) == (
        ChromaUnreachableError.exit_code,
        True,
    ), proc.stderr


# --- the question is checked first --------------------------------------------------------------


def test_empty_question_exits_2_before_anything_is_loaded(tmp_path):
    index_dir = tmp_path / "index"
    proc = _run([sys.executable, "-m", "rag", "ask", ""], KAMERBRON_PATHS_INDEX_DIR=str(index_dir))
    assert (proc.returncode, proc.stderr.startswith("kamerbron: De vraag is leeg."), index_dir.exists()) == (
        QuestionInvalidError.exit_code,
        True,
        False,
    ), proc.stderr
