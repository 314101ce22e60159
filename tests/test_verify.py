"""Quote verification (rag/verify.py): every quoted span and cited sentence checked against its source,
for the extractive answer and for LLM answers served by a real fake OpenAI-compatible server that
makes each kind of mistake: a stitched quote, a paraphrase in quotation marks, the right words of the
wrong speaker, an invented quote, a correct quote in smart quotes with a line-break hyphen, and a
``<think>`` block."""

from __future__ import annotations

import json

import pytest

from ingest.chunk import chunk_document
from kamerbron.embed import HashEmbedder
from kamerbron.records import Citation, DocumentMeta, ParsedDocument, Turn
from rag.__main__ import main as rag_main
from rag.answer import Answerer
from rag.citations import StreamingCitationRenderer, strip_reasoning
from rag.retrieve import Retriever
from rag.verify import NOTES, claim_in, normalise, quote_spans, verify_quotes
from tests.fakes.index import write_small_index
from tests.fakes.openai_server import Reply, fake_openai_server
from tests.fakes.records import make_passage
from tests.fakes.settings import make_settings

VAN_NISPEN = (
    "De politie heeft te weinig capaciteit om mensenhandel aan te pakken. Wij vragen de minister om 10 miljoen "
    "euro extra. Slachtoffers verdienen betere opvang."
)
BLOK = (
    "Er komt 2 miljoen euro extra voor de politie. Dat geld gaat naar de aanpak van mensen- handel in de grote "
    "steden. Meer kan ik op dit moment niet toezeggen."
)
KUIK = 'Het CDA wil een registratieplicht voor prostituees. Wij noemen uitbuiting "moderne slavernij" en dat moet harder worden bestraft.'
SP_GROUP = "De leden van de SP-fractie vragen hoeveel slachtoffers er vorig jaar zijn opgevangen."
QUESTION = "Wat zei de minister over extra geld voor de politie en de aanpak van mensenhandel?"


def debate_chunks(settings):
    """Van Nispen (SP) asks, Minister Blok answers, Kuik (CDA) and the SP group speak; one document."""
    meta = DocumentMeta(doc_id="d", source_file="d.txt", title="Verslag", date="2017-02-16", doc_type="debat")
    turns = [
        Turn(doc_id="d", turn_index=0, speaker="De heer Van Nispen", surname="Van Nispen", party="SP", role="kamerlid", text=VAN_NISPEN),
        Turn(doc_id="d", turn_index=1, speaker="Minister Blok", surname="Blok", role="minister", replies_to=[0], text=BLOK),
        Turn(doc_id="d", turn_index=2, speaker="Mevrouw Kuik", surname="Kuik", party="CDA", role="kamerlid", text=KUIK),
        Turn(doc_id="d", turn_index=3, speaker="leden van de SP-fractie", party="SP", role="fractie", text=SP_GROUP),
    ]  # fmt: skip
    return chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)


def _answerer(tmp_path, base_url: str | None = None) -> Answerer:
    llm = {"base_url": base_url, "model": "fake-model", "timeout_s": 2.0} if base_url else {}
    settings = make_settings(tmp_path, llm=llm)
    write_small_index(settings, debate_chunks(settings))
    return Answerer(settings, retriever=Retriever(settings, embedder=HashEmbedder(settings.embedding.dim)))


def llm_answer(tmp_path, reply: str):
    with fake_openai_server() as server:
        server.queue(Reply.ok(reply))
        return _answerer(tmp_path, server.base_url).answer(QUESTION)


# -- the failure kinds, through the LLM backend -----------------------------------------------------


def test_llm_correct_quote_is_verified(tmp_path):
    a = llm_answer(tmp_path, "Minister Blok zei: „Er komt 2 miljoen euro extra voor de politie.” [d:1:0]")
    assert [(q.status, q.chunk_id) for q in a.quotes] == [("verified", "d:1:0")]


