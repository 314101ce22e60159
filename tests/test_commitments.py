"""Toezeggingen (issue #15, parts 1 and 4): the commitments the chair reads out at the end of a
committee debate, as records; from the CLI and GET /api/commitments.

Counted by hand from the end of the bundled reports:
- 000 (AO Mensenhandel, 27 september 2018): six bullets in two lists ('Ik ga nog een aantal
  toezeggingen opnoemen.', 'Dan de overige toezeggingen.') and one noted afterwards ('Ik noteer het
  gewoon als toezegging: voor de begroting komt het plan van aanpak.'): 7.
- 002 (AO Mensenhandel, 16 februari 2017): seven bullets, announced as the first two, 'de derde',
  'de vierde, vijfde en zesde' and 'de laatste toezegging': 7. ('De Minister knikt, dus dat hebben we
  dan genoteerd als toezegging.' confirms the sixth; it is not another.)
- VLOS sample 0c43e57f (commissiedebat Nationale fiscaliteit): eight read out, the first withdrawn
  ('Nee, dan is het geen toezegging'): 7.

Fulfilment (rag/commitments.py), read by hand: of the 14, only 'voor de begroting komt het plan van
aanpak' (000) is delivered by a later document in the corpus: the letter of 13 November 2018 (003),
'Zoals toegezegd tijdens het AO mensenhandel en prostitutie op 27 september delen we het programma
hiermee nog voor de begrotingsbehandeling'. The 2018 debate (000) only mentions the evaluation of the
taakstrafverbod ('heeft uw Kamer ... ontvangen'), which does not deliver 002's vervolgonderzoek; 001
and 004 are undated. The hand-made debate and letters below hold the other cases.
"""

from __future__ import annotations

import json
import re

import pytest
from starlette.testclient import TestClient

from ingest.build import corpus_files
from ingest.chunk import chunk_document
from ingest.commitments import extract_commitments
from ingest.parse import parse_document
from kamerbron.records import Commitment, DocumentMeta, ParsedDocument, Turn
from kamerbron.settings import ChunkSettings
from rag import commitments as commitments_module
from rag.__main__ import main
from rag.commitment_answers import commitment_answer, is_commitment_question, parse_question
from rag.commitments import (
    CommitmentFilter,
    CommitmentFilterInvalidError,
    deadline_date,
    filter_commitments,
    hands_over,
    load_commitments,
    match_fulfilments,
    reports_delivery,
)
from tests.fakes.answerer import FakeAnswerer
from tests.fakes.settings import CORPUS, SHARED_FORMATS, make_settings
from webui.commitments_tab import commitment_card, show_commitments
from webui.server import create_server

VLOS_DIR = SHARED_FORMATS / "vlos"
JSON_FIELDS = {
    "who", "role", "text", "deadline", "qualification", "doc_id", "date", "url", "chunk_id", "fulfilled_by",
    "fulfilled_reason", "evidence",
}  # fmt: skip


def _doc(prefix: str):
    return parse_document(next(CORPUS.glob(f"{prefix}_*.txt")))


@pytest.fixture(scope="module")
def debate_000():
    doc = _doc("000")
    return doc, extract_commitments(doc)


@pytest.fixture(scope="module")
def debate_002():
    doc = _doc("002")
    return doc, extract_commitments(doc)


def _containing(commitments: list[Commitment], words: str) -> Commitment:
    (found,) = [c for c in commitments if words in c.text]
    return found


# --- counts ----------------------------------------------------------------------------------------


def test_every_toezegging_of_000_is_extracted(debate_000):
    assert len(debate_000[1]) == 7


def test_every_toezegging_of_002_is_extracted(debate_002):
    assert len(debate_002[1]) == 7


def test_documents_without_a_chair_reading_out_have_none():
    assert [c for prefix in ("001", "003", "004") for c in extract_commitments(_doc(prefix))] == []


# --- who --------------------------------------------------------------------------------------------


def test_de_staatssecretaris_is_the_debates_staatssecretaris(debate_000):
    assert {c.who for c in debate_000[1]} == {"Harbers"}


