"""`python -m rag search|ask|config`, driven in-process (and once as a real subprocess)."""

import json
import os
import subprocess
import sys

import pytest

from kamerbron.errors import ArgumentInvalidError, QuestionInvalidError, SettingsInvalidError
from rag.__main__ import main
from tests.fakes.index import write_small_index
from tests.fakes.ports import free_port
from tests.fakes.settings import ROOT, make_settings


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    settings = make_settings(tmp_path)
    write_small_index(settings)
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(settings.paths.index_dir))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    return settings


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_has_the_documented_fields(cli_env, capsys):
    _, out, _ = _run(capsys, "search", "geld voor de politie", "--json")
    result = json.loads(out)["results"][0]
    assert set(result) >= {
        "rank",
        "chunk_id",
        "doc_id",
        "source_file",
        "speaker",
        "party",
        "role",
        "date",
        "score",
        "text",
    }


def test_search_k_limits_hits(cli_env, capsys):
    _, out, _ = _run(capsys, "search", "politie", "--k", "1", "--json")
    assert len([r for r in json.loads(out)["results"] if "via" not in r]) == 1


def test_search_party_filter(cli_env, capsys):
    _, out, _ = _run(capsys, "search", "politie", "--party", "CDA", "--json")
    assert {r["party"] for r in json.loads(out)["results"] if "via" not in r} == {"CDA"}


def test_ask_json_has_the_documented_fields(cli_env, capsys):
    _, out, _ = _run(capsys, "ask", "Hoeveel euro komt er extra voor de politie?", "--json")
    payload = json.loads(out)
    assert set(payload) >= {"question", "answer", "refused", "citations", "retrieved", "timings_ms", "settings_hash"}


def test_ask_citation_fields(cli_env, capsys):
    _, out, _ = _run(capsys, "ask", "Hoeveel euro komt er extra voor de politie?", "--json")
    citation = json.loads(out)["citations"][0]
    assert set(citation) >= {"n", "chunk_id", "doc_id", "source_file", "speaker", "party", "date", "url", "text"}


def test_ask_for_a_person_lists_sources(cli_env, capsys):
    _, out, _ = _run(capsys, "ask", "Hoeveel euro komt er extra voor de politie?")
    assert "Bronnen:" in out and "[1] Minister Blok" in out


def test_batch_prints_one_json_line_per_question(cli_env, capsys, tmp_path):
    batch = tmp_path / "vragen.txt"
    batch.write_text('Hoeveel geld komt er?\n{"question": "Wat wil het CDA?"}\n\n', encoding="utf-8")
    _, out, _ = _run(capsys, "ask", "--batch", str(batch))
    assert [json.loads(line)["question"] for line in out.splitlines()] == ["Hoeveel geld komt er?", "Wat wil het CDA?"]


def test_batch_reports_a_bad_question_and_goes_on(cli_env, capsys, tmp_path):
    batch = tmp_path / "vragen.jsonl"
    batch.write_text('{"question": "   "}\n{"question": "Wat wil het CDA?"}\n', encoding="utf-8")
    _, out, _ = _run(capsys, "search", "--batch", str(batch))
    assert ["error" in json.loads(line) for line in out.splitlines()] == [True, False]


def test_empty_question_exits_2_with_message(cli_env, capsys):
    code, _, err = _run(capsys, "ask", "   ")
    assert (code, err) == (
        QuestionInvalidError.exit_code,
        "kamerbron: De vraag is leeg. Stel een vraag over de Kamerstukken, bijvoorbeeld over mensenhandel.\n",
    )


@pytest.mark.parametrize("command", ["ask", "search"])
def test_empty_question_is_refused_before_the_index_is_opened(command, tmp_path, monkeypatch, capsys):
    # a Chroma server that does not run: opening the index would end in exit code 9, not 2
    monkeypatch.setenv("KAMERBRON_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("KAMERBRON_CHROMA_PORT", str(free_port()))
    code, _, err = _run(capsys, command, "")
    assert (code, "De vraag is leeg" in err) == (QuestionInvalidError.exit_code, True)


def test_missing_question_asks_for_one(cli_env, capsys):
    code, _, err = _run(capsys, "ask")
    assert (code, err) == (ArgumentInvalidError.exit_code, "kamerbron: give a question, or --batch FILE\n")


def test_malformed_date_is_an_argument_error(cli_env, capsys):
    code, _, err = _run(capsys, "search", "politie", "--from", "16-02-2017")
    assert (code, "--from takes a date like 2017-02-16" in err) == (ArgumentInvalidError.exit_code, True)


def test_dates_in_the_wrong_order_are_an_argument_error(cli_env, capsys):
    code, _, err = _run(capsys, "search", "politie", "--from", "2018-01-01", "--to", "2017-01-01")
    assert (code, "De periode klopt niet" in err, "Traceback" in err) == (ArgumentInvalidError.exit_code, True, False)


def test_missing_batch_file_is_an_argument_error(cli_env, capsys, tmp_path):
    code, _, err = _run(capsys, "ask", "--batch", str(tmp_path / "geen.txt"))
    assert (code, "does not exist" in err) == (ArgumentInvalidError.exit_code, True)


def test_missing_index_says_how_to_build(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    code, _, err = _run(capsys, "search", "politie")
    assert code == 3 and "python -m ingest build" in err


def test_k_out_of_range_is_rejected(cli_env, capsys):
    code, _, err = _run(capsys, "search", "politie", "--k", "0")
    assert (code, err) == (ArgumentInvalidError.exit_code, "kamerbron: --k must be between 1 and 100, got 0\n")


def test_config_masks_secrets(monkeypatch, capsys):
    monkeypatch.setenv("KAMERBRON_LLM_API_KEY", "sk-geheim-123")
    _, out, _ = _run(capsys, "config")
    assert "sk-geheim-123" not in out and json.loads(out)["llm"]["api_key"] == "**********"


def test_config_shows_collection_name(capsys):
    _, out, _ = _run(capsys, "config")
    assert json.loads(out)["collection"].startswith("kamerbron_")


def test_invalid_setting_is_reported(monkeypatch, capsys):
    monkeypatch.setenv("KAMERBRON_RETRIEVAL_TOP_K", "veel")
    code, _, err = _run(capsys, "config")
    assert (code, "kamerbron: KAMERBRON_RETRIEVAL_TOP_K must be a whole number, got 'veel'" in err) == (
        SettingsInvalidError.exit_code,
        True,
    )


def test_module_runs_as_subprocess(cli_env):
    env = {k: v for k, v in os.environ.items()} | {
        "KAMERBRON_PATHS_INDEX_DIR": str(cli_env.paths.index_dir),
        "KAMERBRON_EMBEDDING_BACKEND": "hash",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "rag", "search", "politie", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["results"]
