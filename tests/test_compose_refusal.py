"""Honest refusal in the extractive answer: what the question pins down (a name, a year, an amount)
must be in the cited evidence, and a question the documents only ask is answered with exactly that."""

import pytest

from ingest.chunk import chunk_document
from kamerbron.embed import HashEmbedder
from kamerbron.records import DocumentMeta, ParsedDocument, Turn
from kamerbron.text import split_sentences
from rag.answer import Answerer
from rag.compose import _known_word
from rag.prompts import REFUSAL_SENTENCE
from rag.retrieve import Retriever
from tests.fakes.index import small_chunks, write_small_index


def _consultation(settings):
    """An undated written consultation about 2014: one answered question, one left open."""
    meta = DocumentMeta(
        doc_id="so", source_file="so.txt", title="Verslag van een schriftelijk overleg", doc_type="schriftelijk_overleg"
    )
    turns = [
        Turn(doc_id="so", turn_index=0, speaker="leden van de SP-fractie", party="SP", role="fractie",
             text="De leden van de SP-fractie vragen hoeveel opvangplekken voor slachtoffers er in 2014 waren. "
                  "Zij vragen ook wat de uitkomst is van het overleg over de voortzetting van de nachtopvang?"),
        Turn(doc_id="so", turn_index=1, speaker="De Minister van Veiligheid en Justitie", role="minister",
             replies_to=[0],
             text="In 2014 waren er 120 opvangplekken voor slachtoffers beschikbaar, net als in 2013."),
    ]  # fmt: skip
    return chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)


def _hash_answerer(settings) -> Answerer:
    """An answerer over the index written in ``settings`` (hash embedding)."""
    return Answerer(settings, retriever=Retriever(settings, embedder=HashEmbedder(settings.embedding.dim)))


@pytest.fixture
def answerer(settings):
    write_small_index(settings, small_chunks(settings) + _consultation(settings))
    return _hash_answerer(settings)


def test_a_stated_amount_answers_a_quantity_question(answerer):
    a = answerer.answer("Hoeveel opvangplekken voor slachtoffers waren er in 2014?")
    assert not a.refused and "120 opvangplekken" in a.answer


def test_the_year_of_an_undated_document_comes_from_what_it_talks_about(answerer):
    a = answerer.answer("Hoeveel opvangplekken voor slachtoffers waren er in 2022?")
    assert a.refused and a.answer == REFUSAL_SENTENCE


def _compose(answerer, question):
    """The composition, with the evidence-strength refusal off: only the checks of what is pinned down."""
    answerer.composer.refusal_threshold = 0.0
    return answerer.composer.compose(question, answerer.retrieve(question), answerer.retriever.last_query_vector)


def test_a_name_no_document_uses_is_refused(answerer):
    c = _compose(answerer, "Wat regelt het Prostituiertenschutzgesetz voor opvangplekken voor slachtoffers?")
    assert c.refused and c.reason == "unknown name prostituiertenschutzgesetz"


def test_a_name_the_documents_use_is_not_refused(answerer):
    c = _compose(answerer, "Wat regelt de Minister van Veiligheid voor opvangplekken voor slachtoffers?")
    assert not c.refused


def test_an_abbreviation_no_document_uses_is_refused_and_one_they_use_is_not(answerer):
    c = _compose(answerer, "Wat vond de SP van de AOW voor slachtoffers in de opvang?")
    assert c.refused and c.reason == "unknown name AOW"
    # "SP" is a party, and an abbreviation the documents write as a word of its own is known
    assert answerer.composer.finder.index.words.count("sp") == 1
    c = _compose(answerer, "Hoeveel opvangplekken noemde de SP-fractie in het VSO voor slachtoffers?")
    assert c.reason == "unknown name VSO"
    # the start of a corpus word is not the abbreviation ("OPV" is not "opvangplekken")
    c = _compose(answerer, "Wat zei de OPV over opvangplekken voor slachtoffers?")
    assert c.refused and c.reason == "unknown name OPV"


