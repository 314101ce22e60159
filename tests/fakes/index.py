"""A small hand-made index: a four-turn debate written as one real generation (hash embedding)."""

from __future__ import annotations

from ingest.chunk import chunk_document
from kamerbron.embed import HashEmbedder
from kamerbron.records import Chunk, DocumentMeta, ParsedDocument, Turn
from kamerbron.settings import Settings
from kamerbron.store import IndexState, IndexStore, chunk_sentences


def small_chunks(settings: Settings) -> list[Chunk]:
    """Question, answer, a procedural chair's turn and another party's turn."""
    meta = DocumentMeta(doc_id="d", source_file="d.txt", title="Verslag", date="2017-02-16", doc_type="debat")
    turns = [
        Turn(doc_id="d", turn_index=0, speaker="De heer Van Nispen", surname="Van Nispen", party="SP", role="kamerlid",
             text="De politie heeft te weinig capaciteit om mensenhandel aan te pakken."),
        Turn(doc_id="d", turn_index=1, speaker="Minister Blok", surname="Blok", role="minister", replies_to=[0],
             text="Er komt 2 miljoen euro extra voor de politie."),
        Turn(doc_id="d", turn_index=2, speaker="De voorzitter", surname="Van Oosten", role="voorzitter", procedural=True,
             text="Dank u wel. Het woord is aan de minister voor de politie."),
        Turn(doc_id="d", turn_index=3, speaker="Mevrouw Kuik", surname="Kuik", party="CDA", role="kamerlid",
             text="Het CDA wil een registratieplicht voor prostituees."),
    ]  # fmt: skip
    return chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)


def write_small_index(settings: Settings, chunks: list[Chunk] | None = None) -> tuple[IndexStore, IndexState]:
    """``chunks`` (default: ``small_chunks``) written as one generation; (store, state)."""
    chunks = chunks or small_chunks(settings)
    store = IndexStore(settings)
    embedder = HashEmbedder(settings.embedding.dim)
    vectors = embedder.embed_passages([c.embed_text for c in chunks])
    sentences = chunk_sentences(chunks)
    sentence_vectors = dict(zip(sentences, embedder.embed_passages(list(sentences.values()))))
    files = {"d.txt": {"content_hash": "h", "chunks": len(chunks)}}
    return store, store.write_generation(chunks, vectors, files, sentence_vectors)
