"""Train the sentence ranker of the extractive answer on the evaluation set, and report it on
held-out folds.

For every answerable item the question is retrieved as the app would (standalone question, top-k
passages plus linked turns); each candidate sentence of those passages is labelled gold when it
holds most of a gold quote's words and its passage holds the quote. A linear model over the
features of ``rag.evidence`` is fitted listwise (a softmax over each question's candidates, the
likelihood of its gold sentences coming first), with folds grouped by item, so no question's
sentences are both trained and tested on; its L2 strength is the one of ``L2_GRID`` with the best
repeated held-out top-1. The report gives, per method, the share of questions whose best-scored
sentence is a gold one (top-1) and whose top 4 hold one (top-4), on the held-out folds, and the
answers themselves: every item answered with its fold's rankers and scored as ``python -m eval run``
scores it (``held_out_answers``). Then the final model is fitted on all items and written to
``rag/sentence_ranker.json``.

    python -m eval.ranker [--folds 5] [--out rag/sentence_ranker.json] [--report eval/ranker_report.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from eval import metrics as m
from eval.dataset import EvalItem, load_eval_set, normalise_for_match, quote_in_text
from eval.passage_ranker import cross_fitted_rankers, untrained
from eval.run import answer_item, score_item
from kamerbron.fingerprint import index_shape
from kamerbron.settings import PROJECT_ROOT
from rag.answer import Answerer
from rag.evidence import (
    ANSWER_FEATURES,
    FEATURES,
    Evidence,
    EvidenceFinder,
    LogisticModel,
    SentenceRanker,
    answer_features,
    feature_matrix,
)
from rag.passage_rank import PassageRanker

RANKER_PATH = PROJECT_ROOT / "rag" / "sentence_ranker.json"
REPORT_PATH = PROJECT_ROOT / "eval" / "ranker_report.json"
# A sentence is gold when it holds at least this share of a gold quote's words (a quote may
# span two sentences; each of them then holds part of it).
GOLD_WORD_SHARE = 0.6
# L2 strength of the answerability logistic regression; 0.3 was the best of 0.1 / 0.3 / 1 / 3 on
# held-out top-1 when the first (pairwise) sentence ranker was trained (eval set of 143 items, 5 folds).
C = 0.3
# L2 strengths tried for the listwise sentence ranker (on standardised features, per question of
# training data): the one with the best repeated held-out top-1 is kept, and the report lists all.
L2_GRID = (0.01, 0.03, 0.05, 0.1, 0.2)
# Refusal threshold search: the best refusal F1 among thresholds whose wrongful-refusal rate on
# held-out items stays within this share. The product promises at most 3% wrongly refused, but the
# threshold is only one of the answer's refusals (a year or body the evidence lacks refuses too), and
# a threshold picked at the edge of the budget on these items overshoots it on others: with 3% here,
# the answers of held-out folds refused 4.2% of answerable items (refusal F1 0.817); with 1%, 1.7%
# (F1 0.836; 157 items, each fold's threshold chosen on its own training items).
MAX_WRONGFUL = 0.01
# One refusal more or less among the set's unanswerable items (37) moves refusal F1 by about 0.02;
# a gain of under half that is no reason to refuse more answerable questions.
F1_TOLERANCE = 0.01

_WORD = re.compile(r"\w+")


@dataclass
class Group:
    item: EvalItem
    evidence: Evidence
    labels: np.ndarray


def _words(text: str) -> set[str]:
    return set(_WORD.findall(normalise_for_match(text).casefold()))


def is_gold(sentence: str, passage_text: str, passage_file: str, item: EvalItem) -> bool:
    for gold in item.gold:
        if gold.source_file != passage_file or not quote_in_text(gold.quote, passage_text):
            continue
        quote = _words(gold.quote)
        if quote and len(quote & _words(sentence)) / len(quote) >= GOLD_WORD_SHARE:
            return True
        if quote_in_text(sentence, gold.quote):
            return True
    return False


def collect(
    answerer: Answerer,
    items: list[EvalItem],
    finder: EvidenceFinder,
    passage_rankers: dict[str, PassageRanker] | None = None,
) -> list[Group]:
    """Every item's evidence as the app would find it, with its sentences labelled (none for unanswerable).
    ``passage_rankers``: per item id, the passage ranker that orders its retrieval (one that never
    trained on it); items not in it keep the answerer's."""
    groups: list[Group] = []
    shipped = answerer.retriever.passage_ranker
    try:
        for item in items:
            if passage_rankers is not None:
                answerer.retriever.passage_ranker = passage_rankers.get(item.id, shipped)
            history = [(h.question, h.answer) for h in item.history]
            question = answerer.condense(item.question, history)
            passages = answerer.retrieve(question)
            evidence = finder.find(question, passages, answerer.retriever.last_query_vector)
            labels = np.array(
                [is_gold(s.text, passages[s.passage_index].text, passages[s.passage_index].source_file, item)
                 for s in evidence.sentences],
                dtype=bool,
            )  # fmt: skip
            groups.append(Group(item, evidence, labels))
    finally:
        answerer.retriever.passage_ranker = shipped
    return groups