def test_a_ministry_is_matched_against_the_introduction(debate_000):
    jbz = _containing(debate_000[1], "JBZ-raden")
    assert (jbz.role, jbz.who) == ("Staatssecretaris van JenV", "Harbers")


def test_de_minister_is_the_debates_minister(debate_002):
    assert _containing(debate_002[1], "taakstraffen").who == "Blok"


def test_someone_not_in_the_debate_is_named_but_not_resolved(debate_002):
    vws = _containing(debate_002[1], "uitbuiting van minderjarigen")
    assert (vws.role, vws.who) == ("Staatssecretaris van VWS", None)


def test_a_commitment_naming_nobody_goes_to_the_only_government_speaker(debate_002):
    assert _containing(debate_002[1], "tussenstand").who == "Blok"


# --- deadline and qualification ---------------------------------------------------------------------


def test_deadline_voor_de_zomer(debate_002):
    assert _containing(debate_002[1], "vervolgmaatregelen").deadline == "voor de zomer"


def test_deadline_voor_de_begroting_of_a_noted_commitment(debate_000):
    assert _containing(debate_000[1], "voor de begroting komt").deadline == "voor de begroting"


def test_a_yearly_report_says_jaarlijks(debate_000):
    assert _containing(debate_000[1], "gemeenten").deadline == "jaarlijks"


def test_no_deadline_when_none_is_stated(debate_000):
    assert _containing(debate_000[1], "tantramisbruik").deadline is None


def test_indien_mogelijk_said_by_the_minister_after_the_list(debate_002):
    assert _containing(debate_002[1], "vluchtelingenkinderen").qualification == "Indien mogelijk"


def test_uiterste_best_said_before_the_chair_notes_it(debate_000):
    assert _containing(debate_000[1], "voor de begroting komt").qualification == "Ik doe mijn uiterste best"


def test_a_reservation_in_the_text_itself(debate_002):
    assert _containing(debate_002[1], "tussenstand").qualification == "al dan niet na het gesprek met deskundigen"


def test_no_qualification_on_a_plain_commitment(debate_002):
    assert _containing(debate_002[1], "taakstraffen").qualification is None


# --- never a procedural sentence --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["000", "002"])
def test_each_commitment_is_in_the_chair_turn_it_cites(prefix):
    doc = _doc(prefix)
    turns = {t.turn_index: t for t in doc.turns}
    for c in extract_commitments(doc):
        turn = turns[int(c.chunk_id.split(":")[1])]
        assert turn.role == "voorzitter" and " ".join(c.text.split()) in " ".join(turn.text.split())


@pytest.mark.parametrize(
    "procedural",
    ["Ik ga nog een aantal toezeggingen opnoemen", "Heb ik wat gemist", "Dat is mijn macht", "knikt", "Hartelijk dank",
     "Dan kom ik bij", "opmerking naar aanleiding van de toezegging", "aandacht voor gevraagd"],
)  # fmt: skip
def test_no_procedural_sentence_is_taken(debate_000, debate_002, procedural):
    assert not [c.text for c in debate_000[1] + debate_002[1] if procedural in c.text]


def test_the_commitment_text_is_the_whole_item(debate_000):
    creditboys = _containing(debate_000[1], "creditboys")
    assert creditboys.text.endswith("Dat komt in een aparte brief of in het plan van aanpak naar ons toe.")


def test_record_carries_the_debate(debate_002):
    first = debate_002[1][0]
    assert (first.doc_id, first.date, first.chunk_id, first.fulfilled_by) == (
        "002_d05e322e15ff4b92",
        "2017-02-16",
        "002_d05e322e15ff4b92:92:0",
        None,
    )


def test_a_letter_has_no_commitments(debate_000):
    doc, _ = debate_000
    letter = doc.model_copy(update={"meta": doc.meta.model_copy(update={"doc_type": "brief"})})
    assert extract_commitments(letter) == []


