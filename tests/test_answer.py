"""The answering stage on a small hand-made index: validation, extractive answers, refusal,
citations, follow-ups and the LLM path with its fallback (against a real HTTP server)."""

import pytest

from kamerbron.embed import HashEmbedder
from kamerbron.errors import QuestionInvalidError
from kamerbron.fingerprint import settings_hash
from kamerbron.records import Filters
from rag.answer import Answerer, validate_question
from rag.prompts import REFUSAL_SENTENCE, REFUSAL_SENTENCE_EN
from rag.retrieve import Retriever
from tests.fakes.index import write_small_index
from tests.fakes.openai_server import Reply, fake_openai_server
from tests.fakes.settings import make_settings


@pytest.fixture
def answerer(settings):
    write_small_index(settings)
    return Answerer(settings, retriever=Retriever(settings, embedder=HashEmbedder(settings.embedding.dim)))


def _llm_answerer(tmp_path, base_url, **llm):
    settings = make_settings(tmp_path, llm={"base_url": base_url, "model": "fake-model", "timeout_s": 2.0} | llm)
    write_small_index(settings)
    return Answerer(settings, retriever=Retriever(settings, embedder=HashEmbedder(settings.embedding.dim)))


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_refused_with_message(settings, question):
    with pytest.raises(QuestionInvalidError, match="leeg"):
        validate_question(question, settings)


def test_too_long_question_names_the_limit(settings):
    with pytest.raises(QuestionInvalidError, match="maximaal 1000"):
        validate_question("mensenhandel " * 200, settings)


def test_control_characters_are_refused(settings):
    with pytest.raises(QuestionInvalidError, match="stuurtekens"):
        validate_question("wat zei\x00 de minister", settings)


def test_question_in_other_script_is_refused(settings):
    with pytest.raises(QuestionInvalidError, match="Nederlands of Engels"):
        validate_question("Что сказал министр о торговле людьми?", settings)


def test_whitespace_is_collapsed(settings):
    assert validate_question("  wat   zei\nde minister? ", settings) == "wat zei de minister?"


def test_extractive_answer_cites_the_minister(answerer):
    a = answerer.answer("Hoeveel euro extra komt er voor de politie?")
    assert a.citations[0].speaker == "Minister Blok" and "[1]" in a.answer


def test_extractive_answer_quotes_the_passage(answerer):
    a = answerer.answer("Hoeveel euro extra komt er voor de politie?")
    assert "2 miljoen euro extra voor de politie" in a.answer


def test_extractive_answer_attributes_with_date(answerer):
    a = answerer.answer("Hoeveel euro extra komt er voor de politie?")
    assert "16 februari 2017" in a.answer


def test_every_citation_was_retrieved(answerer):
    a = answerer.answer("Wat wil het CDA met de registratie van prostituees?")
    assert {c.chunk_id for c in a.citations} <= {p.chunk_id for p in a.retrieved}


def test_citation_carries_sentence_relied_on(answerer):
    a = answerer.answer("Wat wil het CDA met de registratie van prostituees?")
    assert a.citations[0].sentences == ["Het CDA wil een registratieplicht voor prostituees."]


def test_unrelated_question_is_refused(answerer):
    a = answerer.answer("Wat is het recept voor appeltaart met kaneel?")
    assert a.refused and a.answer == REFUSAL_SENTENCE and a.citations == []


def test_unrelated_english_question_is_refused_in_english(answerer):
    a = answerer.answer("What is the recipe for apple pie with cinnamon?")
    assert a.refused and a.answer == REFUSAL_SENTENCE_EN and a.citations == []


def test_answer_is_stamped_with_settings_hash(answerer, settings):
    assert answerer.answer("geld voor de politie").settings_hash == settings_hash(settings)


def test_answer_reports_timings(answerer):
    assert "retrieve_ms" in answerer.answer("geld voor de politie").timings_ms


def test_filters_reach_retrieval(answerer):
    a = answerer.answer("Wat zei men over de politie?", filters=Filters(parties=["CDA"]))
    assert {p.party for p in a.retrieved if p.via == "hit"} == {"CDA"}


def test_english_question_gets_english_frame(answerer):
    a = answerer.answer("What did the minister say about extra money for the police?")
    assert " said on 16 February 2017" in a.answer or " replied on 16 February 2017" in a.answer


def test_follow_up_is_condensed_with_history(answerer):
    history = [("Wat zei de SP over de capaciteit van de politie?", "…")]
    a = answerer.answer("En wat zei het CDA daarover?", history=history)
    assert a.standalone_question == "Wat zei het CDA over de capaciteit van de politie?"


def test_stream_ends_with_final_answer(answerer):
    updates = list(answerer.stream("geld voor de politie"))
    assert updates[-1].final is not None and updates[-1].text == updates[-1].final.answer


def test_llm_answer_is_renumbered_and_cited(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.ok("Minister Blok zegde 2 miljoen euro toe [d:1:0]."))
        a = _llm_answerer(tmp_path, server.base_url).answer("Hoeveel euro komt er extra voor de politie?")
    assert (a.backend, a.answer, a.citations[0].chunk_id) == (
        "llm",
        "Minister Blok zegde 2 miljoen euro toe [1].",
        "d:1:0",
    )


def test_llm_citation_of_unretrieved_id_is_dropped(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.ok("Blok beloofde geld [d:1:0]. Iets verzonnens [x:9:0]."))
        a = _llm_answerer(tmp_path, server.base_url).answer("Hoeveel euro komt er extra voor de politie?")
    assert [c.chunk_id for c in a.citations] == ["d:1:0"] and "x:9:0" not in a.answer


def test_llm_stream_yields_growing_text(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.ok("Minister Blok zegde 2 miljoen euro toe [d:1:0]."))
        updates = list(_llm_answerer(tmp_path, server.base_url).stream("Hoeveel euro komt er extra voor de politie?"))
    assert len(updates) > 2 and updates[-1].final.answer.endswith("[1].")


def test_llm_failure_falls_back_to_extractive_with_notice(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.error(500), times=3)
        a = _llm_answerer(tmp_path, server.base_url).answer("Hoeveel euro komt er extra voor de politie?")
    assert a.backend == "extractive" and a.notice and a.citations


def test_llm_timeout_falls_back_to_extractive(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.slow("te laat", 3.0), times=3)
        a = _llm_answerer(tmp_path, server.base_url, timeout_s=0.5).answer(
            "Hoeveel euro komt er extra voor de politie?"
        )
    assert a.backend == "extractive" and "taalmodel" in a.notice


def test_llm_refusal_is_marked_refused(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.ok(REFUSAL_SENTENCE))
        a = _llm_answerer(tmp_path, server.base_url).answer("Wat is het recept voor appeltaart?")
    assert a.refused
