"""Metric functions of the evaluation on small hand-made cases with hand-computed answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from eval import metrics as m
from eval.ragas_metrics import RagasScorer, _judge_metrics, judge_skip_reason
from kamerbron.records import Citation, Passage
from tests.fakes.openai_server import fake_openai_server
from tests.fakes.records import make_citation, make_passage

FILE = "002_d05e322e15ff4b92.txt"
OTHER = "000_528fd6ff245c8aa8.txt"
GOLD = [
    {"source_file": FILE, "quote": "de aanpak van mensenhandel heeft prioriteit"},
    {"source_file": FILE, "quote": "er komt een registratieplicht voor prostituees"},
]


def passage(n: int, text: str = "iets anders", source_file: str = FILE) -> Passage:
    return make_passage(chunk_id=f"c{n}", doc_id="d", source_file=source_file, turn_index=n, text=text, rank=n)


def ranked() -> list[Passage]:
    """Gold 0 at rank 2, gold 1 at rank 7, of 10."""
    texts = ["niets"] * 10
    texts[1] = "Minister: De aanpak van mensenhandel heeft prioriteit, zei hij."
    texts[6] = "Er komt een registratieplicht voor prostituees in de nieuwe wet."
    return [passage(i + 1, t) for i, t in enumerate(texts)]


# --- retrieval --------------------------------------------------------------


def test_recall_at_1_is_zero_when_the_first_passage_is_not_gold():
    assert m.retrieval_metrics(ranked(), GOLD)["recall@1"] == 0.0


def test_recall_at_5_counts_the_gold_quotes_found_in_the_top_5():
    assert m.retrieval_metrics(ranked(), GOLD)["recall@5"] == 0.5


def test_recall_at_10_finds_both_gold_quotes():
    assert m.retrieval_metrics(ranked(), GOLD)["recall@10"] == 1.0


def test_mrr_is_the_reciprocal_rank_of_the_first_gold_passage():
    assert m.retrieval_metrics(ranked(), GOLD)["mrr@10"] == 0.5


def test_ndcg_matches_the_hand_computed_value():
    expected = (1 / math.log2(3) + 1 / math.log2(8)) / (1 + 1 / math.log2(3))  # 0.5912
    assert m.retrieval_metrics(ranked(), GOLD)["ndcg@10"] == pytest.approx(expected)


def test_ndcg_gives_a_duplicate_of_one_quote_no_second_gain():
    hits = [{0}, {0}]
    assert m.ndcg_at_k(hits, n_gold=1, k=10) == 1.0


def test_a_passage_from_another_file_is_not_relevant():
    wrong_file = [passage(1, GOLD[0]["quote"], source_file=OTHER)]
    assert m.retrieval_metrics(wrong_file, GOLD[:1])["recall@1"] == 0.0


def test_mrr_is_zero_when_nothing_relevant_is_retrieved():
    assert m.retrieval_metrics([passage(1), passage(2)], GOLD)["mrr@10"] == 0.0


def test_retrieval_metrics_are_undefined_without_gold():
    assert m.retrieval_metrics(ranked(), [])["recall@5"] is None


# --- facts and normalisation ----------------------------------------------


@pytest.mark.parametrize("form", ["2 miljoen", "2.000.000", "2000000", "twee miljoen", "€ 2 miljoen", "2 miljoen euro"])
def test_forms_of_two_million_normalise_alike(form):
    assert m.normalize_text(form) == "2000000"


@pytest.mark.parametrize("form", ["500.000", "500 000", "vijfhonderdduizend", "vijfhonderd duizend"])
def test_forms_of_five_hundred_thousand_normalise_alike(form):
    assert m.normalize_text(form) == "500000"


@pytest.mark.parametrize("form", ["10%", "10 %", "10 procent", "tien procent", "10 percent"])
def test_forms_of_ten_percent_normalise_alike(form):
    assert m.normalize_text(form) == "10 procent"


def test_decimal_comma_with_a_scale_word():
    assert m.normalize_text("1,5 miljoen") == "1500000"


def test_the_article_een_stays_a_word():
    assert m.normalize_text("Een verbod") == "een verbod"


def test_fact_in_another_number_form_is_present():
    assert m.fact_present(["2.000.000"], "Het kabinet trekt 2 miljoen euro uit [1].")


def test_fact_matching_ignores_diacritics_and_case():
    assert m.fact_present(["financiële middelen"], "Er zijn FINANCIELE  middelen.")


def test_a_number_does_not_match_inside_a_longer_number():
    assert not m.fact_present(["10"], "Er waren 100 meldingen.")


def test_citation_markers_do_not_count_as_numbers():
    assert not m.fact_present(["3"], "Zo staat het in de brief [3].")


def test_fact_recall_is_the_share_of_facts_present():
    facts = [["registratieplicht"], ["21 jaar", "eenentwintig jaar"]]
    assert m.fact_recall(facts, "Er komt een registratieplicht [1].") == 0.5


def test_fact_recall_accepts_any_variant():
    assert m.fact_recall([["21 jaar", "eenentwintig jaar"]], "De leeftijd gaat naar eenentwintig jaar.") == 1.0


def test_fact_recall_is_undefined_without_facts():
    assert m.fact_recall([], "wat dan ook") is None


# --- attribution -----------------------------------------------------------


def cite(n: int, speaker: str = "", party: str = "", chunk_id: str | None = None, text: str = "x") -> Citation:
    return make_citation(
        n,
        chunk_id=chunk_id or f"c{n}",
        doc_id="d",
        source_file=FILE,
        turn_index=n,
        speaker=speaker,
        party=party,
        text=text,
    )


def test_attribution_credits_surname_and_party_named_in_the_text():
    result = m.attribution("Van Nispen", "SP", "Volgens Van Nispen (SP) moet het anders [1].", [])
    assert result["score"] == 1.0


def test_attribution_credits_the_speaker_and_party_of_a_cited_passage():
    result = m.attribution("Kuik", "CDA", "Zij wil een verbod [1].", [cite(1, "Mevrouw Kuik", "CDA")])
    assert result["score"] == 1.0


def test_attribution_fails_when_the_party_is_wrong():
    result = m.attribution("Kuik", "CDA", "Kuik wil een verbod [1].", [cite(1, "Mevrouw Kuik", "VVD")])
    assert result["score"] == 0.0


def test_attribution_needs_the_whole_surname():
    result = m.attribution("Kuik", None, "De kuikens zijn ontsnapt.", [])
    assert result["speaker"] is False


def test_party_spelled_with_a_space_matches_the_cited_party():
    result = m.attribution(None, "GroenLinks", "Zij wil dat [1].", [cite(1, "Mevrouw Özütok", "Groen Links")])
    assert result["party"] is True


def test_attribution_is_undefined_when_nothing_is_expected():
    assert m.attribution(None, None, "tekst", [])["score"] is None


# --- citations ---------------------------------------------------------------


def test_citation_precision_is_the_share_of_citations_holding_a_gold_quote():
    citations = [cite(1, text="De aanpak van mensenhandel heeft prioriteit."), cite(2, text="ruis")]
    assert m.citation_precision(citations, GOLD) == 0.5


def test_citation_precision_is_undefined_without_citations():
    assert m.citation_precision([], GOLD) is None


def test_citations_of_retrieved_passages_are_valid():
    assert m.citation_validity("A [1]. B [2].", [cite(1), cite(2)], [passage(1), passage(2)]) == 1.0


def test_a_citation_of_a_passage_not_retrieved_is_invalid():
    assert m.citation_validity("A [1].", [cite(1, chunk_id="elders")], [passage(1)]) == 0.0


def test_a_marker_without_a_citation_is_invalid():
    assert m.citation_validity("A [1]. B [3].", [cite(1)], [passage(1)]) == 0.0


def test_grouped_markers_are_read():
    assert m.citation_markers("A [1, 2]. B [3].") == {1, 2, 3}


# --- refusal ---------------------------------------------------------------

# (answerable, refused): one correct refusal, one wrongful refusal, one missed refusal, one answered.
OUTCOMES = [(False, True), (True, True), (False, False), (True, False)]


def test_refusal_precision_is_correct_refusals_over_refusals():
    assert m.refusal_metrics(OUTCOMES)["refusal_precision"] == 0.5


def test_refusal_recall_is_correct_refusals_over_unanswerable_items():
    assert m.refusal_metrics(OUTCOMES)["refusal_recall"] == 0.5


def test_wrongful_refusal_rate_is_refusals_over_answerable_items():
    assert m.refusal_metrics(OUTCOMES)["wrongful_refusal_rate"] == 0.5


def test_refusal_f1_is_zero_when_no_unanswerable_item_is_refused():
    assert m.refusal_metrics([(False, False), (True, False)])["refusal_f1"] == 0.0


# --- aggregation -------------------------------------------------------------


def test_latency_p50_interpolates():
    assert m.latency_summary([10.0, 20.0, 30.0, 40.0])["p50"] == 25.0


def test_aggregate_leaves_undefined_values_out_of_the_mean():
    records = [
        {"answerable": True, "refused": False, "metrics": {"fact_recall": 1.0}},
        {"answerable": True, "refused": False, "metrics": {"fact_recall": None}},
        {"answerable": True, "refused": False, "metrics": {"fact_recall": 0.5}},
    ]
    assert m.aggregate(records)["fact_recall"] == 0.75


# --- ragas -------------------------------------------------------------------


def test_ragas_llm_metrics_are_skipped_with_a_reason_without_a_judge(settings):
    assert "KAMERBRON_JUDGE_BASE_URL" in judge_skip_reason(settings)


def test_ragas_context_recall_uses_the_gold_quotes(settings):
    scores = RagasScorer(settings).score(
        question="Wat heeft prioriteit?",
        answer="De aanpak van mensenhandel [1].",
        refused=False,
        contexts=["niets", "De aanpak van mensenhandel heeft prioriteit."],
        gold_quotes=[g["quote"] for g in GOLD],
        facts=[["mensenhandel"]],
    )["scores"]
    assert scores["ragas_context_recall"] == 0.5


def _ragas_scores(settings, answer: str, contexts: list[str]) -> dict:
    return RagasScorer(settings).score(
        question="Wat heeft prioriteit?",
        answer=answer,
        refused=False,
        contexts=contexts,
        gold_quotes=[g["quote"] for g in GOLD],
        facts=[["mensenhandel"]],
    )["scores"]


def test_ragas_context_precision_is_the_average_precision_of_passages_holding_a_gold_quote(settings):
    contexts = [
        "niets",
        "De aanpak van mensenhandel heeft prioriteit.",
        "Er komt een registratieplicht voor prostituees.",
    ]
    # relevant at ranks 2 and 3: (1/2 + 2/3) / 2
    assert _ragas_scores(settings, "Zie [1].", contexts)["ragas_context_precision"] == round(7 / 12, 6)


def test_ragas_quoted_spans_counts_the_quotes_found_verbatim_in_the_passages(settings):
    answer = "De minister zei: „De aanpak van mensenhandel heeft prioriteit.” [1] En: „er komt geen vergunning” [2]"
    contexts = ["De aanpak van mensenhandel heeft prioriteit.", "Er komt een registratieplicht."]
    assert _ragas_scores(settings, answer, contexts)["ragas_quoted_spans"] == 0.5


def test_ragas_quoted_spans_takes_the_parts_of_a_quote_around_an_ellipsis_as_quotes(settings):
    answer = "De minister zei: “De aanpak van mensenhandel heeft prioriteit. … Er komt een registratieplicht.” [1]"
    contexts = ["De aanpak van mensenhandel heeft prioriteit. Dat zeg ik vaker. Er komt een registratieplicht."]
    assert _ragas_scores(settings, answer, contexts)["ragas_quoted_spans"] == 1.0


def test_ragas_metrics_use_no_private_ragas_module():
    source = (Path(__file__).resolve().parents[1] / "eval" / "ragas_metrics.py").read_text(encoding="utf-8")
    assert "ragas.metrics._" not in source


def test_ragas_faithfulness_asks_the_configured_judge(settings):
    with fake_openai_server(model="judge-x") as server:
        settings.judge.base_url, settings.judge.model = server.base_url, "judge-x"
        server.queue(json.dumps({"statements": ["Mensenhandel heeft prioriteit."]}))
        verdict = {"statement": "Mensenhandel heeft prioriteit.", "reason": "staat er", "verdict": 1}
        server.queue(json.dumps({"statements": [verdict]}))
        faithfulness = _judge_metrics(settings, embedder_factory=lambda: None)["ragas_faithfulness"]
        result = faithfulness.score(
            user_input="Wat heeft prioriteit?",
            response="Mensenhandel heeft prioriteit [1].",
            retrieved_contexts=["De aanpak van mensenhandel heeft prioriteit."],
        )
        assert result.value == 1.0
