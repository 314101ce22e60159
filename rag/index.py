"""Search over one loaded index generation: exact dense nearest neighbours (over the chunk vectors
held in memory), BM25 scores (bm25s) and catalogue-side metadata filters; and the generation a
long-running reader serves, following the index across builds (:class:`LiveIndex`)."""

from __future__ import annotations

import logging
import re
import threading
import time
from functools import cached_property

import numpy as np

from kamerbron.errors import GenerationGoneError, KamerbronError
from kamerbron.records import Chunk, Filters
from kamerbron.store import IndexStore, StoredIndex, sentence_key
from kamerbron.text import YEAR_RE

log = logging.getLogger(__name__)

# How often a long-running reader looks at the pointer for a newer generation, in seconds. A look is
# one small Chroma read; a build is served within this time (plus its loading) after it finishes.
POINTER_CHECK_S = 5.0


_LETTERS = re.compile(r"[^\W\d_]+")


class LoadedIndex:
    """One generation, ready to query: dense search, BM25 search and the chunk catalogue."""

    def __init__(self, stored: StoredIndex):
        self.stored = stored
        self.state = stored.state
        self.chunks = chunks = stored.chunks
        self.collection = stored.collection
        self.bm25 = stored.bm25
        self.analyzer = stored.analyzer
        self.vectors = stored.vectors
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
        """(catalogue position, cosine similarity) of the ``n`` nearest chunks that pass ``filters``,
        best first; equal similarities in catalogue order.

        Exact: one product with the chunk vectors held in memory. Chroma's HNSW graph is approximate
        and built anew in each process, so the tail of its top 40 differed between two processes
        serving the same index, and with it the passage scores and the answer (measured on the
        evaluation set: 3 runs of 6). At 52,600 chunks the product and partial sort take 4.3 ms
        (docs/benchmark.md).
        """
        if n <= 0 or len(self.chunks) == 0:
            return []
        query = np.asarray(query_vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        scores = self.vectors @ (query / norm if norm > 0 else query)
        mask = self.filter_mask(filters)
        allowed = np.flatnonzero(mask) if mask is not None else np.arange(len(scores))
        if len(allowed) == 0:
            return []
        candidate = scores[allowed]
        if len(candidate) > n:  # the n best, then sorted: not a sort of every chunk
            keep = np.argpartition(-candidate, n - 1)[:n]
            threshold = candidate[keep].min()
            keep = np.flatnonzero(candidate >= threshold)  # ties at the edge stay, then cut in order
            allowed, candidate = allowed[keep], candidate[keep]
        order = np.lexsort((allowed, -candidate))[:n]
        return [(int(allowed[i]), float(candidate[i])) for i in order]

    def bm25_search(self, query: str, n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """(catalogue position, BM25 score), best first; only chunks holding a query term."""
        vocab = self._vocab
        token_ids = [vocab[t] for t in self.analyzer.query_tokens(query) if t in vocab]
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

    @cached_property
    def words(self) -> tuple[str, ...]:
        """Every word (lower case, letters only) of the documents, their speakers and titles, sorted."""
        found: set[str] = set()
        for c in self.chunks:
            found.update(_LETTERS.findall(f"{c.text} {c.speaker} {c.doc_title} {c.section}".lower()))
        return tuple(sorted(found))

    @cached_property
    def document_periods(self) -> dict[str, frozenset[str]]:
        """Per document, the years it belongs to by what its text names: the year named most and the
        years on either side (a written consultation of the session 2013-2014 talks mostly about 2014).
        What an undated document's date stands in for."""
        counts: dict[str, dict[int, int]] = {}
        for c in self.chunks:
            per_doc = counts.setdefault(c.doc_id, {})
            for year in YEAR_RE.findall(c.text):
                per_doc[int(year)] = per_doc.get(int(year), 0) + 1
        periods = {}
        for doc, years in counts.items():
            if years:
                mode = max(years, key=lambda y: (years[y], y))
                periods[doc] = frozenset(str(y) for y in (mode - 1, mode, mode + 1))
        return periods

    def sentence_vector(self, sentence: str) -> np.ndarray | None:
        """The stored vector of one passage sentence (as split by ``split_sentences``), or None."""
        return self.sentence_vectors.get(sentence_key(sentence))

    def turn_chunks(self, doc_id: str, turn_index: int) -> list[Chunk]:
        return [self.chunks[i] for i in self.by_turn.get((doc_id, turn_index), [])]


class LiveIndex:
    """The generation a long-running reader (the app) serves, following the index's pointer.

    Reads like a LoadedIndex: every attribute is that of the generation served now. ``refresh``
    looks at the pointer at most every ``check_s`` seconds; when it names a newer generation, that
    one is loaded aside in a thread while the served one keeps answering, then swapped in (one
    assignment, so a question is answered from one generation). ``reopen`` loads the pointer's
    generation at once, for when a later build has pruned the one served. Without a store (an index
    handed in) it serves that index only.
    """

    def __init__(self, index: LoadedIndex, store: IndexStore | None = None, *, check_s: float = POINTER_CHECK_S):
        self._current = index
        self._store = store
        self.check_s = check_s
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        self._reopen_lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._failed = ""  # a generation that could not be loaded: not tried again until the pointer moves
        self._pointer_error = ""  # logged once, not at every look

    def __getattr__(self, name: str):
        if name.startswith("__") or "_current" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_current"], name)

    def __len__(self) -> int:
        return len(self._current)

    @property
    def current(self) -> LoadedIndex:
        """The generation served now; hold on to it for the whole of one question."""
        return self._current

    @property
    def generation(self) -> str:
        return self._current.state.generation

    def refresh(self) -> None:
        """Start loading the pointer's generation aside when it is newer than the one served."""
        if self._store is None:
            return
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.check_s or (self._loading is not None and self._loading.is_alive()):
                return
            self._checked = now
        try:
            state = self._store.current_state()
        except KamerbronError as error:
            if str(error) != self._pointer_error:
                log.warning("index pointer unreadable; still serving %s: %s", self.generation, error)
                self._pointer_error = str(error)
            return
        self._pointer_error = ""
        if state is None or state.generation in (self.generation, self._failed):
            return
        thread = threading.Thread(target=self._load_aside, args=(state.generation,), name="index-load", daemon=True)
        with self._lock:
            if self._loading is not None and self._loading.is_alive():
                return
            self._loading = thread
        thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a generation being loaded aside (tests, and a clean shutdown)."""
        loading = self._loading
        if loading is not None:
            loading.join(timeout)

    def _load_aside(self, generation: str) -> None:
        try:
            self._swap(LoadedIndex(self._store.load()))
        except KamerbronError as error:
            self._failed = generation
            log.error(
                "index generation %s could not be loaded; still serving %s: %s", generation, self.generation, error
            )

    def _swap(self, index: LoadedIndex) -> None:
        with self._lock:
            # never back: a generation loaded aside may finish after a newer one was reopened
            if index.state.number <= self._current.state.number:
                return
            served = self.generation
            self._current = index
        log.info("index generation %s served (was %s)", index.state.generation, served)

    def reopen(self, gone: str) -> LoadedIndex:
        """The pointer's generation, loaded now because ``gone`` has left the store.

        Raises GenerationGoneError without a store, and the store's errors when the index cannot be read.
        """
        if self._store is None:
            raise GenerationGoneError(
                f"Index generation {gone} is no longer in the store; restart to load the new one."
            )
        with self._reopen_lock:
            if self.generation != gone:  # another question reopened it meanwhile
                return self._current
            log.warning("index generation %s was pruned while served; loading the current one now", gone)
            index = LoadedIndex(self._store.load())
            self._swap(index)
            return index

    def check(self) -> str:
        """The generation served, once it answers (reopened if it was pruned); raises when none can."""
        self.refresh()
        served = self._current
        try:
            served.stored.count()
        except GenerationGoneError:
            served = self.reopen(served.state.generation)
            served.stored.count()
        return served.state.generation