# --- VLOS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vlos_fiscaliteit():
    paths = sorted(VLOS_DIR.glob("sample_vlos_0c43e57f*.xml"))
    if not paths:
        pytest.skip(f"VLOS sample not found in {VLOS_DIR}")
    return extract_commitments(parse_document(paths[0], manifest={}))


def test_vlos_lines_without_bullets_are_extracted(vlos_fiscaliteit):
    assert len(vlos_fiscaliteit) == 7


def test_vlos_withdrawn_commitment_is_dropped(vlos_fiscaliteit):
    assert not [c for c in vlos_fiscaliteit if "CO2-korting" in c.text]


def test_vlos_chair_changing_na_into_voor_changes_the_deadline(vlos_fiscaliteit):
    assert _containing(vlos_fiscaliteit, "hervorming").deadline == "voor de zomer"


def test_vlos_deadline_uiterlijk_in_september(vlos_fiscaliteit):
    assert _containing(vlos_fiscaliteit, "artikel 67").deadline == "uiterlijk in september"


def test_vlos_commitment_resolved_to_the_staatssecretaris(vlos_fiscaliteit):
    assert {c.who for c in vlos_fiscaliteit} == {"Van Oostenbruggen"}


# --- CLI and API -----------------------------------------------------------------------------------


def test_cli_json_prints_one_line_per_commitment(capsys):
    assert main(["commitments", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 14 and all(set(line) >= JSON_FIELDS for line in lines)


def test_cli_who_filters(capsys):
    main(["commitments", "--json", "--who", "harbers"])
    assert {json.loads(line)["who"] for line in capsys.readouterr().out.splitlines()} == {"Harbers"}


def test_cli_doc_filters(capsys):
    main(["commitments", "--json", "--doc", "002_d05e322e15ff4b92.txt"])
    assert len(capsys.readouterr().out.splitlines()) == 7


def test_cli_unknown_doc_is_an_argument_error(capsys):
    assert main(["commitments", "--doc", "999_nope"]) == 2
    assert "999_nope" in capsys.readouterr().err


def test_cli_for_a_person_shows_deadline(capsys):
    main(["commitments", "--doc", "002_d05e322e15ff4b92"])
    assert "[termijn: voor de zomer]" in capsys.readouterr().out


def test_api_commitments_returns_the_list(tmp_path):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    response = client.get("/api/commitments")
    assert response.status_code == 200 and len(response.json()) == 14


def test_api_commitments_needs_the_same_login(tmp_path):
    settings = make_settings(tmp_path, app={"trusted_user_header": "X-Remote-User", "trusted_proxies": ["10.0.0.2"]})
    client = TestClient(create_server(settings, FakeAnswerer()), client=("192.168.1.50", 50000))
    assert client.get("/api/commitments", headers={"X-Remote-User": "j.jansen"}).status_code == 401


def test_api_commitments_filters_by_who(tmp_path):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    found = client.get("/api/commitments", params={"who": "harbers"}).json()
    assert {c["who"] for c in found} == {"Harbers"} and len(found) == 7


def test_api_commitments_filters_by_debate_and_period(tmp_path):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    by_doc = client.get("/api/commitments", params={"doc": "002_d05e322e15ff4b92"}).json()
    by_period = client.get("/api/commitments", params={"from": "2017-01-01", "to": "2017-12-31"}).json()
    assert by_doc == by_period and len(by_doc) == 7


def test_api_commitments_status_ingelost_has_the_evidence(tmp_path):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    (found,) = client.get("/api/commitments", params={"status": "ingelost"}).json()
    assert (found["fulfilled_by"], found["evidence"]["url"]) == (
        LETTER_CHUNK,
        "https://zoek.officielebekendmakingen.nl/kst-28638-164.html",
    )


@pytest.mark.parametrize(
    ("params", "words"),
    [({"from": "2018-13-01"}, "begindatum '2018-13-01' is ongeldig"),
     ({"from": "2019-01-01", "to": "2018-01-01"}, "ligt na de einddatum"),
     ({"status": "klaar"}, "status 'klaar' bestaat niet")],
)  # fmt: skip
def test_api_commitments_bad_filter_is_a_dutch_400(tmp_path, params, words):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    response = client.get("/api/commitments", params=params)
    assert response.status_code == 400 and words in response.json()["error"]


# --- fulfilment on the bundled corpus --------------------------------------------------------------

LETTER_CHUNK = "003_1ea1dffccdb504dc:10:0"


@pytest.fixture(scope="module")
def matched():
    """The corpus's commitments matched against the passages of the whole corpus, as an index holds them."""
    docs = [parse_document(path) for path in corpus_files([CORPUS])]
    chunks = [chunk for doc in docs for chunk in chunk_document(doc, ChunkSettings())]
    return match_fulfilments([c for doc in docs for c in extract_commitments(doc)], chunks)


def test_the_plan_van_aanpak_is_fulfilled_by_the_letter_of_13_november_2018(matched):
    assert _containing(matched, "voor de begroting komt").fulfilled_by == LETTER_CHUNK


def test_the_evidence_is_the_delivering_sentence(matched):
    evidence = _containing(matched, "voor de begroting komt").evidence
    assert evidence.chunk_id == LETTER_CHUNK and evidence.sentences[0].startswith("Zoals toegezegd tijdens het AO")


def test_the_reason_names_the_letter_what_it_delivers_and_the_term(matched):
    reason = _containing(matched, "voor de begroting komt").fulfilled_reason
    assert all(words in reason for words in ("brief van 13 november 2018", "plan van aanpak", "voor de begroting"))


def test_commitments_without_a_later_delivering_document_stay_open(matched):
    assert [c.text for c in matched if c.fulfilled_by] == ["voor de begroting komt het plan van aanpak."]


def test_a_later_debate_that_mentions_an_evaluation_does_not_fulfil(matched):
    # Harbers in 2018: 'Begin dit jaar heeft uw Kamer een evaluatie van het taakstrafverbod ontvangen.'
    taakstraffen = _containing(matched, "taakstraffen")
    assert (taakstraffen.fulfilled_by, taakstraffen.fulfilled_reason, taakstraffen.evidence) == (None, None, None)


@pytest.mark.parametrize("words", ["onderzoek van de inspectie", "creditboys"])
def test_the_letter_naming_the_debate_fulfils_only_the_commitment_it_is_about(matched, words):
    assert _containing(matched, words).fulfilled_by is None


def test_cli_json_prints_fulfilled_by(capsys):
    main(["commitments", "--json", "--status", "ingelost"])
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (line["fulfilled_by"], line["chunk_id"]) == (LETTER_CHUNK, "000_528fd6ff245c8aa8:159:0")


def test_cli_json_open_ones_have_null_fulfilled_by(capsys):
    main(["commitments", "--json", "--status", "open"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 13 and {line["fulfilled_by"] for line in lines} == {None}


def test_cli_period_filters(capsys):
    main(["commitments", "--json", "--from", "2018-01-01", "--to", "2018-12-31"])
    assert {json.loads(line)["date"] for line in capsys.readouterr().out.splitlines()} == {"2018-09-27"}


def test_cli_bad_date_is_an_argument_error(capsys):
    assert main(["commitments", "--from", "2018-02-30"]) == 2
    assert "2018-02-30" in capsys.readouterr().err


def test_cli_text_shows_what_may_fulfil(capsys):
    main(["commitments", "--status", "ingelost"])
    assert f"mogelijk ingelost door {LETTER_CHUNK}" in capsys.readouterr().out


# --- fulfilment: a hand-made debate and later documents ---------------------------------------------

DEBATE_DATE = "2019-03-01"
STUDY = "De Minister zal voor de zomer het onderzoek naar de registratieplicht voor sekswerkers aan de Kamer sturen."
CAPACITY = "De Minister zal de Kamer informeren over de capaciteit van de zedenpolitie in Limburg."
REACTION = "De Minister komt voor het kerstreces met een reactie op het rapport over seksuele uitbuiting van jongens."


def _debate() -> ParsedDocument:
    meta = DocumentMeta(
        doc_id="deb",
        source_file="deb.txt",
        doc_type="debat",
        date=DEBATE_DATE,
        dossier="99 999",
        title="Prostitutie; Verslag van een commissiedebat",
    )
    turns = [
        Turn(doc_id="deb", turn_index=0, speaker="Minister Jansen", surname="Jansen", role="minister",
             text="Ik kom voor de zomer met het onderzoek."),
        Turn(doc_id="deb", turn_index=1, speaker="De voorzitter", surname="Kuiken", role="voorzitter",
             text=f"Dan de toezeggingen.\n\n– {STUDY}\n\n– {CAPACITY}\n\n– {REACTION}"),
    ]  # fmt: skip
    return ParsedDocument(meta=meta, turns=turns)


def _letter(doc_id: str, date: str, text: str, *, role: str = "minister", doc_type: str = "brief") -> ParsedDocument:
    meta = DocumentMeta(
        doc_id=doc_id,
        source_file=f"{doc_id}.txt",
        doc_type=doc_type,
        date=date,
        dossier="99 999",
        title="Prostitutie; Brief regering",
    )
    turn = Turn(doc_id=doc_id, turn_index=0, speaker="Minister Jansen", surname="Jansen", role=role, text=text)
    return ParsedDocument(meta=meta, turns=[turn])  # fmt: skip


def _fulfilled(*later: ParsedDocument) -> dict[str, str | None]:
    docs = [_debate(), *later]
    chunks = [chunk for doc in docs for chunk in chunk_document(doc, ChunkSettings())]
    matched = match_fulfilments(extract_commitments(docs[0]), chunks)
    return {c.text: c.fulfilled_by for c in matched}


DELIVERY = "Hierbij bied ik u het onderzoek naar de registratieplicht voor sekswerkers aan."


def test_a_later_letter_delivering_the_study_fulfils_it():
    assert _fulfilled(_letter("l1", "2019-06-10", DELIVERY)) == {STUDY: "l1:0:0", CAPACITY: None, REACTION: None}


def test_a_letter_dated_before_the_debate_does_not():
    assert _fulfilled(_letter("l0", "2019-02-01", DELIVERY))[STUDY] is None


def test_an_undated_letter_does_not():
    assert _fulfilled(_letter("lx", "", DELIVERY))[STUDY] is None


def test_a_later_letter_that_only_mentions_the_study_does_not():
    mention = "Het onderzoek naar de registratieplicht voor sekswerkers loopt nog; ik zal u na de zomer informeren."
    assert _fulfilled(_letter("l2", "2019-06-10", mention))[STUDY] is None


def test_a_delivery_long_after_the_deadline_does_not():
    assert _fulfilled(_letter("l3", "2020-03-01", DELIVERY))[STUDY] is None


def test_a_delivery_of_another_kind_of_thing_does_not():
    plan = "Hierbij bied ik u het actieplan registratieplicht voor sekswerkers aan."
    assert _fulfilled(_letter("l4", "2019-06-10", plan))[STUDY] is None


def test_the_reaction_to_a_report_is_fulfilled_by_the_reaction():
    reaction = (
        "Met deze brief stuur ik u, mede namens de minister van VWS, de kabinetsreactie op het rapport over "
        "seksuele uitbuiting van jongens."
    )
    assert _fulfilled(_letter("l12", "2019-11-20", reaction))[REACTION] == "l12:0:0"


def test_the_report_itself_does_not_fulfil_a_commitment_to_react_to_it():
    report = "Hierbij bied ik u het rapport over seksuele uitbuiting van jongens aan."
    assert _fulfilled(_letter("l13", "2019-11-20", report))[REACTION] is None


def test_a_members_later_words_do_not():
    said = "Hierbij bied ik u het onderzoek naar de registratieplicht voor sekswerkers aan, zei ik net."
    assert _fulfilled(_letter("l5", "2019-06-10", said, role="kamerlid", doc_type="debat"))[STUDY] is None


def test_a_reference_to_another_debates_commitment_does_not():
    other = f"Zoals toegezegd in het commissiedebat van 3 april 2019: {DELIVERY}"
    assert _fulfilled(_letter("l6", "2019-06-10", other))[STUDY] is None


def test_a_letter_informing_on_the_subject_fulfils_the_commitment_to_inform():
    informs = "Met deze brief informeer ik uw Kamer over de capaciteit van de zedenpolitie in Limburg."
    assert _fulfilled(_letter("l7", "2019-05-01", informs))[CAPACITY] == "l7:0:0"


def test_a_letter_naming_the_commitment_in_the_sentence_before_fulfils_it():
    text = (
        "In het commissiedebat van 1 maart 2019 heb ik toegezegd u het onderzoek naar de registratieplicht voor "
        "sekswerkers te sturen. Met deze brief kom ik die toezegging na."
    )
    assert _fulfilled(_letter("l10", "2019-06-10", text))[STUDY] == "l10:0:0"


def test_the_evidence_holds_the_sentence_that_says_which_commitment():
    text = "Het gaat om een verkenning. In het commissiedebat van 1 maart 2019 heb ik het onderzoek toegezegd. " + (
        "Met deze brief kom ik die toezegging na."
    )
    docs = [
        _debate(),
        _letter("l11", "2019-06-10", text + " Het onderzoek gaat over de registratieplicht voor sekswerkers."),
    ]
    chunks = [chunk for doc in docs for chunk in chunk_document(doc, ChunkSettings())]
    (study,) = [c for c in match_fulfilments(extract_commitments(docs[0]), chunks) if c.text == STUDY]
    assert study.evidence.sentences == [
        "In het commissiedebat van 1 maart 2019 heb ik het onderzoek toegezegd.",
        "Met deze brief kom ik die toezegging na.",
    ]


def test_a_minister_saying_later_in_a_debate_that_it_was_sent_as_promised_fulfils_it():
    said = "Het onderzoek naar de registratieplicht voor sekswerkers heeft u vorige week ontvangen, zoals ik had toegezegd."
    later = _letter("d2", "2019-07-02", said, doc_type="debat")
    assert _fulfilled(later)[STUDY] == "d2:0:0"


def test_the_earliest_of_equal_deliveries_is_the_evidence():
    found = _fulfilled(_letter("l9", "2019-06-20", DELIVERY), _letter("l8", "2019-06-10", DELIVERY))
    assert found[STUDY] == "l8:0:0"


# --- delivery sentences and deadlines -------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    ["Hierbij bied ik u het rapport over de registratieplicht aan.",
     "Met deze brief informeer ik uw Kamer over de stand van zaken.",
     "Zoals toegezegd delen we het programma hiermee met uw Kamer.",
     "Ik informeer u hierbij over de uitkomsten.",
     "Bijgaand ontvangt u het onderzoek.",
     "Graag bied ik u het plan van aanpak aan."],
)  # fmt: skip
def test_a_sentence_handing_over_in_a_letter(sentence):
    assert hands_over(sentence, letter=True)


@pytest.mark.parametrize(
    "sentence",
    ["Eind 2014 zal ik uw Kamer – conform toezegging – informeren over het nieuwe plaatsingsplan.",
     "Wat hierbij opviel was de grote betrokkenheid.",
     "Voor de zomer stuur ik u de evaluatie.",
     "Hierbij zal ik u later informeren.",
     "Begin dit jaar heeft uw Kamer een evaluatie van het taakstrafverbod ontvangen.",
     "Stuur ik u het rapport?"],
)  # fmt: skip
def test_a_promise_or_a_mention_hands_nothing_over(sentence):
    assert not (hands_over(sentence, letter=True) or reports_delivery(sentence))


def test_a_reported_delivery_with_a_reference_to_the_commitment():
    assert reports_delivery("Zoals toegezegd heb ik u op 1 mei het rapport gestuurd.")


@pytest.mark.parametrize(
    ("deadline", "debate", "last_day"),
    [("voor de zomer", "2017-02-16", "2017-07-15"),
     ("voor de begroting", "2018-09-27", "2018-12-31"),
     ("uiterlijk in september", "2017-02-16", "2017-09-30"),
     ("voor 1 juni", "2019-03-01", "2019-06-01"),
     ("binnen drie maanden", "2019-03-01", "2019-06-01"),
     ("in het eerste kwartaal van 2020", "2019-03-01", "2020-03-31"),
     ("voor de zomer", "2019-09-01", "2020-07-15")],
)  # fmt: skip
def test_deadline_dates(deadline, debate, last_day):
    assert str(deadline_date(deadline, debate)) == last_day


@pytest.mark.parametrize("deadline", ["jaarlijks", "na de zomer", None])
def test_deadlines_without_an_end(deadline):
    assert deadline_date(deadline, "2019-03-01") is None


# --- filters and cache ------------------------------------------------------------------------------


def test_filter_by_status_open(matched):
    assert len(filter_commitments(matched, CommitmentFilter.parse(status="open"))) == 13


def test_filter_by_role(matched):
    found = filter_commitments(matched, CommitmentFilter.parse(who="staatssecretaris van vws"))
    assert [c.role for c in found] == ["Staatssecretaris van VWS"]


def test_filter_by_file_name(matched):
    assert len(filter_commitments(matched, CommitmentFilter.parse(doc_ids=["000_528fd6ff245c8aa8.txt"]))) == 7


def test_filter_rejects_an_impossible_date():
    with pytest.raises(CommitmentFilterInvalidError, match="einddatum '2018-02-30' is ongeldig"):
        CommitmentFilter.parse(date_to="2018-02-30")


def test_the_list_is_computed_once_per_index_generation(corpus_answerer, monkeypatch):
    computed = []
    real = commitments_module._compute
    monkeypatch.setattr(commitments_module, "_compute", lambda *a: computed.append(1) or real(*a))
    monkeypatch.setattr(commitments_module, "_cache", {})
    index = corpus_answerer.retriever.index
    first = load_commitments(corpus_answerer.settings, index)
    assert load_commitments(corpus_answerer.settings, index) == first and computed == [1]


def test_the_index_path_matches_the_letter_too(corpus_answerer):
    found = load_commitments(corpus_answerer.settings, corpus_answerer.retriever.index)
    assert [c.fulfilled_by for c in found if c.fulfilled_by] == [LETTER_CHUNK] and len(found) == 14


# --- chat questions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    ["Welke toezeggingen deed Harbers in 2018?", "Wat heeft de minister toegezegd over taakstraffen?",
     "Wat zegde de staatssecretaris toe?", "Welke beloftes deed Blok?", "What did the minister promise about X?",
     "Which commitments did the state secretary make?"],
)  # fmt: skip
def test_commitment_questions_are_recognised(question):
    assert is_commitment_question(question)