def test_a_quantity_question_whose_evidence_states_no_amount_is_refused(answerer):
    c = _compose(answerer, "Hoeveel nachtopvang is er voortgezet na het overleg?")
    assert c.refused and c.reason in ("no_match", "no_answer")


def test_a_question_only_asked_in_the_documents_is_refused_with_the_question_cited(answerer):
    a = answerer.answer("Wat is de uitkomst van het overleg over de voortzetting van de nachtopvang?")
    assert a.refused
    assert "maar een antwoord van de regering erop niet" in a.answer
    assert a.citations and a.citations[0].party == "SP"


def test_a_question_about_the_asking_is_answered_from_the_question(answerer):
    a = answerer.answer("Wat vroeg de SP over de voortzetting van de nachtopvang?")
    assert not a.refused and a.citations[0].party == "SP"


@pytest.mark.parametrize(
    ("word", "known"),
    [
        ("prostituees", True),  # as written
        ("prostituee", True),  # an inflection: a prefix of a corpus word
        ("koolviszaak", True),  # a compound that begins with a corpus word of five letters or more
        ("prostituiertenschutzgesetz", False),
        ("amsterdam", False),
    ],
)
def test_known_words(word, known):
    assert _known_word(word, tuple(sorted({"prostituees", "koolvis", "prostitutie", "pro"}))) is known


def test_an_unseen_compound_is_covered_by_its_modifier_and_then_its_head(answerer):
    """Dutch compounds are headed on the right: the modifier alone covers part of an unseen compound,
    the head alone none of it, both all of it."""
    finder = answerer.composer.finder
    weights = finder.query_weights("politiecapaciteit", english=False)
    both = finder.coverage(weights, "De politie heeft te weinig capaciteit.")
    modifier = finder.coverage(weights, "De politie is er.")
    head = finder.coverage(weights, "Er is te weinig capaciteit.")
    assert both == 1.0 and 0.0 < modifier < 1.0 and head == 0.0


def test_an_amount_stated_for_another_year_does_not_answer(answerer):
    # 2015 falls in the period the undated consultation talks about, but its amount is for 2014 and 2013
    c = _compose(answerer, "Hoeveel opvangplekken voor slachtoffers waren er in 2015?")
    assert c.refused and c.reason == "no_match"


def test_a_comparison_according_to_the_minister_is_not_a_party_comparison():
    from rag.evidence import QuestionProfile

    assert not QuestionProfile.of("En hoe verschilt dat model volgens de minister van ons beleid?").compare
    assert QuestionProfile.of("Hoe verschilden de partijen over de taaleis?").compare


def test_a_query_keeps_a_known_compound_whole_and_splits_an_unseen_one():
    from kamerbron.analyzer import Analyzer

    analyzer = Analyzer(vocabulary={"sekswerker", "sek", "werker", "tal", "toet", "taaleis", "eis"})
    assert analyzer.query_tokens("sekswerkers") == ["sekswerker"]
    assert analyzer.query_tokens("taaltoets") == ["taaltoet", "tal", "toet"]
    assert analyzer.tokens("sekswerkers") == ["sekswerker", "sek", "werker"]  # documents keep their parts
    assert analyzer.tokens("taaleis") == ["taaleis", "tal", "eis"]  # a three-letter head splits off


@pytest.mark.parametrize(
    ("question", "quantity"),
    [
        ("Hoeveel slachtoffers werden er in 2016 gemeld?", True),
        # a who-question asks for a person, also when the question it reports asked for a number
        ("Wie wilde van minister Blok weten hoeveel kinderen er verdwenen waren?", False),
        # the reaction to a question about a number is asked, not the number
        ("Hoe reageerde de staatssecretaris op de vraag hoeveel kindhuwelijken er worden gesloten?", False),
        # a why-question asks for a reason, also when it is about a number
        ("Waarom was het aantal opgespoorde zaken volgens de minister gedaald?", False),
        ("Why had the number of detected cases dropped?", False),
    ],
)
def test_what_a_question_asks_for(question, quantity):
    from rag.evidence import QuestionProfile

    assert QuestionProfile.of(question).quantity is quantity


