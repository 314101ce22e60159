"""The chat handlers, the JSON API and the access rules, tested without launching a server."""

from __future__ import annotations

import base64
import json
import threading

import gradio as gr
import pytest
from starlette.testclient import TestClient

import app
from kamerbron.errors import IndexMissingError, LLMEndpointError
from kamerbron.records import Filters
from kamerbron.settings import Settings
from tests.fakes.answerer import (
    CAPACITY_QUESTION,
    CAPACITY_SENTENCE,
    URL_AO,
    FakeAnswerer,
    capacity_answer,
    refusal_answer,
)
from tests.fakes.ports import free_port
from tests.fakes.settings import make_settings
from webui.chat import UNEXPECTED_ERROR, ChatHandlers
from webui.evalreport import render_report
from webui.feedback import FeedbackStore
from webui.render import doc_line
from webui.server import build_app, create_server

# --- chat handlers ------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


def final_chat(handlers: ChatHandlers, question: str, turns=None, **filters):
    steps = list(handlers.respond(question, turns or [], **filters))
    messages, turns, box = steps[-1]
    return messages, turns, box, steps


def test_answer_shows_citation_markers(settings):
    messages, *_ = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)
    assert '<span class="kb-ref">[1]</span>' in messages[-1]["content"]


def test_answer_has_one_card_per_citation(settings):
    messages, *_ = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)
    assert messages[-1]["content"].count('<div class="kb-card">') == 2


def test_card_names_speaker_party_document_date_and_link(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)[0][-1]["content"]
    card = html.split('<div class="kb-card">')[1]
    expected = [
        "Mevrouw Van Nispen",
        '<span class="kb-party">SP</span>',
        "Verslag van een algemeen overleg",
        "27 september 2018",
        f'href="{URL_AO}"',
    ]
    assert [part for part in expected if part not in card] == []


def test_card_shows_role(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)[0][-1]["content"]
    assert '<span class="kb-role">Staatssecretaris van Justitie en Veiligheid</span>' in html


def test_sentence_relied_on_is_marked(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)[0][-1]["content"]
    assert f"<mark>{CAPACITY_SENTENCE}</mark>" in html


def test_long_passage_card_shows_an_excerpt_around_the_sentence(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)[0][-1]["content"]
    excerpt = html.split('<div class="kb-card">')[2].split("<details")[0]
    assert f"<mark>{CAPACITY_SENTENCE}</mark>" in excerpt and "Dan de vragen over de capaciteit" not in excerpt


def test_long_passage_card_has_the_whole_passage_on_request(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)[0][-1]["content"]
    whole = html.split('<details class="kb-full"><summary>Hele passage</summary>')[1].split("</details>")[0]
    assert "Dan de vragen over de capaciteit" in whole and "Die mensen zijn er dus ook echt." in whole


def test_uncited_passages_are_behind_a_details_element(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)[0][-1]["content"]
    details = html.split('<details class="kb-other">')[1]
    assert "Overige gevonden passages (1)" in details and "De heer Segers" in details


def test_streaming_shows_partial_text_before_the_final_answer(settings):
    *_, steps = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)
    assert any("kb-streaming" in step[0][-1]["content"] for step in steps[:-1])


def test_question_box_is_cleared_after_asking(settings):
    _, _, box, _ = final_chat(ChatHandlers(FakeAnswerer(), settings), CAPACITY_QUESTION)
    assert box == ""


def test_refusal_says_so(settings):
    html = final_chat(ChatHandlers(FakeAnswerer([refusal_answer()]), settings), "Kernenergie?")[0][-1]["content"]
    assert "Geen antwoord gevonden" in html


def test_refusal_shows_closest_passages_marked_not_answering(settings):
    html = final_chat(ChatHandlers(FakeAnswerer([refusal_answer()]), settings), "Kernenergie?")[0][-1]["content"]
    assert html.count('<span class="kb-badge">niet beantwoordend</span>') == 5


def test_refusal_has_no_sources_heading(settings):
    html = final_chat(ChatHandlers(FakeAnswerer([refusal_answer()]), settings), "Kernenergie?")[0][-1]["content"]
    assert ">Bronnen<" not in html


