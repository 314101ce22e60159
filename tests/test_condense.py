"""Follow-up questions rewritten into standalone ones."""

from __future__ import annotations

import time

import pytest

from kamerbron.errors import LLMEndpointError
from kamerbron.settings import LLMSettings
from kamerbron.text import find_parties
from rag.condense import MAX_CONDENSED_CHARS, condense_heuristic, condense_question, looks_like_follow_up
from rag.llm import OpenAICompatibleLLM
from tests.fakes.llm import QueuedChatLLM
from tests.fakes.openai_server import Reply

SP_HISTORY = [("Wat zei de SP over de pooierboete?", "De SP is voor een pooierboete [1].")]


@pytest.mark.parametrize(
    "follow_up",
    ["En wat zei de VVD daarover?", "En de VVD?", "en de VVD-fractie?", "What about the VVD?"],
)
def test_new_party_replaces_the_old_one(follow_up):
    assert condense_question(follow_up, SP_HISTORY) in {
        "Wat zei de VVD over de pooierboete?",
        "Wat zei de VVD-fractie over de pooierboete?",
    }


def test_party_without_article_replaces_the_old_one():
    assert condense_question("En D66?", SP_HISTORY) == "Wat zei D66 over de pooierboete?"


def test_new_topic_keeps_the_old_party():
    assert condense_question("En over de vergunningplicht?", SP_HISTORY) == "Wat zei de SP over de vergunningplicht?"


def test_pronoun_is_replaced_by_the_previous_actor():
    assert condense_question("Wat vond hij daarvan?", SP_HISTORY) == "Wat vond de SP van de pooierboete?"


def test_question_without_topic_gets_the_previous_topic():
    assert condense_question("Wat zei de minister?", SP_HISTORY) == "Wat zei de minister over de pooierboete?"


def test_english_follow_up_is_rewritten_in_english():
    history = [("What did the SP say about the pimp fine?", "...")]
    assert condense_question("And the VVD?", history) == "What did the VVD say about the pimp fine?"


def test_follow_up_of_a_follow_up_uses_the_rewritten_question():
    history = SP_HISTORY + [("En de VVD?", "De VVD is tegen [1].")]
    assert condense_question("En wat zei hij daarover?", history) == "Wat zei de VVD over de pooierboete?"


def test_self_contained_question_is_unchanged():
    question = "Welke maatregelen neemt het kabinet tegen loverboys?"
    assert condense_question(question, SP_HISTORY) == question


def test_self_contained_question_starting_like_a_follow_up_is_unchanged():
    question = "Wat zei de VVD over het vergunningstelsel?"
    assert condense_question(question, SP_HISTORY) == question


def test_question_without_history_is_unchanged():
    assert condense_question("En de VVD?", []) == "En de VVD?"


def test_long_question_with_dat_is_not_a_follow_up():
    assert not looks_like_follow_up("Klopt het dat de VVD tegen een pooierboete voor klanten is?")


def test_party_fractie_is_detected():
    assert find_parties("Wat vond de SP-fractie ervan?") == ["SP"]


def test_combined_party_is_one_party():
    assert find_parties("Wat zei GroenLinks-PvdA?") == ["GroenLinks-PvdA"]


def test_the_verb_denk_is_not_the_party_denk():
    assert find_parties("Wat denk je dat de VVD vindt?") == ["VVD"]


def test_llm_rewrites_through_the_endpoint(openai_server):
    openai_server.queue("Wat zei de VVD over de pooierboete?")
    llm = OpenAICompatibleLLM(LLMSettings(base_url=openai_server.base_url, model=openai_server.model))
    assert condense_question("En die partij?", SP_HISTORY, llm) == "Wat zei de VVD over de pooierboete?"


def test_llm_request_shows_the_conversation(openai_server):
    openai_server.queue("Wat zei de VVD over de pooierboete?")
    llm = OpenAICompatibleLLM(LLMSettings(base_url=openai_server.base_url, model=openai_server.model))
    condense_question("En de VVD?", SP_HISTORY, llm)
    assert SP_HISTORY[0][0] in openai_server.request_text() and "En de VVD?" in openai_server.request_text()


def test_llm_failure_falls_back_to_the_heuristic(openai_server):
    openai_server.queue(Reply.error(500), times=2)
    llm = OpenAICompatibleLLM(LLMSettings(base_url=openai_server.base_url, model=openai_server.model))
    assert condense_question("En de VVD?", SP_HISTORY, llm) == "Wat zei de VVD over de pooierboete?"