def test_the_office_a_question_names():
    from rag.evidence import QuestionProfile

    assert QuestionProfile.of("Wat zei de staatssecretaris?").roles == ("staatssecretaris",)
    assert QuestionProfile.of("What did the minister say about the ministry?").roles == ("minister",)
    assert QuestionProfile.of("Wie stelde een taaltoets voor?").roles == ()


def test_the_answer_to_a_partys_questions_is_the_governments():
    from rag.evidence import QuestionProfile

    q = QuestionProfile.of("Kan de bedenktijd worden verlengd, volgens het antwoord op de vragen van de SP?")
    assert q.gov_answer and q.parties == ["SP"]


def test_an_amount_of_something_else_does_not_answer(answerer):
    # the only amount in 2014 counts opvangplekken, not rechercheurs
    c = _compose(answerer, "Hoeveel extra rechercheurs voor slachtoffers waren er in 2014?")
    assert c.refused and c.reason == "no_match"


def test_a_compound_speaks_of_its_head(answerer):
    from rag.evidence import QuestionProfile

    counted = answerer.composer._counted(QuestionProfile.of("Hoeveel plekken voor slachtoffers waren er in 2014?"))
    assert counted == {"plek"}
    passage = answerer.retrieve("opvangplekken 2014")[0]
    assert "opvangplekken" in passage.text and answerer.composer._mentions(passage, counted)


def _debate(settings):
    """One member talks at length about sex workers; another proposes the language requirement once."""
    meta = DocumentMeta(
        doc_id="ao", source_file="ao.txt", title="Verslag van een algemeen overleg", date="2018-09-27", doc_type="debat"
    )
    turns = [
        Turn(doc_id="ao", turn_index=0, speaker="Mevrouw Buitenweg", surname="Buitenweg", party="GroenLinks",
             role="kamerlid",
             text="Ik stelde eerder voor dat sekswerkers beter worden geholpen. Sekswerkers weten niet welke regels "
                  "voor sekswerkers gelden. Veel sekswerkers lopen tegen een muur aan bij banken. Wie stelde "
                  "voor sekswerkers iets voor? Waar kunnen sekswerkers dan heen?"),
        Turn(doc_id="ao", turn_index=1, speaker="Mevrouw Kuik", surname="Kuik", party="CDA", role="kamerlid",
             text="Taal bepaalt of sekswerkers hun rechten kennen. Wij stellen een taaleis voor sekswerkers voor, "
                  "als voorwaarde voor een vergunning."),
    ]  # fmt: skip
    return chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)


def test_the_proposer_is_who_speaks_of_the_proposed_thing_not_who_speaks_most(settings):
    write_small_index(settings, small_chunks(settings) + _debate(settings))
    answerer = _hash_answerer(settings)
    c = _compose(answerer, "Wie stelde een taaltoets voor sekswerkers voor?")
    assert c.text.startswith("Mevrouw Kuik (CDA)")


def test_the_chair_reading_out_a_commitment_is_not_who_asked_for_it(settings):
    meta = DocumentMeta(
        doc_id="ao", source_file="ao.txt", title="Verslag van een algemeen overleg", date="2018-09-27", doc_type="debat"
    )
    turns = [
        Turn(doc_id="ao", turn_index=0, speaker="Mevrouw Kuik", surname="Kuik", party="CDA", role="kamerlid",
             text="Kan de staatssecretaris jaarlijks rapporteren over de zorgcoördinatoren in de gemeenten?"),
        Turn(doc_id="ao", turn_index=1, speaker="De voorzitter", surname="Ziengs", role="voorzitter",
             text="De staatssecretaris zal de Kamer jaarlijks rapporteren over de zorgcoördinatoren in de gemeenten. "
                  "De staatssecretaris zal jaarlijks rapporteren over de zorgcoördinatoren van de gemeenten."),
    ]  # fmt: skip
    write_small_index(
        settings, small_chunks(settings) + chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)
    )
    answerer = _hash_answerer(settings)
    c = _compose(answerer, "Wie vroeg om jaarlijks te rapporteren over de zorgcoördinatoren?")
    assert c.text.startswith("Mevrouw Kuik (CDA)")