@pytest.mark.parametrize(
    "question",
    ["Wie stelde een taaltoets voor sekswerkers voor?", "Wat zei de commissie over de capaciteit?",
     "Wat antwoordde de minister op de vragen van de SP?", "Which crimes were committed by traffickers?",
     "Wat beloofde de SP haar kiezers?"],
)  # fmt: skip
def test_other_questions_are_not(question):
    assert not is_commitment_question(question)


def test_a_question_names_who_when_and_what():
    q = parse_question("Wat heeft staatssecretaris Harbers in 2018 toegezegd over creditboys?", ["Harbers", "Blok"])
    assert (q.persons, q.roles, q.years, list(q.topic.values())) == (
        ["Harbers"],
        ["staatssecretaris"],
        ["2018"],
        ["creditboys"],
    )


def test_an_english_subject_is_matched_by_its_dutch_word_and_anything_is_no_subject():
    english = parse_question("Did the state secretary promise anything about the municipalities?", ["Harbers"])
    dutch = parse_question("Welke toezeggingen deed de staatssecretaris over gemeenten?", ["Harbers"])
    assert list(english.topic) == list(dutch.topic) and len(dutch.topic) == 1
    assert list(english.topic.values()) == ["municipalities"]


def _ask(corpus_answerer, question: str):
    return commitment_answer(question, corpus_answerer.retriever.index, corpus_answerer.settings)


