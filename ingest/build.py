"""Build or update the index from corpus files: parse -> chunk -> embed (only what changed) -> index.

Incremental: a chunk whose embedded text is unchanged reuses its stored vector (from any generation
still in the store), so re-running on unchanged files does no embedding work and writes nothing.
A build updates the documents of the files it is given and no others: every other indexed document
keeps its chunks, and so does a file that fails to parse, so bad input never loses indexed data.
Documents leave the index only through :func:`remove_documents` (``python -m ingest remove``).

Repair: a pointer to a generation that is not in the store is rebuilt from the given files by any
build; ``repair=True`` (``ingest build --repair``) also replaces an unreadable pointer and writes a
fresh generation, reading the kept documents back from the vector store, when a catalogue or BM25
index is damaged.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ingest.chunk import chunk_document
from ingest.formats import CORPUS_SUFFIXES
from ingest.manifest import read_manifest, remove_entry
from ingest.parse import parse_document
from kamerbron.embed import Embedder, build_embedder
from kamerbron.errors import (
    ArgumentInvalidError,
    DocumentParseError,
    IndexDamagedError,
    IndexMissingError,
    KamerbronError,
)
from kamerbron.records import Chunk
from kamerbron.settings import Settings
from kamerbron.store import IndexState, IndexStore, chunk_sentences

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    documents: int = 0
    turns: int = 0
    chunks: int = 0
    embedded: int = 0
    sentences_embedded: int = 0
    skipped: int = 0
    removed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    seconds_parse: float = 0.0
    seconds_embed: float = 0.0
    seconds_index: float = 0.0
    generation: str = ""
    changed: bool = False
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [
            f"{self.documents} documents, {self.turns} turns, {self.chunks} chunks "
            f"({self.embedded} embedded, {self.skipped} unchanged, {self.removed} removed) "
            f"in {self.seconds:.1f} s (parse {self.seconds_parse:.1f}, embed {self.seconds_embed:.1f}, "
            f"index {self.seconds_index:.1f})",
            f"index: {self.generation}" + ("" if self.changed else " (unchanged)"),
        ]
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"FAILED {name}: {message}" for name, message in self.failed]
        return "\n".join(lines)


def corpus_files(paths: list[Path]) -> list[Path]:
    """The corpus files named by ``paths`` (files, or folders of .txt/.md/.xml/.pdf files), sorted, unique.

    The suffix only lists a folder (``ingest.formats.CORPUS_SUFFIXES``); the format is read from
    the content. Hidden files (a copy being written by ``ingest add``) are left out.
    """
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.update(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES and not p.name.startswith(".")
            )
        elif path.is_file():
            found.add(path)
        else:
            raise DocumentParseError(f"{path}: no such file or folder. Give a corpus file or folder, e.g. data/corpus.")
    return sorted(found, key=lambda p: p.name)


def _progress(iterable, enabled: bool, **kwargs):
    if not enabled:
        return iterable
    return tqdm(iterable, file=sys.stderr, **kwargs)


def embed_in_batches(
    embedder: Embedder, texts: list[str], batch_size: int, progress: bool, desc: str = "embedding"
) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    batches = range(0, len(texts), batch_size)
    parts = [
        embedder.embed_passages(texts[i : i + batch_size])
        for i in _progress(batches, progress, desc=desc, unit="batch", total=len(batches))
    ]
    return np.concatenate(parts)


def build_index(
    paths: list[Path] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
    *,
    embedder: Embedder | None = None,
    store: IndexStore | None = None,
    repair: bool = False,
) -> BuildReport:
    """Bring the documents of the given corpus files up to date in the index; see the module docstring."""
    settings = settings or Settings()
    started = time.perf_counter()
    report = BuildReport()
    paths = [Path(p) for p in (paths or [settings.paths.corpus_dir])]
    files = corpus_files(paths)
    store = store or IndexStore(settings)
    previous = _previous_state(store, repair, report)
    previous_files = previous.files if previous else {}

    manifests: dict[Path, dict] = {}
    chunks: list[Chunk] = []
    file_state: dict[str, dict] = {}
    for path in _progress(files, progress, desc="parsing", unit="file"):
        try:
            if path.parent not in manifests:
                manifests[path.parent] = read_manifest(path.parent)
            doc = parse_document(path, manifests[path.parent].get(path.name, {}))
        except (KamerbronError, OSError, UnicodeError) as exc:
            report.failed.append((path.name, str(exc)))
            continue
        report.warnings += [f"{path.name}: {w}" for w in doc.warnings]
        doc_chunks = chunk_document(doc, settings.chunk)
        chunks += doc_chunks
        report.documents += 1
        report.turns += len(doc.turns)
        file_state[path.name] = {"content_hash": doc.meta.content_hash, "chunks": len(doc_chunks)}
    report.seconds_parse = time.perf_counter() - started
    report.warnings += _gone_from_corpus(paths, files, previous_files, settings)

    # Documents not rebuilt now keep their chunks and vectors: those of files not given, and those
    # of files that failed to parse.
    kept = {name for name in previous_files if name not in file_state}
    kept_chunks: list[Chunk] = []
    if kept:
        kept_chunks = [c for c in store.generation_chunks(previous, from_collection=repair) if c.source_file in kept]
        file_state.update({name: previous_files[name] for name in kept})
    all_chunks = chunks + kept_chunks

    if previous is not None and not repair and file_state == previous_files and store.has_sentences(previous):
        store.verify(previous)  # "unchanged" must not hide a damaged index
        report.chunks = len(all_chunks)
        report.skipped = len(all_chunks)
        report.generation = previous.generation
        report.seconds = time.perf_counter() - started
        return report

    if not all_chunks:
        report.seconds = time.perf_counter() - started
        return report

    _write(store, previous, all_chunks, file_state, settings, report, embedder, progress)
    report.seconds = time.perf_counter() - started
    return report


def remove_documents(
    names: list[str],
    settings: Settings | None = None,
    *,
    store: IndexStore | None = None,
    embedder: Embedder | None = None,
) -> BuildReport:
    """Take documents out of the index, and their files and manifest entries out of the corpus folder.

    ``names`` are source file names or document ids. Writes a generation without their chunks
    (nothing is embedded), then deletes each file from the corpus folder when it is the file that
    was indexed, so a later build of the corpus does not bring it back. Raises ArgumentInvalidError,
    before anything changes, for a name that is not in the index or when no document would be left.
    """
    settings = settings or Settings()
    started = time.perf_counter()
    report = BuildReport()
    store = store or IndexStore(settings)
    previous = store.current_state()
    if previous is None:
        raise IndexMissingError(
            f"No index at {store.where} to remove documents from; build it with `python -m ingest build`."
        )
    by_doc_id = {Path(name).stem: name for name in previous.files}
    wanted = {name if name in previous.files else by_doc_id.get(name, "") for name in names}
    unknown = [name for name in names if name not in previous.files and name not in by_doc_id]
    if unknown:
        indexed = ", ".join(sorted(previous.files)[:8]) + (", ..." if len(previous.files) > 8 else "")
        raise ArgumentInvalidError(
            f"not in the index: {', '.join(unknown)}. Give a file name or document id of an indexed document "
            f"({indexed})."
        )
    if set(previous.files) <= wanted:
        raise ArgumentInvalidError(
            "that would remove every document and leave an empty index; remove fewer, or delete the index folder "
            f"{settings.paths.index_dir} to start again."
        )
    kept = [c for c in store.generation_chunks(previous) if c.source_file not in wanted]
    file_state = {name: state for name, state in previous.files.items() if name not in wanted}
    report.removed = sum(previous.files[name]["chunks"] for name in wanted)
    _write(store, previous, kept, file_state, settings, report, embedder, progress=False)

    corpus_dir = Path(settings.paths.corpus_dir)
    for name in sorted(wanted):
        path = corpus_dir / name
        if not path.is_file():
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != previous.files[name]["content_hash"]:
            report.warnings.append(
                f"{name}: the file in {corpus_dir} differs from the indexed one and was kept; the next "
                "`python -m ingest build` indexes it again unless you move it away"
            )
            continue
        path.unlink()
        remove_entry(corpus_dir, name)
        report.warnings.append(f"{name}: deleted from {corpus_dir} with its manifest entry")
    report.seconds = time.perf_counter() - started
    return report


def _previous_state(store: IndexStore, repair: bool, report: BuildReport) -> IndexState | None:
    """The state to update: the pointer's, or None when the build starts afresh (no index, or a repair)."""
    try:
        previous = store.current_state()
    except IndexDamagedError:
        if not repair:
            raise
        report.warnings.append("the index pointer was unreadable: the index is rebuilt from the given files")
        return None
    if previous is not None and not store.has_generation(previous):
        report.warnings.append(
            f"the index pointer named generation {previous.generation}, which is not in the store: the index is "
            "rebuilt from the given files"
        )
        return None
    return previous


