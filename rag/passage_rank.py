"""The learned passage ranking: which of the fused candidates answer the question, best first.

Stage: (question, candidates of dense search and BM25) -> an order. Reciprocal rank fusion knows only
the two ranks; it cannot tell that "wat antwoordde de minister" wants a government turn, that a
passage whose best sentence is close to the question beats one that is close on average, or that a
party the question names should be the speaker and not merely be mentioned. Each candidate is
described by its two retrievers' scores and ranks, its fused rank, its best sentences' similarity
(the sentence vectors stored at ingest), its word coverage, and what the question asks for crossed
with who speaks (``rag.evidence.QuestionProfile``). A logistic regression over those features,
trained on the gold passages of the evaluation set and reported on held-out folds and on the
held-out question set (``python -m eval.passage_ranker``), scores them. Its weights are a small
JSON file next to this module.

The model reads dense similarities on the scale of the embedding model it was trained with; under
another embedding (the tests' hash embedder) retrieval keeps the fused order.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from kamerbron.text import GOVERNMENT_ROLES, split_sentences
from rag.evidence import EvidenceFinder, LogisticModel, QuestionProfile, RankerMissingError
from rag.index import LoadedIndex

PASSAGE_RANKER_FILE = "passage_ranker.json"

PASSAGE_FEATURES = (
    "fused_rank", "fused_top", "dense", "dense_gap", "dense_top", "in_dense", "bm25", "bm25_top", "in_bm25",
    "sentence_dense", "sentence_dense_top2", "passage_coverage",
    "gov_turn", "member_turn", "fractie_turn", "procedural",
    "ask_gov_x_gov", "gov_answer_x_gov", "ask_gov_x_member", "who_x_member", "who_x_gov", "compare_x_member",
    "party_match", "party_named", "surname_match", "role_match",
    "english_x_dense", "english_x_bm25", "english_x_sentence_dense", "year_match", "year_other",
    "question_share", "about_asking_x_question", "gov_answer_x_question",
    "length", "later_part", "letter", "written",
)  # fmt: skip


@dataclass
class Candidates:
    """One question's fused candidates: catalogue positions in fused order with their fused scores,
    each retriever's scores and ranks, and what the question names (``rag.retrieve.mentions``)."""

    order: list[int]
    fused: dict[int, float]
    dense: dict[int, float]
    bm25: dict[int, float]
    named: dict[str, set[str]]
    query_vector: np.ndarray | None = None
    dense_rank: dict[int, int] = field(default_factory=dict)
    bm25_rank: dict[int, int] = field(default_factory=dict)


@dataclass
class PassageRanker:
    model: LogisticModel
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"passage": self.model.to_json(), "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict) -> PassageRanker:
        model = LogisticModel.from_json(
            data["passage"], PASSAGE_FEATURES, name="passage ranker", retrain="eval.passage_ranker"
        )
        return cls(model, data.get("meta", {}))

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return self.model.linear(rows)


@lru_cache(maxsize=1)
def default_passage_ranker() -> PassageRanker:
    """The trained passage ranker shipped with the package (``rag/passage_ranker.json``)."""
    try:
        data = json.loads(resources.files("rag").joinpath(PASSAGE_RANKER_FILE).read_text(encoding="utf-8"))
        return PassageRanker.from_json(data)
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise RankerMissingError(
            f"rag/{PASSAGE_RANKER_FILE} is missing or damaged ({error}); reinstall the package or run "
            "`python -m eval.passage_ranker`, or set KAMERBRON_RETRIEVAL_LEARNED_RANK=false to keep the fused order."
        ) from error


class ChunkSentences:
    """Each chunk's sentences and their stored vectors, split once per index generation."""

    def __init__(self, index: LoadedIndex):
        self.index = index
        self._by_chunk: dict[int, tuple[list[str], np.ndarray]] = {}

    def of(self, position: int) -> tuple[list[str], np.ndarray]:
        """(sentences, one row per sentence that has a stored vector)."""
        found = self._by_chunk.get(position)
        if found is None:
            texts = split_sentences(self.index.chunks[position].text)
            vectors = [v for v in map(self.index.sentence_vector, texts) if v is not None]
            matrix = np.vstack(vectors) if vectors else np.zeros((0, 0))
            found = self._by_chunk[position] = (texts, matrix)
        return found


