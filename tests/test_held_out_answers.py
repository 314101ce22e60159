"""The fold-trained answer figures of ``python -m eval.ranker`` (``held_out_answers``): every item is
answered by its own fold's rankers, with the eval run's metrics, and the shipped rankers stay in place."""

import numpy as np
import pytest

from eval.dataset import EvalItem, GoldPassage
from eval.passage_ranker import untrained
from eval.ranker import collect, held_out_answers
from kamerbron.embed import HashEmbedder
from rag.answer import Answerer
from rag.evidence import ANSWER_FEATURES, FEATURES, EvidenceFinder, LogisticModel, SentenceRanker
from rag.passage_rank import PASSAGE_FEATURES, PassageRanker
from rag.retrieve import Retriever
from tests.fakes.index import write_small_index

QUESTIONS = [
    ("Hoeveel geld komt er extra voor de politie?", "Er komt 2 miljoen euro extra voor de politie", "miljoen"),
    ("Wat wil het CDA voor prostituees?", "Het CDA wil een registratieplicht voor prostituees", "registratieplicht"),
    ("Heeft de politie genoeg capaciteit?", "De politie heeft te weinig capaciteit", "te weinig"),
    ("Wat zei minister Blok over geld voor de politie?", "Er komt 2 miljoen euro extra voor de politie", "2 miljoen"),
]


def _items() -> list[EvalItem]:
    items = [
        EvalItem(id=f"a{n}", kind="factual", lang="nl", question=q, answerable=True, facts=[[fact]],
                 gold=[GoldPassage(source_file="d.txt", quote=quote)])
        for n, (q, quote, fact) in enumerate(QUESTIONS)
    ]  # fmt: skip
    items.append(
        EvalItem(id="u0", kind="unanswerable", lang="nl", question="Wat kost een treinkaartje?", answerable=False)
    )
    return items


def _ranker(answer_logit: float) -> SentenceRanker:
    """A ranker that answers every question (a high logit) or refuses every one (a low one)."""
    sentence = LogisticModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.zeros(len(FEATURES)), 0.0)
    n = len(ANSWER_FEATURES)
    answerability = LogisticModel(ANSWER_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), answer_logit)
    return SentenceRanker(sentence, answerability, 0.5)


class RecordingPassageRanker(PassageRanker):
    """A passage ranker that keeps the fused order and counts the questions it ordered."""

    def __init__(self):
        n = len(PASSAGE_FEATURES)
        super().__init__(
            LogisticModel(PASSAGE_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), 0.0), {"embedding": "hash"}
        )
        self.calls = 0

    def scores(self, rows: np.ndarray) -> np.ndarray:
        self.calls += 1
        return -np.arange(len(rows), dtype=np.float64)


@pytest.fixture
def answerer(settings):
    write_small_index(settings)
    plain = untrained(settings)
    return Answerer(plain, retriever=Retriever(plain, embedder=HashEmbedder(plain.embedding.dim)))


def test_each_item_is_answered_by_its_own_folds_rankers(answerer):
    items = _items()
    finder = EvidenceFinder(answerer.retriever.index, answerer.retriever.embedder.embed_query, ranker=None)
    groups = collect(answerer, items, finder)
    # fold 1 refuses everything, fold 2 answers everything: what each item got shows whose ranker it met
    folds = [(np.array([0, 1, 4]), _ranker(-50.0)), (np.array([2, 3]), _ranker(50.0))]
    passage_rankers = {item.id: RecordingPassageRanker() for item in items[:4]}
    report = held_out_answers(answerer, groups, folds, passage_rankers)

    assert report["items"] == 5
    assert {kind: figures["items"] for kind, figures in report["per_kind"].items()} == {"factual": 4, "unanswerable": 1}
    # a0 and a1 refused (2 of the 4 answerable items), u0 refused too; a2 and a3 answered
    assert report["wrongful_refusal_rate"] == 0.5
    assert report["refusal_f1"] == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert report["per_kind"]["factual"]["fact_recall"] == 0.5  # only the answered half can hold its fact
    assert report["citation_validity"] == 1.0
    # every answerable item was retrieved with its own passage ranker; the answerer keeps its own
    assert all(ranker.calls >= 1 for ranker in passage_rankers.values())
    assert answerer.retriever.passage_ranker is None