def test_notice_is_shown(settings):
    answer = capacity_answer().model_copy(
        update={"notice": "Het taalmodel gaf geen antwoord; dit is het extractieve antwoord."}
    )
    html = final_chat(ChatHandlers(FakeAnswerer([answer]), settings), "Vraag?")[0][-1]["content"]
    assert '<div class="kb-notice">Het taalmodel gaf geen antwoord' in html


def test_html_in_passage_is_escaped(settings):
    answer = capacity_answer()
    answer.citations[0].text = "Zie <script>alert(1)</script> en <img src=x onerror=alert(2)>."
    html = final_chat(ChatHandlers(FakeAnswerer([answer]), settings), "Vraag?")[0][-1]["content"]
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_html_in_answer_text_is_escaped(settings):
    answer = capacity_answer().model_copy(update={"answer": "Antwoord <b onmouseover=alert(1)>vet</b> [1]."})
    html = final_chat(ChatHandlers(FakeAnswerer([answer]), settings), "Vraag?")[0][-1]["content"]
    assert "<b " not in html and "&lt;b onmouseover=alert(1)&gt;" in html


def test_html_in_question_is_escaped(settings):
    messages, *_ = final_chat(ChatHandlers(FakeAnswerer(), settings), "<img src=x onerror=alert(1)> prostitutie?")
    assert messages[0]["content"] == '<div class="kb-question">&lt;img src=x onerror=alert(1)&gt; prostitutie?</div>'


def test_javascript_url_is_not_linked(settings):
    answer = capacity_answer()
    answer.citations[0].url = "javascript:alert(1)"
    html = final_chat(ChatHandlers(FakeAnswerer([answer]), settings), "Vraag?")[0][-1]["content"]
    assert "javascript:" not in html


def test_too_long_question_gives_dutch_message(settings):
    question = "Waarom? " * 200
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), question)[0][-1]["content"]
    assert "De vraag is te lang (1599 tekens; maximaal 1000)" in html


def test_too_long_question_is_not_answered(settings):
    answerer = FakeAnswerer()
    final_chat(ChatHandlers(answerer, settings), "x" * 1001)
    assert answerer.calls == []


def test_too_long_question_stays_in_the_box(settings):
    _, _, box, _ = final_chat(ChatHandlers(FakeAnswerer(), settings), "x" * 1001)
    assert box == "x" * 1001


def test_empty_question_gives_dutch_message(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), "   ")[0][-1]["content"]
    assert "De vraag is leeg." in html


def test_invalid_date_filter_gives_dutch_message(settings):
    html = final_chat(ChatHandlers(FakeAnswerer(), settings), "Vraag?", date_from="15-03-2021")[0][-1]["content"]
    assert "gebruik de vorm JJJJ-MM-DD" in html


def test_filters_reach_the_answerer(settings):
    answerer = FakeAnswerer()
    final_chat(
        ChatHandlers(answerer, settings),
        "Vraag?",
        parties=["SP"],
        speakers=["Harbers"],
        doc_ids=["kst-28638-163"],
        date_from="2018-01-01",
        date_to="2018-12-31",
    )
    assert answerer.calls[0]["filters"] == Filters(
        parties=["SP"], speakers=["Harbers"], doc_ids=["kst-28638-163"], date_from="2018-01-01", date_to="2018-12-31"
    )


def test_no_filters_reach_the_answerer_as_none(settings):
    answerer = FakeAnswerer()
    final_chat(ChatHandlers(answerer, settings), "Vraag?", parties=[], date_from="")
    assert answerer.calls[0]["filters"] is None


def test_follow_up_passes_history(settings):
    answerer = FakeAnswerer()
    handlers = ChatHandlers(answerer, settings)
    _, turns, _, _ = final_chat(handlers, CAPACITY_QUESTION)
    final_chat(handlers, "En wat zei de VVD daarover?", turns)
    assert answerer.calls[1]["history"] == [(CAPACITY_QUESTION, capacity_answer().answer)]


