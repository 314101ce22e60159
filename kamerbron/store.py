"""The index: a Chroma collection of chunk vectors (each record the chunk's vector, its passage as
the document and its fields as scalar metadata; queried for ids and distances), a BM25 index (bm25s,
Dutch Snowball stemmer and stopwords) and a catalogue of the chunks. Filters are applied on the catalogue.

Layout. Every build writes a new *generation*: a fresh Chroma collection
``kamerbron_<index hash>_g<N>`` plus, for the embedded store, a folder ``<index_dir>/<same name>/``
with the BM25 index and ``catalogue.jsonl``. Only when the generation is complete does a small
pointer collection ``kamerbron_<index hash>`` get its metadata switched to it, so a build that fails
or is killed leaves the previous generation intact and queryable. With a Chroma server the BM25
index is rebuilt from the documents in Chroma, so every app instance reads one shared index.

A loaded generation holds its chunk vectors in memory (dense search is exact, see ``rag.index``), so
it keeps answering after a later build has pruned it from the store. A build keeps the generation it
replaced and prunes older ones; a reader that still serves a pruned generation gets
``GenerationGoneError`` from :meth:`StoredIndex.count` and reopens the index at the pointer
(``rag.index.LiveIndex``). A part that cannot be read (pointer, catalogue, BM25 index, a
generation the pointer names) raises ``IndexDamagedError`` naming it and the repair, ``python -m
ingest build --repair``; a Chroma server that stops answering midway raises ``ChromaUnreachableError``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import chromadb
import httpx
import numpy as np
from chromadb.config import Settings as ChromaConfig
from chromadb.errors import NotFoundError
from pydantic import ValidationError

from kamerbron.analyzer import ANALYZER_VERSION, Analyzer, build_bm25
from kamerbron.errors import ChromaUnreachableError, GenerationGoneError, IndexDamagedError, IndexMissingError
from kamerbron.fingerprint import collection_name, index_shape
from kamerbron.records import Chunk, validation_message
from kamerbron.settings import Settings
from kamerbron.text import split_sentences

log = logging.getLogger(__name__)

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# Chunk fields stored as Chroma metadata (scalars only); replies_to is stored as JSON text.
_META_FIELDS = (
    "doc_id",
    "source_file",
    "turn_index",
    "part",
    "n_parts",
    "speaker",
    "surname",
    "party",
    "role",
    "section",
    "procedural",
    "doc_type",
    "doc_title",
    "date",
    "url",
    "status",
    "dossier",
    "number",
    "content_hash",
)
# Chunks written to Chroma at once: all at once, their vectors as Python floats took 12 KiB a chunk
# (build peak 1.85 GiB at 100x); 2000 kept the peak under 1 GiB without slowing the build.
WRITE_BATCH = 2000
# Chunks read from Chroma per request when paging through a collection (Chroma's own default page).
PAGE_SIZE = 5000
# The fix named by every IndexDamagedError.
REPAIR = "Repair it with `python -m ingest build --repair`."
# The index settings that decide whether a stored vector can be reused.
EMBEDDING_KEYS = ("embedding_backend", "embedding_model", "embedding_dim", "passage_prefix")


# ---------------------------------------------------------------- Chroma access


def chroma_client(settings: Settings):
    """The Chroma client: the server in settings.chroma, or the embedded store under paths.index_dir.

    Raises ChromaUnreachableError naming host:port and how to start a server when it does not answer.
    """
    config = ChromaConfig(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma.host:
        try:
            return chromadb.HttpClient(
                host=settings.chroma.host, port=settings.chroma.port, ssl=settings.chroma.ssl, settings=config
            )
        except ValueError as error:  # chromadb's own wording for a refused or failed connection
            raise unreachable_error(settings, error) from None
    path = Path(settings.paths.index_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=config)


def unreachable_error(settings: Settings, reason: object) -> ChromaUnreachableError:
    host, port = settings.chroma.host, settings.chroma.port
    return ChromaUnreachableError(
        f"Cannot reach the Chroma server at {host}:{port} ({reason}). Start one with "
        f"`chroma run --path data/chroma --host {host} --port {port}`, correct KAMERBRON_CHROMA_HOST "
        "and KAMERBRON_CHROMA_PORT, or unset KAMERBRON_CHROMA_HOST to use the embedded store."
    )


@contextmanager
def chroma_errors(settings: Settings | None) -> Iterator[None]:
    """A Chroma server that stops answering after the client was made, as ChromaUnreachableError."""
    try:
        yield
    except httpx.TransportError as error:
        if settings is None:
            raise
        raise unreachable_error(settings, error) from None


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


def add_chunks(collection, chunks: list[Chunk], vectors: np.ndarray) -> None:
    """Write chunks to a generation's collection: id, vector, the passage as document, ``chunk_to_metadata``.

    Nothing else: llama-index's ``ChromaVectorStore`` also stored a JSON copy of every node
    (``_node_content``, plus ``document_id`` and ``ref_doc_id`` copies of ``doc_id``) that nothing reads;
    Chroma keeps each metadata string three times (the row, its index, the write log), so that copy
    made a fifth of the Chroma store (154 chunks: 5.6 MB, 4.4 MB without it).
    """
    collection.add(
        ids=[c.chunk_id for c in chunks],
        embeddings=np.asarray(vectors, dtype=np.float32),
        documents=[c.text for c in chunks],
        metadatas=[chunk_to_metadata(c) for c in chunks],
    )


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
    def from_json(cls, text: str) -> IndexState:
        """Raises ValueError when ``text`` is not a state this module wrote."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            raise ValueError("not an index state")
        if not isinstance(data.get("generation"), str) or not GENERATION_RE.fullmatch(data["generation"]):
            raise ValueError(f"generation {data.get('generation')!r} is not a generation name")
        try:
            return cls(**data)
        except TypeError as error:  # a field this version does not know
            raise ValueError(str(error)) from None

    @property
    def number(self) -> int:
        return int(self.generation.rsplit("_g", 1)[1])


