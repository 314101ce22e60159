"""Quote checks in the evaluation: per-item metrics, the per-backend summary, and the gate that keeps
every quote of the extractive answer verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import gate
from eval import metrics as m
from eval.__main__ import main
from eval.run import score_item
from kamerbron.records import Answer, QuoteCheck

GOOD = {"recall@5": 1.0, "mrr@10": 1.0, "citation_precision": 1.0, "citation_validity": 1.0, "attribution": 1.0,
        "fact_recall": 1.0, "refusal_correct": 1.0}  # fmt: skip


def check(status: str, kind: str = "quote") -> dict:
    return QuoteCheck(text="Er komt 2 miljoen euro extra.", kind=kind, status=status, chunk_id="d:1:0", n=1).to_json()


def record(id_: str, backend: str, *statuses: str) -> dict:
    quotes = [check(s) for s in statuses]
    return {
        "id": id_, "kind": "factual", "answerable": True, "refused": False, "backend": backend, "error": None,
        "metrics": GOOD | m.quote_metrics(quotes), "quotes": quotes,
    }  # fmt: skip


def test_quotes_verified_is_the_share_of_quotes_verified():
    assert m.quote_metrics([check("verified"), check("repaired")])["quotes_verified"] == 0.5


def test_cited_sentences_do_not_count_as_quotes():
    assert m.quote_metrics([check("verified"), check("unverified", "sentence")])["quotes_verified"] == 1.0


def test_misattributions_are_counted_over_quotes_and_sentences():
    quotes = [check("misattributed"), check("misattributed", "sentence"), check("verified")]
    assert m.quote_metrics(quotes)["quotes_misattributed"] == 2.0


def test_an_answer_without_quotes_has_no_quote_metrics():
    assert m.quote_metrics([]) == {"quotes_verified": None, "quotes_misattributed": None}


def test_score_item_reads_the_answers_quote_checks():
    answer = Answer(question="q", answer="a", quotes=[QuoteCheck(text="t", status="unverified")])
    assert score_item({"question": "q", "answerable": True}, answer, lambda q, t: False)["quotes_verified"] == 0.0


def test_quote_summary_is_per_backend():
    summary = m.quote_summary([record("q1", "extractive", "verified"), record("q2", "llm", "verified", "unverified")])
    assert (summary["extractive"]["quotes_verified"], summary["llm"]["quotes_verified"]) == (1.0, 0.5)


def test_quote_summary_counts_misattributions():
    assert m.quote_summary([record("q1", "llm", "misattributed", "verified")])["llm"]["misattributed"] == 1


def test_aggregate_carries_the_quote_metrics():
    records = [record("q1", "extractive", "verified"), record("q2", "extractive", "verified", "repaired")]
    assert m.aggregate(records)["quotes_verified"] == 0.75


# -- the gate -----------------------------------------------------------------------------------------


def write_run(path: Path, records: list[dict]) -> Path:
    path.mkdir(parents=True)
    headline = {name: 1.0 for name in m.HEADLINE} | {"wrongful_refusal_rate": 0.0}
    summary = {"run_id": path.name, "settings_hash": "abc", "n_items": len(records), "headline": headline}
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def baseline_file(tmp_path) -> Path:
    run = write_run(
        tmp_path / "runs" / "base", [record("q1", "extractive", "verified"), record("q2", "extractive", "verified")]
    )
    target = tmp_path / "baseline.json"
    gate.bless(run, target)
    return target


def compare(run: Path, baseline: Path) -> gate.GateResult:
    summary, records = gate.load_run(run)
    return gate.compare(summary, records, gate.load_baseline(baseline))


def test_extractive_run_with_every_quote_verified_passes(tmp_path, baseline_file):
    run = write_run(tmp_path / "ok", [record("q1", "extractive", "verified"), record("q2", "extractive", "verified")])
    assert compare(run, baseline_file).passed


def test_one_extractive_quote_not_verified_fails_the_gate(tmp_path, baseline_file):
    statuses = ["verified"] * 99
    run = write_run(tmp_path / "bad", [record("q1", "extractive", *statuses), record("q2", "extractive", "repaired")])
    assert [c.name for c in compare(run, baseline_file).fell] == ["quotes_verified[extractive]"]


def test_the_floor_names_the_item_below_it(tmp_path, baseline_file):
    run = write_run(
        tmp_path / "bad", [record("q1", "extractive", "verified"), record("q3", "extractive", "unverified")]
    )
    assert [(i.id, i.metric) for i in compare(run, baseline_file).worse_items] == [("q3", "quotes_verified")]


def test_llm_quotes_have_no_floor(tmp_path, baseline_file):
    run = write_run(tmp_path / "llm", [record("q1", "llm", "verified"), record("q2", "llm", "unverified")])
    assert compare(run, baseline_file).passed


def test_runs_from_before_quote_checks_have_no_floor(tmp_path, baseline_file):
    old = record("q1", "extractive")
    del old["quotes"]
    assert compare(write_run(tmp_path / "old", [old]), baseline_file).passed


def test_floor_survives_the_round_trip_through_the_summary(tmp_path, baseline_file):
    run = write_run(tmp_path / "bad", [record("q1", "extractive", "misattributed")])
    assert not gate.gate_from_dict(compare(run, baseline_file).to_dict()).passed


def test_cli_compare_exits_1_when_an_extractive_quote_is_not_verified(tmp_path, baseline_file, capsys):
    run = write_run(
        tmp_path / "bad", [record("q1", "extractive", "verified"), record("q2", "extractive", "unverified")]
    )
    assert main(["compare", str(run), str(baseline_file)]) == 1
    assert "quotes_verified[extractive]" in capsys.readouterr().err