def test_domain_error_becomes_visible_message(settings):
    error = IndexMissingError("Geen index gevonden; bouw die met `python -m ingest build`.")
    html = final_chat(ChatHandlers(FakeAnswerer([error]), settings), "Vraag?")[0][-1]["content"]
    assert "bouw die met" in html


def test_llm_endpoint_error_shows_no_url_or_setting(settings):
    error = LLMEndpointError("Cannot connect to the LLM endpoint http://127.0.0.1:9/v1; check KAMERBRON_LLM_BASE_URL.")
    html = final_chat(ChatHandlers(FakeAnswerer([error]), settings), "Vraag?")[0][-1]["content"]
    assert ("127.0.0.1" in html, "KAMERBRON_" in html, "Het taalmodel gaf geen antwoord" in html) == (
        False,
        False,
        True,
    )


def test_unexpected_error_becomes_generic_dutch_message(settings):
    html = final_chat(ChatHandlers(FakeAnswerer([RuntimeError("boom")]), settings), "Vraag?")[0][-1]["content"]
    assert UNEXPECTED_ERROR in html


def test_missing_answerer_shows_the_index_fix(settings):
    handlers = ChatHandlers(
        None, settings, unavailable=IndexMissingError("Geen index; bouw die met `python -m ingest build`.")
    )
    html = final_chat(handlers, "Vraag?")[0][-1]["content"]
    assert "python -m ingest build" in html


def test_clear_empties_the_conversation():
    assert ChatHandlers.clear() == ([], [], "", "")


# --- feedback through the handlers ---------------------------------------------------------------


def like(handlers: ChatHandlers, turns, index: int, liked):
    return handlers.like(turns, gr.LikeData(None, {"index": index, "value": "", "liked": liked}))


def test_like_appends_feedback(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, CAPACITY_QUESTION)
    like(handlers, turns, 1, True)
    record = FeedbackStore(settings.paths.feedback_db).read()[0]
    assert (record.rating, record.question, record.settings_hash, len(record.citations)) == (
        "like",
        CAPACITY_QUESTION,
        "abc123def456",
        2,
    )


def test_dislike_of_second_answer_is_stored_for_that_answer(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, "Eerste vraag?")
    _, turns, _, _ = final_chat(handlers, "Tweede vraag?", turns)
    like(handlers, turns, 3, False)
    record = FeedbackStore(settings.paths.feedback_db).read()[0]
    assert (record.rating, record.question) == ("dislike", "Tweede vraag?")


def test_like_of_an_error_message_stores_nothing(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, "")
    like(handlers, turns, 1, True)
    assert FeedbackStore(settings.paths.feedback_db).read() == []


def test_comment_is_stored_with_the_rated_answer(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, "Eerste vraag?")
    _, turns, _, _ = final_chat(handlers, "Tweede vraag?", turns)
    turns, _ = like(handlers, turns, 1, False)
    handlers.comment(turns, "Bron 2 klopt niet.")
    record = FeedbackStore(settings.paths.feedback_db).read()[-1]
    assert (record.question, record.rating, record.comment) == ("Eerste vraag?", "dislike", "Bron 2 klopt niet.")


def test_comment_without_rating_goes_to_the_latest_answer(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, "Eerste vraag?")
    _, turns, _, _ = final_chat(handlers, "Tweede vraag?", turns)
    handlers.comment(turns, "Handig.")
    assert FeedbackStore(settings.paths.feedback_db).read()[0].question == "Tweede vraag?"


def test_comment_status_shows_the_question_as_text(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, "<img src=x onerror=alert(1)> *vet*?")
    _, _, status = handlers.comment(turns, "Opmerking.")
    assert "&lt;img src=x onerror=alert\\(1\\)&gt; \\*vet\\*?" in status


def test_empty_comment_is_not_stored(settings):
    handlers = ChatHandlers(FakeAnswerer(), settings)
    _, turns, _, _ = final_chat(handlers, "Vraag?")
    handlers.comment(turns, "   ")
    assert FeedbackStore(settings.paths.feedback_db).read() == []