def _logistic(x: np.ndarray, y: np.ndarray, features: tuple[str, ...], c: float) -> LogisticModel:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit((x - mean) / scale, y)
    return LogisticModel(features, mean, scale, model.coef_[0], float(model.intercept_[0]))


def fit_sentences(groups: list[Group], l2: float = 0.05) -> LogisticModel:
    """Listwise linear ranker (ListNet with one gold set): per question, the softmax of the scores
    over its candidates; the loss is the mean over questions of -log(share of the softmax on its gold
    sentences) plus ``l2``/2 times the squared weights. Every question weighs the same, however many
    candidates it has; the learned weights rank sentences, they do not classify them.

    The previous ranker, a pairwise logistic regression (every gold sentence against every other
    candidate, so questions with many candidates weighed most), had a repeated held-out top-1 of
    0.435 against 0.455 for this one on the same 109 questions, and 0.471 against 0.588 on the
    34 answerable held-out questions."""
    train = [g for g in groups if g.labels.any() and not g.labels.all()]
    x_all = np.concatenate([feature_matrix(g.evidence.sentences) for g in train])
    mean, scale = x_all.mean(axis=0), x_all.std(axis=0)
    scale[scale == 0] = 1.0
    matrices = [(feature_matrix(g.evidence.sentences) - mean) / scale for g in train]
    labels = [g.labels for g in train]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, gold in zip(matrices, labels):
            z = x @ w
            e = np.exp(z - z.max())
            p_all, p_gold = e / e.sum(), e[gold] / e[gold].sum()
            total -= float(np.log(e[gold].sum() / e.sum()))
            grad -= p_gold @ x[gold] - p_all @ x
        n = len(matrices)
        return total / n + 0.5 * l2 * float(w @ w), grad / n + l2 * w

    fitted = minimize(loss, np.zeros(x_all.shape[1]), jac=True, method="L-BFGS-B")
    return LogisticModel(FEATURES, mean, scale, fitted.x, 0.0)


def _scored(group: Group, model: LogisticModel) -> Evidence:
    """The group's evidence with sentence scores from ``model`` (scores are set in place)."""
    if group.evidence.sentences:
        for s, score in zip(group.evidence.sentences, model.linear(feature_matrix(group.evidence.sentences))):
            s.score = float(score)
    return group.evidence


def cross_fitted_answer_features(groups: list[Group], folds: int, l2: float = 0.05) -> np.ndarray:
    """Answerability features of every item, its sentences scored by a model that never saw it."""
    rows = np.zeros((len(groups), len(ANSWER_FEATURES)))
    ids = np.array([g.item.id for g in groups])
    for train, test in GroupKFold(n_splits=folds).split(ids, groups=ids):
        model = fit_sentences([groups[i] for i in train], l2)
        for i in test:
            rows[i] = answer_features(_scored(groups[i], model))
    return rows