def test_a_government_speakers_surname_asks_the_government():
    from rag.evidence import QuestionProfile

    q = QuestionProfile.of("Wat antwoordde Harbers aan D66?", ministers={"harbers": "staatssecretaris"})
    assert q.government and q.gov_answer and q.roles == ("staatssecretaris",)
    assert not QuestionProfile.of("Wat antwoordde Harbers aan D66?").government


def test_a_debate_speech_without_a_linked_reply_is_no_unanswered_question(settings):
    write_small_index(settings, small_chunks(settings) + _debate(settings) + _consultation(settings))
    answerer = _hash_answerer(settings)
    composer = answerer.composer
    speech = next(p for p in answerer.retrieve("taaleis sekswerkers vergunning") if p.surname == "Kuik")
    asked = next(p for p in answerer.retrieve("uitkomst overleg voortzetting nachtopvang") if p.role == "fractie")
    assert not composer._has_no_answer(speech, [speech])
    # the written question is answered by turn 1 of its document, linked by the parser
    assert not composer._has_no_answer(asked, [asked])


def _two_offices(settings):
    meta = DocumentMeta(doc_id="ao2", source_file="ao2.txt", title="Verslag", date="2018-09-27", doc_type="debat")
    turns = [
        Turn(doc_id="ao2", turn_index=0, speaker="Minister Grapperhaus", surname="Grapperhaus", role="minister",
             text="Over de verblijfsregeling zeg ik dat de verblijfsregeling blijft zoals die is. De verblijfsregeling "
                  "werkt goed voor slachtoffers."),
        Turn(doc_id="ao2", turn_index=1, speaker="Staatssecretaris Harbers", surname="Harbers", role="staatssecretaris",
             text="Een gecombineerde procedure voor de verblijfsregeling zie ik niet zitten."),
    ]  # fmt: skip
    return chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)


def test_a_question_about_two_offices_quotes_both(settings):
    write_small_index(settings, small_chunks(settings) + _two_offices(settings))
    answerer = _hash_answerer(settings)
    c = _compose(answerer, "Wat zeiden de minister en de staatssecretaris over de verblijfsregeling?")
    assert "Minister Grapperhaus" in c.text and "Staatssecretaris Harbers" in c.text


def test_a_sentence_that_restates_the_question_may_answer_it(settings):
    meta = DocumentMeta(doc_id="so3", source_file="so3.txt", title="Verslag", doc_type="schriftelijk_overleg")
    turns = [
        Turn(doc_id="so3", turn_index=0, speaker="leden van de SP-fractie", party="SP", role="fractie",
             text="Hoe flexibel wordt er omgegaan met de bedenktijd voor slachtoffers?"),
        Turn(doc_id="so3", turn_index=1, speaker="De Minister van Veiligheid en Justitie", role="minister",
             replies_to=[0],
             text="Op de vraag van de SP-fractie hoe flexibel wordt omgegaan met de bedenktijd, kan ik u aangeven "
                  "dat de bedenktijd niet kan worden verlengd. Het weer was mooi die dag in Den Haag."),
    ]  # fmt: skip
    chunks = chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)
    write_small_index(settings, small_chunks(settings) + chunks)
    answerer = _hash_answerer(settings)
    c = _compose(answerer, "Wat antwoordde de minister op de vraag van de SP over de flexibele bedenktijd?")
    assert "niet kan worden verlengd" in c.text


def test_a_sentence_is_described_with_its_neighbours(answerer):
    question = "Hoeveel opvangplekken voor slachtoffers waren er in 2014?"
    passages = answerer.retrieve(question)
    evidence = answerer.composer.finder.find(question, passages, answerer.retriever.last_query_vector)
    finder = answerer.composer.finder
    weights = finder.query_weights(question, english=False)
    by_position = {(s.passage_index, s.position): s for s in evidence.sentences}
    checked = 0
    for (index, position), s in by_position.items():
        texts = split_sentences(passages[index].text)
        if position + 1 < len(texts):
            assert s.features["next_coverage"] == pytest.approx(finder.coverage(weights, texts[position + 1]))
            checked += 1
        else:
            assert s.features["next_coverage"] == 0.0
    assert checked


