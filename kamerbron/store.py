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

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import chromadb
import numpy as np
from chromadb.config import Settings as ChromaConfig
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.vector_stores.chroma import ChromaVectorStore

from kamerbron.analyzer import ANALYZER_VERSION, Analyzer, build_bm25
from kamerbron.errors import ChromaUnreachableError, IndexMissingError
from kamerbron.fingerprint import collection_name, index_shape
from kamerbron.records import Chunk
from kamerbron.settings import Settings
from kamerbron.text import split_sentences

log = logging.getLogger(__name__)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Chunk fields stored as Chroma metadata (scalars only); replies_to is stored as JSON text.
_META_FIELDS = (
    "doc_id", "source_file", "turn_index", "part", "n_parts", "speaker", "surname", "party", "role", "section",
    "procedural", "doc_type", "doc_title", "date", "url", "status", "dossier", "number", "content_hash",
)
# Chunks written to Chroma at once: all at once, their vectors as Python floats took 12 KiB a chunk
# (build peak 1.85 GiB at 100x); 2000 kept the peak under 1 GiB without slowing the build.
WRITE_BATCH = 2000
# Chunks read from Chroma per request when paging through a collection (Chroma's own default page).
PAGE_SIZE = 5000


# ---------------------------------------------------------------- Chroma access


def chroma_client(settings: Settings):
    """The Chroma client: the server in settings.chroma, or the embedded store under paths.index_dir.

    Raises ChromaUnreachableError naming host:port and how to start a server when it does not answer.
    """
    config = ChromaConfig(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma.host:
        host, port = settings.chroma.host, settings.chroma.port
        try:
            return chromadb.HttpClient(host=host, port=port, ssl=settings.chroma.ssl, settings=config)
        except ValueError as error:  # chromadb's own wording for a refused or failed connection
            raise ChromaUnreachableError(
                f"Cannot reach the Chroma server at {host}:{port} ({error}). Start one with "
                f"`chroma run --path data/chroma --host {host} --port {port}`, correct KAMERBRON_CHROMA_HOST "
                "and KAMERBRON_CHROMA_PORT, or unset KAMERBRON_CHROMA_HOST to use the embedded store."
            ) from None
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


SENTENCES_SUFFIX = "_sentences"


def sentence_key(sentence: str) -> str:
    """Stable id of a passage sentence: the same sentence text always has the same vector."""
    return hashlib.sha256(sentence.encode("utf-8")).hexdigest()[:24]


def chunk_sentences(chunks: list[Chunk]) -> dict[str, str]:
    """The unique sentences of the chunks' passages, by ``sentence_key``."""
    return {sentence_key(s): s for c in chunks for s in split_sentences(c.text)}


def page_through(collection, include: list[str]) -> Iterator[tuple[str, dict, object, object]]:
    """(id, metadata, document, embedding) of every record in a collection, a page at a time."""
    for offset in range(0, collection.count(), PAGE_SIZE):
        got = collection.get(include=include, limit=PAGE_SIZE, offset=offset)
        n = len(got["ids"])
        documents = got.get("documents") if "documents" in include else None
        embeddings = got.get("embeddings") if "embeddings" in include else None
        for i in range(n):
            yield (
                got["ids"][i],
                got["metadatas"][i] if got.get("metadatas") is not None else {},
                documents[i] if documents is not None else None,
                embeddings[i] if embeddings is not None else None,
            )


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


def _save_bm25(bm25, folder: Path) -> None:
    """Save aside and swap, so a reader never sees half an index."""
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    bm25.save(str(tmp), show_progress=False)
    (tmp / "analyzer_version").write_text(ANALYZER_VERSION)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


@dataclass
class StoredIndex:
    """One generation as read from the store: its state, chunk catalogue, BM25 index and collection."""

    state: IndexState
    chunks: list[Chunk]
    bm25: object
    analyzer: Analyzer
    collection: object
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.chunks)