def choose_threshold(probabilities: np.ndarray, answerable: np.ndarray) -> tuple[float, dict]:
    """The refusal threshold with the best refusal F1 whose wrongful-refusal rate stays within MAX_WRONGFUL;
    of thresholds whose F1 is within F1_TOLERANCE of that best, the lowest (it refuses the fewest
    answerable questions)."""
    candidates: list[tuple[float, dict]] = []
    for threshold in np.round(np.arange(0.05, 0.951, 0.01), 2):
        refused = probabilities < threshold
        tp = int((refused & ~answerable).sum())
        precision = tp / refused.sum() if refused.sum() else 0.0
        recall = tp / (~answerable).sum() if (~answerable).sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        wrongful = float((refused & answerable).sum() / answerable.sum())
        stats = {"f1": round(f1, 3), "precision": round(precision, 3), "recall": round(recall, 3),
                 "wrongful_refusal_rate": round(wrongful, 3)}  # fmt: skip
        if wrongful <= MAX_WRONGFUL:
            candidates.append((float(threshold), stats))
    best_f1 = max((stats["f1"] for _, stats in candidates), default=0.0)
    if best_f1 == 0.0:
        return 0.0, {"f1": 0.0}
    return next((t, stats) for t, stats in candidates if stats["f1"] >= best_f1 - F1_TOLERANCE)


def _hits(scores: np.ndarray, labels: np.ndarray, k: int) -> bool:
    order = np.argsort(-scores, kind="stable")[:k]
    return bool(labels[order].any())


def baselines(group: Group) -> dict[str, np.ndarray]:
    x = feature_matrix(group.evidence.sentences)
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    return {
        "dense_only": col["dense"],
        "coverage_only": col["coverage"],
        "dense+coverage+rank": col["dense_rank"] + col["coverage_rank"] + col["passage_rank"],
    }


def fold_rankers(groups: list[Group], folds: int, l2: float = 0.05) -> list[tuple[np.ndarray, SentenceRanker]]:
    """Per fold (grouped by item): the indices of its held-out groups and a sentence ranker fitted on the
    other folds alone, with its answerability model and refusal threshold (the threshold chosen on
    inner folds of the training items, as the shipped one is)."""
    ids = np.array([g.item.id for g in groups])
    out: list[tuple[np.ndarray, SentenceRanker]] = []
    for train, test in GroupKFold(n_splits=folds).split(ids, groups=ids):
        train_groups = [groups[i] for i in train]
        sentence_model = fit_sentences(train_groups, l2)
        # the answerability model learns from sentence scores its training items did not shape
        inner = cross_fitted_answer_features(train_groups, folds - 1, l2)
        answerable = np.array([g.item.answerable for g in train_groups])
        answer_model = _logistic(inner, answerable, ANSWER_FEATURES, C)
        threshold, _ = choose_threshold(answer_model.score(inner), answerable)
        out.append((test, SentenceRanker(sentence_model, answer_model, threshold)))
    return out


