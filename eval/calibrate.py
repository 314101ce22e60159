"""Calibrate the extractive refusal threshold on the evaluation set.

For every single-turn item, the answerer's confidence (see ``ExtractiveComposer.confidence``) is
computed once; a sweep of thresholds then shows how many unanswerable items would be refused and
how many answerable ones wrongly so. The suggested threshold maximises refusal recall while the
wrongful-refusal rate stays within ``max_wrongful``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SweepRow:
    threshold: float
    refused_unanswerable: int
    n_unanswerable: int
    wrongful: int
    n_answerable: int

    @property
    def recall(self) -> float:
        return self.refused_unanswerable / self.n_unanswerable if self.n_unanswerable else 0.0

    @property
    def wrongful_rate(self) -> float:
        return self.wrongful / self.n_answerable if self.n_answerable else 0.0


def confidences(items, answerer) -> list[tuple[float, bool, str]]:
    """(confidence, answerable, item id) for every item without history."""
    rows = []
    for item in items:
        if item.history:
            continue
        passages = answerer.retrieve(item.question)
        rows.append((answerer.composer.confidence(item.question, passages), item.answerable, item.id))
    return rows


def sweep(rows: list[tuple[float, bool, str]], thresholds=None) -> list[SweepRow]:
    thresholds = np.round(np.arange(0.0, 0.8, 0.025), 3) if thresholds is None else thresholds
    negatives = [c for c, answerable, _ in rows if not answerable]
    positives = [c for c, answerable, _ in rows if answerable]
    return [
        SweepRow(float(t), sum(c < t for c in negatives), len(negatives), sum(c < t for c in positives), len(positives))
        for t in thresholds
    ]


def suggest(table: list[SweepRow], max_wrongful: float = 0.05) -> SweepRow:
    allowed = [row for row in table if row.wrongful_rate <= max_wrongful]
    return max(allowed, key=lambda row: (row.recall, -row.wrongful_rate, -row.threshold))