def test_llm_smart_quotes_and_line_break_hyphen_are_verified(tmp_path):
    a = llm_answer(tmp_path, "Blok zei: “Dat geld gaat naar de aanpak van mensenhandel in de grote steden.” [d:1:0]")
    assert [q.status for q in a.quotes] == ["verified"]


def test_llm_nested_smart_quotes_are_verified(tmp_path):
    a = llm_answer(
        tmp_path,
        "Mevrouw Kuik zei: „Wij noemen uitbuiting ‘moderne slavernij’ en dat moet harder worden bestraft.“ [d:2:0]",
    )
    assert [q.status for q in a.quotes] == ["verified"]


def test_llm_correct_quote_keeps_the_answer_text(tmp_path):
    reply = "Blok zei: “Dat geld gaat naar de aanpak van mensen- handel in de grote steden.” [d:1:0]"
    assert llm_answer(tmp_path, reply).answer == reply.replace("[d:1:0]", "[1]")


def test_llm_stitched_quote_is_repaired_with_an_ellipsis(tmp_path):
    a = llm_answer(
        tmp_path,
        "Minister Blok zei: „Er komt 2 miljoen euro extra voor de aanpak van mensenhandel in de grote steden.” [d:1:0]",
    )
    assert (a.quotes[0].status, a.quotes[0].source_text) == (
        "repaired",
        "Er komt 2 miljoen euro extra voor de … aanpak van mensen- handel in de grote steden.",
    )


def test_llm_repaired_quote_stands_in_the_answer_with_a_note(tmp_path):
    a = llm_answer(
        tmp_path,
        "Minister Blok zei: „Er komt 2 miljoen euro extra voor de aanpak van mensenhandel in de grote steden.” [d:1:0]",
    )
    assert "„Er komt 2 miljoen euro extra voor de … aanpak" in a.answer and NOTES["nl"]["repaired"] in a.answer


def test_llm_quote_with_one_word_changed_is_repaired(tmp_path):
    a = llm_answer(tmp_path, "Minister Blok zei: „Er komt 3 miljoen euro extra voor de politie.” [d:1:0]")
    assert (a.quotes[0].status, a.quotes[0].source_text) == (
        "repaired",
        "Er komt 2 miljoen euro extra voor de politie.",
    )


def test_llm_quote_stitched_from_two_speakers_is_unverified(tmp_path):
    a = llm_answer(
        tmp_path,
        "Blok zei: „De politie heeft te weinig capaciteit voor de aanpak van mensenhandel in de grote steden.” [d:1:0]",
    )
    assert [q.status for q in a.quotes] == ["unverified"]


def test_llm_paraphrase_in_quotation_marks_is_unverified(tmp_path):
    a = llm_answer(tmp_path, "Minister Blok zei: „Het kabinet trekt twee miljoen uit voor de politie.” [d:1:0]")
    assert [(q.status, q.chunk_id) for q in a.quotes] == [("unverified", "d:1:0")]


def test_unverified_quote_is_not_shown_as_a_quote(tmp_path):
    a = llm_answer(tmp_path, "Minister Blok zei: „Het kabinet trekt twee miljoen uit voor de politie.” [d:1:0]")
    assert (
        a.answer
        == f"Minister Blok zei: Het kabinet trekt twee miljoen uit voor de politie. {NOTES['nl']['unverified']} [1]"
    )


def test_llm_invented_quote_is_unverified(tmp_path):
    a = llm_answer(tmp_path, "De minister zei: „Wij sluiten alle bordelen volgend jaar.” [d:1:0]")
    assert [q.status for q in a.quotes] == ["unverified"] and "„" not in a.answer


def test_llm_right_words_of_the_wrong_speaker_are_misattributed(tmp_path):
    a = llm_answer(
        tmp_path, "Minister Blok zei: „De politie heeft te weinig capaciteit om mensenhandel aan te pakken.” [d:1:0]"
    )
    assert [(q.status, q.actual_speaker, q.chunk_id) for q in a.quotes] == [
        ("misattributed", "De heer Van Nispen (SP)", "d:0:0")
    ]