class IndexStore:
    """Reads and writes the generations of one index shape."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.client = client if client is not None else chroma_client(settings)
        self.base = collection_name(settings)
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

    def load(self) -> StoredIndex:
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
        return StoredIndex(
            state, chunks, bm25, analyzer, self.client.get_collection(state.generation),
            self.stored_sentence_vectors(state, None),
        )

    def _chunks_from_chroma(self, generation: str) -> list[Chunk]:
        collection = self.client.get_collection(generation)
        chunks = [
            metadata_to_chunk(cid, text, meta)
            for cid, meta, text, _ in page_through(collection, ["documents", "metadatas"])
        ]
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
            for _, meta, _, vector in page_through(collection, ["embeddings", "metadatas"]):
                h = meta.get("content_hash")
                if h in wanted:
                    found[h] = np.asarray(vector, dtype=np.float32)
                    wanted.discard(h)
        return found

    def has_sentences(self, state: IndexState) -> bool:
        """Whether a generation has its sentence vectors (generations built before them do not)."""
        try:
            self.client.get_collection(state.generation + SENTENCES_SUFFIX)
        except Exception:  # chromadb raises its own NotFound types, which differ across versions
            return False
        return True

    def stored_sentence_vectors(self, state: IndexState | None, keys: set[str] | None) -> dict[str, np.ndarray]:
        """Sentence vectors by ``sentence_key`` from the generations with this embedding (all when
        ``keys`` is None): an unchanged sentence is never embedded twice."""
        wanted = None if keys is None else set(keys)
        found: dict[str, np.ndarray] = {}
        generations = [state.generation] if (keys is None and state) else self._generations_with_same_embedding(state)
        for generation in generations:
            if wanted is not None and not wanted:
                break
            try:
                collection = self.client.get_collection(generation + SENTENCES_SUFFIX)
            except Exception:  # a generation built before sentence vectors existed has none
                continue
            for key, _, _, vector in page_through(collection, ["embeddings"]):
                if wanted is None or key in wanted:
                    found[key] = np.asarray(vector, dtype=np.float32)
                    if wanted is not None:
                        wanted.discard(key)
        return found

    def _generations_with_same_embedding(self, state: IndexState | None) -> list[str]:
        keys = ("embedding_backend", "embedding_model", "embedding_dim", "passage_prefix")
        mine = {k: index_shape(self.settings).get(k) for k in keys}
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

    def write_generation(
        self,
        chunks: list[Chunk],
        vectors: np.ndarray,
        files: dict[str, dict],
        sentence_vectors: dict[str, np.ndarray] | None = None,
    ) -> IndexState:
        """Write a complete new generation aside, then switch the pointer to it."""
        previous = self.current_state()
        number = int(previous.generation.rsplit("_g", 1)[1]) + 1 if previous else 1
        generation = f"{self.base}_g{number}"
        self._drop_generation(generation)  # leftovers of a build that was killed midway
        collection = self.client.create_collection(generation, metadata={"hnsw:space": "cosine"})
        store = ChromaVectorStore(chroma_collection=collection)
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

        if sentence_vectors:
            sentences = self.client.create_collection(generation + SENTENCES_SUFFIX, metadata={"hnsw:space": "cosine"})
            keys = sorted(sentence_vectors)
            for start in range(0, len(keys), WRITE_BATCH):
                batch = keys[start : start + WRITE_BATCH]
                sentences.add(ids=batch, embeddings=np.stack([sentence_vectors[k] for k in batch]))

        state = IndexState(generation=generation, files=files, built_at=time.time(), shape=index_shape(self.settings))
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
        for name in (generation, generation + SENTENCES_SUFFIX):
            try:
                self.client.delete_collection(name)
            except Exception:  # already gone: nothing to drop
                pass
        if self.embedded:
            shutil.rmtree(self._generation_dir(generation), ignore_errors=True)
            shutil.rmtree(self._generation_dir(generation + ".tmp"), ignore_errors=True)

    def _prune(self, keep: set[str]) -> None:
        prefix = f"{self.base}_g"
        for collection in self.client.list_collections():
            name = collection if isinstance(collection, str) else collection.name
            if name.startswith(prefix) and name.removesuffix(SENTENCES_SUFFIX) not in keep:
                self._drop_generation(name)
