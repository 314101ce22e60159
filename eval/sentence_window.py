"""llama-index's sentence-window approach beside Kamerbron's sentence evidence, on the same questions.

The sentence-window approach (``SentenceWindowNodeParser`` + ``MetadataReplacementPostProcessor``):
every sentence of the corpus is a node carrying the sentences around it as its ``window``; the
question retrieves the most similar sentences by embedding, and each retrieved sentence is replaced
by its window before it reaches the answer. Here the nodes are made by llama-index's parser from
every indexed passage, embedded with the same e5 model (the stored sentence vectors where the two
splitters agree; the rest embedded once), ranked by cosine similarity, and windowed by llama-index's
postprocessor.

Kamerbron's side is what the app does: hybrid retrieval, then the learned sentence ranker over the
sentences of the retrieved passages; its "window" is the answer the extractive composer writes.

Measured per answerable question with gold passages:
- ``sentence_top1`` / ``sentence_top4``: the best (top 4) sentence is a gold sentence (``eval.ranker.is_gold``);
- ``context_holds_gold``: the best sentence's window (sentence-window: up to 7 sentences of one
  passage) or the composed answer (Kamerbron: up to 3 passages, at most 3 sentences each, usually
  fewer) holds a gold quote verbatim. The two contexts are what each approach hands on as its
  answer; they are not of equal length.

On the evaluation set Kamerbron's rankers trained on the same items, so its figures there are
in-sample; the held-out set (``--set eval/data/kamerbron_heldout_v1.jsonl``) is the fair comparison.

    python -m eval.sentence_window [--set FILE] [--window 3] [--report eval/sentence_window_report.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from eval.dataset import EvalItem, load_eval_set, quote_in_text
from eval.ranker import is_gold
from kamerbron.settings import PROJECT_ROOT
from rag.answer import Answerer
from rag.index import LoadedIndex

REPORT_PATH = PROJECT_ROOT / "eval" / "sentence_window_report.json"
# llama-index's default window: three sentences on either side
WINDOW = 3


class SentenceWindowBaseline:
    """Every indexed passage split into llama-index sentence-window nodes, embedded once."""

    def __init__(self, index: LoadedIndex, embedder, window: int = WINDOW):
        from llama_index.core import Document  # heavy; only for this comparison
        from llama_index.core.node_parser import SentenceWindowNodeParser

        parser = SentenceWindowNodeParser.from_defaults(window_size=window)
        documents = [
            Document(text=c.text, metadata={"source_file": c.source_file, "chunk_id": c.chunk_id}) for c in index.chunks
        ]
        self.nodes = [n for n in parser.get_nodes_from_documents(documents) if n.text.strip()]
        vectors: list[np.ndarray | None] = [index.sentence_vector(n.text.strip()) for n in self.nodes]
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            embedded = embedder.embed_passages([self.nodes[i].text.strip() for i in missing])
            for i, vector in zip(missing, embedded):
                vectors[i] = vector
        self.reused = len(self.nodes) - len(missing)
        self.matrix = np.vstack(vectors)

    def retrieve(self, query_vector: np.ndarray, k: int) -> list:
        """The top ``k`` sentence nodes, each with its window put in place of its text."""
        from llama_index.core.postprocessor import MetadataReplacementPostProcessor
        from llama_index.core.schema import NodeWithScore

        scores = self.matrix @ query_vector
        top = np.argsort(-scores, kind="stable")[:k]
        hits = [NodeWithScore(node=self.nodes[i].model_copy(), score=float(scores[i])) for i in top]
        sentences = [h.node.text for h in hits]
        windowed = MetadataReplacementPostProcessor(target_metadata_key="window").postprocess_nodes(hits)
        return list(zip(sentences, windowed))


def _share(values: list[bool]) -> float:
    return round(float(np.mean(values)), 3) if values else 0.0


def compare(answerer: Answerer, items: list[EvalItem], window: int = WINDOW) -> dict:
    retriever = answerer.retriever
    retriever.index.refresh()
    index = retriever.index.current
    baseline = SentenceWindowBaseline(index, retriever.embedder, window)
    finder = answerer.composer.finder
    texts = {c.chunk_id: c.text for c in index.chunks}
    figures: dict[str, dict[str, list[bool]]] = {
        "sentence_window": {"sentence_top1": [], "sentence_top4": [], "context_holds_gold": []},
        "kamerbron": {"sentence_top1": [], "sentence_top4": [], "context_holds_gold": []},
    }
    for item in items:
        if not item.answerable or not item.gold:
            continue
        answer = answerer.answer(item.question, history=[(h.question, h.answer) for h in item.history])
        # the answer's own retrieval: its standalone question, that question's vector, its passages
        question = answer.standalone_question or item.question
        vector = retriever.last_query_vector
        if vector is None:
            vector = retriever.embedder.embed_query(question)

        hits = baseline.retrieve(vector, 4)
        gold = [
            is_gold(sentence.strip(), texts[hit.node.metadata["chunk_id"]], hit.node.metadata["source_file"], item)
            for sentence, hit in hits
        ]
        window_text = hits[0][1].node.get_content() if hits else ""
        sw = figures["sentence_window"]
        sw["sentence_top1"].append(bool(gold[:1]) and gold[0])
        sw["sentence_top4"].append(any(gold))
        sw["context_holds_gold"].append(any(quote_in_text(g.quote, window_text) for g in item.gold))

        passages = answer.retrieved
        evidence = finder.find(question, passages, vector)
        ranked = evidence.ranked()[:4]
        ours = [
            is_gold(s.text, passages[s.passage_index].text, passages[s.passage_index].source_file, item) for s in ranked
        ]
        kb = figures["kamerbron"]
        kb["sentence_top1"].append(bool(ours[:1]) and ours[0])
        kb["sentence_top4"].append(any(ours))
        kb["context_holds_gold"].append(any(quote_in_text(g.quote, answer.answer) for g in item.gold))
    n = len(figures["kamerbron"]["sentence_top1"])
    return {
        "questions": n,
        "window": window,
        "sentence_nodes": len(baseline.nodes),
        "sentence_vectors_reused": baseline.reused,
        **{method: {k: _share(v) for k, v in values.items()} for method, values in figures.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.sentence_window", description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, action="append", help="evaluation set(s); default: the committed one")
    parser.add_argument("--window", type=int, default=WINDOW)
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    args = parser.parse_args(argv)

    answerer = Answerer()
    paths = args.set or [None]
    report = {}
    for path in paths:
        items = load_eval_set(path, settings=answerer.settings)
        name = path.name if path is not None else "kamerbron_eval_v1.jsonl"
        report[name] = compare(answerer, items, args.window)
    args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    print(f"report written to {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