def cross_validate(groups: list[Group], folds: list[tuple[np.ndarray, SentenceRanker]]) -> dict:
    """Held-out figures: sentence selection (top-1/top-4) and refusal, each on ``folds`` (``fold_rankers``)."""
    results: dict[str, dict[str, list[bool]]] = {}
    per_fold: list[dict] = []
    probabilities = np.zeros(len(groups))
    for fold, (test, ranker) in enumerate(folds):
        top1 = []
        for i in test:
            g = groups[i]
            _scored(g, ranker.sentence)
            probabilities[i] = ranker.answerability.score(answer_features(g.evidence)[None, :])[0]
            if not g.labels.any():
                continue
            scores = np.array([s.score for s in g.evidence.sentences])
            for name, values in ({"learned": scores} | baselines(g)).items():
                entry = results.setdefault(name, {"top1": [], "top4": []})
                entry["top1"].append(_hits(values, g.labels, 1))
                entry["top4"].append(_hits(values, g.labels, 4))
            top1.append(_hits(scores, g.labels, 1))
        per_fold.append({"fold": fold, "items": len(test), "learned_top1": round(float(np.mean(top1)), 3)})
    answerable = np.array([g.item.answerable for g in groups])
    threshold, refusal = choose_threshold(probabilities, answerable)
    return {
        "items": len(groups),
        "items_with_gold_sentence": sum(bool(g.labels.any()) for g in groups),
        "folds": len(folds),
        "held_out_sentence_selection": {
            name: {"top1": round(float(np.mean(v["top1"])), 3), "top4": round(float(np.mean(v["top4"])), 3)}
            for name, v in results.items()
        },
        "held_out_refusal_at_best_threshold": {"threshold": threshold} | refusal,
        "per_fold": per_fold,
    }


# The answer figures of held_out_answers, overall and per kind of question.
ANSWER_FIGURES = (
    "fact_recall", "citation_precision", "citation_validity", "attribution", "who_first_line",
    "refusal_f1", "wrongful_refusal_rate",
)  # fmt: skip


def held_out_answers(
    answerer: Answerer,
    groups: list[Group],
    folds: list[tuple[np.ndarray, SentenceRanker]],
    passage_rankers: dict[str, PassageRanker] | None = None,
) -> dict:
    """The extractive answers of the evaluation set, each item answered by rankers that never saw it:
    its fold's sentence ranker, answerability model and refusal threshold, and (``passage_rankers``)
    a passage ranker of other folds; scored with the metrics of ``python -m eval run``. This is what
    the learned answer gives an unseen question; the eval run's figures are in-sample."""
    settings = answerer.settings.model_copy(
        update={"answer": answerer.settings.answer.model_copy(update={"backend": "extractive"})}
    )
    extractive = Answerer(settings, retriever=answerer.retriever)
    composer = extractive.composer
    embedding = index_shape(settings)["embedding_model"]
    shipped_ranker, shipped_threshold = composer.finder.ranker, composer.refusal_threshold
    shipped_passages = extractive.retriever.passage_ranker
    matcher = m._default_matcher()
    records: list[dict] = []
    try:
        for test, ranker in folds:
            composer.finder.ranker = SentenceRanker(
                ranker.sentence, ranker.answerability, ranker.threshold, meta={"embedding": embedding}
            )
            composer.refusal_threshold = ranker.threshold
            for i in test:
                item = groups[i].item
                if passage_rankers is not None:
                    extractive.retriever.passage_ranker = passage_rankers.get(item.id, shipped_passages)
                answer, *_ = answer_item(item, extractive)
                records.append(
                    {
                        "kind": item.kind,
                        "answerable": item.answerable,
                        "refused": answer.refused,
                        "metrics": score_item(item, answer, matcher),
                    }
                )
    finally:
        composer.finder.ranker, composer.refusal_threshold = shipped_ranker, shipped_threshold
        extractive.retriever.passage_ranker = shipped_passages

    def figures(rows: list[dict]) -> dict:
        summary = m.aggregate(rows)
        return {"items": len(rows)} | {
            name: None if summary[name] is None else round(float(summary[name]), 3) for name in ANSWER_FIGURES
        }

    kinds = sorted({r["kind"] for r in records})
    return figures(records) | {"per_kind": {k: figures([r for r in records if r["kind"] == k]) for k in kinds}}


