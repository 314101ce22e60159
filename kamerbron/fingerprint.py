"""What shapes the index and the answers, hashed: the index hash names the Chroma collection (a
changed model or parser never reuses stale vectors) and the settings hash is stamped on every
answer and every evaluation run."""

from __future__ import annotations

import hashlib
import json

from kamerbron.embed import resolve_backend
from kamerbron.settings import Settings

# Bump when a change to parsing or normalisation changes the turns it produces, or when chunks carry
# a new metadata field: it is part of the index hash, so a new parser never reuses a stale index.
PARSER_VERSION = "5"


def index_shape(settings: Settings) -> dict:
    """Everything that shapes the index: a change to any of these builds a new index."""
    emb = settings.embedding
    backend = resolve_backend(emb)
    model = emb.model if backend == "sentence-transformers" else backend
    return {
        "parser_version": PARSER_VERSION,
        "embedding_backend": backend,
        "embedding_model": model,
        "embedding_dim": emb.dim if backend == "hash" else None,
        "passage_prefix": emb.passage_prefix,
        "chunk_max_words": settings.chunk.max_words,
        "chunk_context_header": settings.chunk.context_header,
    }


def _digest(value: dict) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:12]


def index_hash(settings: Settings) -> str:
    return _digest(index_shape(settings))


def settings_hash(settings: Settings) -> str:
    """Hash of the index shape plus what shapes answers; stamped on every answer and eval run."""
    return _digest(
        index_shape(settings)
        | {
            "retrieval": settings.retrieval.model_dump(),
            "answer": settings.answer.model_dump(),
            "llm_model": settings.llm.model if settings.llm.base_url else "",
        }
    )


def collection_name(settings: Settings) -> str:
    """The pointer collection of this index shape; generations are named ``<this>_g<N>``."""
    return f"kamerbron_{index_hash(settings)}"
