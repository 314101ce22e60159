"""Build or update the index from corpus files: parse -> chunk -> embed (only what changed) -> index.

Incremental: a chunk whose embedded text is unchanged reuses its stored vector, so re-running on
unchanged files does no embedding work and writes nothing. A file that fails to parse keeps the
chunks it had, so bad input never loses indexed data; a file no longer in the corpus loses its chunks.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ingest.chunk import chunk_document
from ingest.formats import CORPUS_SUFFIXES
from ingest.manifest import load_manifest
from ingest.parse import parse_document
from kamerbron.embed import Embedder, build_embedder
from kamerbron.errors import DocumentParseError, KamerbronError
from kamerbron.records import Chunk
from kamerbron.settings import Settings
from kamerbron.store import IndexStore, chunk_sentences

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
                p for p in path.iterdir()
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
) -> BuildReport:
    """Bring the index in line with the given corpus files; see the module docstring."""
    settings = settings or Settings()
    started = time.perf_counter()
    report = BuildReport()
    files = corpus_files(paths or [settings.paths.corpus_dir])
    store = store or IndexStore(settings)
    previous = store.current_state()
    previous_files = previous.files if previous else {}

    manifests: dict[Path, dict] = {}
    chunks: list[Chunk] = []
    file_state: dict[str, dict] = {}
    failed_names: set[str] = set()
    for path in _progress(files, progress, desc="parsing", unit="file"):
        try:
            if path.parent not in manifests:
                manifests[path.parent] = load_manifest(path.parent)
            doc = parse_document(path, manifests[path.parent].get(path.name))
        except (KamerbronError, OSError, UnicodeError) as exc:
            report.failed.append((path.name, str(exc)))
            failed_names.add(path.name)
            continue
        report.warnings += [f"{path.name}: {w}" for w in doc.warnings]
        doc_chunks = chunk_document(doc, settings.chunk)
        chunks += doc_chunks
        report.documents += 1
        report.turns += len(doc.turns)
        file_state[path.name] = {"content_hash": doc.meta.content_hash, "chunks": len(doc_chunks)}
    report.seconds_parse = time.perf_counter() - started

    kept_on_failure: list[Chunk] = []
    if previous is not None and failed_names & set(previous_files):
        # a file that fails now keeps its previous chunks and vectors
        loaded = store.load()
        kept_on_failure = [c for c in loaded.chunks if c.source_file in failed_names]
        for name in failed_names & set(previous_files):
            file_state[name] = previous_files[name]
    all_chunks = chunks + kept_on_failure
    report.removed = sum(
        n["chunks"] for name, n in previous_files.items() if name not in file_state
    )

    if previous is not None and file_state == previous_files and store.has_sentences(previous):
        report.chunks = len(all_chunks)
        report.skipped = len(all_chunks)
        report.generation = previous.generation
        report.seconds = time.perf_counter() - started
        return report

    if not all_chunks:
        report.seconds = time.perf_counter() - started
        return report

    t0 = time.perf_counter()
    stored = store.stored_vectors(previous, {c.content_hash for c in all_chunks})
    todo = [c for c in all_chunks if c.content_hash not in stored]
    if todo:
        embedder = embedder or build_embedder(settings)
        fresh = embed_in_batches(embedder, [c.embed_text for c in todo], settings.embedding.batch_size, progress)
        stored.update({c.content_hash: v for c, v in zip(todo, fresh)})
    report.seconds_embed = time.perf_counter() - t0
    report.embedded = len(todo)
    report.skipped = len(all_chunks) - len(todo)

    # sentence vectors for sentence-level evidence in answers, reused by sentence text
    t0 = time.perf_counter()
    sentences = chunk_sentences(all_chunks)
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
    all_chunks.sort(key=lambda c: (c.source_file, c.turn_index, c.part))
    vectors = np.stack([stored[c.content_hash] for c in all_chunks]) if all_chunks else np.zeros((0, 1))
    state = store.write_generation(all_chunks, vectors, file_state, sentence_vectors)
    report.seconds_index = time.perf_counter() - t0
    report.generation = state.generation
    report.changed = True
    report.chunks = len(all_chunks)
    report.seconds = time.perf_counter() - started
    return report
