"""Search over one loaded index generation: dense nearest neighbours (Chroma), BM25 scores
(bm25s) and catalogue-side metadata filters."""

from __future__ import annotations

import math

import numpy as np

from kamerbron.records import Chunk, Filters
from kamerbron.store import StoredIndex, sentence_key

# Filtered dense search (see LoadedIndex.dense_search): nearest neighbours fetched per wanted hit,
# relative to the share of chunks that pass the filter, and the most fetched before searching
# only the passing chunks instead. Chosen on the 100x synthetic corpus of `make bench`: 3x
# oversampling filled n hits for every filter tried; above 1000 fetched, an id-restricted query is faster.
DENSE_OVERSAMPLE = 3
DENSE_MAX_FETCH = 1000



class LoadedIndex:
    """One generation, ready to query: dense search, BM25 search and the chunk catalogue."""

    def __init__(self, stored: StoredIndex):
        self.state = stored.state
        self.chunks = chunks = stored.chunks
        self.collection = stored.collection
        self.bm25 = stored.bm25
        self.analyzer = stored.analyzer
        self.sentence_vectors = stored.sentence_vectors
        self._df: np.ndarray | None = None
        self.position = {c.chunk_id: i for i, c in enumerate(chunks)}
        self.by_turn: dict[tuple[str, int], list[int]] = {}
        self.answered_by: dict[tuple[str, int], list[int]] = {}
        for i, c in enumerate(chunks):
            self.by_turn.setdefault((c.doc_id, c.turn_index), []).append(i)
            if c.part == 0:
                for target in c.replies_to:
                    self.answered_by.setdefault((c.doc_id, target), []).append(c.turn_index)
        # column arrays so a filter mask over hundreds of thousands of chunks is a few vector ops
        self._cols = {
            "doc_id": np.array([c.doc_id for c in chunks]),
            "source_file": np.array([c.source_file for c in chunks]),
            "doc_type": np.array([c.doc_type for c in chunks]),
            "party_lc": np.array([c.party.lower() for c in chunks]),
            "surname_lc": np.array([c.surname.lower() for c in chunks]),
            "role": np.array([c.role for c in chunks]),
            "date_int": np.array([int(c.date.replace("-", "") or 0) for c in chunks]),
        }

    def __len__(self) -> int:
        return len(self.chunks)

    # -- filters

    def filter_mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty():
            return None
        cols = self._cols
        mask = np.ones(len(self.chunks), dtype=bool)
        if filters.doc_ids:
            wanted = [d.removesuffix(".txt") for d in filters.doc_ids]
            mask &= np.isin(cols["doc_id"], wanted) | np.isin(cols["source_file"], filters.doc_ids)
        if filters.doc_types:
            mask &= np.isin(cols["doc_type"], filters.doc_types)
        if filters.parties:
            mask &= np.isin(cols["party_lc"], [p.lower() for p in filters.parties])
        if filters.speakers:
            mask &= np.isin(cols["surname_lc"], [s.lower() for s in filters.speakers])
        if filters.roles:
            mask &= np.isin(cols["role"], filters.roles)
        if filters.date_from:
            mask &= cols["date_int"] >= int(filters.date_from.replace("-", ""))
        if filters.date_to:
            mask &= cols["date_int"] <= int(filters.date_to.replace("-", ""))
        return mask

    # -- searches

    def dense_search(self, query_vector: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(catalogue position, cosine similarity), best first.

        Filters are applied on the catalogue, not as a Chroma where-filter: Chroma evaluates that
        over every chunk (150 ms for a date range at 50,000 chunks). A broad filter takes more
        nearest neighbours and keeps those that pass; a narrow one searches only the chunks that pass.
        """
        mask = self.filter_mask(filters)
        total = len(self.chunks)
        available = int(mask.sum()) if mask is not None else total
        if available == 0:
            return []
        n = min(n, available)
        if mask is None:
            return self._nearest(query_vector, n)
        fetch = min(total, math.ceil(n * total / available * DENSE_OVERSAMPLE))
        if fetch <= DENSE_MAX_FETCH:
            hits = [(i, s) for i, s in self._nearest(query_vector, fetch) if mask[i]]
            if len(hits) >= n or fetch == total:
                return hits[:n]
        allowed = [self.chunks[i].chunk_id for i in np.flatnonzero(mask)]
        return self._nearest(query_vector, n, ids=allowed)

    def _nearest(self, query_vector: np.ndarray, n: int, ids: list[str] | None = None) -> list[tuple[int, float]]:
        # Straight to the collection for ids and distances only: llama-index's query also fetches
        # and parses every hit's document and metadata, 85% of the query's time.
        result = self.collection.query(
            query_embeddings=[np.asarray(query_vector, dtype=np.float32).tolist()], n_results=n, ids=ids,
            include=["distances"],
        )
        hits = []
        for node_id, distance in zip(result["ids"][0], result["distances"][0]):
            position = self.position.get(node_id)
            if position is not None:
                hits.append((position, 1.0 - float(distance)))  # cosine space: distance = 1 - similarity
        return hits

    def bm25_search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(catalogue position, BM25 score), best first; only chunks holding a query term."""
        vocab = self._vocab
        token_ids = [vocab[t] for t in self.analyzer.tokens(query) if t in vocab]
        if not token_ids or not len(self.chunks):
            return []
        scores = self.bm25.get_scores(token_ids)
        # the top n among the chunks that score (and pass the filter): bm25s's own top-k with a
        # weight mask partitions the whole corpus, mostly zeros, which costs 8 ms at 50,000 chunks
        found = np.flatnonzero(scores > 0)
        mask = self.filter_mask(filters)
        if mask is not None:
            found = found[mask[found]]
        if len(found) > n:
            found = found[np.argpartition(-scores[found], n - 1)[:n]]
        found = found[np.lexsort((found, -scores[found]))]
        return [(int(i), float(scores[i])) for i in found]

    @property
    def _vocab(self) -> dict:
        return self.bm25.vocab_dict

    def idf(self, token: str) -> float | None:
        """Inverse document frequency of an analysed token over the whole index; None when unseen."""
        if self._df is None:
            self._df = np.diff(self.bm25.scores["indptr"])
        tid = self._vocab.get(token)
        if tid is None or tid >= len(self._df):
            return None
        n, df = len(self.chunks), float(self._df[tid])
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def max_idf(self) -> float:
        n = len(self.chunks)
        return float(np.log(1.0 + (n + 0.5) / 0.5))

    # -- catalogue

    def sentence_vector(self, sentence: str) -> np.ndarray | None:
        """The stored vector of one passage sentence (as split by ``split_sentences``), or None."""
        return self.sentence_vectors.get(sentence_key(sentence))

    def turn_chunks(self, doc_id: str, turn_index: int) -> list[Chunk]:
        return [self.chunks[i] for i in self.by_turn.get((doc_id, turn_index), [])]


