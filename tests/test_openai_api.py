"""The OpenAI-compatible API (issue #13): the official ``openai`` client as the caller, against the real
app under uvicorn on 127.0.0.1, answering with the fake answerer or a real one over a small index."""

from __future__ import annotations

import base64
import threading

import httpx
import openai
import pytest

from kamerbron.embed import HashEmbedder
from kamerbron.errors import IndexMissingError
from kamerbron.feedback_store import FeedbackStore
from rag.answer import Answerer
from rag.retrieve import Retriever
from tests.fakes.answerer import CAPACITY_QUESTION, URL_AO, FakeAnswerer, capacity_answer, refusal_answer
from tests.fakes.index import write_small_index
from tests.fakes.openai_server import Reply, fake_openai_server
from tests.fakes.server import serve
from tests.fakes.settings import make_settings
from webui.openai_api import (
    MODEL_ID,
    REVISED_HEADING,
    SOURCES_HEADING,
    ChatMessage,
    closing_delta,
    conversation,
    reply_text,
    strip_sources,
)
from webui.server import create_server

FOLLOW_UP = "En wat zei het CDA daarover?"


@pytest.fixture
def fake():
    return FakeAnswerer()


@pytest.fixture
def app_url(tmp_path, fake):
    with serve(create_server(make_settings(tmp_path), fake)) as server:
        yield server.base_url


@pytest.fixture
def client(app_url):
    with openai.OpenAI(base_url=f"{app_url}/v1", api_key="sk-willekeurig", max_retries=0, timeout=30) as c:
        yield c


def ask(client, question: str = CAPACITY_QUESTION, **options):
    return client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": question}], **options)


def streamed(client, messages, **options) -> tuple[str, list]:
    chunks = list(client.chat.completions.create(model=MODEL_ID, messages=messages, stream=True, **options))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


# --- models -----------------------------------------------------------------------------------------


def test_models_lists_kamerbron(client):
    assert [m.id for m in client.models.list()] == [MODEL_ID]


# --- not streaming ------------------------------------------------------------------------------------


def test_completion_text_is_the_answer(client):
    content = ask(client).choices[0].message.content
    assert content.startswith(capacity_answer().answer)


def test_completion_lists_sources_with_official_links(client):
    content = ask(client).choices[0].message.content
    assert (
        f"- [1] Mevrouw Van Nispen (SP), Verslag van een algemeen overleg over mensenhandel, 27 september 2018: [officiële bron]({URL_AO})"
        in content
    )


def test_completion_finishes_with_stop(client):
    assert ask(client).choices[0].finish_reason == "stop"


def test_completion_carries_structured_citations(client):
    extra = ask(client).model_extra["kamerbron"]
    assert [c["speaker"] for c in extra["citations"]] == ["Mevrouw Van Nispen", "Staatssecretaris Harbers"]


def test_completion_carries_quotes(client):
    assert "quotes" in ask(client).model_extra["kamerbron"]


def test_refusal_has_no_sources_list(client, fake):
    fake.replies.append(refusal_answer())
    assert SOURCES_HEADING not in ask(client).choices[0].message.content


def test_question_reaches_the_answerer(client, fake):
    ask(client)
    assert (fake.calls[-1]["kind"], fake.calls[-1]["question"]) == ("answer", CAPACITY_QUESTION)


def test_filters_pass_through_extra_body(client, fake):
    ask(client, extra_body={"filters": {"parties": ["SP"]}})
    assert fake.calls[-1]["filters"].parties == ["SP"]


# --- streaming ----------------------------------------------------------------------------------------


def test_stream_joins_to_the_same_text_as_a_completion(client):
    text, _ = streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])
    assert text == reply_text(capacity_answer())


def test_stream_comes_in_several_deltas(client):
    _, chunks = streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2


def test_stream_last_chunk_carries_citations(client):
    _, chunks = streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])
    assert len(chunks[-1].model_extra["kamerbron"]["citations"]) == 2


