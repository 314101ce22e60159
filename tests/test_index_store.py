"""The index store on its own: generations, the pointer switch, filters, BM25, linked turns."""

import time

import pytest

from kamerbron.analyzer import Analyzer
from kamerbron.embed import HashEmbedder
from kamerbron.errors import ChromaUnreachableError, IndexMissingError
from kamerbron.records import Filters
from kamerbron.store import IndexStore, chroma_client
from rag.retrieve import Retriever, mentions, reciprocal_rank_fusion, surname_pattern
from tests.fakes.index import write_small_index as _write
from tests.fakes.ports import free_port
from tests.fakes.settings import make_settings


@pytest.fixture
def retriever(settings):
    _write(settings)
    return Retriever(settings, embedder=HashEmbedder(settings.embedding.dim))


def test_missing_index_says_how_to_build(settings):
    with pytest.raises(IndexMissingError, match="python -m ingest build"):
        IndexStore(settings).load()


def test_unreachable_chroma_server_names_host_port_and_how_to_start_one(tmp_path):
    port = free_port()
    settings = make_settings(tmp_path, chroma={"host": "127.0.0.1", "port": port})
    with pytest.raises(
        ChromaUnreachableError, match=rf"127\.0\.0\.1:{port}.*chroma run --path \S+ --host 127\.0\.0\.1 --port {port}"
    ):
        chroma_client(settings)


def test_unreachable_chroma_server_fails_fast(tmp_path):
    settings = make_settings(tmp_path, chroma={"host": "127.0.0.1", "port": free_port()})
    started = time.monotonic()
    with pytest.raises(ChromaUnreachableError):
        IndexStore(settings)
    assert time.monotonic() - started < 10


def test_written_generation_loads_all_chunks(settings):
    store, _ = _write(settings)
    assert len(store.load()) == 4


def test_second_write_switches_to_a_new_generation(settings):
    _write(settings)
    store, state = _write(settings)
    assert state.generation.endswith("_g2") and store.current_state().generation == state.generation


def test_old_generations_are_pruned(settings):
    for _ in range(3):
        store, _ = _write(settings)
    names = sorted(c.name for c in store.client.list_collections() if "_g" in c.name and "sentences" not in c.name)
    assert [n.rsplit("_", 1)[1] for n in names] == ["g2", "g3"]


def test_bm25_finds_stemmed_word(retriever):
    hits = retriever.retrieve("registratieplichten", mode="bm25")
    assert hits[0].surname == "Kuik"


def test_party_filter_keeps_only_that_party(retriever):
    hits = [p for p in retriever.retrieve("politie", filters=Filters(parties=["sp"])) if p.via == "hit"]
    assert {p.party for p in hits} == {"SP"}


def test_speaker_filter_is_case_insensitive(retriever):
    hits = [p for p in retriever.retrieve("politie", filters=Filters(speakers=["blok"])) if p.via == "hit"]
    assert {p.surname for p in hits} == {"Blok"}


def test_date_filter_excludes_everything_outside_range(retriever):
    assert retriever.retrieve("politie", filters=Filters(date_from="2018-01-01")) == []


def test_role_filter(retriever):
    hits = [p for p in retriever.retrieve("politie", filters=Filters(roles=["minister"])) if p.via == "hit"]
    assert [p.role for p in hits] == ["minister"]


def test_procedural_turn_is_down_weighted(retriever):
    ranked = [p.surname for p in retriever.retrieve("het woord is aan de minister voor de politie", mode="bm25")]
    assert ranked.index("Van Oosten") > 0


def test_answer_brings_along_the_question_it_answers(retriever):
    passages = retriever.retrieve("2 miljoen euro", k=1, mode="bm25")
    assert [(p.surname, p.via) for p in passages] == [("Blok", "hit"), ("Van Nispen", "linked")]


def test_question_brings_along_its_answer(retriever):
    passages = retriever.retrieve("capaciteit mensenhandel", k=1, mode="bm25")
    assert ("Blok", "linked") in [(p.surname, p.via) for p in passages]


def test_english_question_reaches_dutch_text_through_bm25(retriever):
    assert retriever.retrieve("registration of prostitutes", mode="bm25")[0].surname == "Kuik"


def test_rrf_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [2, 1, 3]], k=60)
    assert fused[3] < fused[1] == fused[2]


def test_facets_list_parties_and_speakers(retriever):
    facets = retriever.facets()
    assert facets["parties"] == ["CDA", "SP"] and "Blok" in facets["speakers"]


def test_named_party_is_boosted(retriever):
    ranked = [p.party for p in retriever.retrieve("Wat zei het CDA over de politie?", mode="bm25") if p.via == "hit"]
    assert ranked[0] == "CDA"


def test_government_question_boosts_the_minister():
    assert mentions("Wat antwoordde de minister?", None)["roles"] == {"minister", "staatssecretaris", "regering"}


def test_who_question_gets_no_role_boost():
    assert mentions("Wie vroeg de minister om meer geld?", None)["roles"] == set()


def test_surname_mention_is_a_whole_word():
    assert mentions("Wat zei Kuiken over blokken?", surname_pattern(["Kuik", "Kuiken", "Blok"]))["surnames"] == {
        "kuiken"
    }


def test_compound_word_also_yields_its_known_parts():
    analyzer = Analyzer({"arbeid", "uitbuit", "mensenhandel"})
    assert analyzer.tokens("arbeidsuitbuiting") == ["arbeidsuitbuit", "arbeid", "uitbuit"]


def test_word_without_known_parts_stays_whole():
    assert Analyzer({"arbeid"}).tokens("verbeteringen") == ["verbeter"]


def test_analyzer_drops_dutch_and_english_stopwords():
    assert Analyzer().tokens("Wat de minister over the police") == ["minister", "polic"]
