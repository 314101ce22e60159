"""The sentence-window comparison (eval/sentence_window.py) on the small hand-made index."""

import numpy as np
import pytest

from eval.dataset import EvalItem, GoldPassage
from eval.sentence_window import SentenceWindowBaseline, compare
from kamerbron.embed import HashEmbedder
from rag.answer import Answerer
from rag.retrieve import Retriever
from tests.fakes.index import write_small_index


@pytest.fixture
def small(settings):
    write_small_index(settings)
    return settings


def test_every_sentence_is_a_node_whose_window_holds_its_neighbours(small):
    retriever = Retriever(small, embedder=HashEmbedder(small.embedding.dim))
    retriever.index.refresh()
    index = retriever.index.current
    baseline = SentenceWindowBaseline(index, retriever.embedder, window=1)
    texts = [n.text.strip() for n in baseline.nodes]
    assert "Dank u wel." in texts and "Het woord is aan de minister voor de politie." in texts
    assert baseline.reused == len(baseline.nodes)  # the stored sentence vectors serve
    thanks = next(n for n in baseline.nodes if n.text.strip() == "Dank u wel.")
    assert "Het woord is aan de minister" in thanks.metadata["window"]


def test_the_best_sentence_is_put_back_in_its_window(small):
    retriever = Retriever(small, embedder=HashEmbedder(small.embedding.dim))
    retriever.index.refresh()
    baseline = SentenceWindowBaseline(retriever.index.current, retriever.embedder, window=1)
    target = next(i for i, n in enumerate(baseline.nodes) if n.text.strip() == "Dank u wel.")
    sentence, windowed = baseline.retrieve(baseline.matrix[target] / np.linalg.norm(baseline.matrix[target]), 1)[0]
    assert sentence.strip() == "Dank u wel."
    assert "Het woord is aan de minister" in windowed.node.get_content()


def test_both_methods_are_scored_on_the_same_questions(small):
    embedder = HashEmbedder(small.embedding.dim)
    answerer = Answerer(small, retriever=Retriever(small, embedder=embedder))
    item = EvalItem(
        id="w1", kind="factual", lang="nl", question="Hoeveel geld komt er extra voor de politie?", answerable=True,
        facts=[["2 miljoen"]], gold=[GoldPassage(source_file="d.txt", quote="Er komt 2 miljoen euro extra voor de politie")],
    )  # fmt: skip
    unanswerable = EvalItem(id="w2", kind="unanswerable", lang="nl", question="Wat is het weer?", answerable=False)
    report = compare(answerer, [item, unanswerable], window=1)
    assert report["questions"] == 1
    for method in ("sentence_window", "kamerbron"):
        assert set(report[method]) == {"sentence_top1", "sentence_top4", "context_holds_gold"}
        assert all(0.0 <= v <= 1.0 for v in report[method].values())
    # the hash embedding of the question shares the words of the gold sentence: both find it
    assert report["sentence_window"]["sentence_top4"] == 1.0
    assert report["kamerbron"]["context_holds_gold"] == 1.0
