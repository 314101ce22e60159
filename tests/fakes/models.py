"""Tiny Hugging Face models built on disk by the tests themselves: no hub, no download.

They exercise the real loading code (sentence-transformers by local path) with random weights.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "de het een en van in is dat op te voor met mensenhandel politie minister geld slachtoffers prostitutie "
    "query passage : sp vvd cda d66 wat zei antwoordde over vraag extra miljoen euro opvang taaltoets registratie"
).split()


def _bert_dir(folder: Path, *, num_labels: int | None = None) -> Path:
    # heavy (torch): loaded only by the tests that build a model, not at collection
    from transformers import BertConfig, BertForSequenceClassification, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    if num_labels:
        config.num_labels = num_labels
        model = BertForSequenceClassification(config)
    else:
        model = BertModel(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_sentence_transformer(folder: Path) -> Path:
    """A 32-dimensional sentence-transformers model saved at ``folder``."""
    # heavy (torch): loaded only by the tests that build a model, not at collection
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    bert = _bert_dir(folder.parent / (folder.name + "-bert"))
    transformer = Transformer(str(bert), max_seq_length=64)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(folder))
    return folder


def tiny_cross_encoder(folder: Path) -> Path:
    """A one-label BERT classifier usable as a sentence-transformers CrossEncoder."""
    return _bert_dir(folder, num_labels=1)