def test_stream_ends_with_done(app_url):
    body = {"model": MODEL_ID, "stream": True, "messages": [{"role": "user", "content": CAPACITY_QUESTION}]}
    response = httpx.post(f"{app_url}/v1/chat/completions", json=body, timeout=30)
    assert response.text.rstrip().endswith("data: [DONE]")


def test_stream_is_server_sent_events(app_url):
    body = {"model": MODEL_ID, "stream": True, "messages": [{"role": "user", "content": CAPACITY_QUESTION}]}
    response = httpx.post(f"{app_url}/v1/chat/completions", json=body, timeout=30)
    assert response.headers["content-type"].startswith("text/event-stream")


def test_stream_error_arrives_in_band(client, fake):
    fake.replies.append(RuntimeError("kapot"))
    with pytest.raises(openai.APIError, match="Er ging iets mis"):
        streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])


# --- questions recorded in the feedback database ----------------------------------------------------


def recorded(tmp_path) -> list[tuple]:
    """(question, channel, has a latency) of every question the app under ``tmp_path`` recorded."""
    store = FeedbackStore.from_settings(make_settings(tmp_path))
    return [(q.question, q.channel, q.latency_ms is not None) for q in store.questions()]


def test_completion_is_recorded(client, tmp_path):
    ask(client)
    assert recorded(tmp_path) == [(CAPACITY_QUESTION, "api", True)]


def test_streamed_completion_is_recorded(client, tmp_path):
    streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])
    assert recorded(tmp_path) == [(CAPACITY_QUESTION, "api", True)]


def test_recorded_stream_keeps_the_final_answer(client, tmp_path):
    streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])
    assert FeedbackStore.from_settings(make_settings(tmp_path)).questions()[0].answer == capacity_answer().answer


def test_failed_stream_is_not_recorded(client, fake, tmp_path):
    fake.replies.append(RuntimeError("kapot"))
    with pytest.raises(openai.APIError):
        streamed(client, [{"role": "user", "content": CAPACITY_QUESTION}])
    assert recorded(tmp_path) == []


# --- follow-ups ---------------------------------------------------------------------------------------

CONVERSATION = [
    {"role": "system", "content": "Je bent een behulpzame assistent."},
    {"role": "user", "content": "Wat zei de SP over de capaciteit van de politie?"},
    {"role": "assistant", "content": reply_text(capacity_answer())},
    {"role": "user", "content": FOLLOW_UP},
]


def test_history_reaches_the_answerer_without_sources(client, fake):
    client.chat.completions.create(model=MODEL_ID, messages=CONVERSATION)
    assert fake.calls[-1]["history"] == [("Wat zei de SP over de capaciteit van de politie?", capacity_answer().answer)]


def test_streamed_follow_up_gets_history(client, fake):
    streamed(client, CONVERSATION)
    assert len(fake.calls[-1]["history"]) == 1


def test_follow_up_is_condensed_by_the_real_answerer(tmp_path):
    settings = make_settings(tmp_path)
    write_small_index(settings)
    answerer = Answerer(settings, retriever=Retriever(settings, embedder=HashEmbedder(settings.embedding.dim)))
    messages = [
        {"role": "user", "content": "Wat zei de SP over de capaciteit van de politie?"},
        {"role": "assistant", "content": "…"},
        {"role": "user", "content": FOLLOW_UP},
    ]
    with serve(create_server(settings, answerer)) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0, timeout=60) as real:
            completion = real.chat.completions.create(model=MODEL_ID, messages=messages)
    assert completion.model_extra["kamerbron"]["standalone_question"] == (
        "Wat zei het CDA over de capaciteit van de politie?"
    )


def test_conversation_keeps_the_latest_pairs_within_the_limit():
    messages = [ChatMessage(role=r, content=f"{r} {i}") for i in range(5) for r in ("user", "assistant")]
    messages.append(ChatMessage(role="user", content="vraag"))
    assert conversation(messages, max_pairs=2, max_chars=1000)[1] == [
        ["user 3", "assistant 3"],
        ["user 4", "assistant 4"],
    ]


