"""Training the sentence ranker (eval/ranker.py) on small hand-made groups: gold labels, the
listwise fit ranking gold sentences first, and the refusal threshold search."""

import numpy as np

from eval.dataset import EvalItem, GoldPassage
from eval.ranker import MAX_WRONGFUL, Group, choose_threshold, fit_sentences, is_gold
from kamerbron.records import Passage
from rag.evidence import FEATURES, Evidence, QuestionProfile, Sentence

ITEM = EvalItem(
    id="t1",
    kind="factual",
    lang="nl",
    question="Hoeveel fte is er?",
    gold=[GoldPassage(source_file="d.txt", quote="uiteindelijk zijn er 375 fte beschikbaar voor mensenhandel")],
    facts=[["375"]],
    answerable=True,
)
PASSAGE = "Dat duurde lang. Maar uiteindelijk zijn er 375 fte beschikbaar voor mensenhandel. Dank u."


def test_a_sentence_holding_the_gold_quote_is_gold():
    assert is_gold("Maar uiteindelijk zijn er 375 fte beschikbaar voor mensenhandel.", PASSAGE, "d.txt", ITEM)


def test_a_sentence_of_another_file_is_not_gold():
    assert not is_gold("Maar uiteindelijk zijn er 375 fte beschikbaar voor mensenhandel.", PASSAGE, "e.txt", ITEM)


def test_another_sentence_of_the_gold_passage_is_not_gold():
    assert not is_gold("Dat duurde lang.", PASSAGE, "d.txt", ITEM)


def _group(seed: int) -> Group:
    """Five sentences; the gold one is the only one with a high 'dense' feature."""
    rng = np.random.default_rng(seed)
    sentences = []
    for i in range(5):
        features = {name: float(rng.normal()) for name in FEATURES}
        features["dense"] = 3.0 if i == seed % 5 else -1.0
        sentences.append(Sentence(0, i, f"zin {i}", features))
    profile = QuestionProfile.of("Hoeveel fte is er?")
    passage = Passage(chunk_id="d:0:0", doc_id="d", source_file="d.txt", turn_index=0, text=PASSAGE)
    labels = np.array([i == seed % 5 for i in range(5)])
    return Group(ITEM, Evidence(profile, [passage], sentences), labels)


def test_listwise_fit_ranks_gold_sentences_first():
    groups = [_group(seed) for seed in range(30)]
    model = fit_sentences(groups[:20])
    hits = []
    for g in groups[20:]:
        scores = model.linear(np.array([[s.features[n] for n in FEATURES] for s in g.evidence.sentences]))
        hits.append(bool(g.labels[int(np.argmax(scores))]))
    assert all(hits)


def test_threshold_keeps_wrongful_refusals_within_the_budget():
    answerable = np.array([True] * 100 + [False] * 10)
    probabilities = np.concatenate([np.linspace(0.3, 1.0, 100), np.linspace(0.0, 0.4, 10)])
    threshold, stats = choose_threshold(probabilities, answerable)
    assert stats["wrongful_refusal_rate"] <= MAX_WRONGFUL and stats["recall"] > 0.5 and 0.0 < threshold < 1.0


def test_threshold_does_not_refuse_an_answerable_question_for_a_negligible_f1_gain():
    # raising the threshold past 0.205 refuses the last unanswerable question and one answerable one:
    # F1 0.952 -> 0.957, within the tolerance, so the lower threshold stays
    answerable = np.array([True] * 100 + [False] * 11)
    probabilities = np.concatenate([[0.205], np.full(99, 0.9), np.full(10, 0.1), [0.207]])
    threshold, stats = choose_threshold(probabilities, answerable)
    assert threshold == 0.11 and stats["wrongful_refusal_rate"] == 0.0 and stats["f1"] == 0.952


def test_repeated_selection_reports_the_mean_and_spread_of_held_out_top1():
    from eval.ranker import repeated_selection

    learnable = repeated_selection([_group(seed) for seed in range(30)], folds=5, repeats=3)
    assert learnable["top1"] == 1.0 and learnable["top1_spread"] == [1.0, 1.0] and learnable["repeats"] == 3

    # labels unrelated to the features: held out, the ranker does no better than chance (1 in 5)
    noise = []
    for seed in range(30):
        g = _group(seed)
        noise.append(Group(g.item, g.evidence, np.roll(g.labels, 1 + seed % 4)))
    chance = repeated_selection(noise, folds=5, repeats=3)
    assert chance["top1"] < 0.5