def repeated_selection(groups: list[Group], folds: int, repeats: int, l2: float = 0.05) -> dict:
    """Held-out sentence selection averaged over ``repeats`` random splits into ``folds`` folds by item:
    one split of about a hundred questions moves top-1 by several points, so model changes are
    compared on this mean (and its spread over the repeats)."""
    usable = [g for g in groups if g.labels.any()]
    top1: list[float] = []
    top4: list[float] = []
    for repeat in range(repeats):
        hits1, hits4 = [], []
        for train, test in KFold(n_splits=folds, shuffle=True, random_state=repeat).split(usable):
            model = fit_sentences([usable[i] for i in train], l2)
            for i in test:
                scores = model.linear(feature_matrix(usable[i].evidence.sentences))
                hits1.append(_hits(scores, usable[i].labels, 1))
                hits4.append(_hits(scores, usable[i].labels, 4))
        top1.append(float(np.mean(hits1)))
        top4.append(float(np.mean(hits4)))
    return {
        "repeats": repeats,
        "top1": round(float(np.mean(top1)), 3),
        "top1_spread": [round(min(top1), 3), round(max(top1), 3)],
        "top4": round(float(np.mean(top4)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ranker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=8, help="random splits for the repeated held-out figure")
    parser.add_argument("--out", type=Path, default=RANKER_PATH)
    parser.add_argument("--report", type=Path, default=REPORT_PATH)
    args = parser.parse_args(argv)

    answerer = Answerer()
    finder = EvidenceFinder(answerer.retriever.index, answerer.retriever.embedder.embed_query, ranker=None)
    items = load_eval_set(settings=answerer.settings)
    rankers = None
    if answerer.retriever.passage_ranker is not None:
        # retrieval as an unseen question meets it: each item ordered by a passage ranker of the other folds
        fused = Answerer(untrained(answerer.settings), retriever=None)
        rankers = cross_fitted_rankers(fused, items, args.folds)
    groups = collect(answerer, items, finder, rankers)
    grid = {l2: repeated_selection(groups, args.folds, args.repeats, l2) for l2 in L2_GRID}
    l2 = max(L2_GRID, key=lambda value: (grid[value]["top1"], grid[value]["top4"]))
    folds = fold_rankers(groups, args.folds, l2)
    report = cross_validate(groups, folds)
    report["held_out_sentence_selection_repeated"] = grid[l2]
    report["l2"] = {"chosen": l2, "repeated_top1_by_l2": {str(k): v["top1"] for k, v in grid.items()}}
    sentence_model = fit_sentences(groups, l2)
    rows = cross_fitted_answer_features(groups, args.folds, l2)
    answerable = np.array([g.item.answerable for g in groups])
    answer_model = _logistic(rows, answerable, ANSWER_FEATURES, C)
    threshold, _ = choose_threshold(answer_model.score(rows), answerable)
    final = SentenceRanker(
        sentence_model,
        answer_model,
        # the threshold chosen on held-out folds, not the in-sample one: it is what unseen questions meet
        report["held_out_refusal_at_best_threshold"]["threshold"] or threshold,
        meta={
            "embedding": index_shape(answerer.settings)["embedding_model"],
            "trained_on": f"{sum(len(g.labels) for g in groups)} sentences of {len(groups)} eval items",
            "l2": l2,
            "held_out_sentence_selection": report["held_out_sentence_selection"],
            "held_out_sentence_selection_repeated": report["held_out_sentence_selection_repeated"],
            "held_out_refusal": report["held_out_refusal_at_best_threshold"],
        },
    )
    args.out.write_text(json.dumps(final.to_json(), indent=1) + "\n", encoding="utf-8")
    report["held_out_answers"] = held_out_answers(answerer, groups, folds, rankers)
    report["sentence_weights"] = dict(zip(FEATURES, [round(float(c), 3) for c in sentence_model.coef]))
    report["answerability_weights"] = dict(zip(ANSWER_FEATURES, [round(float(c), 3) for c in answer_model.coef]))
    args.report.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                k: report[k]
                for k in (
                    "held_out_sentence_selection",
                    "held_out_sentence_selection_repeated",
                    "held_out_refusal_at_best_threshold",
                    "l2",
                    "held_out_answers",
                )
            },
            indent=1,
        )
    )
    print(f"ranker written to {args.out}; report to {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
