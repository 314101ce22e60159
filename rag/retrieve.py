"""Hybrid retrieval: dense (Chroma, multilingual-e5) and BM25 (Dutch stemming), fused by
reciprocal rank fusion, with metadata filters, procedural down-weighting, optional cross-encoder
reranking, and linked turns brought along (question <-> answer, interruption <-> reply).

llama-index's ``QueryFusionRetriever`` is not used for the fusion: it runs its retrievers without
per-query metadata filters on the BM25 side and returns only fused scores, while the answer stage
needs each passage's own dense and BM25 scores to decide whether to refuse. The Chroma side is
written and queried directly (see kamerbron/store.py and rag/index.py).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time

import numpy as np

from kamerbron.embed import Embedder, build_embedder, pick_device
from kamerbron.errors import EmbeddingModelError
from kamerbron.fingerprint import index_shape
from kamerbron.records import Filters, Passage
from kamerbron.settings import Settings
from kamerbron.store import IndexStore
from kamerbron.text import GOVERNMENT_RE, GOVERNMENT_ROLES, WHO_QUESTION_RE, YEAR_RE, find_parties
from rag.evidence import EvidenceFinder
from rag.index import POINTER_CHECK_S, LiveIndex, LoadedIndex
from rag.passage_rank import Candidates, ChunkSentences, PassageRanker, default_passage_ranker, passage_features
from rag.query_terms import bm25_query

log = logging.getLogger(__name__)

MENTION_BOOST = 0.6
# A question pinning a year no hit is of also takes that many of the best passages dated that year;
# a comparison of parties that many of each party's own.
LANE_HITS = 3


def surname_pattern(surnames: list[str]) -> re.Pattern | None:
    """One alternation over all known surnames (longest first), matched as whole words."""
    names = sorted({s.lower() for s in surnames if s}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None


def mentions(query: str, surnames: re.Pattern | None) -> dict[str, set[str]]:
    """Parties, speaker surnames and the government named in a question, for a soft boost.

    A who-question names no speaker on purpose, so it gets no role boost: its answer may be anyone.
    """
    found = {
        "parties": {p.lower() for p in find_parties(query)},
        "surnames": set(surnames.findall(query.lower())) if surnames is not None else set(),
        "roles": set(),
    }
    if GOVERNMENT_RE.search(query) and not WHO_QUESTION_RE.search(query):
        found["roles"] = set(GOVERNMENT_ROLES)
    return found


def reciprocal_rank_fusion(rankings: list[list[int]], k: int) -> dict[int, float]:
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank + 1)
    return fused


class CrossEncoderReranker:
    """Optional reranking with a sentence-transformers CrossEncoder loaded from disk."""

    def __init__(self, model: str, device: str = "auto"):
        from sentence_transformers import CrossEncoder  # heavy (torch): only when reranking is on

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self._model = CrossEncoder(model, device=pick_device(device), local_files_only=True)
        except Exception as exc:
            raise EmbeddingModelError(
                f"Reranker {model!r} could not be loaded from this machine ({type(exc).__name__}). "
                "Set KAMERBRON_RETRIEVAL_RERANKER_MODEL to a local model folder, or leave it empty to turn reranking off."
            ) from exc

    def scores(self, query: str, texts: list[str]) -> list[float]:
        return [float(s) for s in self._model.predict([(query, t) for t in texts], show_progress_bar=False)]


class Retriever:
    """Loads the index, embedder and reranker once; ``retrieve`` is then cheap.

    The index it loads itself follows the store across builds (``rag.index.LiveIndex``): a newer
    generation is served within ``pointer_check_s`` seconds of a build, without a restart, and a
    generation pruned while served is replaced at once.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        index: LoadedIndex | None = None,
        embedder: Embedder | None = None,
        reranker: CrossEncoderReranker | None = None,
        passage_ranker: PassageRanker | None = None,
        pointer_check_s: float = POINTER_CHECK_S,
    ):
        self.settings = settings or Settings()
        if index is None:
            store = IndexStore(self.settings)
            self.index = LiveIndex(LoadedIndex(store.load()), store, check_s=pointer_check_s)
        else:
            self.index = index if isinstance(index, LiveIndex) else LiveIndex(index)
        self._embedder = embedder
        self.reranker = reranker
        if reranker is None and self.settings.retrieval.reranker_model:
            self.reranker = CrossEncoderReranker(self.settings.retrieval.reranker_model, self.settings.embedding.device)
        self.passage_ranker = self._usable_ranker(passage_ranker) if self.settings.retrieval.learned_rank else None
        self._ranking_aids: tuple[LoadedIndex | None, tuple[EvidenceFinder, ChunkSentences] | None] = (None, None)
        # per answering thread: the app answers several questions at once with one retriever
        self._question = threading.local()
        self._surnames: tuple[LoadedIndex | None, re.Pattern | None] = (None, None)

    def _usable_ranker(self, ranker: PassageRanker | None) -> PassageRanker | None:
        """``ranker`` (default: the shipped one) when it was trained with the embedding in use: it reads
        dense similarities on that model's scale. Otherwise retrieval keeps the fused order."""
        embedding = index_shape(self.settings)["embedding_model"]
        ranker = ranker if ranker is not None else default_passage_ranker()
        if ranker.meta.get("embedding") != embedding:
            log.info(
                "learned passage ranking off: trained with embedding %r, this index uses %r (fused order kept)",
                ranker.meta.get("embedding"),
                embedding,
            )
            return None
        return ranker

    @property
    def last_query_vector(self) -> np.ndarray | None:
        """This thread's last question vector, so the answer stage scores sentences without embedding
        it again."""
        return getattr(self._question, "vector", None)

    @last_query_vector.setter
    def last_query_vector(self, vector: np.ndarray | None) -> None:
        self._question.vector = vector

    @property
    def last_timings_ms(self) -> dict[str, float]:
        """This thread's last retrieval timings."""
        return getattr(self._question, "timings", {})

    @last_timings_ms.setter
    def last_timings_ms(self, timings: dict[str, float]) -> None:
        self._question.timings = timings

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = build_embedder(self.settings)
        return self._embedder

    def surnames(self, index: LoadedIndex) -> re.Pattern | None:
        """The surname pattern of ``index``'s speakers, made once per generation."""
        made_for, pattern = self._surnames
        if made_for is not index:
            # surnames long enough not to be ordinary words ("Kuik" yes; a two-letter name would match noise)
            pattern = surname_pattern([c.surname for c in index.chunks if len(c.surname) > 3])
            self._surnames = (index, pattern)
        return pattern

    def ranking_aids(self, index: LoadedIndex) -> tuple[EvidenceFinder, ChunkSentences]:
        """What the passage ranker reads of ``index`` (question profiles, word coverage, each chunk's
        sentences and their vectors), made once per generation."""
        made_for, aids = self._ranking_aids
        if made_for is not index or aids is None:
            aids = (EvidenceFinder(index, self.embedder.embed_query), ChunkSentences(index))
            self._ranking_aids = (index, aids)
        return aids

    def check(self) -> str:
        """The index generation served, once it answers; raises the store's error when it cannot."""
        return self.index.check()

    def retrieve(
        self, query: str, *, filters: Filters | None = None, k: int | None = None, mode: str | None = None
    ) -> list[Passage]:
        """The top ``k`` passages for ``query`` (best first), followed by passages linked to them."""
        self.index.refresh()
        # one generation for the whole question; it is all in memory, so it answers even after a
        # later build has pruned it from the store (``refresh`` moves on to the newer one)
        return self._retrieve(self.index.current, query, filters, k, mode)

    def _retrieve(
        self, index: LoadedIndex, query: str, filters: Filters | None, k: int | None, mode: str | None
    ) -> list[Passage]:
        cfg = self.settings.retrieval
        k = k or cfg.top_k
        mode = mode or cfg.mode
        timings: dict[str, float] = {}
        found = self.fuse(index, query, filters, mode, timings)
        ranked, fused = found.order, found.fused
        dense_scores, bm25_scores = found.dense, found.bm25
        if self.passage_ranker is not None and mode == "hybrid" and ranked and found.query_vector is not None:
            t0 = time.perf_counter()
            ranked = self.learned_order(index, query, found)
            timings["rank_ms"] = (time.perf_counter() - t0) * 1000

        if self.reranker is not None and ranked:
            t0 = time.perf_counter()
            head = ranked[: cfg.rerank_candidates]
            scores = self.reranker.scores(query, [index.chunks[i].text for i in head])
            order = sorted(range(len(head)), key=lambda j: -scores[j])
            fused.update({head[j]: scores[j] for j in order})
            ranked = [head[j] for j in order] + ranked[len(head) :]
            timings["rerank_ms"] = (time.perf_counter() - t0) * 1000

        hits = [
            Passage.from_chunk(
                index.chunks[i],
                score=fused[i],
                rank=r + 1,
                via="hit",
                dense_score=dense_scores.get(i),
                bm25_score=bm25_scores.get(i),
            )
            for r, i in enumerate(ranked[:k])
        ]
        parties = sorted(found.named["parties"])
        if len(parties) >= 2:
            # parties compared: each one's own best passages join the candidates, found among its passages
            # alone, so no party is called silent because others used the question's words more
            for party in parties:
                lane = Filters(**(filters.model_dump() if filters is not None else {}) | {"parties": [party]})
                hits += self._lane_hits(index, query, lane, {p.chunk_id for p in hits}, found.query_vector)
        years = sorted(set(YEAR_RE.findall(query)))
        dated = filters is not None and bool(filters.date_from or filters.date_to)
        if years and not dated and not any(p.date[:4] in years or any(y in p.text for y in years) for p in hits):
            # a year the question pins down that no hit is of: the best passages dated that year join
            lane = Filters(
                **(filters.model_dump() if filters is not None else {})
                | {"date_from": f"{years[0]}-01-01", "date_to": f"{years[-1]}-12-31"}
            )
            hits += self._lane_hits(index, query, lane, {p.chunk_id for p in hits}, found.query_vector)
        self.last_timings_ms = timings
        if cfg.bring_linked:
            hits += self.linked_passages(hits, filters, index=index)
        return hits

    def fuse(
        self,
        index: LoadedIndex,
        query: str,
        filters: Filters | None,
        mode: str,
        timings: dict[str, float],
        vector: np.ndarray | None = None,
    ) -> Candidates:
        """Dense search and BM25 fused by reciprocal rank, procedural turns down-weighted and passages
        of a party, speaker or office the question names boosted; sets ``last_query_vector``.
        ``vector``: the question's vector when it is already embedded."""
        cfg = self.settings.retrieval
        dense: list[tuple[int, float]] = []
        sparse: list[tuple[int, float]] = []
        self.last_query_vector = None
        if mode in ("hybrid", "dense"):
            t0 = time.perf_counter()
            vector = self.embedder.embed_query(query) if vector is None else vector
            self.last_query_vector = vector
            timings["embed_ms"] = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            dense = index.dense_search(vector, cfg.candidates, filters)
            timings["dense_ms"] = (time.perf_counter() - t0) * 1000
        if mode in ("hybrid", "bm25"):
            t0 = time.perf_counter()
            sparse = index.bm25_search(bm25_query(query), cfg.candidates, filters)
            timings["bm25_ms"] = (time.perf_counter() - t0) * 1000

        fused = reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in sparse]], cfg.rrf_k)
        named = mentions(query, self.surnames(index))
        for i in fused:
            chunk = index.chunks[i]
            if chunk.procedural:
                fused[i] *= cfg.procedural_weight
            if (
                chunk.party.lower() in named["parties"]
                or chunk.surname.lower() in named["surnames"]
                or chunk.role in named["roles"]
            ):
                fused[i] *= 1.0 + MENTION_BOOST
        return Candidates(
            order=sorted(fused, key=lambda i: (-fused[i], i)), fused=fused, dense=dict(dense), bm25=dict(sparse),
            query_vector=vector if mode in ("hybrid", "dense") else None,
            named=named, dense_rank={i: r for r, (i, _) in enumerate(dense)},
            bm25_rank={i: r for r, (i, _) in enumerate(sparse)},
        )  # fmt: skip

    def learned_order(self, index: LoadedIndex, query: str, found: Candidates) -> list[int]:
        """``found.order`` reordered by the passage ranker; ``found.fused`` takes its scores (log-odds)."""
        finder, sentences = self.ranking_aids(index)
        rows = passage_features(finder, finder.profile(query), found.query_vector, sentences, found)
        scores = self.passage_ranker.scores(rows)
        order = sorted(range(len(found.order)), key=lambda j: (-scores[j], j))
        ranked = [found.order[j] for j in order]
        found.fused.update({found.order[j]: float(scores[j]) for j in order})
        return ranked

    def _lane_hits(
        self, index: LoadedIndex, query: str, lane: Filters, seen: set[str], vector: np.ndarray | None
    ) -> list[Passage]:
        """The best LANE_HITS passages among those ``lane`` lets through, ordered as the hits are, ranked
        after ``seen`` (the hits so far)."""
        found = self.fuse(index, query, lane, "hybrid" if vector is not None else "bm25", {}, vector=vector)
        ranked = found.order
        if self.passage_ranker is not None and ranked and found.query_vector is not None:
            ranked = self.learned_order(index, query, found)
        ranked = [i for i in ranked if index.chunks[i].chunk_id not in seen]
        return [
            Passage.from_chunk(
                index.chunks[i], score=found.fused[i], rank=len(seen) + r + 1, via="hit",
                dense_score=found.dense.get(i), bm25_score=found.bm25.get(i),
            )
            for r, i in enumerate(ranked[:LANE_HITS])
        ]  # fmt: skip

    def linked_passages(
        self, hits: list[Passage], filters: Filters | None = None, *, index: LoadedIndex | None = None
    ) -> list[Passage]:
        """For each hit: the question it answers / interruption it replies to, and the answers to it."""
        index = self.index.current if index is None else index
        seen = {p.chunk_id for p in hits}
        linked: list[Passage] = []
        for hit in hits:
            targets = list(hit.replies_to) + index.answered_by.get((hit.doc_id, hit.turn_index), [])
            for turn_index in targets:
                for chunk in index.turn_chunks(hit.doc_id, turn_index)[:2]:
                    if chunk.chunk_id not in seen:
                        seen.add(chunk.chunk_id)
                        linked.append(
                            Passage.from_chunk(chunk, score=0.0, rank=0, via="linked", linked_from=hit.chunk_id)
                        )
        return linked

    def facets(self) -> dict:
        chunks = self.index.current.chunks
        documents: dict[str, dict] = {}
        for c in chunks:
            documents.setdefault(
                c.doc_id, {"doc_id": c.doc_id, "source_file": c.source_file, "title": c.doc_title, "date": c.date}
            )
        dates = sorted(c.date for c in chunks if c.date)
        return {
            "parties": sorted({c.party for c in chunks if c.party}),
            "speakers": sorted({c.surname for c in chunks if c.surname}),
            "documents": sorted(documents.values(), key=lambda d: d["date"]),
            "date_min": dates[0] if dates else "",
            "date_max": dates[-1] if dates else "",
        }


def retrieve(
    query: str,
    *,
    filters: Filters | None = None,
    k: int | None = None,
    settings: Settings | None = None,
    retriever: Retriever | None = None,
) -> list[Passage]:
    retriever = retriever or Retriever(settings)
    return retriever.retrieve(query, filters=filters, k=k)