def _member_and_group(settings):
    """A party group's written questions dwell on the language requirement; one member proposed it in a debate."""
    so = DocumentMeta(doc_id="so4", source_file="so4.txt", title="Verslag", doc_type="schriftelijk_overleg")
    ao = DocumentMeta(doc_id="ao4", source_file="ao4.txt", title="Verslag", date="2018-09-27", doc_type="debat")
    group = Turn(
        doc_id="so4",
        turn_index=0,
        speaker="leden van de SGP-fractie",
        party="SGP",
        role="fractie",
        text="Deze leden willen een taaleis voor sekswerkers. Komt de taaleis voor sekswerkers er? "
        "Waarom is er nog geen taaleis voor sekswerkers?",
    )
    member = Turn(
        doc_id="ao4",
        turn_index=0,
        speaker="Mevrouw Kuik",
        surname="Kuik",
        party="CDA",
        role="kamerlid",
        text="Ik stel een taaleis voor sekswerkers voor, als voorwaarde voor een vergunning.",
    )
    return chunk_document(ParsedDocument(meta=so, turns=[group]), settings.chunk) + chunk_document(
        ParsedDocument(meta=ao, turns=[member]), settings.chunk
    )  # fmt: skip


@pytest.mark.parametrize(
    ("question", "first"),
    [
        ("Welk Kamerlid stelde een taaleis voor sekswerkers voor?", "Mevrouw Kuik (CDA)"),
        ("Which MP proposed a taaleis for sekswerkers?", "Mevrouw Kuik (CDA)"),
        # a party may be answered by its group's written questions
        ("Welke fractie wilde een taaleis voor sekswerkers?", "De leden van de SGP-fractie"),
    ],
)
def test_a_question_for_a_member_is_answered_by_a_members_own_words(settings, question, first):
    write_small_index(settings, small_chunks(settings) + _member_and_group(settings))
    answerer = _hash_answerer(settings)
    assert _compose(answerer, question).text.startswith(first)


def test_the_sentence_after_a_restated_question_is_its_answer(settings):
    meta = DocumentMeta(doc_id="ao5", source_file="ao5.txt", title="Verslag", date="2018-09-27", doc_type="debat")
    turns = [
        Turn(doc_id="ao5", turn_index=0, speaker="Staatssecretaris Harbers", surname="Harbers",
             role="staatssecretaris",
             text="Een chatfunctie voor jonge slachtoffers werd als suggestie gedaan. Ik ga mijn collega van VWS "
                  "vragen dat aanbod te analyseren. Over een chatfunctie voor jonge slachtoffers is veel gezegd. "
                  "Een chatfunctie voor jonge slachtoffers is belangrijk. Een chatfunctie voor jonge slachtoffers "
                  "kost geld."),
    ]  # fmt: skip
    write_small_index(
        settings, small_chunks(settings) + chunk_document(ParsedDocument(meta=meta, turns=turns), settings.chunk)
    )
    answerer = _hash_answerer(settings)
    c = _compose(
        answerer, "Hoe reageerde de staatssecretaris op de suggestie van een chatfunctie voor jonge slachtoffers?"
    )
    assert "collega van VWS" in c.text


def test_question_words_inside_a_condensed_question_are_no_names():
    from rag.evidence import QuestionProfile

    q = QuestionProfile.of("Wat antwoordde de minister daarop over Welk Kamerlid vroeg 2017 Eerste Kamer?")
    assert q.names == ["Eerste Kamer"]


