"""Train the passage ranker of retrieval on the evaluation set, and report it on held-out folds and
on the held-out question set.

For every answerable item the (standalone) question is retrieved as the app retrieves it, up to the
fused candidates (dense search and BM25, 40 each, fused by reciprocal rank); each candidate is
labelled gold when it holds a gold quote, as the recall metric decides. A logistic regression over
``rag.passage_rank.PASSAGE_FEATURES`` is fitted with folds grouped by item, so no question's
candidates are both trained and tested on. The report gives Recall@5 and MRR@10 of the fused order
and of the learned one on the held-out folds (averaged over repeated random splits), and on the
held-out question set with the model fitted on all items; then that model is written to
``rag/passage_ranker.json``.

    python -m eval.passage_ranker [--folds 5] [--repeats 8] [--heldout eval/data/kamerbron_heldout_v1.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from eval import metrics as m
from eval.dataset import EvalItem, load_eval_set
from kamerbron.fingerprint import index_shape
from kamerbron.settings import PROJECT_ROOT, Settings, load_settings
from rag.answer import Answerer
from rag.evidence import LogisticModel
from rag.passage_rank import PASSAGE_FEATURES, PassageRanker, passage_features

PASSAGE_RANKER_PATH = PROJECT_ROOT / "rag" / "passage_ranker.json"
REPORT_PATH = PROJECT_ROOT / "eval" / "passage_ranker_report.json"
HELDOUT_PATH = PROJECT_ROOT / "eval" / "data" / "kamerbron_heldout_v1.jsonl"
# L2 strength of the logistic regression: 0.3 was the best of 0.03 / 0.1 / 0.3 / 1 on the held-out
# folds when the ranker was first trained (143 items, 5 folds, 4 repeats); 0.1 to 1 differ by < 0.01.
C = 0.3
CUTOFF_RECALL = 5
CUTOFF_MRR = 10


@dataclass
class Group:
    """One question's fused candidates: their features, and which gold quotes each holds."""

    item: EvalItem
    rows: np.ndarray
    gold: list[set[int]]
    n_gold: int

    @property
    def labels(self) -> np.ndarray:
        return np.array([bool(g) for g in self.gold])


def untrained(settings: Settings) -> Settings:
    """``settings`` with the learned order off: training reads the fused order the model replaces."""
    return settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"learned_rank": False})})


def collect(answerer: Answerer, items: list[EvalItem]) -> list[Group]:
    """The fused candidates of every answerable item with gold, described and labelled."""
    retriever = answerer.retriever
    retriever.index.refresh()
    index = retriever.index.current
    finder, sentences = retriever.ranking_aids(index)
    matcher = m._default_matcher()
    groups: list[Group] = []
    for item in items:
        if not item.answerable or not item.gold:
            continue
        question = answerer.condense(item.question, [(h.question, h.answer) for h in item.history])
        found = retriever.fuse(index, question, None, "hybrid", {})
        if not found.order:
            continue
        rows = passage_features(finder, finder.profile(question), retriever.last_query_vector, sentences, found)
        gold = [
            {g for g, quote in enumerate(item.gold) if m.gold_in_passage(quote, index.chunks[i], matcher)}
            for i in found.order
        ]
        groups.append(Group(item, rows, gold, len(item.gold)))
    return groups