def test_conversation_drops_the_oldest_pairs_over_the_character_limit():
    messages = [ChatMessage(role="user", content="v" * 60), ChatMessage(role="assistant", content="a" * 60)] * 2
    messages.append(ChatMessage(role="user", content="vraag"))
    assert len(conversation(messages, max_pairs=20, max_chars=200)[1]) == 1


def test_conversation_reads_text_parts():
    parts = [{"type": "text", "text": "Wie stelde"}, {"type": "image_url", "image_url": {"url": "x"}}]
    assert conversation([ChatMessage(role="user", content=parts)], max_pairs=5, max_chars=100)[0] == "Wie stelde"


def test_strip_sources_keeps_the_answer():
    assert strip_sources(reply_text(capacity_answer())) == capacity_answer().answer


def test_closing_delta_finishes_a_streamed_prefix():
    answer = capacity_answer()
    assert closing_delta(answer.answer[:20], answer) == reply_text(answer)[20:]


def test_closing_delta_repeats_a_revised_answer_in_full():
    answer = capacity_answer()
    assert closing_delta("Iets anders", answer) == f"\n\n---\n\n{REVISED_HEADING}\n\n{reply_text(answer)}"


# --- authentication -----------------------------------------------------------------------------------


@pytest.fixture
def protected_url(tmp_path):
    settings = make_settings(tmp_path, app={"auth_username": "kamer", "auth_password": "geheim"})
    with serve(create_server(settings, FakeAnswerer())) as server:
        yield server.base_url


def test_without_credentials_is_refused(protected_url):
    with openai.OpenAI(base_url=f"{protected_url}/v1", api_key="x", max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError):
            ask(c)


def test_models_without_credentials_is_refused(protected_url):
    with openai.OpenAI(base_url=f"{protected_url}/v1", api_key="x", max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError):
            c.models.list()


def test_basic_auth_header_is_answered(protected_url):
    basic = "Basic " + base64.b64encode(b"kamer:geheim").decode()
    with openai.OpenAI(
        base_url=f"{protected_url}/v1", api_key="x", max_retries=0, default_headers={"Authorization": basic}
    ) as c:
        assert ask(c).choices[0].message.content.startswith("De SP")


# --- bad requests -------------------------------------------------------------------------------------


def test_unknown_model_is_404_in_dutch(client):
    with pytest.raises(openai.NotFoundError, match="Onbekend model 'gpt-4o'"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Vraag?"}])


def test_empty_question_is_400(client):
    with pytest.raises(openai.BadRequestError):
        ask(client, "   ")


def test_last_message_from_assistant_is_400_in_dutch(client):
    with pytest.raises(openai.BadRequestError, match="Het laatste bericht moet een vraag"):
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "assistant", "content": "Hallo"}])