def _gone_from_corpus(paths: list[Path], files: list[Path], indexed: dict[str, dict], settings: Settings) -> list[str]:
    """A warning per indexed document whose file has left the corpus folder, when the build lists that folder."""
    corpus_dir = Path(settings.paths.corpus_dir).resolve()
    if not any(p.is_dir() and p.resolve() == corpus_dir for p in paths):
        return []
    listed = {f.name for f in files if f.parent.resolve() == corpus_dir}
    return [
        f"{name}: indexed, but no longer in {settings.paths.corpus_dir}; it stays in the index until "
        f"`python -m ingest remove {name}`"
        for name in sorted(indexed)
        if name not in listed
    ]


def _write(
    store: IndexStore,
    previous: IndexState | None,
    chunks: list[Chunk],
    file_state: dict[str, dict],
    settings: Settings,
    report: BuildReport,
    embedder: Embedder | None,
    progress: bool,
) -> None:
    """Embed what no stored vector covers, then write ``chunks`` as a new generation."""
    t0 = time.perf_counter()
    stored = store.stored_vectors(previous, {c.content_hash for c in chunks})
    todo = [c for c in chunks if c.content_hash not in stored]
    if todo:
        embedder = embedder or build_embedder(settings)
        fresh = embed_in_batches(embedder, [c.embed_text for c in todo], settings.embedding.batch_size, progress)
        stored.update({c.content_hash: v for c, v in zip(todo, fresh)})
    report.seconds_embed = time.perf_counter() - t0
    report.embedded = len(todo)
    report.skipped = len(chunks) - len(todo)

    # sentence vectors for sentence-level evidence in answers, reused by sentence text
    t0 = time.perf_counter()
    sentences = chunk_sentences(chunks)
    sentence_vectors = store.stored_sentence_vectors(previous, set(sentences))
    new_keys = sorted((k for k in sentences if k not in sentence_vectors), key=lambda k: len(sentences[k]))
    if new_keys:
        embedder = embedder or build_embedder(settings)
        # sorted by length, so each batch pads little
        fresh = embed_in_batches(
            embedder, [sentences[k] for k in new_keys], settings.embedding.batch_size, progress, desc="sentences"
        )
        sentence_vectors.update(zip(new_keys, fresh))
    report.seconds_embed += time.perf_counter() - t0
    report.sentences_embedded = len(new_keys)

    t0 = time.perf_counter()
    chunks.sort(key=lambda c: (c.source_file, c.turn_index, c.part))
    vectors = np.stack([stored[c.content_hash] for c in chunks])
    state = store.write_generation(chunks, vectors, file_state, sentence_vectors)
    report.seconds_index = time.perf_counter() - t0
    report.generation = state.generation
    report.changed = True
    report.chunks = len(chunks)