def _two_years(settings):
    """The language requirement discussed in 2018 at length and in 2017 once, by another member."""
    docs = []
    for doc_id, date, speaker, surname, party, text in [
        ("ao18", "2018-09-27", "Mevrouw Kuik", "Kuik", "CDA",
         "Een taaleis voor sekswerkers is nodig. Ik stel een taaleis voor sekswerkers voor. De taaleis moet er komen."),
        ("ao17", "2017-02-16", "De heer Segers", "Segers", "ChristenUnie",
         "Ik denk aan een taaleis bij de vergunning."),
    ]:  # fmt: skip
        meta = DocumentMeta(doc_id=doc_id, source_file=f"{doc_id}.txt", title="Verslag", date=date, doc_type="debat")
        turn = Turn(
            doc_id=doc_id, turn_index=0, speaker=speaker, surname=surname, party=party, role="kamerlid", text=text
        )
        docs += chunk_document(ParsedDocument(meta=meta, turns=[turn]), settings.chunk)
    return docs


def test_a_year_no_hit_is_of_brings_that_years_passages(settings):
    write_small_index(settings, _two_years(settings))
    retriever = Retriever(settings, embedder=HashEmbedder(settings.embedding.dim))
    assert [p.doc_id for p in retriever.retrieve("taaleis sekswerkers", k=1)] == ["ao18"]
    passages = retriever.retrieve("taaleis sekswerkers in 2016", k=1)
    assert passages[0].doc_id == "ao18" and len(passages) == 1  # no passage of 2016 exists
    passages = retriever.retrieve("taaleis sekswerkers in 2017", k=1)
    assert [p.doc_id for p in passages] == ["ao18", "ao17"]


def test_who_spoke_in_a_year_is_answered_from_that_years_debate(settings):
    write_small_index(settings, _two_years(settings))
    answerer = _hash_answerer(settings)
    assert _compose(answerer, "Wie stelde een taaleis voor sekswerkers voor?").text.startswith("Mevrouw Kuik")
    assert _compose(answerer, "Wie stelde in 2017 een taaleis voor sekswerkers voor?").text.startswith("De heer Segers")


def test_each_party_compared_brings_its_own_passages(settings):
    write_small_index(settings, _two_years(settings))
    retriever = Retriever(settings, embedder=HashEmbedder(settings.embedding.dim))
    assert [p.party for p in retriever.retrieve("taaleis sekswerkers", k=1)] == ["CDA"]
    parties = {p.party for p in retriever.retrieve("Hoe verschillen CDA en ChristenUnie over de taaleis?", k=1)}
    assert parties == {"CDA", "ChristenUnie"}


def test_in_a_comparison_a_partys_question_is_its_voice_not_an_unanswered_question(answerer):
    c = _compose(answerer, "Hoe verschilden de partijen over de nachtopvang?")
    assert not c.refused and "SP" in c.text and "Deze vraag staat in de stukken" not in c.text


def test_a_member_the_question_names_is_answered_by_their_own_words(settings):
    meta = DocumentMeta(doc_id="ao6", source_file="ao6.txt", title="Verslag", date="2018-09-27", doc_type="debat")
    echo = Turn(doc_id="ao6", turn_index=0, speaker="Mevrouw Kuik", surname="Kuik", party="CDA", role="kamerlid",
                text="Ik sluit mij aan bij de heer Van Nispen: de capaciteit van de politie voor mensenhandel is te "
                     "klein, die capaciteit van de politie moet omhoog.")  # fmt: skip
    chunks = small_chunks(settings) + chunk_document(ParsedDocument(meta=meta, turns=[echo]), settings.chunk)
    write_small_index(settings, chunks)
    answerer = _hash_answerer(settings)
    assert answerer.composer.finder.profile("Wat zei Van Nispen over de politie?").speakers == ["van nispen"]
    c = _compose(answerer, "Wat zei Van Nispen over de capaciteit van de politie voor mensenhandel?")
    assert c.text.startswith("De heer Van Nispen (SP)")


