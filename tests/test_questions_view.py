"""Vragen en antwoorden (rag/qa_pairs.py, webui/questions_tab.py) on the bundled corpus.

Checked by hand in data/corpus:

- 004 (consultation on the action plan, 2023) lists 'II Reactie van de Staatssecretaris' in its table of
  contents, but the text ends after part I: every question in it is open. Its asking parties, from the
  contents: GroenLinks-PvdA, VVD, NSC, BBB, CDA, SP, ChristenUnie.
- 001 (consultation of 2015), section 5: the SGP members are "zeer benieuwd naar het onderzoek over het
  invoeren van een pooierverbod"; the minister answers under the same heading that he expects to send the
  study "begin volgend jaar ... vergezeld van een standpunt" to the House.
"""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from kamerbron.text import GOVERNMENT_ROLES
from rag.__main__ import main
from rag.qa_pairs import OPEN_LABEL, QAFilterInvalidError, question_answer_pairs
from tests.fakes.answerer import FakeAnswerer
from tests.fakes.settings import make_settings
from webui.questions_tab import NO_REPLY_NOTE, filter_choices, show_questions
from webui.server import create_server

ACTION_PLAN = "004_430d2c4d9ca5dc61"
CONSULTATION_2015 = "001_d19f5fabcea6e511"
ACTION_PLAN_PARTIES = {"GroenLinks-PvdA", "VVD", "NSC", "BBB", "CDA", "SP", "ChristenUnie"}
SGP_ANSWER = "verwacht ik begin volgend jaar het onderzoek vergezeld van een standpunt"


@pytest.fixture(scope="module")
def index(corpus_answerer):
    return corpus_answerer.retriever.index.current


@pytest.fixture(scope="module")
def pairs(index):
    return question_answer_pairs(index)


@pytest.fixture(scope="module")
def action_plan(index):
    return question_answer_pairs(index, doc=ACTION_PLAN)


@pytest.fixture(scope="module")
def pooierverbod_pair(pairs):
    return next(p for p in pairs if p.question.party == "SGP" and "pooierverbod" in p.question.text)


def test_every_question_of_004_is_open(action_plan):
    assert action_plan and all(p.open and not p.answers for p in action_plan)


def test_004_has_no_reply_in_the_document(action_plan):
    assert not any(p.reply_in_document for p in action_plan)


def test_004_asking_parties(action_plan):
    assert {p.question.party for p in action_plan} == ACTION_PLAN_PARTIES


def test_sgp_pooierverbod_question_is_answered(pooierverbod_pair):
    assert not pooierverbod_pair.open


def test_sgp_pooierverbod_answer_is_the_ministers(pooierverbod_pair):
    assert any(SGP_ANSWER in " ".join(a.text.split()) for a in pooierverbod_pair.answers)


def test_answers_are_the_governments(pairs):
    assert {a.role for p in pairs for a in p.answers} <= GOVERNMENT_ROLES


def test_the_question_is_cited_with_its_official_source(pooierverbod_pair):
    q = pooierverbod_pair.question
    assert (q.chunk_id.startswith(CONSULTATION_2015 + ":"), q.url) == (
        True,
        "https://zoek.officielebekendmakingen.nl/kst-28638-123.html",
    )


def test_every_question_is_a_partys(pairs):
    assert all(p.question.role == "fractie" and p.question.party for p in pairs)


def test_only_consultations(pairs):
    assert {p.question.doc_id for p in pairs} == {CONSULTATION_2015, ACTION_PLAN}


def test_party_filter(index):
    assert {p.question.party for p in question_answer_pairs(index, party="sp")} == {"SP"}


def test_section_filter(index):
    section = "5. Brief inzake diverse toezeggingen"
    found = question_answer_pairs(index, section=section)
    assert found and all(p.question.section.startswith(section) for p in found)


