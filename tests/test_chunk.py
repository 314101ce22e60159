from ingest.chunk import chunk_document, split_sentences, split_turn_text
from kamerbron.records import DocumentMeta, ParsedDocument, Turn
from kamerbron.settings import ChunkSettings


def _doc(text: str, **turn) -> ParsedDocument:
    meta = DocumentMeta(doc_id="d1", source_file="d1.txt", title="Verslag", date="2017-02-16")
    fields = dict(doc_id="d1", turn_index=3, speaker="Minister Blok", surname="Blok", role="minister", text=text) | turn
    return ParsedDocument(meta=meta, turns=[Turn(**fields)])


def test_sentences_split_at_full_stops():
    assert split_sentences("Dit is een. Dat is twee! En drie?") == ["Dit is een.", "Dat is twee!", "En drie?"]


def test_a_split_is_a_fresh_list_and_a_long_text_splits_the_same_uncached():
    first = split_sentences("Dit is een. Dat is twee.")
    first.append("Erbij geschreven.")
    assert split_sentences("Dit is een. Dat is twee.") == ["Dit is een.", "Dat is twee."]
    long = " ".join(f"Zin nummer {i} staat hier." for i in range(400))  # past the cached length
    assert len(long) > 4000 and split_sentences(long) == [f"Zin nummer {i} staat hier." for i in range(400)]


def test_abbreviation_does_not_end_a_sentence():
    assert split_sentences("De brief d.d. 4 april 2017 kwam. Daarna niets.") == [
        "De brief d.d. 4 april 2017 kwam.",
        "Daarna niets.",
    ]


def test_short_turn_is_one_part():
    assert split_turn_text("Een korte beurt.", 200) == ["Een korte beurt."]


def test_long_turn_parts_stay_under_limit():
    text = " ".join(f"Zin nummer {i} gaat over mensenhandel en politie." for i in range(80))
    assert max(len(p.split()) for p in split_turn_text(text, 100)) <= 100


def test_long_turn_parts_keep_all_words():
    text = " ".join(f"Zin nummer {i} gaat over mensenhandel en politie." for i in range(80))
    assert " ".join(split_turn_text(text, 100)).split() == text.split()


def test_one_sentence_longer_than_limit_is_cut():
    text = " ".join(["woord"] * 250) + "."
    assert len(split_turn_text(text, 100)) == 3


def test_chunk_ids_derive_from_doc_turn_and_part():
    text = " ".join(f"Zin {i} over de aanpak van mensenhandel door de politie." for i in range(60))
    chunks = chunk_document(_doc(text), ChunkSettings(max_words=100))
    assert [c.chunk_id for c in chunks] == [f"d1:3:{i}" for i in range(len(chunks))]


def test_every_part_carries_turn_metadata():
    text = " ".join(f"Zin {i} over de aanpak van mensenhandel door de politie." for i in range(60))
    chunks = chunk_document(_doc(text, party="", section="2. Rapport"), ChunkSettings(max_words=100))
    assert {(c.speaker, c.role, c.section, c.date) for c in chunks} == {
        ("Minister Blok", "minister", "2. Rapport", "2017-02-16")
    }


def test_embedded_text_carries_context_header_but_citation_text_does_not():
    chunk = chunk_document(_doc("Er komt extra geld."), ChunkSettings())[0]
    assert chunk.embed_text.startswith("Minister Blok | Verslag | 2017-02-16") and chunk.text == "Er komt extra geld."


def test_content_hash_changes_with_text():
    a = chunk_document(_doc("Er komt extra geld."), ChunkSettings())[0]
    b = chunk_document(_doc("Er komt geen extra geld."), ChunkSettings())[0]
    assert a.content_hash != b.content_hash


def test_empty_turn_gives_no_chunk():
    assert chunk_document(_doc("   "), ChunkSettings()) == []