def test_llm_label_and_quotes_are_removed():
    llm = QueuedChatLLM('Zelfstandige vraag: "Wat zei de VVD over de pooierboete?"\nUitleg: ...')
    assert condense_question("En de VVD?", SP_HISTORY, llm) == "Wat zei de VVD over de pooierboete?"


def test_llm_is_not_asked_without_history():
    llm = QueuedChatLLM(LLMEndpointError("should not be called"))
    condense_question("Wat zei de SP?", [], llm)
    assert llm.calls == []


def test_follow_up_with_its_own_verb_keeps_its_wording():
    history = [("Hoeveel extra geld komt er jaarlijks bij voor het actieplan tegen mensenhandel?", "")]
    assert condense_heuristic("En vindt de SP dat genoeg?", history).startswith("Vindt de SP dat genoeg")


def test_demonstrative_noun_gets_the_previous_topic():
    history = [("Wie stelde in 2018 een taaltoets voor sekswerkers voor?", "")]
    assert "taaltoets" in condense_heuristic("En wat vond de staatssecretaris van dat voorstel?", history)


# --- bounded cost (issue #12, findings 1 and 6) -------------------------------------------------------

HUGE_QUESTION = "Wat zei de SP over de pooierboete en " + "de opvang van slachtoffers " * 2000 + "?"


def test_huge_previous_question_is_not_copied_whole():
    condensed = condense_question("En de VVD?", [(HUGE_QUESTION, "Antwoord.")])
    assert len(condensed) <= MAX_CONDENSED_CHARS


def test_huge_previous_question_is_cut_at_a_word():
    condensed = condense_question("En de VVD?", [(HUGE_QUESTION, "Antwoord.")])
    assert condensed.endswith("slachtoffers?") or condensed.endswith("opvang?") or condensed.endswith("van?")


def test_condensed_question_is_capped_on_the_llm_path():
    llm = QueuedChatLLM("Wat zei de VVD over " + "de pooierboete " * 30 + "?")
    assert len(condense_question("En de VVD?", SP_HISTORY, llm)) <= MAX_CONDENSED_CHARS


def test_long_own_question_is_left_as_it_is():
    question = "Wat zei hij daarover, " + "en over de opvang " * 45 + "?"
    assert condense_question(question, SP_HISTORY).startswith("Wat zei")


def test_thousand_follow_ups_do_not_recurse():
    history = SP_HISTORY + [("En de VVD?", "Antwoord.")] * 1500
    assert isinstance(condense_question("En het CDA?", history), str)


def test_only_the_last_turns_are_read():
    history = [("En de VVD?", "Antwoord.")] * 1500 + SP_HISTORY
    assert condense_question("En het CDA?", history) == "Wat zei het CDA over de pooierboete?"


def test_thousand_follow_ups_take_no_longer_than_a_few():
    history = [("En de VVD?", "Antwoord."), ("En de SP?", "Antwoord.")] * 1000
    started = time.monotonic()
    condense_question("En het CDA?", SP_HISTORY + history)
    assert time.monotonic() - started < 0.5


def test_llm_prompt_cuts_long_earlier_questions():
    llm = QueuedChatLLM("Wat zei de VVD over de pooierboete?")
    condense_question("En de VVD?", [(HUGE_QUESTION, "Antwoord.")], llm)
    assert len(llm.calls[0][0]["content"]) < 5000


def test_a_noun_pointing_back_makes_a_follow_up():
    history = [("Wat stelde GroenLinks voor om sekswerkers met problemen bij banken te helpen?", "…")]
    condensed = condense_heuristic("Hoe reageerde de staatssecretaris op dat idee?", history)
    assert "banken" in condensed and "staatssecretaris" in condensed


def test_a_that_clause_is_not_a_pointing_noun():
    assert not looks_like_follow_up("Vindt de PvdA dat mensensmokkel en mensenhandel te scheiden zijn?")


def test_a_who_question_lends_its_object_not_its_frame():
    history = [("Wie stelde in 2018 een taaltoets voor sekswerkers voor?", "Mevrouw Kuik (CDA) zei ...")]
    condensed = condense_heuristic("En wat vond de staatssecretaris van dat voorstel?", history)
    assert "taaltoets sekswerkers" in condensed and "stelde" not in condensed


def test_auxiliary_verbs_and_months_are_no_topic_or_person():
    history = [("Welke partijen wilden in 2017 dat de rapporteur ook mensensmokkel zou onderzoeken?", "...")]
    condensed = condense_heuristic("Ging de minister daarin mee?", history)
    assert "mensensmokkel onderzoeken" in condensed and " zou " not in condensed and "wilden" not in condensed
    history = [("What did Van Nispen say in September about minimum sentences?", "...")]
    assert "according to September" not in condense_heuristic("And what did the state secretary say?", history)