def test_which_parties_gets_a_line_per_party_that_speaks_of_it(settings):
    write_small_index(settings, small_chunks(settings) + _member_and_group(settings))
    answerer = _hash_answerer(settings)
    profile = answerer.composer.finder.profile("Welke partijen wilden een taaleis voor sekswerkers?")
    assert profile.who and profile.who_plural and not profile.compare
    text = _compose(answerer, "Welke partijen wilden een taaleis voor sekswerkers?").text
    assert "Mevrouw Kuik (CDA)" in text and "SGP" in text
    # one party asked for: one line
    single = _compose(answerer, "Welke partij stelde een taaleis voor sekswerkers voor?").text
    assert single.count("[") == 1


def test_bm25_reads_a_who_question_without_its_frame():
    from rag.query_terms import bm25_query

    assert bm25_query("Welke partijen wilden een pooierverbod?") == "een pooierverbod?"
    assert bm25_query("Wie stelde een taaltoets voor?") == "een taaltoets voor?"
    assert bm25_query("Wat wilden de partijen?") == "Wat wilden de partijen?"


@pytest.mark.parametrize(
    "question",
    [
        "Hoe oordeelde de PvdA in 2014 over de manier waarop het kabinet mensenhandel aanpakte?",
        "Vond de VVD dat minister Blok de aanpak serieus genoeg nam?",
        "How does the SP view the cabinet's action plan?",
    ],
)
def test_a_partys_view_of_the_government_is_no_question_to_the_government(question):
    from rag.evidence import QuestionProfile

    profile = QuestionProfile.of(question)
    assert not profile.government and not profile.gov_answer and profile.parties


def test_a_question_to_the_government_about_a_party_stays_one():
    from rag.evidence import QuestionProfile

    profile = QuestionProfile.of("Hoe reageerde de minister op de vraag van de SP over de politie?")
    assert profile.government and profile.gov_answer
    assert QuestionProfile.of("Vond de SP het antwoord van de minister genoeg?").government


def test_a_speakers_line_quotes_their_best_sentence_and_the_next_best_of_the_same_turn(answerer):
    from rag.compose import SENTENCES_PER_SPEAKER, _join_quoted
    from rag.evidence import Sentence

    ranked = [Sentence(0, 4, "De stelling.", score=3.0), Sentence(1, 0, "Een andere spreker.", score=2.5),
              Sentence(0, 1, "Het onderwerp.", score=2.0), Sentence(0, 2, "Nog een zin.", score=1.0)]  # fmt: skip
    line = answerer.composer._with_companions(ranked[0], ranked)
    assert SENTENCES_PER_SPEAKER == 2 and [s.position for s in line] == [1, 4]
    assert _join_quoted(line) == "Het onderwerp. … De stelling."


def test_a_past_participle_the_documents_never_write_counts_as_its_verb(answerer):
    finder = answerer.composer.finder
    assert finder.index.idf("gevraagd") is None and finder.index.idf("vrag") is not None
    weights = finder.query_weights("Wat werd er over opvangplekken gevraagd?", english=False)
    assert "vrag" in weights and "gevraagd" not in weights
    assert finder.coverage(weights, "Zij vragen hoeveel opvangplekken er waren.") == 1.0
    # an unseen word that is no participle of a known verb still weighs as a word no document uses
    assert finder._participle("gewonnen") is None


def test_one_sentence_left_out_between_two_quoted_ones_is_put_back():
    from kamerbron.records import Passage
    from rag.compose import FILLED_GAP, _fill_gaps, _join_quoted
    from rag.evidence import Sentence

    texts = ["Eerste zin hier.", "Tweede zin hier.", "Derde zin hier.", "Vierde zin hier.", "Vijfde zin hier."]
    p = Passage(chunk_id="d:0:0", doc_id="d", source_file="d.txt", turn_index=0, text=" ".join(texts))

    def quote(*positions):
        return _join_quoted(_fill_gaps([Sentence(0, i, texts[i]) for i in positions], p, {}))

    assert FILLED_GAP == 1
    assert quote(0, 2, 3) == "Eerste zin hier. Tweede zin hier. Derde zin hier. Vierde zin hier."
    assert quote(0, 3) == "Eerste zin hier. … Vierde zin hier."  # two left out: they stay out