def test_misattribution_is_named_in_the_answer(tmp_path):
    a = llm_answer(
        tmp_path, "Minister Blok zei: „De politie heeft te weinig capaciteit om mensenhandel aan te pakken.” [d:1:0]"
    )
    assert "(in de bron gezegd door De heer Van Nispen (SP))" in a.answer


def test_quote_credited_to_a_person_who_did_not_say_it_is_misattributed(tmp_path):
    # the right passage is cited, but the answer names the wrong speaker
    a = llm_answer(tmp_path, "Minister Blok zei: „Wij vragen de minister om 10 miljoen euro extra.” [d:0:0]")
    assert [(q.status, q.claimed) for q in a.quotes] == [("misattributed", "Minister Blok")]


def test_quote_credited_to_the_wrong_party_is_misattributed(tmp_path):
    a = llm_answer(tmp_path, "De SP vroeg: „Er komt 2 miljoen euro extra voor de politie.” [d:1:0]")
    assert [(q.status, q.actual_speaker) for q in a.quotes] == [("misattributed", "Minister Blok")]


def test_quote_credited_to_the_right_party_group_is_verified(tmp_path):
    a = llm_answer(
        tmp_path,
        "De leden van de SP-fractie schreven: „De leden van de SP-fractie vragen hoeveel slachtoffers er vorig jaar zijn opgevangen.” [d:3:0]",
    )
    assert [q.status for q in a.quotes] == ["verified"]


def test_cited_sentence_with_the_wrong_speaker_is_misattributed(tmp_path):
    a = llm_answer(tmp_path, "Minister Blok vroeg om betere opvang voor slachtoffers [d:0:0].")
    assert [(q.kind, q.status, q.actual_speaker) for q in a.quotes] == [
        ("sentence", "misattributed", "De heer Van Nispen (SP)")
    ]


def test_cited_paraphrase_is_an_unchanged_unverified_sentence(tmp_path):
    a = llm_answer(tmp_path, "Minister Blok zegde 2 miljoen euro extra toe [d:1:0].")
    assert ([(q.kind, q.status) for q in a.quotes], a.answer) == (
        [("sentence", "unverified")],
        "Minister Blok zegde 2 miljoen euro extra toe [1].",
    )


def test_cited_sentence_copied_word_for_word_is_verified(tmp_path):
    a = llm_answer(tmp_path, "Meer kan ik op dit moment niet toezeggen [d:1:0].")
    assert [(q.kind, q.status) for q in a.quotes] == [("sentence", "verified")]


THINKING = (
    "<think>De gebruiker vraagt naar geld. Misschien zei Blok „Wij sluiten alle bordelen volgend jaar.” "
    "[d:1:0]</think>\n\nMinister Blok zei: „Er komt 2 miljoen euro extra voor de politie.” [d:1:0]"
)


def test_think_block_is_not_in_the_answer(tmp_path):
    a = llm_answer(tmp_path, THINKING)
    assert a.answer == "Minister Blok zei: „Er komt 2 miljoen euro extra voor de politie.” [1]"


def test_think_block_is_not_checked(tmp_path):
    assert [q.status for q in llm_answer(tmp_path, THINKING).quotes] == ["verified"]


def test_think_block_is_never_streamed(tmp_path):
    with fake_openai_server() as server:
        server.queue(Reply.ok(THINKING))
        updates = list(_answerer(tmp_path, server.base_url).stream(QUESTION))
    assert not any("bordelen" in u.text or "think" in u.text for u in updates)


def test_reasoning_tag_is_stripped_too(tmp_path):
    a = llm_answer(tmp_path, "<reasoning>eerst nadenken</reasoning>Meer kan ik op dit moment niet toezeggen [d:1:0].")
    assert a.answer == "Meer kan ik op dit moment niet toezeggen [1]."


# -- the extractive backend ---------------------------------------------------------------------------


