"""Baseline and regression gate: bless, compare, and the exit codes of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import gate
from eval.__main__ import main

GOOD = {"recall@5": 1.0, "mrr@10": 1.0, "citation_precision": 1.0, "citation_validity": 1.0, "attribution": 1.0,
        "fact_recall": 1.0, "refusal_correct": 1.0}  # fmt: skip


def record(id_: str, **changes) -> dict:
    return {"id": id_, "kind": "factual", "answerable": True, "refused": False, "metrics": GOOD | changes}


def headline(**changes) -> dict:
    base = {name: 1.0 for name in gate.m.HEADLINE} | {"wrongful_refusal_rate": 0.0}
    return base | changes


def write_run(path: Path, records: list[dict], **headline_changes) -> Path:
    path.mkdir(parents=True)
    summary = {
        "run_id": path.name,
        "settings_hash": "abc",
        "n_items": len(records),
        "headline": headline(**headline_changes),
    }
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def baseline_file(tmp_path) -> Path:
    run = write_run(tmp_path / "runs" / "20260101T000000Z-abc", [record("q1"), record("q2")])
    target = tmp_path / "baseline.json"
    gate.bless(run, target)
    return target


@pytest.fixture
def worse_run(tmp_path) -> Path:
    return write_run(tmp_path / "worse", [record("q1"), record("q2", **{"recall@5": 0.0})], **{"recall@5": 0.5})


@pytest.fixture
def equal_run(tmp_path) -> Path:
    return write_run(tmp_path / "equal", [record("q1"), record("q2")])


def compare(run: Path, baseline: Path, **kwargs) -> gate.GateResult:
    summary, records = gate.load_run(run)
    return gate.compare(summary, records, gate.load_baseline(baseline), **kwargs)


def test_bless_keeps_the_per_item_metrics(baseline_file):
    assert json.loads(baseline_file.read_text())["items"]["q2"]["recall@5"] == 1.0


def test_a_worse_run_fails_the_gate(worse_run, baseline_file):
    assert not compare(worse_run, baseline_file).passed


def test_the_gate_names_the_metric_that_fell(worse_run, baseline_file):
    assert [c.name for c in compare(worse_run, baseline_file).fell] == ["recall@5"]


def test_the_gate_names_the_item_that_got_worse(worse_run, baseline_file):
    assert [i.id for i in compare(worse_run, baseline_file).worse_items] == ["q2"]


def test_an_equal_run_passes_the_gate(equal_run, baseline_file):
    assert compare(equal_run, baseline_file).passed


def test_a_fall_within_the_tolerance_passes(tmp_path, baseline_file):
    run = write_run(tmp_path / "slightly", [record("q1"), record("q2")], fact_recall=0.99)
    assert compare(run, baseline_file).passed


def test_a_rising_wrongful_refusal_rate_fails_the_gate(tmp_path, baseline_file):
    run = write_run(tmp_path / "refuses", [record("q1"), record("q2")], wrongful_refusal_rate=0.1)
    assert [c.name for c in compare(run, baseline_file).fell] == ["wrongful_refusal_rate"]


def test_a_falling_wrongful_refusal_rate_passes(tmp_path, baseline_file):
    baseline = json.loads(baseline_file.read_text())
    baseline["headline"]["wrongful_refusal_rate"] = 0.5
    baseline_file.write_text(json.dumps(baseline))
    run = write_run(tmp_path / "fewer", [record("q1"), record("q2")], wrongful_refusal_rate=0.0)
    assert compare(run, baseline_file).passed


def test_cli_compare_exits_1_on_a_worse_run(worse_run, baseline_file):
    assert main(["compare", str(worse_run), str(baseline_file)]) == 1


def test_cli_compare_prints_the_worse_item(worse_run, baseline_file, capsys):
    main(["compare", str(worse_run), str(baseline_file)])
    assert "q2: recall@5 1.000 -> 0.000" in capsys.readouterr().out


def test_cli_compare_exits_0_on_an_equal_run(equal_run, baseline_file):
    assert main(["compare", str(equal_run), str(baseline_file)]) == 0


def test_cli_compare_writes_the_comparison_into_the_report(equal_run, baseline_file):
    main(["compare", str(equal_run), str(baseline_file)])
    assert "Change against the baseline" in (equal_run / "report.md").read_text()


def test_cli_compare_tolerance_can_be_widened(worse_run, baseline_file):
    assert main(["compare", str(worse_run), str(baseline_file), "--tolerance", "0.6"]) == 0


def test_cli_baseline_blesses_the_newest_run(tmp_path, monkeypatch):
    monkeypatch.setenv("KAMERBRON_PATHS_EVAL_DIR", str(tmp_path / "eval"))
    write_run(tmp_path / "eval" / "runs" / "20260101T000000Z-abc", [record("old")])
    write_run(tmp_path / "eval" / "runs" / "20260102T000000Z-abc", [record("new")])
    main(["baseline"])
    assert list(json.loads((tmp_path / "eval" / "baseline.json").read_text())["items"]) == ["new"]


def test_cli_baseline_without_runs_exits_7_with_one_stderr_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KAMERBRON_PATHS_EVAL_DIR", str(tmp_path / "eval"))
    code = main(["baseline"])
    assert (code, len(capsys.readouterr().err.strip().splitlines())) == (7, 1)


def test_cli_compare_without_a_baseline_exits_7(equal_run, tmp_path):
    assert main(["compare", str(equal_run), str(tmp_path / "missing.json")]) == 7


def test_a_damaged_run_is_a_domain_error(tmp_path):
    (tmp_path / "broken").mkdir()
    with pytest.raises(gate.EvalRunInvalidError):
        gate.load_run(tmp_path / "broken")