def test_chat_lists_harbers_commitments_of_2018_each_cited(corpus_answerer):
    answer = _ask(corpus_answerer, "Welke toezeggingen deed Harbers in 2018?")
    lines = [line for line in answer.answer.split("\n\n") if line[:1].isdigit()]
    assert len(lines) == 7 and all(re.search(r"“ \[\d+\]|” \[\d+\]", line) for line in lines)


def test_chat_cites_the_chairs_turns_and_the_evidence(corpus_answerer):
    answer = _ask(corpus_answerer, "Welke toezeggingen deed Harbers in 2018?")
    assert [c.chunk_id for c in answer.citations] == [
        "000_528fd6ff245c8aa8:153:0",
        "000_528fd6ff245c8aa8:155:0",
        "000_528fd6ff245c8aa8:159:0",
        LETTER_CHUNK,
    ]


def test_chat_answer_quotes_verify_through_the_answerer(corpus_answerer):
    answer = corpus_answerer.answer("Welke toezeggingen deed Harbers in 2018?")
    assert answer.quotes and {q.status for q in answer.quotes} == {"verified"}


def test_chat_answers_about_a_subject_with_the_matching_commitment(corpus_answerer):
    answer = _ask(corpus_answerer, "What did the minister promise about taakstraffen?")
    assert [c.sentences for c in answer.citations] == [[_containing_text("taakstraffen in mensenhandelzaken")]]