def test_empty_messages_is_400(client):
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model=MODEL_ID, messages=[])


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b'{"model": "kamerbron"}',
        b'{"model": 3, "messages": [{"role": "user", "content": "Vraag?"}]}',
        b'{"model": "kamerbron", "messages": [{"role": "robot", "content": "Vraag?"}]}',
        b'{"model": "kamerbron", "messages": "Vraag?"}',
        b'{"model": "kamerbron", "messages": [{"role": "user", "content": "Vraag?"}], "filters": {"kleur": ["rood"]}}',
    ],
)
def test_bad_body_is_an_openai_error_object(app_url, body):
    response = httpx.post(
        f"{app_url}/v1/chat/completions", content=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert (response.status_code, response.json()["error"]["type"]) == (400, "invalid_request_error")


def test_unavailable_answerer_is_503(tmp_path, fake):
    fake.replies.append(IndexMissingError("Geen index."))
    with serve(create_server(make_settings(tmp_path), fake)) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c:
            with pytest.raises(openai.InternalServerError):
                ask(c)


# --- FastAPI's own refusals under /v1 --------------------------------------------------------------------


def test_wrong_method_is_an_openai_405(app_url):
    response = httpx.get(f"{app_url}/v1/chat/completions", timeout=30)
    assert (response.status_code, response.json()["error"]["code"], response.headers["Allow"]) == (
        405,
        "method_not_allowed",
        "POST",
    )


def test_wrong_method_error_is_in_dutch(app_url):
    response = httpx.post(f"{app_url}/v1/models", timeout=30)
    assert response.json()["error"]["message"] == "POST kan niet op /v1/models; gebruik GET."


@pytest.mark.parametrize("path", ["/v1", "/v1/", "/v1/onbekend", "/v1/models/kamerbron"])
def test_unknown_path_is_an_openai_404(app_url, path):
    response = httpx.get(f"{app_url}{path}", timeout=30)
    assert (response.status_code, response.json()["error"]["type"]) == (404, "invalid_request_error")


def test_unknown_path_reaches_the_openai_client_as_not_found(client):
    with pytest.raises(openai.NotFoundError, match="Onbekend adres"):
        client.get("/onbekend", cast_to=object)


def test_unknown_path_outside_v1_keeps_its_detail(app_url):
    assert "detail" in httpx.get(f"{app_url}/api/onbekend", timeout=30).json()


# --- the same limits and admission as /api/ask ----------------------------------------------------------


class BlockingAnswerer(FakeAnswerer):
    """Holds every answer until ``release`` is set, so a test can fill the client's places."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()

    def answer(self, question, *, history=(), filters=None):
        self.entered.set()
        self.release.wait(10)
        return super().answer(question, history=history, filters=filters)


@pytest.fixture
def busy_client(tmp_path):
    """A client that already has its one allowed question being answered."""
    answerer = BlockingAnswerer()
    settings = make_settings(tmp_path, app={"max_per_client": 1})
    with serve(create_server(settings, answerer)) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0, timeout=30) as c:
            first = threading.Thread(target=ask, args=(c,))
            first.start()
            answerer.entered.wait(10)
            try:
                yield c
            finally:
                answerer.release.set()
                first.join(10)


def test_second_question_of_a_busy_client_is_429(busy_client):
    with pytest.raises(openai.RateLimitError, match="in behandeling"):
        ask(busy_client)


def test_busy_stream_is_refused_before_it_starts(busy_client):
    with pytest.raises(openai.RateLimitError):
        streamed(busy_client, [{"role": "user", "content": CAPACITY_QUESTION}])


def test_refusal_tells_when_to_come_back(busy_client):
    with pytest.raises(openai.RateLimitError) as refused:
        ask(busy_client)
    assert int(refused.value.response.headers["Retry-After"]) >= 1


def test_body_over_the_limit_is_413(tmp_path):
    settings = make_settings(tmp_path, app={"max_body_bytes": 1024})
    with serve(create_server(settings, FakeAnswerer())) as server:
        with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0) as c:
            with pytest.raises(openai.APIStatusError) as refused:
                ask(c, "Vraag " * 400)
    assert refused.value.status_code == 413


# --- streaming from a real answerer with an LLM -----------------------------------------------------------


def test_llm_stream_joins_to_the_final_reply(tmp_path):
    with fake_openai_server() as llm:
        llm.queue(
            Reply.ok(
                "Minister Blok zegde 2 miljoen euro toe [d:1:0].",
                chunks=["Minister Blok ", "zegde 2 miljoen ", "euro toe [d:1:0]."],
            )
        )
        settings = make_settings(tmp_path, llm={"base_url": llm.base_url, "model": "fake-model", "timeout_s": 5.0})
        write_small_index(settings)
        answerer = Answerer(settings, retriever=Retriever(settings, embedder=HashEmbedder(settings.embedding.dim)))
        with serve(create_server(settings, answerer)) as server:
            with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="x", max_retries=0, timeout=60) as c:
                text, chunks = streamed(c, [{"role": "user", "content": "Hoeveel euro komt er extra voor de politie?"}])
    assert text.startswith("Minister Blok zegde 2 miljoen euro toe [1].\n\n**Bronnen**\n- [1] Minister Blok")
