"""The runner end to end with a fake answerer, and the report it writes."""

from __future__ import annotations

import json

import pytest

from eval.dataset import EvalItem
from eval.gate import make_baseline
from eval.report import write_report
from eval.run import run_eval
from kamerbron.errors import LLMEndpointError
from kamerbron.records import Answer, Passage
from tests.fakes.records import make_citation, make_passage

FILE = "002_d05e322e15ff4b92.txt"
QUOTE = "de aanpak van mensenhandel heeft voor het kabinet hoge prioriteit"
GOLD_TEXT = "Minister Blok: De aanpak van mensenhandel heeft voor het kabinet hoge prioriteit, zei ik al."


def passage(n: int, text: str, speaker: str = "Minister Blok", party: str = "") -> Passage:
    return make_passage(
        chunk_id=f"c{n}", doc_id="d2", source_file=FILE, turn_index=n, text=text, rank=n, speaker=speaker, party=party
    )


PASSAGES = [passage(1, "Over iets anders."), passage(2, GOLD_TEXT), passage(3, "Nog iets.")]


def item(id_: str, kind: str = "factual", **fields) -> EvalItem:
    data = {
        "id": id_,
        "kind": kind,
        "lang": "nl",
        "question": f"Vraag {id_}?",
        "gold": [{"source_file": FILE, "quote": QUOTE}],
        "facts": [["prioriteit"]],
        "speaker": "Blok",
        "answerable": True,
    }
    data.update(fields)
    return EvalItem.model_validate(data)


def good_answer(question: str) -> Answer:
    cited = make_citation(1, chunk_id="c2", doc_id="d2", source_file=FILE, speaker="Minister Blok", text=GOLD_TEXT)
    return Answer(
        question=question,
        standalone_question=question,
        answer="Mensenhandel heeft hoge prioriteit [1].",
        citations=[cited],
        retrieved=PASSAGES,
        settings_hash="fake",
    )


def refusal(question: str) -> Answer:
    return Answer(question=question, answer="Dat staat niet in de stukken.", refused=True, retrieved=PASSAGES[:1])


class FakeRetriever:
    def __init__(self):
        self.calls: list[tuple[str, str | None]] = []

    def retrieve(self, query, *, filters=None, k=None, mode=None):
        self.calls.append((query, mode))
        # BM25 ranks the gold passage first, the other modes second.
        ranked = [PASSAGES[1], PASSAGES[0], PASSAGES[2]] if mode == "bm25" else PASSAGES
        return list(ranked)[:k]


class FakeAnswerer:
    """Answers from a script: question -> Answer or an exception to raise; default a good answer."""

    def __init__(self, script: dict | None = None):
        self.script = script or {}
        self.calls: list[tuple[str, tuple]] = []
        self.retriever = FakeRetriever()

    def answer(self, question, *, history=(), filters=None):
        self.calls.append((question, tuple(history)))
        reply = self.script.get(question, good_answer)
        if isinstance(reply, Exception):
            raise reply
        return reply(question)


ITEMS = [
    item("f1"),
    item("u1", kind="unanswerable", gold=[], facts=[], speaker=None, answerable=False, question="Onzin?"),
    item("fu1", kind="followup", history=[{"question": "Eerste vraag?"}]),
]


def run(settings, tmp_path, items=ITEMS, answerer=None, **kwargs):
    out = tmp_path / "run"
    answerer = answerer or FakeAnswerer({"Onzin?": refusal})
    summary = run_eval(items, answerer, settings, out, with_ragas=False, progress=False, **kwargs)
    return out, summary, answerer


@pytest.fixture
def fake_run(settings, tmp_path):
    return run(settings, tmp_path)


def test_the_run_writes_report_summary_items_and_plots(fake_run):
    out, _, _ = fake_run
    names = {p.name for p in out.iterdir()}
    assert {"report.md", "summary.json", "items.jsonl", "metrics_by_kind.png", "latency.png"} <= names


def test_items_jsonl_has_one_line_per_item(fake_run):
    out, _, _ = fake_run
    assert len((out / "items.jsonl").read_text().splitlines()) == len(ITEMS)


def test_a_good_answer_scores_full_recall_at_5(fake_run):
    _, summary, _ = fake_run
    assert summary["headline"]["recall@5"] == 1.0


def test_a_correct_refusal_gives_full_refusal_recall(fake_run):
    _, summary, _ = fake_run
    assert summary["metrics"]["refusal_recall"] == 1.0


def test_summary_has_retrieval_figures_for_every_mode(fake_run):
    _, summary, _ = fake_run
    assert set(summary["retrieval_by_mode"]) == {"bm25", "dense", "hybrid"}


def test_retrieval_by_mode_scores_each_mode_on_its_own_ranking(fake_run):
    _, summary, _ = fake_run
    assert summary["retrieval_by_mode"]["bm25"]["mrr@10"] == 1.0


def test_summary_has_per_kind_figures(fake_run):
    _, summary, _ = fake_run
    assert set(summary["per_kind"]) == {"factual", "unanswerable", "followup"}


def test_followup_question_gets_the_produced_history(fake_run):
    _, _, answerer = fake_run
    produced = good_answer("Eerste vraag?").answer
    assert ("Vraag fu1?", (("Eerste vraag?", produced),)) in answerer.calls


def test_report_shows_the_question_of_a_worst_item(fake_run):
    out, _, _ = fake_run
    assert "Vraag fu1?" in (out / "report.md").read_text()


def test_summary_names_the_skipped_ragas_metrics(fake_run):
    _, summary, _ = fake_run
    assert "ragas_faithfulness" in summary["ragas"]["skipped"]


def test_summary_dump_masks_secrets(settings, tmp_path):
    settings.llm.api_key = type(settings.llm.api_key)("topgeheim-123")
    out, _, _ = run(settings, tmp_path)
    assert "topgeheim-123" not in (out / "summary.json").read_text()


def test_a_domain_error_on_one_item_is_recorded_and_the_run_goes_on(settings, tmp_path):
    answerer = FakeAnswerer({"Vraag f1?": LLMEndpointError("endpoint down"), "Onzin?": refusal})
    _, summary, _ = run(settings, tmp_path, answerer=answerer)
    assert summary["n_errors"] == 1


def test_a_run_compared_with_a_baseline_plots_the_change(settings, tmp_path):
    first, summary, _ = run(settings, tmp_path)
    records = [json.loads(line) for line in (first / "items.jsonl").read_text().splitlines()]
    baseline = make_baseline(summary, records)
    out = tmp_path / "second"
    run_eval(
        ITEMS, FakeAnswerer({"Onzin?": refusal}), settings, out, with_ragas=False, progress=False, baseline=baseline
    )
    assert (out / "baseline_change.png").is_file()


def test_report_rendering_survives_a_minimal_summary(tmp_path):
    write_report(tmp_path, {"headline": {"recall@5": None}}, [])
    assert (tmp_path / "report.md").read_text().startswith("# Kamerbron evaluation")
