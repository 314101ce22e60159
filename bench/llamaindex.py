"""llama-index's plain ``VectorStoreIndex`` over a Chroma collection: the dense-only set-up that
Kamerbron is compared with, built from the same chunks, vectors and query embedder.

llama_index and chromadb are imported inside the functions: the cold-start worker
(``bench.coldstart``) imports this module before it times their import.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import PrivateAttr

from bench.measure import SEARCH_K

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

# The chunk fields kept as node metadata: what a plain llama-index set-up would store to cite a source.
LLAMA_METADATA = ("source_file", "doc_id", "speaker", "party", "date", "doc_title", "url")
LLAMA_COLLECTION = "llamaindex_plain"


@functools.cache
def _embedding_class():
    from llama_index.core.base.embeddings.base import BaseEmbedding  # heavy; timed by bench.coldstart

    class KamerbronEmbedding(BaseEmbedding):
        """Our embedder as a llama-index embedding model, so both systems embed queries alike."""

        _embedder: Any = PrivateAttr()

        def __init__(self, embedder, **kwargs):
            super().__init__(model_name=getattr(embedder, "name", "kamerbron"), **kwargs)
            self._embedder = embedder

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_passages(texts).tolist()

    return KamerbronEmbedding


def llama_embedding(embedder):
    """Wrap a Kamerbron embedder as a llama-index ``BaseEmbedding``."""
    return _embedding_class()(embedder)


def _chroma(path: Path):
    import chromadb  # heavy; timed by bench.coldstart
    from chromadb.config import Settings as ChromaConfig

    return chromadb.PersistentClient(path=str(path), settings=ChromaConfig(anonymized_telemetry=False))


def build_llamaindex(chunks: Sequence[Any], vectors: np.ndarray, folder: Path, embedder) -> None:
    """llama-index's plain VectorStoreIndex over a new Chroma collection in ``folder``."""
    from llama_index.core import StorageContext, VectorStoreIndex  # heavy; timed by bench.coldstart
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    collection = _chroma(folder).get_or_create_collection(LLAMA_COLLECTION)
    nodes = [
        TextNode(id_=c.chunk_id, text=c.text, metadata={k: getattr(c, k) for k in LLAMA_METADATA}, embedding=v.tolist())
        for c, v in zip(chunks, vectors)
    ]
    storage = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
    VectorStoreIndex(nodes, storage_context=storage, embed_model=llama_embedding(embedder), show_progress=False)


def load_llamaindex(folder: Path, embedder, k: int = SEARCH_K):
    """The retriever of the index in ``folder``, returning the top ``k`` nodes."""
    from llama_index.core import VectorStoreIndex  # heavy; timed by bench.coldstart
    from llama_index.vector_stores.chroma import ChromaVectorStore

    store = ChromaVectorStore(chroma_collection=_chroma(folder).get_collection(LLAMA_COLLECTION))
    index = VectorStoreIndex.from_vector_store(store, embed_model=llama_embedding(embedder))
    return index.as_retriever(similarity_top_k=k)


def llama_passages(nodes) -> list[dict]:
    """Retrieved nodes as the passage fields the recall figures read."""
    return [{"source_file": n.node.metadata.get("source_file", ""), "text": n.node.get_content()} for n in nodes]