@pytest.mark.parametrize("question", [
    "Hoeveel euro extra komt er voor de politie?",
    "Wat wil het CDA met de registratie van prostituees?",
    "Wat vroeg de SP over capaciteit en opvang van slachtoffers?",
])  # fmt: skip
def test_extractive_quotes_are_all_verified(tmp_path, question):
    a = _answerer(tmp_path).answer(question)
    assert a.quotes and {q.status for q in a.quotes} == {"verified"}


def test_extractive_quote_of_sentences_apart_joins_them_with_an_ellipsis(tmp_path):
    # Van Nispen's first and third sentence, without the second: marked as left out, so still verbatim
    text = f"De heer Van Nispen (SP) zei: “{VAN_NISPEN.split('. ')[0]}. … Slachtoffers verdienen betere opvang.” [1]"
    passage = make_passage(
        chunk_id="d:0:0", speaker="De heer Van Nispen", surname="Van Nispen", party="SP", text=VAN_NISPEN
    )
    result = verify_quotes(text, [Citation.from_passage(1, passage, [])], [passage])
    assert [q.status for q in result.quotes] == ["verified"]


def test_answer_json_carries_the_quotes(tmp_path):
    a = llm_answer(
        tmp_path, "Minister Blok zei: „De politie heeft te weinig capaciteit om mensenhandel aan te pakken.” [d:1:0]"
    )
    assert a.to_json()["quotes"] == [{
        "text": "De politie heeft te weinig capaciteit om mensenhandel aan te pakken.", "kind": "quote",
        "status": "misattributed", "chunk_id": "d:0:0", "n": 1, "actual_speaker": "De heer Van Nispen (SP)",
        "claimed": "Minister Blok",
    }]  # fmt: skip


def test_cli_ask_json_carries_the_quotes(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)
    write_small_index(settings, debate_chunks(settings))
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(settings.paths.index_dir))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    rag_main(["ask", "Hoeveel euro extra komt er voor de politie?", "--json"])
    quotes = json.loads(capsys.readouterr().out)["quotes"]
    assert quotes and all(set(q) >= {"text", "status", "chunk_id"} and q["status"] == "verified" for q in quotes)


def test_answer_reports_the_time_verification_took(tmp_path):
    assert "verify_ms" in _answerer(tmp_path).answer("Hoeveel euro extra komt er voor de politie?").timings_ms


# -- the parts ------------------------------------------------------------------------------------------

BLOK_PASSAGE = make_passage(chunk_id="d:1:0", speaker="Minister Blok", surname="Blok", role="minister", text=BLOK)
BLOK_CITED = [Citation.from_passage(1, BLOK_PASSAGE, [])]


def _statuses(text: str) -> list[str]:
    return [q.status for q in verify_quotes(text, BLOK_CITED, [BLOK_PASSAGE]).quotes]


def test_normalise_joins_line_break_hyphens():
    assert normalise("mensen-\nhandel") == normalise("mensenhandel")


def test_normalise_ignores_quote_characters_and_case():
    assert normalise("„Moderne Slavernij”") == normalise('"moderne slavernij"')


def test_apostrophes_are_not_quotation_marks():
    assert quote_spans("Er is zo’n regeling, ’s avonds ook.") == []


def test_nested_quotes_give_the_outer_span():
    text = "Zij zei: “wij noemen dit «moderne slavernij» in de wet” [1]"
    assert [text[s:e] for s, e in quote_spans(text)] == ["“wij noemen dit «moderne slavernij» in de wet”"]


def test_ellipsis_may_join_parts_in_order():
    assert _statuses("Blok: „Er komt 2 miljoen euro … in de grote steden.” [1]") == ["verified"]


def test_ellipsis_does_not_join_parts_out_of_order():
    assert _statuses("Blok: „Meer kan ik op dit moment niet toezeggen … Er komt 2 miljoen euro extra.” [1]") != [
        "verified"
    ]


def test_words_inside_a_longer_word_are_not_a_match():
    assert _statuses("Blok: „omt 2 miljoen euro extra voor de politie” [1]") != ["verified"]


