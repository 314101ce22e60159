"""Standpunten (rag/positions.py) on the bundled corpus, checked against a reading of the corpus by hand.

Hand check (data/corpus, read in full for each word):

- Parties with a turn or a question of their own: 000 (debate 2018) D66, ChristenUnie, VVD, CDA,
  GroenLinks, SP, SGP, PvdA; 001 (consultation) PvdA, SP, D66, SGP; 002 (debate 2017) SP, PvdA, CDA,
  VVD; 004 (consultation 2023) GroenLinks-PvdA, VVD, NSC, BBB, CDA, SP, ChristenUnie. 003 is a letter.
- 'taaleis': only in 000. Mevrouw Kuik (CDA) asks for one (turns 16 and 19) and returns to it
  (turn 132); Mevrouw Buitenweg (GroenLinks) interrupts about its purpose (turn 18). Staatssecretaris
  Harbers answers on it (turns 124, 145): government, so no party row. Every other party: silent.
- 'pooierverbod': De heer Segers (ChristenUnie) in 000 ("er moet een pooierverbod komen"), the SGP's
  question in 001 ("zeer benieuwd naar het onderzoek over het invoeren van een pooierverbod"); the
  minister's restatement in 001 and Harbers in 000 and 003 are the government. De heer Van Nispen (SP)
  speaks of "pooiers" in 002, not of a ban on them: the SP is silent on it, as are all others.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from starlette.testclient import TestClient

from kamerbron.errors import QuestionInvalidError
from kamerbron.text import GOVERNMENT_ROLES
from rag.__main__ import main
from rag.positions import (
    CSV_COLUMNS,
    MAX_SENTENCES,
    SILENT_LABEL,
    PositionFinder,
    comparison_topic,
    to_csv,
    to_markdown,
)
from tests.fakes.answerer import FakeAnswerer, capacity_answer
from tests.fakes.settings import make_settings
from webui.chat import ChatHandlers
from webui.positions_tab import positions_html, positions_link_html, show_positions
from webui.server import create_server

CORPUS_PARTIES = {
    "BBB", "CDA", "ChristenUnie", "D66", "GroenLinks", "GroenLinks-PvdA", "NSC", "PvdA", "SGP", "SP", "VVD",
}  # fmt: skip
DEBATE_2018 = "000_528fd6ff245c8aa8"
CONSULTATION_2015 = "001_d19f5fabcea6e511"


@pytest.fixture(scope="module")
def finder(corpus_answerer):
    return PositionFinder(corpus_answerer.retriever)


@pytest.fixture(scope="module")
def taaleis(finder):
    return finder.find("taaleis")


@pytest.fixture(scope="module")
def pooierverbod(finder):
    return finder.find("pooierverbod")


def _row(result, party):
    return next(r for r in result.parties if r.party == party)


# --- the hand-made check ---------------------------------------------------------------------------


def test_every_party_of_the_corpus_has_one_row(taaleis):
    assert sorted(r.party for r in taaleis.parties) == sorted(CORPUS_PARTIES)


def test_taaleis_speaking_parties(taaleis):
    assert set(taaleis.speaking()) == {"CDA", "GroenLinks"}


def test_taaleis_silent_parties(taaleis):
    assert set(taaleis.silent()) == CORPUS_PARTIES - {"CDA", "GroenLinks"}


def test_taaleis_cda_is_kuik_in_the_2018_debate(taaleis):
    statements = _row(taaleis, "CDA").statements
    assert {(s.speaker, s.date, s.doc_id) for s in statements} == {("Mevrouw Kuik", "2018-09-27", DEBATE_2018)}


def test_taaleis_cda_statements_come_from_kuiks_turns_on_it(taaleis):
    assert {s.turn_index for s in _row(taaleis, "CDA").statements} <= {16, 19, 132}


def test_taaleis_groenlinks_is_buitenwegs_interruption(taaleis):
    assert [(s.speaker, s.turn_index) for s in _row(taaleis, "GroenLinks").statements] == [("Mevrouw Buitenweg", 18)]


def test_pooierverbod_speaking_parties(pooierverbod):
    assert set(pooierverbod.speaking()) == {"ChristenUnie", "SGP"}


def test_pooierverbod_silent_parties(pooierverbod):
    assert set(pooierverbod.silent()) == CORPUS_PARTIES - {"ChristenUnie", "SGP"}


def test_pooierverbod_sp_talking_of_pooiers_is_not_a_position_on_the_ban(pooierverbod):
    assert _row(pooierverbod, "SP").silent


def test_pooierverbod_christenunie_is_segers(pooierverbod):
    (statement,) = _row(pooierverbod, "ChristenUnie").statements
    assert (statement.speaker, statement.doc_id, "pooierverbod moet komen" in statement.sentences[0]) == (
        "De heer Segers",
        DEBATE_2018,
        True,
    )


def test_pooierverbod_sgp_is_its_consultation_question(pooierverbod):
    (statement,) = _row(pooierverbod, "SGP").statements
    assert (statement.role, statement.doc_id, statement.speaker) == (
        "fractie",
        CONSULTATION_2015,
        "leden van de SGP-fractie",
    )


# --- what every result holds -----------------------------------------------------------------------


def test_no_statement_is_the_governments(taaleis, pooierverbod):
    roles = {s.role for result in (taaleis, pooierverbod) for r in result.parties for s in r.statements}
    assert not roles & GOVERNMENT_ROLES


def test_each_statement_is_its_partys_own(taaleis):
    assert all(s.party == r.party for r in taaleis.parties for s in r.statements)


def test_each_sentence_is_verbatim_in_its_passage(taaleis, pooierverbod):
    statements = [s for result in (taaleis, pooierverbod) for r in result.parties for s in r.statements]
    assert all(" ".join(sentence.split()) in " ".join(s.text.split()) for s in statements for sentence in s.sentences)


def test_each_statement_names_the_topic(taaleis):
    assert all(any("taaleis" in x.lower() for x in s.sentences) for r in taaleis.parties for s in r.statements)


def test_at_most_three_sentences_per_party(taaleis):
    assert max(sum(len(s.sentences) for s in r.statements) for r in taaleis.parties) <= MAX_SENTENCES


def test_statements_are_cited_with_chunk_id_and_official_source(taaleis):
    statement = _row(taaleis, "CDA").statements[0]
    assert (statement.chunk_id.startswith(DEBATE_2018 + ":"), statement.url) == (
        True,
        "https://zoek.officielebekendmakingen.nl/kst-28638-163.html",
    )


def test_speaking_parties_come_first(taaleis):
    silent = [r.silent for r in taaleis.parties]
    assert silent == sorted(silent)


def test_a_topic_the_papers_never_discuss_leaves_every_party_silent(finder):
    assert finder.find("kernenergie").speaking() == []


def test_the_result_is_stamped_with_the_settings_hash(taaleis, corpus_answerer):
    assert taaleis.settings_hash == corpus_answerer.settings_hash


@pytest.mark.parametrize("topic", ["", "   ", "x" * 201, "\u200b taaleis"])
def test_an_unusable_topic_is_refused_in_dutch(finder, topic):
    with pytest.raises(QuestionInvalidError):
        finder.find(topic)


# --- exporters -------------------------------------------------------------------------------------


def test_csv_has_a_row_per_statement_and_per_silent_party(taaleis):
    rows = list(csv.reader(io.StringIO(to_csv(taaleis))))
    statements = sum(len(r.statements) for r in taaleis.parties)
    assert (tuple(rows[0]), len(rows) - 1) == (CSV_COLUMNS, statements + len(taaleis.silent()))


def test_csv_marks_silent_parties(taaleis):
    rows = list(csv.DictReader(io.StringIO(to_csv(taaleis))))
    assert {r["partij"] for r in rows if r["status"] == SILENT_LABEL} == set(taaleis.silent())


def test_markdown_has_one_table_row_per_party(taaleis):
    table = [line for line in to_markdown(taaleis).splitlines() if line.startswith("| ") and "Partij" not in line]
    assert len(table) == len(CORPUS_PARTIES)


def test_markdown_quotes_and_cites(taaleis):
    cda = next(line for line in to_markdown(taaleis).splitlines() if line.startswith("| CDA |"))
    assert "taaleis" in cda and "kst-28638-163.html" in cda and "Mevrouw Kuik (CDA), 27 september 2018" in cda


# --- from a chat question --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        (
            "Hoe verschilden de partijen over de registratieplicht voor prostituees?",
            "registratieplicht voor prostituees",
        ),
        ("Verschillen SP en CDA over de taaleis?", "taaleis"),
        ("Welke partijen waren voor een pooierverbod?", "pooierverbod"),
        ("How do the parties differ on the pimp ban?", "pimp ban"),
    ],
)
def test_the_topic_of_a_comparison(question, topic):
    assert comparison_topic(question) == topic


def test_a_question_that_compares_nothing_has_no_topic():
    assert comparison_topic("Wat zei de SP over de politie?") == ""


def test_chat_link_carries_the_topic():
    link = positions_link_html("Hoe verschilden de partijen over de taaleis?")
    assert 'href="?standpunten=taaleis"' in link and "in het tabblad Standpunten" in link


@pytest.mark.parametrize(
    ("question", "linked"),
    [("Hoe verschilden de partijen over de taaleis?", True), ("Wat zei de SP over de politie?", False)],
)
def test_chat_answer_links_the_tab_only_for_a_comparison(question, linked):
    messages = ChatHandlers.messages([{"question": question, "answer": capacity_answer(question)}])
    assert ("kb-positions-link" in messages[1]["content"]) is linked


# --- the tab's handler -----------------------------------------------------------------------------


def test_tab_shows_a_row_per_party(corpus_answerer):
    assert show_positions(corpus_answerer, "taaleis").count('class="kb-pos-row') == len(CORPUS_PARTIES)


def test_tab_marks_silent_rows(taaleis):
    assert positions_html(taaleis).count("kb-pos-silent") == len(taaleis.silent())


def test_tab_escapes_the_topic(corpus_answerer):
    assert "<script>" not in show_positions(corpus_answerer, "<script>alert(1)</script> taaleis")


def test_tab_without_an_index_says_so():
    assert "niet beschikbaar" in show_positions(FakeAnswerer(), "taaleis")


# --- CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(corpus_index, monkeypatch):
    settings, _ = corpus_index
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(settings.paths.index_dir))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    return settings


def test_cli_json_prints_one_line_per_party(cli_env, capsys):
    assert main(["positions", "pooierverbod", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(line["party"] for line in lines) == sorted(CORPUS_PARTIES)


def test_cli_json_marks_the_silent(cli_env, capsys):
    main(["positions", "pooierverbod", "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["party"] for line in lines if not line["silent"]} == {"ChristenUnie", "SGP"}


def test_cli_csv(cli_env, capsys):
    main(["positions", "taaleis", "--format", "csv"])
    assert capsys.readouterr().out.startswith(",".join(CSV_COLUMNS))


def test_cli_markdown(cli_env, capsys):
    main(["positions", "taaleis", "--format", "md"])
    assert capsys.readouterr().out.startswith("# Standpunten over “taaleis”")


def test_cli_for_a_person_says_nothing_found(cli_env, capsys):
    main(["positions", "taaleis"])
    assert f"SP: {SILENT_LABEL}" in capsys.readouterr().out


def test_cli_json_and_format_together_is_an_argument_error(cli_env, capsys):
    assert main(["positions", "taaleis", "--json", "--format", "csv"]) == 2


def test_cli_without_topic_is_an_argument_error(cli_env, capsys):
    assert main(["positions"]) == 2


# --- API -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(corpus_index, corpus_answerer):
    settings, _ = corpus_index
    return TestClient(create_server(settings, corpus_answerer))


def test_api_json(client):
    body = client.get("/api/positions", params={"topic": "taaleis"}).json()
    assert {p["party"] for p in body["parties"] if not p["silent"]} == {"CDA", "GroenLinks"}


def test_api_csv_is_a_download(client):
    response = client.get("/api/positions", params={"topic": "taaleis", "format": "csv"})
    assert (response.headers["content-type"].startswith("text/csv"), response.headers["content-disposition"]) == (
        True,
        'attachment; filename="standpunten-taaleis.csv"',
    )


def test_api_markdown(client):
    response = client.get("/api/positions", params={"topic": "pooierverbod", "format": "md"})
    assert response.status_code == 200 and SILENT_LABEL in response.text


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "onderwerp"),
        ({"topic": "taaleis", "format": "xml"}, "formaat"),
        ({"topic": "taaleis", "partij": "SP"}, "Onbekende parameter"),
    ],
)
def test_api_bad_input_is_a_dutch_400(client, params, words):
    response = client.get("/api/positions", params=params)
    assert (response.status_code, words in response.json()["error"]) == (400, True)


def test_api_without_an_index_is_503(tmp_path):
    client = TestClient(create_server(make_settings(tmp_path), FakeAnswerer()))
    assert client.get("/api/positions", params={"topic": "taaleis"}).status_code == 503
