"""A document's publication status travels DocumentMeta -> Chunk -> Passage -> Citation -> source card."""

from __future__ import annotations

from ingest.chunk import chunk_document
from kamerbron.records import Citation, DocumentMeta, ParsedDocument, Passage, Turn
from kamerbron.settings import ChunkSettings
from webui.render import citation_card, passage_card

STATUS = "Ongecorrigeerd (Tussenpublicatie)"
URL = "https://www.tweedekamer.nl/kamerstukken/plenaire_verslagen/detail/2024-2025/103"


def _chunk(status: str = STATUS):
    meta = DocumentMeta(doc_id="v", source_file="v.xml", doc_type="debat", date="2025-07-02", url=URL, status=status,
                        title="Plenaire vergadering Tweede Kamer, 103e vergadering")  # fmt: skip
    turn = Turn(doc_id="v", turn_index=0, speaker="Mevrouw Rooderkerk", surname="Rooderkerk", party="D66",
                role="kamerlid", text="Passend onderwijs moet beter.")  # fmt: skip
    return chunk_document(ParsedDocument(meta=meta, turns=[turn]), ChunkSettings())[0]


def _citation(status: str = STATUS) -> Citation:
    return Citation.from_passage(1, Passage.from_chunk(_chunk(status)), ["Passend onderwijs moet beter."])


def test_chunk_carries_the_status():
    assert _chunk().status == STATUS


def test_citation_carries_the_status():
    assert _citation().status == STATUS


def test_citation_json_has_the_status():
    assert _citation().to_json()["status"] == STATUS


def test_retrieved_passage_json_has_the_status():
    assert Passage.from_chunk(_chunk()).to_json()["status"] == STATUS


def test_citation_card_shows_the_status():
    assert f">{STATUS}</span>" in citation_card(_citation())


def test_citation_card_shows_speaker_party_and_link():
    card = citation_card(_citation())
    assert ("Mevrouw Rooderkerk</span>" in card, ">D66</span>" in card, f'href="{URL}"' in card) == (True, True, True)


def test_passage_card_shows_the_status():
    assert 'class="kb-status"' in passage_card(Passage.from_chunk(_chunk()))


def test_card_without_a_status_shows_none():
    assert "kb-status" not in citation_card(_citation(status=""))


def test_status_is_escaped():
    assert "<b>" not in citation_card(_citation(status="<b>Ongecorrigeerd</b>"))


def test_unknown_role_is_not_shown():
    citation = _citation().model_copy(update={"role": "onbekend"})
    assert "kb-role" not in citation_card(citation)