# --- the Gradio app and the Evaluatie tab -----------------------------------------------------


def test_build_app_exposes_named_api_endpoint(settings):
    demo = build_app(FakeAnswerer(), settings)
    assert "ask" in {fn.api_name for fn in demo.fns.values()}


def test_eval_tab_without_runs_says_how_to_run_one(tmp_path):
    assert "python -m eval run" in render_report(tmp_path / "eval")


def test_eval_tab_shows_the_newest_report(tmp_path):
    for name, text in [("2024-01-01", "# Oud"), ("2024-02-01", "# Nieuw")]:
        (tmp_path / "runs" / name).mkdir(parents=True)
        (tmp_path / "runs" / name / "report.md").write_text(text)
    assert "# Nieuw" in render_report(tmp_path)


def test_eval_tab_inlines_report_images(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    png = b"\x89PNG fake"
    (run / "recall.png").write_bytes(png)
    (run / "report.md").write_text("![Recall](recall.png)")
    assert f"![Recall](data:image/png;base64,{base64.b64encode(png).decode()})" in render_report(tmp_path)


def test_eval_tab_drops_external_images(tmp_path):
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "report.md").write_text("![x](https://example.org/x.png) ![y](../../secret.png)")
    assert "example.org" not in render_report(tmp_path) and "secret.png)" not in render_report(tmp_path)


# --- POST /api/ask, /widget.js and access rules -----------------------------------------------


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("api"), app={"allowed_origins": ["https://intranet.example"]})
    answerer = FakeAnswerer()
    with TestClient(create_server(settings, answerer)) as client:
        client.answerer = answerer
        yield client


def test_api_ask_returns_the_cli_json_fields(api):
    data = api.post("/api/ask", json={"question": CAPACITY_QUESTION}).json()
    assert set(data) == set(capacity_answer().to_json())


def test_api_ask_answer_matches_the_cli_json(api):
    data = api.post("/api/ask", json={"question": CAPACITY_QUESTION}).json()
    assert (data["answer"], data["citations"]) == (capacity_answer().answer, capacity_answer().to_json()["citations"])


def test_api_ask_citation_fields(api):
    citation = api.post("/api/ask", json={"question": CAPACITY_QUESTION}).json()["citations"][0]
    assert {
        "n",
        "chunk_id",
        "doc_id",
        "source_file",
        "speaker",
        "party",
        "date",
        "url",
        "text",
        "role",
        "doc_title",
        "sentences",
    } <= set(citation)


def test_api_ask_retrieved_fields(api):
    passage = api.post("/api/ask", json={"question": CAPACITY_QUESTION}).json()["retrieved"][0]
    assert {"rank", "chunk_id", "doc_id", "source_file", "speaker", "party", "role", "date", "score", "text"} <= set(
        passage
    )


def test_api_ask_passes_history_and_filters(api):
    api.post(
        "/api/ask",
        json={"question": "En de VVD?", "history": [["Vraag 1", "Antwoord 1"]], "filters": {"parties": ["VVD"]}},
    )
    call = api.answerer.calls[-1]
    assert (call["history"], call["filters"]) == ([("Vraag 1", "Antwoord 1")], Filters(parties=["VVD"]))


def test_api_ask_too_long_question_is_400_in_dutch(api):
    response = api.post("/api/ask", json={"question": "x" * 1001})
    assert (response.status_code, response.json()["error"][:18]) == (400, "De vraag is te lan")