def test_party_and_section_filters_together(index):
    found = question_answer_pairs(index, party="SGP", section="5.")
    assert {(p.question.party, p.question.section[:2]) for p in found} == {("SGP", "5.")}


@pytest.mark.parametrize(
    "filters", [{"party": "PVV"}, {"section": "geen kop als deze"}, {"doc": "000_528fd6ff245c8aa8"}]
)
def test_a_filter_that_matches_nothing_is_refused_in_dutch(index, filters):
    with pytest.raises(QAFilterInvalidError, match="Partij|kop|schriftelijk overleg"):
        question_answer_pairs(index, **filters)


def test_a_long_question_turn_is_whole(pairs, index):
    split = next(p for p in pairs if len(index.turn_chunks(p.question.doc_id, p.question.turn_index)) > 1)
    parts = index.turn_chunks(split.question.doc_id, split.question.turn_index)
    assert all(c.text in split.question.text for c in parts)


# --- the tab's handler -----------------------------------------------------------------------------


def test_tab_shows_a_row_per_pair(corpus_answerer, pairs):
    assert show_questions(corpus_answerer).count('class="kb-qa-row') == len(pairs)


def test_tab_party_filter_shrinks_the_rows(corpus_answerer, pairs):
    assert 0 < show_questions(corpus_answerer, party="SGP").count('class="kb-qa-row') < len(pairs)


def test_tab_marks_open_questions_and_the_missing_reply(corpus_answerer):
    html = show_questions(corpus_answerer, doc=ACTION_PLAN)
    assert OPEN_LABEL in html and NO_REPLY_NOTE in html


def test_tab_answered_pair_links_the_official_source(corpus_answerer):
    html = show_questions(corpus_answerer, party="SGP", section="5.")
    assert 'href="https://zoek.officielebekendmakingen.nl/kst-28638-123.html"' in html


def test_tab_bad_combination_is_a_message(corpus_answerer):
    assert "kb-error" in show_questions(corpus_answerer, party="BBB", section="1. Inleiding")


def test_tab_choices(corpus_answerer):
    assert ("SGP", "SGP") in filter_choices(corpus_answerer)["parties"]


def test_tab_without_an_index_says_so():
    assert "niet beschikbaar" in show_questions(FakeAnswerer())


# --- CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(corpus_index, monkeypatch):
    settings, _ = corpus_index
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(settings.paths.index_dir))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")


def test_cli_json_one_line_per_question(cli_env, capsys, action_plan):
    assert main(["questions", "--doc", ACTION_PLAN, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (len(lines), all(line["open"] for line in lines)) == (len(action_plan), True)


def test_cli_for_a_person_marks_open_questions(cli_env, capsys):
    main(["questions", "--doc", ACTION_PLAN, "--party", "BBB"])
    assert f"antwoord: {OPEN_LABEL}" in capsys.readouterr().out


def test_cli_unknown_party_is_an_argument_error(cli_env, capsys):
    assert main(["questions", "--party", "PVV"]) == 2
    assert "PVV" in capsys.readouterr().err


# --- API -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(corpus_index, corpus_answerer):
    settings, _ = corpus_index
    return TestClient(create_server(settings, corpus_answerer))


def test_api_filters(client):
    body = client.get("/api/questions", params={"party": "SGP", "section": "5."}).json()
    assert body and {(p["question"]["party"], p["open"]) for p in body} == {("SGP", False)}


def test_api_004_all_open(client, action_plan):
    body = client.get("/api/questions", params={"doc": ACTION_PLAN}).json()
    assert (len(body), {p["open"] for p in body}) == (len(action_plan), {True})


@pytest.mark.parametrize("params", [{"party": "PVV"}, {"partij": "SP"}])
def test_api_bad_input_is_a_dutch_400(client, params):
    response = client.get("/api/questions", params=params)
    assert (response.status_code, "error" in response.json()) == (400, True)


def test_api_without_an_index_is_503(tmp_path):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    assert client.get("/api/questions").status_code == 503
