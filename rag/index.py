"""The index: a Chroma collection of chunk vectors (written through llama-index's Chroma vector
store, queried on the collection directly for ids and distances), a BM25 index (bm25s, Dutch
Snowball stemmer and stopwords) and a catalogue of the chunks. Filters are applied on the catalogue.

Layout. Every build writes a new *generation*: a fresh Chroma collection
``kamerbron_<index hash>_g<N>`` plus, for the embedded store, a folder ``<index_dir>/<same name>/``
with the BM25 index and ``catalogue.jsonl``. Only when the generation is complete does a small
pointer collection ``kamerbron_<index hash>`` get its metadata switched to it, so a build that fails
or is killed leaves the previous generation intact and queryable. With a Chroma server the BM25
index is rebuilt from the documents in Chroma, so every app instance reads one shared index.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.records import Chunk
from rag.errors import IndexMissingError
from rag.records import Filters
from rag.settings import Settings

log = logging.getLogger(__name__)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Chunk fields stored as Chroma metadata (scalars only); replies_to is stored as JSON text.
_META_FIELDS = (
    "doc_id", "source_file", "turn_index", "part", "n_parts", "speaker", "surname", "party", "role", "section",
    "procedural", "doc_type", "doc_title", "date", "url", "dossier", "number", "content_hash",
)
# Bump when tokenising, stopwords or stemming change: a stored BM25 index of another version is
# rebuilt from the catalogue at load (cheap), instead of re-embedding everything.
ANALYZER_VERSION = "4"
# Filtered dense search (see LoadedIndex.dense_search): nearest neighbours fetched per wanted hit,
# relative to the share of chunks that pass the filter, and the most fetched before searching
# only the passing chunks instead.
DENSE_OVERSAMPLE = 3
DENSE_MAX_FETCH = 1000
WRITE_BATCH = 2000  # chunks written to Chroma at once


# ---------------------------------------------------------------- BM25 text processing

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("dutch")


def _stopwords() -> set[str]:
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN_PLUS

    return set(STOPWORDS_DUTCH) | set(STOPWORDS_EN_PLUS)


class Analyzer:
    """Lower-case, drop Dutch and English stopwords, Dutch Snowball stem, and split compounds.

    Dutch writes compounds as one word ("taaleis", "arbeidsuitbuiting"), so a question about a
    "taaltoets" shares no token with a passage about a "taaleis". Once a ``vocabulary`` of stems is
    known, a word that splits into two parts whose stems are both in it also yields those parts
    (the whole word stays too): "taaleis" -> taaleis, tal, eis. A word the corpus never uses yields
    its longest known head: "taaltoets" -> taaltoet, tal.
    """

    MIN_COMPOUND = 7
    MIN_LEFT, MIN_RIGHT = 4, 4
    LINKS = ("", "s", "e", "en")

    def __init__(self, vocabulary: set[str] | None = None):
        self._stem_many = _stemmer().stemWords
        self._stop = _stopwords()
        self.vocabulary = vocabulary
        self._splits: dict[str, list[str]] = {}

    def words(self, text: str) -> list[str]:
        return [w for w in _TOKEN.findall(text.lower()) if w not in self._stop]

    def stems(self, text: str) -> list[str]:
        """Stems of the words only, without compound parts."""
        return self._stem_many(self.words(text))

    def tokens(self, text: str) -> list[str]:
        words = self.words(text)
        stems = self._stem_many(words)
        if not self.vocabulary:
            return stems
        out: list[str] = []
        for word, stem in zip(words, stems):
            out.append(stem)
            out.extend(self.compound_parts(word))
        return out

    def compound_parts(self, word: str) -> list[str]:
        """Stems of the two known parts of a compound word, or [] (cached per word)."""
        if word in self._splits:
            return self._splits[word]
        parts: list[str] = []
        if len(word) >= self.MIN_COMPOUND and word.isalpha() and self.vocabulary:
            best = 0
            for i in range(self.MIN_LEFT, len(word) - self.MIN_RIGHT + 1):
                left = word[:i]
                for link in self.LINKS:
                    if link and not word[i:].startswith(link):
                        continue
                    right = word[i + len(link):]
                    if len(right) < self.MIN_RIGHT:
                        continue
                    left_stem, right_stem = self._stem_many([left, right])
                    if left_stem in self.vocabulary and right_stem in self.vocabulary and min(len(left), len(right)) > best:
                        best, parts = min(len(left), len(right)), [left_stem, right_stem]
            if not parts and self._stem_many([word])[0] not in self.vocabulary:
                # a word the corpus never uses (only in questions): its longest known head still counts
                heads = [self._stem_many([word[:i]])[0] for i in range(len(word) - self.MIN_RIGHT, self.MIN_LEFT - 1, -1)]
                parts = next(([h] for h in heads if h in self.vocabulary), [])
        if len(self._splits) < 200_000:
            self._splits[word] = parts
        return parts


# ---------------------------------------------------------------- Chroma access


def chroma_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaConfig

    config = ChromaConfig(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma.host:
        return chromadb.HttpClient(
            host=settings.chroma.host, port=settings.chroma.port, ssl=settings.chroma.ssl, settings=config
        )
    path = Path(settings.paths.index_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=config)


def chunk_to_metadata(chunk: Chunk) -> dict:
    meta = {name: getattr(chunk, name) for name in _META_FIELDS}
    # Chroma stores and indexes every string value: the passage is already the document, so only
    # the context header in front of it is kept (the full embed_text doubled the index size).
    if chunk.embed_text.endswith(chunk.text):
        meta["embed_header"] = chunk.embed_text[: len(chunk.embed_text) - len(chunk.text)]
    else:
        meta["embed_text"] = chunk.embed_text
    meta["replies_to"] = json.dumps(chunk.replies_to)
    # lower-cased copies and a numeric date make Chroma's where-filters exact and case-insensitive
    meta["party_lc"] = chunk.party.lower()
    meta["surname_lc"] = chunk.surname.lower()
    meta["date_int"] = int(chunk.date.replace("-", "") or 0)
    return meta


def metadata_to_chunk(chunk_id: str, text: str, meta: dict) -> Chunk:
    fields = {name: meta[name] for name in _META_FIELDS if name in meta}
    fields["embed_text"] = meta["embed_text"] if "embed_text" in meta else meta.get("embed_header", "") + text
    fields["replies_to"] = json.loads(meta.get("replies_to") or "[]")
    return Chunk(chunk_id=chunk_id, text=text, **fields)


@dataclass
class IndexState:
    """What one generation holds: per source file, its content hash and chunk count."""

    generation: str
    files: dict[str, dict] = field(default_factory=dict)
    built_at: float = 0.0
    shape: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "IndexState":
        return cls(**json.loads(text))


# ---------------------------------------------------------------- the loaded index


class LoadedIndex:
    """One generation, ready to query: dense search, BM25 search and the chunk catalogue."""

    def __init__(self, settings: Settings, client, state: IndexState, chunks: list[Chunk], bm25, analyzer: Analyzer):
        self.settings = settings
        self.state = state
        self.chunks = chunks
        self.collection = client.get_collection(state.generation)
        self.bm25 = bm25
        self.analyzer = analyzer
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

    def turn_chunks(self, doc_id: str, turn_index: int) -> list[Chunk]:
        return [self.chunks[i] for i in self.by_turn.get((doc_id, turn_index), [])]


def build_bm25(chunks: list[Chunk], analyzer: Analyzer):
    """A BM25 index of the chunks' embedded text; sets ``analyzer.vocabulary`` from the corpus first."""
    import bm25s

    retriever = bm25s.BM25()
    analyzer.vocabulary = None
    analyzer.vocabulary = {stem for c in chunks for stem in analyzer.stems(c.embed_text)}
    corpus_tokens = [analyzer.tokens(c.embed_text) for c in chunks]
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus_tokens]
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return retriever