def fit(groups: list[Group], c: float = C) -> LogisticModel:
    """Pointwise logistic regression, gold against the other candidates of the same questions."""
    x = np.concatenate([g.rows for g in groups])
    y = np.concatenate([g.labels for g in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit((x - mean) / scale, y)
    return LogisticModel(PASSAGE_FEATURES, mean, scale, model.coef_[0], float(model.intercept_[0]))


def ranking_figures(groups: list[Group], scores: list[np.ndarray]) -> dict[str, float]:
    """Recall@5 and MRR@10 of each group ordered by its scores (higher first; ties keep fused order)."""
    recall, mrr = [], []
    for group, s in zip(groups, scores):
        order = sorted(range(len(s)), key=lambda j: (-s[j], j))
        hits = [group.gold[j] for j in order]
        recall.append(m.recall_at_k(hits, group.n_gold, CUTOFF_RECALL))
        mrr.append(m.mrr_at_k(hits, CUTOFF_MRR))
    return {
        f"recall@{CUTOFF_RECALL}": round(float(np.mean(recall)), 3),
        f"mrr@{CUTOFF_MRR}": round(float(np.mean(mrr)), 3),
    }


def fused_scores(group: Group) -> np.ndarray:
    """The fused order as scores: the first candidate scores highest."""
    return -np.arange(len(group.gold), dtype=np.float64)


def cross_validate(groups: list[Group], folds: int, repeats: int, c: float = C) -> dict:
    """Held-out-fold figures of the learned order, averaged over ``repeats`` random splits by item."""
    runs: list[dict[str, float]] = []
    for repeat in range(repeats):
        scores: list[np.ndarray] = [np.zeros(0)] * len(groups)
        for train, test in KFold(n_splits=folds, shuffle=True, random_state=repeat).split(groups):
            model = fit([groups[i] for i in train], c)
            for i in test:
                scores[i] = model.linear(groups[i].rows)
        runs.append(ranking_figures(groups, scores))
    keys = list(runs[0])
    return {
        "repeats": repeats,
        "folds": folds,
        **{k: round(float(np.mean([r[k] for r in runs])), 3) for k in keys},
        **{f"{k}_spread": [min(r[k] for r in runs), max(r[k] for r in runs)] for k in keys},
    }


def cross_fitted_rankers(
    answerer: Answerer, items: list[EvalItem], folds: int, seed: int = 0
) -> dict[str, PassageRanker]:
    """For every answerable item with gold, a passage ranker fitted on the other folds' items: what
    the sentence ranker trains on must be retrieved as unseen questions are, not by a model that
    learned that very question's gold passage. ``answerer`` must retrieve the fused order
    (``untrained`` settings)."""
    groups = collect(answerer, items)
    embedding = index_shape(answerer.settings)["embedding_model"]
    rankers: dict[str, PassageRanker] = {}
    for train, test in KFold(n_splits=folds, shuffle=True, random_state=seed).split(groups):
        ranker = PassageRanker(fit([groups[i] for i in train]), meta={"embedding": embedding})
        rankers.update({groups[i].item.id: ranker for i in test})
    return rankers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.passage_ranker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=8, help="random splits for the held-out-fold figures")
    parser.add_argument("--heldout", type=Path, default=HELDOUT_PATH, help="questions never trained on")
    parser.add_argument("--out", type=Path, default=PASSAGE_RANKER_PATH)
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    args = parser.parse_args(argv)

    settings = untrained(load_settings())
    answerer = Answerer(settings)
    groups = collect(answerer, load_eval_set(settings=settings))
    heldout = collect(answerer, load_eval_set(args.heldout, settings=settings))
    model = fit(groups)
    report = {
        "trained_on": f"{sum(len(g.gold) for g in groups)} candidates of {len(groups)} answerable eval items",
        "held_out_folds": {
            "fused": ranking_figures(groups, [fused_scores(g) for g in groups]),
            "learned": cross_validate(groups, args.folds, args.repeats),
        },
        "held_out_set": {
            "items": len(heldout),
            "fused": ranking_figures(heldout, [fused_scores(g) for g in heldout]),
            "learned": ranking_figures(heldout, [model.linear(g.rows) for g in heldout]),
        },
    }
    ranker = PassageRanker(
        model,
        meta={
            "embedding": index_shape(settings)["embedding_model"],
            "trained_on": report["trained_on"],
            "held_out_folds": report["held_out_folds"],
            "held_out_set": report["held_out_set"],
        },
    )
    args.out.write_text(json.dumps(ranker.to_json(), indent=1) + "\n", encoding="utf-8")
    report["weights"] = dict(zip(PASSAGE_FEATURES, [round(float(c), 3) for c in model.coef]))
    args.report.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("held_out_folds", "held_out_set")}, indent=1))
    print(f"passage ranker written to {args.out}; report to {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