# kamerbron_<index hash>_g<N>: one generation's chunk collection (its sentences add SENTENCES_SUFFIX).
GENERATION_RE = re.compile(r"kamerbron_[0-9a-f]+_g(\d+)")


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
    """One generation as read from the store: its state, chunk catalogue, BM25 index and collection,
    and its chunk vectors (row i is ``chunks[i]``'s, unit length)."""

    state: IndexState
    chunks: list[Chunk]
    bm25: object
    analyzer: Analyzer
    collection: object
    vectors: np.ndarray
    sentence_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    settings: Settings | None = None

    def __len__(self) -> int:
        return len(self.chunks)

    def count(self) -> int:
        """The chunks in this generation's collection: a cheap check that the store still answers."""
        with self._reading():
            return self.collection.count()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        try:
            with chroma_errors(self.settings):
                yield
        except NotFoundError:
            raise GenerationGoneError(
                f"Index generation {self.state.generation} is no longer in the store: a later build replaced it. "
                "Reload the index (restart the app); if that fails, repair it with "
                "`python -m ingest build --repair`."
            ) from None


class IndexStore:
    """Reads and writes the generations of one index shape."""

    def __init__(self, settings: Settings, client=None):
        self.settings = settings
        self.client = client if client is not None else chroma_client(settings)
        self.base = collection_name(settings)
        self.embedded = not settings.chroma.host
        chroma = settings.chroma
        self.where = f"{chroma.host}:{chroma.port}" if chroma.host else str(settings.paths.index_dir)

    # -- collections

    def _collection_names(self) -> list[str]:
        with chroma_errors(self.settings):
            return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]

    def _collection(self, name: str):
        """The collection ``name``, or None when the store has none of that name."""
        try:
            with chroma_errors(self.settings):
                return self.client.get_collection(name)
        except NotFoundError:
            return None

    def _generations(self, base: str | None = None) -> list[str]:
        """The generation collections of ``base`` (default: this index shape) in the store, newest first."""
        prefix = f"{base or self.base}_g"
        names = [n for n in self._collection_names() if n.startswith(prefix) and GENERATION_RE.fullmatch(n)]
        return sorted(names, key=lambda n: -int(n.rsplit("_g", 1)[1]))

    # -- pointer

    def _pointer(self, create: bool = False):
        if create:
            with chroma_errors(self.settings):
                return self.client.get_or_create_collection(self.base, metadata={"kind": "pointer"})
        return self._collection(self.base)

    def current_state(self) -> IndexState | None:
        """The generation the pointer names; None when there is no index yet.

        Raises IndexDamagedError when the pointer cannot be read.
        """
        pointer = self._pointer()
        meta = (pointer.metadata or {}) if pointer is not None else {}
        if not meta.get("state"):
            return None
        try:
            return IndexState.from_json(meta["state"])
        except ValueError as error:
            raise IndexDamagedError(
                f"The index pointer (collection {self.base} at {self.where}) is unreadable ({error}). {REPAIR}"
            ) from None

    def _generation_dir(self, generation: str) -> Path:
        return Path(self.settings.paths.index_dir) / generation

    def _damaged(self, state: IndexState, what: str) -> IndexDamagedError:
        return IndexDamagedError(f"Index generation {state.generation} at {self.where} is damaged: {what}. {REPAIR}")

    def generation_collection(self, state: IndexState):
        """The chunk collection of ``state``; IndexDamagedError when the pointer names one the store lacks."""
        collection = self._collection(state.generation)
        if collection is None:
            raise IndexDamagedError(
                f"The index pointer names generation {state.generation}, which is not in the store at {self.where}. "
                f"{REPAIR}"
            )
        return collection

    # -- reading

    def load(self) -> StoredIndex:
        """The generation the pointer names, ready to search.

        Raises IndexMissingError without an index, IndexDamagedError when a part cannot be read.
        """
        state = self.current_state()
        if state is None:
            raise IndexMissingError(
                f"No index for these settings (collection {self.base}) at {self.where}. "
                "Build it with `python -m ingest build` (or `make index`)."
            )
        collection = self.generation_collection(state)
        analyzer = Analyzer()
        folder = self._generation_dir(state.generation)
        if self.embedded and (folder / "catalogue.jsonl").exists():
            chunks, bm25 = self._read_search_files(state, collection, analyzer)
        else:
            chunks = self._chunks_from_chroma(state.generation)
            bm25 = build_bm25(chunks, analyzer)
        vectors = self._chunk_vectors(state, collection, chunks)
        sentence_vectors = self.stored_sentence_vectors(state, None)
        return StoredIndex(state, chunks, bm25, analyzer, collection, vectors, sentence_vectors, self.settings)

    def _chunk_vectors(self, state: IndexState, collection, chunks: list[Chunk]) -> np.ndarray:
        """The collection's vectors in catalogue order, each scaled to unit length."""
        by_id: dict[str, object] = {}
        with chroma_errors(self.settings):
            for chunk_id, _, _, vector in page_through(collection, ["embeddings"]):
                by_id[chunk_id] = vector
        self._check_vectors(state, chunks, by_id)
        dim = len(by_id[chunks[0].chunk_id]) if chunks else 0
        vectors = np.empty((len(chunks), dim), dtype=np.float32)
        for i, chunk in enumerate(chunks):
            vectors[i] = by_id[chunk.chunk_id]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    def _check_vectors(self, state: IndexState, chunks: list[Chunk], stored_ids) -> None:
        missing = [c.chunk_id for c in chunks if c.chunk_id not in stored_ids]
        if missing:
            raise self._damaged(state, f"its collection has no vector for {len(missing)} of its catalogue's "
                                       f"chunks (the first: {missing[0]})")  # fmt: skip

    def has_generation(self, state: IndexState) -> bool:
        return self._collection(state.generation) is not None

    def verify(self, state: IndexState) -> None:
        """Raise IndexDamagedError when ``state``'s generation is missing or its catalogue or BM25 index
        cannot be read, or a catalogue chunk has no vector (what ``load`` reads, less the vectors themselves)."""
        collection = self.generation_collection(state)
        if self.embedded and (self._generation_dir(state.generation) / "catalogue.jsonl").exists():
            chunks, _ = self._read_search_files(state, collection, Analyzer())
            with chroma_errors(self.settings):
                stored = {chunk_id for chunk_id, *_ in page_through(collection, [])}
            self._check_vectors(state, chunks, stored)

    def _read_search_files(self, state: IndexState, collection, analyzer: Analyzer) -> tuple[list[Chunk], object]:
        """The catalogue and BM25 index of an embedded generation, checked against its collection."""
        folder = self._generation_dir(state.generation)
        chunks = self._read_catalogue(state)
        with chroma_errors(self.settings):
            count = collection.count()
        if len(chunks) != count:
            raise self._damaged(state, f"its catalogue lists {len(chunks)} chunks, its collection holds {count}")
        version_file = folder / "bm25" / "analyzer_version"
        if version_file.exists() and version_file.read_text().strip() == ANALYZER_VERSION:
            bm25 = self._read_bm25(state, len(chunks))
            analyzer.vocabulary = set(bm25.vocab_dict)
        else:  # built by another analyzer version, or never: build it now
            bm25 = build_bm25(chunks, analyzer)
            _save_bm25(bm25, folder / "bm25")
        return chunks, bm25

    def _read_catalogue(self, state: IndexState) -> list[Chunk]:
        path = self._generation_dir(state.generation) / "catalogue.jsonl"
        chunks = []
        try:
            with open(path, encoding="utf-8") as fh:
                for number, line in enumerate(fh, start=1):
                    try:
                        chunks.append(Chunk.model_validate_json(line))
                    except ValidationError as error:
                        reason = validation_message(error)[:120]
                        raise self._damaged(state, f"line {number} of {path} is unreadable ({reason})") from None
        except (OSError, UnicodeDecodeError) as error:
            raise self._damaged(state, f"{path} cannot be read ({error})") from None
        return chunks

    def _read_bm25(self, state: IndexState, n_chunks: int):
        folder = self._generation_dir(state.generation) / "bm25"
        try:
            bm25 = bm25s.BM25.load(str(folder), show_progress=False)
            n_docs = int(bm25.scores["num_docs"])
        except Exception as error:  # bm25s fails with orjson, numpy, OS or key errors, whichever file is hit
            raise self._damaged(state, f"its BM25 index {folder} is unreadable ({type(error).__name__}: "
                                       f"{str(error)[:120]})") from None  # fmt: skip
        if n_docs != n_chunks:
            raise self._damaged(state, f"its BM25 index covers {n_docs} chunks, its catalogue {n_chunks}")
        return bm25

    def generation_chunks(self, state: IndexState, *, from_collection: bool = False) -> list[Chunk]:
        """The chunks of one generation: from its catalogue, or read back from its collection (with a
        server, without a catalogue, or ``from_collection`` when the catalogue may be damaged)."""
        folder = self._generation_dir(state.generation)
        if self.embedded and not from_collection and (folder / "catalogue.jsonl").exists():
            return self._read_catalogue(state)
        self.generation_collection(state)
        return self._chunks_from_chroma(state.generation)

    def _chunks_from_chroma(self, generation: str) -> list[Chunk]:
        with chroma_errors(self.settings):
            collection = self.client.get_collection(generation)
            chunks = [
                metadata_to_chunk(cid, text, meta)
                for cid, meta, text, _ in page_through(collection, ["documents", "metadatas"])
            ]
        chunks.sort(key=lambda c: (c.source_file, c.turn_index, c.part))
        return chunks

    def stored_vectors(self, state: IndexState | None, content_hashes: set[str]) -> dict[str, np.ndarray]:
        """Stored vectors by chunk content hash, so unchanged chunks are never re-embedded.

        Looks in the current generation first, then in every other generation still in the store that
        was built with the same embedding: the one a build replaced, and those of other index shapes
        (another parser version or chunk size). A chunk whose embedded text is unchanged keeps its vector.
        """
        wanted = set(content_hashes)
        found: dict[str, np.ndarray] = {}
        for generation in self.vector_sources(state):
            if not wanted:
                break
            with chroma_errors(self.settings):
                collection = self._collection(generation)
                if collection is None:
                    continue
                for _, meta, _, vector in page_through(collection, ["embeddings", "metadatas"]):
                    h = meta.get("content_hash")
                    if h in wanted:
                        found[h] = np.asarray(vector, dtype=np.float32)
                        wanted.discard(h)
        return found

    def has_sentences(self, state: IndexState) -> bool:
        """Whether a generation has its sentence vectors (generations built before them do not)."""
        return self._collection(state.generation + SENTENCES_SUFFIX) is not None

    def stored_sentence_vectors(self, state: IndexState | None, keys: set[str] | None) -> dict[str, np.ndarray]:
        """Sentence vectors by ``sentence_key``: those of ``state``'s generation when ``keys`` is None,
        else the wanted ones from every generation with this embedding, as ``stored_vectors`` looks.
        An unchanged sentence is never embedded twice."""
        wanted = None if keys is None else set(keys)
        found: dict[str, np.ndarray] = {}
        generations = [state.generation] if (keys is None and state) else self.vector_sources(state)
        for generation in generations:
            if wanted is not None and not wanted:
                break
            collection = self._collection(generation + SENTENCES_SUFFIX)
            if collection is None:  # a generation built before sentence vectors existed has none
                continue
            with chroma_errors(self.settings):
                for key, _, _, vector in page_through(collection, ["embeddings"]):
                    if wanted is None or key in wanted:
                        found[key] = np.asarray(vector, dtype=np.float32)
                        if wanted is not None:
                            wanted.discard(key)
        return found

    def vector_sources(self, state: IndexState | None) -> list[str]:
        """The generations in the store whose vectors this embedding can reuse, ``state``'s first.

        Every generation of this index shape qualifies (the shape includes the embedding), and every
        generation of another shape whose pointer names the same embedding.
        """
        mine = {k: index_shape(self.settings).get(k) for k in EMBEDDING_KEYS}
        sources = [state.generation] if state else []
        bases = [self.base]
        for name in self._collection_names():
            if not name.startswith("kamerbron_") or "_g" in name or name == self.base:
                continue
            pointer = self._collection(name)
            meta = (pointer.metadata or {}) if pointer is not None else {}
            if meta.get("kind") != "pointer" or not meta.get("state"):
                continue
            try:
                other = IndexState.from_json(meta["state"])
            except ValueError:  # another index's damaged pointer: its vectors are not trusted
                continue
            if {k: other.shape.get(k) for k in EMBEDDING_KEYS} == mine:
                sources.append(other.generation)
                bases.append(name)
        for base in bases:
            sources += self._generations(base)
        return list(dict.fromkeys(sources))

    # -- writing

    def write_generation(
        self,
        chunks: list[Chunk],
        vectors: np.ndarray,
        files: dict[str, dict],
        sentence_vectors: dict[str, np.ndarray] | None = None,
    ) -> IndexState:
        """Write a complete new generation aside, then switch the pointer to it.

        The generation the pointer named stays (an app may still read it); older ones are pruned.
        A damaged pointer is replaced: this is how ``ingest build --repair`` mends it.
        """
        try:
            previous = self.current_state()
        except IndexDamagedError:
            previous = None
        numbers = [int(GENERATION_RE.fullmatch(n).group(1)) for n in self._generations()]
        number = max(numbers + [previous.number if previous else 0]) + 1
        generation = f"{self.base}_g{number}"
        self._drop_generation(generation)  # leftovers of a build that was killed midway
        with chroma_errors(self.settings):
            collection = self.client.create_collection(generation, metadata={"hnsw:space": "cosine"})
            for start in range(0, len(chunks), WRITE_BATCH):
                add_chunks(collection, chunks[start : start + WRITE_BATCH], vectors[start : start + WRITE_BATCH])

            if sentence_vectors:
                sentences = self.client.create_collection(
                    generation + SENTENCES_SUFFIX, metadata={"hnsw:space": "cosine"}
                )
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
        with chroma_errors(self.settings):
            pointer.modify(metadata={"kind": "pointer", "state": state.to_json()})
        # the generation just replaced stays, so an app still reading it is not cut off
        self._prune(keep={generation, previous.generation if previous else ""})
        return state

    def _drop_generation(self, generation: str) -> None:
        for name in (generation, generation + SENTENCES_SUFFIX):
            try:
                with chroma_errors(self.settings):
                    self.client.delete_collection(name)
            except NotFoundError:  # already gone: nothing to drop
                pass
        if self.embedded:
            shutil.rmtree(self._generation_dir(generation), ignore_errors=True)
            shutil.rmtree(self._generation_dir(generation + ".tmp"), ignore_errors=True)

    def _prune(self, keep: set[str]) -> None:
        prefix = f"{self.base}_g"
        for name in self._collection_names():
            if name.startswith(prefix) and name.removesuffix(SENTENCES_SUFFIX) not in keep:
                self._drop_generation(name.removesuffix(SENTENCES_SUFFIX))
        if self.embedded:  # folders whose collection is gone already (removed by hand, or a killed prune)
            for folder in Path(self.settings.paths.index_dir).glob(f"{self.base}_g*"):
                if folder.name.removesuffix(".tmp") not in keep:
                    shutil.rmtree(folder, ignore_errors=True)
