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
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from ingest.commitments import extract_commitments
from ingest.parse import parse_document
from kamerbron.records import Commitment
from rag.__main__ import main
from tests.fakes.answerer import FakeAnswerer
from tests.fakes.settings import CORPUS, SHARED_FORMATS, make_settings
from webui.server import create_server

VLOS_DIR = SHARED_FORMATS / "vlos"
JSON_FIELDS = {"who", "role", "text", "deadline", "qualification", "doc_id", "date", "chunk_id", "fulfilled_by"}


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