def test_chat_fulfilment_question_shows_the_letter(corpus_answerer):
    answer = _ask(
        corpus_answerer,
        "Heeft de staatssecretaris zijn belofte waargemaakt om het plan van aanpak mensenhandel vóór de "
        "begrotingsbehandeling naar de Kamer te sturen?",
    )
    assert [c.chunk_id for c in answer.citations] == ["000_528fd6ff245c8aa8:159:0", LETTER_CHUNK]


def test_chat_says_so_when_none_match(corpus_answerer):
    answer = _ask(corpus_answerer, "Welke toezeggingen deed Harbers in 2017?")
    assert answer.refused and answer.citations == [] and "geen toezeggingen van Harbers in 2017" in answer.answer


def test_chat_leaves_other_questions_to_the_composer(corpus_answerer):
    assert _ask(corpus_answerer, "Wie stelde een taaltoets voor sekswerkers voor?") is None


def _containing_text(words: str) -> str:
    return _containing(extract_commitments(_doc("002")), words).text


# --- the tab's handlers -----------------------------------------------------------------------------


def test_tab_filters_by_who(tmp_path):
    html = show_commitments(FakeAnswerer(), make_settings(tmp_path), who="Blok")
    assert html.count('class="kb-card kb-commitment"') == 6 and "6 van 14 toezeggingen" in html


def test_tab_shows_a_bad_date_in_dutch(tmp_path):
    html = show_commitments(FakeAnswerer(), make_settings(tmp_path), date_from="27-09-2018")
    assert "kb-error" in html and "JJJJ-MM-DD" in html


def test_tab_card_links_to_the_official_source(matched):
    card = commitment_card(_containing(matched, "tantramisbruik"))
    assert 'href="https://zoek.officielebekendmakingen.nl/kst-28638-163.html"' in card


def test_tab_card_shows_mogelijk_ingelost_with_the_evidence(matched):
    card = commitment_card(_containing(matched, "voor de begroting komt"))
    assert "Mogelijk ingelost door" in card and "kst-28638-164.html" in card and "<mark>Zoals toegezegd" in card


def test_tab_card_escapes_the_text(matched):
    hostile = _containing(matched, "tantramisbruik").model_copy(update={"text": "<script>alert(1)</script>"})
    assert "<script>" not in commitment_card(hostile)