def test_api_ask_invalid_json_is_400(api):
    response = api.post("/api/ask", content=b"{niet json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_api_ask_unknown_filter_is_400(api):
    response = api.post("/api/ask", json={"question": "Vraag?", "filters": {"partij": ["SP"]}})
    assert (response.status_code, "Onbekend filter: partij" in response.json()["error"]) == (400, True)


def test_api_ask_bad_history_is_400(api):
    response = api.post("/api/ask", json={"question": "Vraag?", "history": "eerder"})
    assert response.status_code == 400


def test_api_ask_without_index_is_503_with_the_fix(tmp_path):
    server = create_server(make_settings(tmp_path), FakeAnswerer())
    server.state.handlers.answerer = None
    server.state.handlers.unavailable = IndexMissingError("Geen index gevonden; bouw die met `python -m ingest build`.")
    response = TestClient(server).post("/api/ask", json={"question": "Vraag?"})
    assert (response.status_code, "python -m ingest build" in response.json()["error"]) == (503, True)


def test_api_ask_checks_the_question_before_the_missing_index(tmp_path):
    server = create_server(make_settings(tmp_path), FakeAnswerer())
    server.state.handlers.answerer = None
    server.state.handlers.unavailable = IndexMissingError("Geen index gevonden; bouw die met `python -m ingest build`.")
    response = TestClient(server).post("/api/ask", json={"question": "  "})
    assert (response.status_code, "De vraag is leeg" in response.json()["error"]) == (400, True)


def test_chat_checks_the_question_before_the_missing_index(settings):
    handlers = ChatHandlers(
        None, settings, unavailable=IndexMissingError("Geen index; bouw die met `python -m ingest build`.")
    )
    html = final_chat(handlers, "  ")[0][-1]["content"]
    assert "De vraag is leeg" in html


@pytest.fixture(scope="module")
def no_chroma_server(tmp_path_factory):
    """The real app, loading its own answerer, configured for a Chroma server that does not run: (settings, app)."""
    settings = make_settings(tmp_path_factory.mktemp("nochroma"), chroma={"host": "127.0.0.1", "port": free_port()})
    return settings, create_server(settings)


def test_app_without_chroma_server_answers_503_naming_it(no_chroma_server):
    settings, server = no_chroma_server
    response = TestClient(server).post("/api/ask", json={"question": "Wat zei de SP?"})
    error = response.json()["error"]
    assert (response.status_code, f"127.0.0.1:{settings.chroma.port}" in error, "chroma run" in error) == (
        503,
        True,
        True,
    )


def test_app_without_chroma_server_shows_it_in_the_chat(no_chroma_server):
    _, server = no_chroma_server
    html = final_chat(server.state.handlers, "Wat zei de SP?")[0][-1]["content"]
    assert "chroma run" in html


class BlockingAnswerer(FakeAnswerer):
    """Holds every answer until released, to fill the answering slots."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def answer(self, question, *, history=(), filters=None):
        self.entered.set()
        self.release.wait(timeout=30)
        return super().answer(question, history=history, filters=filters)


def test_api_ask_is_429_when_the_queue_is_full(tmp_path):
    answerer = BlockingAnswerer()
    server = create_server(make_settings(tmp_path, app={"concurrency": 1}), answerer, api_max_waiting=0)
    with TestClient(server) as client:
        first = threading.Thread(target=client.post, args=("/api/ask",), kwargs={"json": {"question": "Een?"}})
        first.start()
        answerer.entered.wait(timeout=30)
        response = client.post("/api/ask", json={"question": "Twee?"})
        answerer.release.set()
        first.join(timeout=30)
    assert (response.status_code, response.headers.get("retry-after", "").isdigit()) == (429, True)


def test_cors_allowed_origin_is_echoed(api):
    response = api.post("/api/ask", json={"question": "Vraag?"}, headers={"Origin": "https://intranet.example"})
    assert response.headers.get("access-control-allow-origin") == "https://intranet.example"


def test_cors_other_origin_is_refused(api):
    response = api.post("/api/ask", json={"question": "Vraag?"}, headers={"Origin": "https://evil.example"})
    assert (response.status_code, response.headers.get("access-control-allow-origin")) == (403, None)


def test_cors_other_origin_does_not_reach_the_answerer(api):
    before = len(api.answerer.calls)
    api.post("/api/ask", json={"question": "Vraag?"}, headers={"Origin": "https://evil.example"})
    assert len(api.answerer.calls) == before


def test_cors_same_origin_is_always_allowed(api):
    response = api.post("/api/ask", json={"question": "Vraag?"}, headers={"Origin": "http://testserver"})
    assert response.status_code == 200


def test_cors_preflight_allowed(api):
    response = api.options(
        "/api/ask",
        headers={
            "Origin": "https://intranet.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert (response.status_code, response.headers.get("access-control-allow-credentials")) == (204, "true")


def test_cors_preflight_denied(api):
    response = api.options(
        "/api/ask", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 403


def test_widget_js_is_javascript_with_css_inlined(api):
    response = api.get("/widget.js")
    assert (
        response.headers["content-type"].startswith("application/javascript"),
        "__KAMERBRON_WIDGET_CSS__" in response.text,
        ".kbw-launcher" in response.text,
    ) == (True, False, True)


def test_widget_js_cors_for_allowed_origin(api):
    response = api.get("/widget.js", headers={"Origin": "https://intranet.example"})
    assert response.headers.get("access-control-allow-origin") == "https://intranet.example"


def test_widget_demo_embeds_the_widget(api):
    assert '<script src="/widget.js"' in api.get("/widget-demo").text


def test_chat_page_is_served(api):
    assert api.get("/").status_code == 200


@pytest.fixture(scope="module")
def basic_auth(tmp_path_factory):
    settings = make_settings(
        tmp_path_factory.mktemp("auth"), app={"auth_username": "ambtenaar", "auth_password": "geheim"}
    )
    with TestClient(create_server(settings, FakeAnswerer())) as client:
        yield client


def creds(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("path", ["/", "/widget.js", "/widget-demo", "/gradio_api/info"])
def test_basic_auth_protects_every_page(basic_auth, path):
    assert basic_auth.get(path).status_code == 401


def test_basic_auth_protects_the_api(basic_auth):
    response = basic_auth.post("/api/ask", json={"question": "Vraag?"})
    assert (response.status_code, response.headers.get("www-authenticate", "")[:5]) == (401, "Basic")


def test_basic_auth_wrong_password_is_401(basic_auth):
    response = basic_auth.post("/api/ask", json={"question": "Vraag?"}, headers=creds("ambtenaar", "fout"))
    assert response.status_code == 401


def test_basic_auth_right_password_is_answered(basic_auth):
    response = basic_auth.post("/api/ask", json={"question": "Vraag?"}, headers=creds("ambtenaar", "geheim"))
    assert response.status_code == 200


def test_basic_auth_lets_the_chat_page_load(basic_auth):
    assert basic_auth.get("/", headers=creds("ambtenaar", "geheim")).status_code == 200


@pytest.fixture(scope="module")
def header_auth(tmp_path_factory):
    """The app behind a reverse proxy on 10.0.0.2 that sets X-Remote-User; requests come from that proxy."""
    settings = make_settings(
        tmp_path_factory.mktemp("hdr"), app={"trusted_user_header": "X-Remote-User", "trusted_proxies": ["10.0.0.2"]}
    )
    with TestClient(create_server(settings, FakeAnswerer()), client=("10.0.0.2", 50000)) as client:
        yield client


def test_trusted_header_missing_is_401(header_auth):
    assert header_auth.post("/api/ask", json={"question": "Vraag?"}).status_code == 401


def test_trusted_header_present_is_answered(header_auth):
    response = header_auth.post("/api/ask", json={"question": "Vraag?"}, headers={"X-Remote-User": "j.jansen"})
    assert response.status_code == 200


def test_trusted_header_protects_the_widget(header_auth):
    assert header_auth.get("/widget.js").status_code == 401


def test_api_error_body_is_json(api):
    response = api.post("/api/ask", json={"question": ""})
    assert json.loads(response.text)["error"].startswith("De vraag is leeg.")


# --- python app.py --------------------------------------------------------------------------------


@pytest.mark.slow
def test_app_builds_the_index_when_there_is_none(tmp_path):
    answerer = app.load_or_build_answerer(make_settings(tmp_path))
    assert answerer.facets()["documents"] != []


def test_card_does_not_repeat_a_date_the_title_already_holds():
    line = doc_line("Verslag van een algemeen overleg, gehouden op 27 september 2018", "2018-09-27", "")
    assert line.count("27 september 2018") == 1
