"""Faulty input fails only where it is faulty: a bad manifest entry fails its own file, UTF-16 text
is read, and a file without a usable passage gives a warning and no junk chunks."""

from __future__ import annotations

import codecs

import pytest

from ingest.build import build_index
from ingest.manifest import read_manifest
from ingest.parse import parse_document
from kamerbron.errors import DocumentParseError
from kamerbron.store import IndexStore
from tests.fakes.corpus import DEBATE, OTHER, write_corpus

BAD_ENTRY = '["a.txt"]\ndoc_type = "debat"\n\n["b.txt"]\ndate = "2018-13-45"\n'


@pytest.fixture
def corpus(tmp_path):
    return write_corpus(tmp_path)


def _build(corpus, settings):
    return build_index([corpus], settings, progress=False)


# --- the manifest


def test_bad_manifest_entry_fails_only_its_file(corpus, settings):
    (corpus / "manifest.toml").write_text(BAD_ENTRY, encoding="utf-8")
    report = _build(corpus, settings)
    assert ([name for name, _ in report.failed], report.documents) == (["b.txt"], 1)


def test_bad_manifest_entry_says_what_to_fix(corpus, settings):
    (corpus / "manifest.toml").write_text(BAD_ENTRY, encoding="utf-8")
    message = dict(_build(corpus, settings).failed)["b.txt"]
    assert "['b.txt']: date '2018-13-45' is not an ISO date (YYYY-MM-DD)" in message


def test_other_files_keep_their_manifest_entries_next_to_a_bad_one(corpus):
    (corpus / "manifest.toml").write_text(BAD_ENTRY, encoding="utf-8")
    assert read_manifest(corpus)["a.txt"] == {"doc_type": "debat"}


def test_the_bad_entry_raises_when_looked_up(corpus):
    (corpus / "manifest.toml").write_text(BAD_ENTRY, encoding="utf-8")
    with pytest.raises(DocumentParseError, match="not an ISO date"):
        read_manifest(corpus).get("b.txt", {})


# --- UTF-16


@pytest.mark.parametrize("bom, encoding", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_with_bom_is_read(corpus, bom, encoding):
    (corpus / "c.txt").write_bytes(bom + DEBATE.encode(encoding))
    as_utf8 = [(t.speaker, t.text) for t in parse_document(corpus / "a.txt").turns]
    assert [(t.speaker, t.text) for t in parse_document(corpus / "c.txt").turns] == as_utf8


def test_utf16_file_is_indexed(corpus, settings):
    (corpus / "b.txt").write_bytes(codecs.BOM_UTF16_LE + OTHER.encode("utf-16-le"))
    _build(corpus, settings)
    assert "strafbaar" in " ".join(c.text for c in IndexStore(settings).load().chunks if c.source_file == "b.txt")


def test_binary_behind_a_utf16_mark_is_refused(corpus):
    (corpus / "c.txt").write_bytes(codecs.BOM_UTF16_LE + bytes(range(256)) * 4)
    with pytest.raises(DocumentParseError, match="binary"):
        parse_document(corpus / "c.txt")


# --- files without a usable passage


def test_title_only_file_gives_a_warning(corpus):
    (corpus / "c.txt").write_text("# Verslag van een algemeen overleg\n", encoding="utf-8")
    assert any("no usable passage" in w for w in parse_document(corpus / "c.txt").warnings)


def test_title_only_file_has_no_passages(corpus):
    (corpus / "c.txt").write_text("Kamerstuk 28 638\n\nMensenhandel\n", encoding="utf-8")
    assert parse_document(corpus / "c.txt").turns == []


def test_title_only_file_adds_no_chunks(corpus, settings):
    (corpus / "c.txt").write_text("# Verslag van een algemeen overleg\n", encoding="utf-8")
    _build(corpus, settings)
    assert "c.txt" not in {c.source_file for c in IndexStore(settings).load().chunks}


def test_title_only_file_warns_in_the_build_summary(corpus, settings):
    (corpus / "c.txt").write_text("# Verslag van een algemeen overleg\n", encoding="utf-8")
    assert "warning: c.txt: no usable passage" in _build(corpus, settings).summary()


def test_speaker_label_without_text_is_no_passage(corpus):
    (corpus / "c.txt").write_text("De heer **Van Nispen** (SP):\n", encoding="utf-8")
    assert parse_document(corpus / "c.txt").turns == []


def test_speaker_label_without_text_is_named_in_a_warning(corpus):
    (corpus / "c.txt").write_text("De heer **Van Nispen** (SP):\n", encoding="utf-8")
    assert (
        "speaker label 'De heer Van Nispen' at line 1 has no text; skipped" in parse_document(corpus / "c.txt").warnings
    )


def test_plain_text_with_a_title_keeps_its_text(corpus):
    (corpus / "c.txt").write_text("Mensenhandel\n\nDe politie heeft te weinig capaciteit om dit aan te pakken.\n")
    assert [t.text for t in parse_document(corpus / "c.txt").turns][-1].startswith("De politie heeft")