def _save_bm25(bm25, folder: Path) -> None:
    """Save aside and swap, so a reader never sees half an index."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    bm25.save(str(tmp), show_progress=False)
    (tmp / "analyzer_version").write_text(ANALYZER_VERSION)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


# ---------------------------------------------------------------- the store


class IndexStore:
    """Reads and writes the generations of one index shape."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.client = client if client is not None else chroma_client(settings)
        self.base = settings.collection_name()
        self.embedded = not settings.chroma.host

    # -- pointer

    def _pointer(self, create: bool = False):
        if create:
            return self.client.get_or_create_collection(self.base, metadata={"kind": "pointer"})
        try:
            return self.client.get_collection(self.base)
        except Exception:
            return None

    def current_state(self) -> IndexState | None:
        pointer = self._pointer()
        meta = (pointer.metadata or {}) if pointer is not None else {}
        if not meta.get("state"):
            return None
        return IndexState.from_json(meta["state"])

    def _generation_dir(self, generation: str) -> Path:
        return Path(self.settings.paths.index_dir) / generation

    # -- reading

    def load(self) -> LoadedIndex:
        state = self.current_state()
        if state is None:
            where = self.settings.chroma.host or self.settings.paths.index_dir
            raise IndexMissingError(
                f"No index for these settings (collection {self.base}) at {where}. "
                "Build it with `python -m ingest build` (or `make index`)."
            )
        analyzer = Analyzer()
        folder = self._generation_dir(state.generation)
        if self.embedded and (folder / "catalogue.jsonl").exists():
            import bm25s

            with open(folder / "catalogue.jsonl", encoding="utf-8") as fh:
                chunks = [Chunk.model_validate_json(line) for line in fh]
            version_file = folder / "bm25" / "analyzer_version"
            if version_file.exists() and version_file.read_text().strip() == ANALYZER_VERSION:
                bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
                analyzer.vocabulary = set(bm25.vocab_dict)
            else:
                bm25 = build_bm25(chunks, analyzer)
                _save_bm25(bm25, folder / "bm25")
        else:
            chunks = self._chunks_from_chroma(state.generation)
            bm25 = build_bm25(chunks, analyzer)
        return LoadedIndex(self.settings, self.client, state, chunks, bm25, analyzer)

    def _chunks_from_chroma(self, generation: str, batch: int = 5000) -> list[Chunk]:
        collection = self.client.get_collection(generation)
        chunks: list[Chunk] = []
        total = collection.count()
        for offset in range(0, total, batch):
            got = collection.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                chunks.append(metadata_to_chunk(cid, text, meta))
        chunks.sort(key=lambda c: (c.source_file, c.turn_index, c.part))
        return chunks

    def stored_vectors(self, state: IndexState | None, content_hashes: set[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk content hash, so unchanged chunks are never re-embedded.

        Looks in the current generation first, then in the current generation of every other index
        built with the same embedding (another parser version or chunk size): a chunk whose embedded
        text is unchanged keeps its vector across such changes.
        """
        wanted = set(content_hashes)
        found: dict[str, np.ndarray] = {}
        for generation in self._generations_with_same_embedding(state):
            if not wanted:
                break
            collection = self.client.get_collection(generation)
            for offset in range(0, collection.count(), 5000):
                got = collection.get(include=["embeddings", "metadatas"], limit=5000, offset=offset)
                for vector, meta in zip(got["embeddings"], got["metadatas"]):
                    h = meta.get("content_hash")
                    if h in wanted:
                        found[h] = np.asarray(vector, dtype=np.float32)
                        wanted.discard(h)
        return found

    def _generations_with_same_embedding(self, state: IndexState | None) -> list[str]:
        keys = ("embedding_backend", "embedding_model", "embedding_dim", "passage_prefix")
        mine = {k: self.settings.index_shape().get(k) for k in keys}
        generations = [state.generation] if state else []
        for collection in self.client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if not name.startswith("kamerbron_") or "_g" in name or name == self.base:
                continue
            meta = self.client.get_collection(name).metadata or {}
            if meta.get("kind") != "pointer" or not meta.get("state"):
                continue
            other = IndexState.from_json(meta["state"])
            if {k: other.shape.get(k) for k in keys} == mine:
                generations.append(other.generation)
        return generations

    # -- writing

    def write_generation(self, chunks: list[Chunk], vectors: np.ndarray, files: dict[str, dict]) -> IndexState:
        """Write a complete new generation aside, then switch the pointer to it."""
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        previous = self.current_state()
        number = int(previous.generation.rsplit("_g", 1)[1]) + 1 if previous else 1
        generation = f"{self.base}_g{number}"
        self._drop_generation(generation)  # leftovers of a build that was killed midway
        collection = self.client.create_collection(generation, metadata={"hnsw:space": "cosine"})
        store = ChromaVectorStore(chroma_collection=collection)
        # nodes are made per batch: all at once, their vectors as Python floats took 12 KiB a chunk
        for start in range(0, len(chunks), WRITE_BATCH):
            nodes = []
            for chunk, vector in zip(chunks[start : start + WRITE_BATCH], vectors[start : start + WRITE_BATCH]):
                node = TextNode(
                    id_=chunk.chunk_id, text=chunk.text, metadata=chunk_to_metadata(chunk), embedding=vector.tolist()
                )
                # the source relationship makes llama-index store our doc_id as its ref_doc_id
                node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=chunk.doc_id)
                nodes.append(node)
            store.add(nodes)

        state = IndexState(generation=generation, files=files, built_at=time.time(), shape=self.settings.index_shape())
        if self.embedded:
            folder = self._generation_dir(generation)
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            with open(tmp / "catalogue.jsonl", "w", encoding="utf-8") as fh:
                for chunk in chunks:
                    fh.write(chunk.model_dump_json() + "\n")
            _save_bm25(build_bm25(chunks, Analyzer()), tmp / "bm25")
            shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)

        pointer = self._pointer(create=True)
        pointer.modify(metadata={"kind": "pointer", "state": state.to_json()})
        # the generation just replaced stays, so an app still reading it is not cut off
        self._prune(keep={generation, previous.generation if previous else ""})
        return state

    def _drop_generation(self, generation: str) -> None:
        try:
            self.client.delete_collection(generation)
        except Exception:
            pass
        if self.embedded:
            shutil.rmtree(self._generation_dir(generation), ignore_errors=True)
            shutil.rmtree(self._generation_dir(generation + ".tmp"), ignore_errors=True)

    def _prune(self, keep: set[str]) -> None:
        prefix = f"{self.base}_g"
        for collection in self.client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if name.startswith(prefix) and name not in keep:
                self._drop_generation(name)