def test_a_sentence_put_back_is_the_evidence_sentence_or_one_that_outranks_none():
    from kamerbron.records import Passage
    from rag.compose import _fill_gaps, _only_asks
    from rag.evidence import Sentence

    texts = ["Wil de minister de regeling verlengen?", "Klopt dat?", "Zo ja, voor hoe lang precies?",
             "Een heel andere zin die ook lang is.", "Nog een zin die er ook bij staat."]  # fmt: skip
    p = Passage(chunk_id="d:0:0", doc_id="d", source_file="d.txt", turn_index=0, text=" ".join(texts), role="fractie")
    known = Sentence(0, 3, texts[3], {"question_mark": 0.0}, score=-1.5)
    chosen = [Sentence(0, 0, texts[0], {"question_mark": 1.0}, score=-2.0),
              Sentence(0, 2, texts[2], {"question_mark": 1.0}, score=-3.0),
              Sentence(0, 4, texts[4], {"question_mark": 0.0}, score=-4.0)]  # fmt: skip
    filled = _fill_gaps(chosen, p, {(0, 3): known})
    assert [s.position for s in filled] == [0, 1, 2, 3, 4]
    assert filled[3] is known  # the evidence's own sentence, with its features and score
    # a sentence too short to be evidence: no features, and never the best of its line
    short = filled[1]
    assert short.features == {} and max(filled[:3], key=lambda s: s.score) is chosen[0]
    # what only asks is read from the text, so a put-back question is one
    assert _only_asks(p, short) and not _only_asks(p, known)


def _sentence(passage: int, position: int, text: str, score: float):
    from rag.evidence import Sentence

    features = {"question_mark": float(text.endswith("?")), "refers_elsewhere": 0.0, "restated": 0.0}
    return Sentence(passage, position, text, features, score)


def test_a_debate_question_without_its_answer_quoted_is_answered_by_the_government_in_that_debate(answerer):
    from kamerbron.records import Passage
    from rag.compose import Line
    from rag.evidence import Evidence, QuestionProfile

    def turn(chunk_id: str, speaker: str, role: str, text: str, party: str = "") -> Passage:
        doc_id, turn_index, _ = chunk_id.split(":")
        return Passage(chunk_id=chunk_id, doc_id=doc_id, source_file=f"{doc_id}.txt", turn_index=int(turn_index),
                       speaker=speaker, party=party, role=role, text=text)  # fmt: skip

    asked = turn("ao:0:0", "De heer Van der Staaij", "kamerlid",
                 "Worden datingsites voor sugardaddy's in de gaten gehouden?", party="SGP")  # fmt: skip
    reply = turn("ao:3:0", "Staatssecretaris Harbers", "staatssecretaris",
                 "We ontwikkelen met de politie webcrawlers die datingsites afspeuren.")  # fmt: skip
    other = turn(
        "so:1:0", "Minister Blok", "minister", "De politie krijgt er dit jaar 2 miljoen euro bij voor dit werk."
    )
    passages = [asked, reply, other]
    question = _sentence(0, 0, asked.text, 3.0)
    ranked = [question, _sentence(2, 0, other.text, 1.0), _sentence(1, 0, reply.text, 0.5)]
    profile = QuestionProfile.of("Hoe houdt het kabinet datingsites voor sugardaddy's in de gaten?")
    evidence = Evidence(profile, passages, ranked)
    composer = answerer.composer
    lines = composer._questions_only(profile, passages, [Line(0, [question])], ranked, evidence)
    # the government's best sentence of the same debate answers, not a minister of another document
    assert [line.passage_index for line in lines] == [0, 1] and not any(line.note for line in lines)
    # a written question whose answer the documents lack keeps the honest "no answer" line
    written = asked.model_copy(update={"role": "fractie", "doc_id": "so"})
    lines = composer._questions_only(profile, [written, reply, other], [Line(0, [question])], ranked[:1], evidence)
    assert [line.note for line in lines] == ["", "no_answer"]