def passage_features(
    finder: EvidenceFinder,
    profile: QuestionProfile,
    query_vector: np.ndarray,
    sentences: ChunkSentences,
    candidates: Candidates,
) -> np.ndarray:
    """One row of ``PASSAGE_FEATURES`` per candidate, in ``candidates.order``."""
    chunks = sentences.index.chunks
    weights = finder.query_weights(profile.text, english=profile.english)
    dense, bm25 = candidates.dense, candidates.bm25
    dense_max = max(dense.values(), default=0.0)
    # a candidate only BM25 found is less similar than the last one dense search returned
    dense_floor = min(dense.values(), default=0.0)
    bm25_max = max(bm25.values(), default=0.0) or 1.0
    named = candidates.named
    english = float(profile.english)
    rows = []
    for rank, i in enumerate(candidates.order):
        chunk = chunks[i]
        gov = chunk.role in GOVERNMENT_ROLES
        member = chunk.role == "kamerlid"
        fractie = chunk.role == "fractie"
        texts, vectors = sentences.of(i)
        similarity = sorted((vectors @ query_vector).tolist(), reverse=True) if len(vectors) else []
        similarity = similarity or [dense.get(i, dense_floor)]
        questions = sum(t.rstrip().endswith("?") for t in texts) / max(len(texts), 1)
        d = dense.get(i, dense_floor)
        b = bm25.get(i, 0.0) / bm25_max
        f = {
            "fused_rank": math.log1p(rank),
            "fused_top": 1.0 / (1 + rank),
            "dense": d,
            "dense_gap": dense_max - d,
            "dense_top": 1.0 / (1 + candidates.dense_rank[i]) if i in candidates.dense_rank else 0.0,
            "in_dense": float(i in dense),
            "bm25": b,
            "bm25_top": 1.0 / (1 + candidates.bm25_rank[i]) if i in candidates.bm25_rank else 0.0,
            "in_bm25": float(i in bm25),
            "sentence_dense": similarity[0],
            "sentence_dense_top2": sum(similarity[:2]) / len(similarity[:2]),
            "passage_coverage": finder.coverage(weights, f"{chunk.speaker} {chunk.party} {chunk.section} {chunk.text}"),
            "gov_turn": float(gov),
            "member_turn": float(member),
            "fractie_turn": float(fractie),
            "procedural": float(chunk.procedural),
            "ask_gov_x_gov": float(profile.government and gov),
            "gov_answer_x_gov": float(profile.gov_answer and gov),
            "ask_gov_x_member": float(profile.government and not gov),
            "who_x_member": float(profile.who and (member or fractie)),
            "who_x_gov": float(profile.who and gov),
            "compare_x_member": float(profile.compare and (member or fractie)),
            "party_match": float(bool(chunk.party) and chunk.party.lower() in named["parties"]),
            "party_named": float(bool(named["parties"])),
            "surname_match": float(bool(chunk.surname) and chunk.surname.lower() in named["surnames"]),
            "role_match": float(chunk.role in named["roles"]),
            "english_x_dense": english * d,
            "english_x_bm25": english * b,
            "english_x_sentence_dense": english * similarity[0],
            "year_match": float(bool(profile.years) and chunk.date[:4] in profile.years),
            "year_other": float(bool(profile.years) and chunk.date[:4] not in profile.years),
            "question_share": questions,
            "about_asking_x_question": float(profile.about_asking) * questions,
            "gov_answer_x_question": float(profile.gov_answer) * questions,
            "length": math.log1p(len(chunk.text)),
            "later_part": float(chunk.part > 0),
            "letter": float(chunk.doc_type == "brief"),
            "written": float(chunk.doc_type == "schriftelijk_overleg"),
        }
        rows.append([f[name] for name in PASSAGE_FEATURES])
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(PASSAGE_FEATURES))