def test_short_quoted_term_is_not_checked():
    assert verify_quotes("Blok sprak over de „aanpak” [1].", BLOK_CITED, [BLOK_PASSAGE]).quotes[0].kind == "sentence"


def test_uncited_quote_is_looked_for_in_the_retrieved_passages():
    result = verify_quotes("Blok zei: „Meer kan ik op dit moment niet toezeggen.”", [], [BLOK_PASSAGE])
    assert [(q.status, q.chunk_id, q.n) for q in result.quotes] == [("verified", "d:1:0", None)]


def test_english_answer_gets_english_notes():
    text = "What did the minister say? Minister Blok said: “We will close all brothels next year.” [1]"
    assert NOTES["en"]["unverified"] in verify_quotes(text, BLOK_CITED, [BLOK_PASSAGE]).text


def test_claim_names_every_person_before_the_quote():
    assert [name for _, name, _ in claim_in("Minister Blok antwoordde de heer Van Nispen (SP):").persons] == [
        "Blok",
        "Van Nispen",
    ]


def test_claim_of_a_party_needs_a_speech_verb():
    assert not claim_in("In antwoord op de SP:")


def test_minister_of_a_ministry_is_not_a_person():
    claim = claim_in("De minister van Justitie en Veiligheid antwoordde:")
    assert (claim.persons, claim.government) == ([], True)


def test_unnamed_minister_in_the_source_is_not_disproved_by_a_name():
    anonymous = make_passage(
        chunk_id="e:1:0", speaker="De Minister van Veiligheid en Justitie", role="minister", text=BLOK
    )
    text = "Minister Blok antwoordde: „Er komt 2 miljoen euro extra voor de politie.” [1]"
    assert [q.status for q in verify_quotes(text, [Citation.from_passage(1, anonymous, [])], [anonymous]).quotes] == [
        "verified"
    ]


def test_refusal_has_no_quotes(tmp_path):
    a = _answerer(tmp_path).answer("Wat is het recept voor appeltaart met kaneel?")
    assert a.refused and a.quotes == []


def test_repair_joins_a_line_break_hyphen_of_the_source():
    pdf = make_passage(chunk_id="p:0:0", speaker="Minister Blok", surname="Blok", role="minister",
                       text="Dat geld gaat naar de aanpak van mensen-\nhandel in de grote steden.")  # fmt: skip
    result = verify_quotes("Blok: „Dat geld gaat naar de bestrijding van mensenhandel in de grote steden.” [1]",
                           [Citation.from_passage(1, pdf, [])], [pdf])  # fmt: skip
    assert result.quotes[0].source_text == "Dat geld gaat naar de aanpak van mensenhandel in de grote steden."


def test_quote_with_an_ellipsis_is_repaired_part_by_part():
    result = verify_quotes("Blok: „Er komt 3 miljoen euro extra voor de politie … Meer kan ik op dit moment niet toezeggen.” [1]",
                           BLOK_CITED, [BLOK_PASSAGE])  # fmt: skip
    assert (
        result.quotes[0].source_text
        == "Er komt 2 miljoen euro extra voor de politie … Meer kan ik op dit moment niet toezeggen."
    )


def test_right_speaker_but_another_speakers_passage_cited_is_misattributed_by_the_citation():
    van_nispen = make_passage(
        chunk_id="d:0:0", speaker="De heer Van Nispen", surname="Van Nispen", party="SP", text=VAN_NISPEN
    )
    text = "Minister Blok zei: „Meer kan ik op dit moment niet toezeggen.” [1]"
    result = verify_quotes(text, [Citation.from_passage(1, van_nispen, [])], [van_nispen, BLOK_PASSAGE])
    assert [(q.status, q.actual_speaker, q.claimed) for q in result.quotes] == [
        ("misattributed", "Minister Blok", "De heer Van Nispen (SP)")
    ]


def test_quote_in_another_passage_of_the_speaker_cited_is_verified_there():
    other_part = make_passage(chunk_id="d:1:1", speaker="Minister Blok", surname="Blok", role="minister",
                              text="Ik kom daar in de tweede termijn op terug.")  # fmt: skip
    result = verify_quotes(
        "Blok zei: „Ik kom daar in de tweede termijn op terug.” [1]", BLOK_CITED, [BLOK_PASSAGE, other_part]
    )
    assert [(q.status, q.chunk_id) for q in result.quotes] == [("verified", "d:1:1")]


def test_misattribution_is_found_in_the_index_beyond_the_retrieved_passages(tmp_path):
    settings = make_settings(tmp_path)
    chunks = debate_chunks(settings)
    text = "Minister Blok zei: „Slachtoffers verdienen betere opvang.” [1]"
    result = verify_quotes(text, BLOK_CITED, [BLOK_PASSAGE], chunks)
    assert [(q.status, q.actual_speaker) for q in result.quotes] == [("misattributed", "De heer Van Nispen (SP)")]


def test_whole_sentences_apart_are_verified_with_an_ellipsis_put_in():
    van_nispen = make_passage(
        chunk_id="d:0:0", speaker="De heer Van Nispen", surname="Van Nispen", party="SP", text=VAN_NISPEN
    )
    text = "De heer Van Nispen (SP) zei: “De politie heeft te weinig capaciteit om mensenhandel aan te pakken. Slachtoffers verdienen betere opvang.” [1]"
    result = verify_quotes(text, [Citation.from_passage(1, van_nispen, [])], [van_nispen])
    assert ([q.status for q in result.quotes], result.text) == (
        ["verified"],
        "De heer Van Nispen (SP) zei: “De politie heeft te weinig capaciteit om mensenhandel aan te pakken. … "
        "Slachtoffers verdienen betere opvang.” [1]",
    )


def test_whole_sentences_out_of_order_are_not_verified():
    text = "Blok zei: “Meer kan ik op dit moment niet toezeggen. Er komt 2 miljoen euro extra voor de politie.” [1]"
    assert _statuses(text) != ["verified"]


# -- reasoning stripped ---------------------------------------------------------------------------------


def test_reasoning_block_is_stripped():
    assert strip_reasoning("<think>eerst nadenken</think>\n\nHet antwoord.").strip() == "Het antwoord."


def test_reasoning_without_its_opening_tag_is_stripped():
    assert strip_reasoning("eerst nadenken</think>Het antwoord.") == "Het antwoord."


def test_unclosed_reasoning_is_stripped_to_the_end():
    assert strip_reasoning("Het antwoord. <reasoning>en nog meer") == "Het antwoord. "


def test_tag_being_streamed_is_held_back():
    assert strip_reasoning("Het antwoord. <thi", final=False) == "Het antwoord. "


def test_other_angle_brackets_stay():
    assert strip_reasoning("a < b en c > d", final=False) == "a < b en c > d"


def test_stream_cut_inside_a_think_tag_never_shows_it():
    renderer = StreamingCitationRenderer([BLOK_PASSAGE])
    shown = [renderer.feed(delta) for delta in ["<th", "ink>geheim", " denken</thi", "nk>Het ", "antwoord."]]
    assert shown == ["", "", "", "Het", "Het antwoord."]


def test_markers_after_a_bracketed_aside_belong_to_the_quote():
    result = verify_quotes(
        "Blok zei: „Er komt 2 miljoen euro extra voor de politie.” (2017) [1]", BLOK_CITED, [BLOK_PASSAGE]
    )
    assert [(q.kind, q.status, q.n) for q in result.quotes] == [("quote", "verified", 1)]


def test_checking_a_checked_answer_changes_nothing():
    once = verify_quotes(
        "Minister Blok zei: „Er komt 3 miljoen euro extra voor de politie.” [1]", BLOK_CITED, [BLOK_PASSAGE]
    )
    assert verify_quotes(once.text, BLOK_CITED, [BLOK_PASSAGE]).text == once.text
