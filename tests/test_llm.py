"""The OpenAI-compatible LLM client and answer generation, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from kamerbron.errors import LLMEndpointError
from kamerbron.settings import LLMSettings, Settings
from rag.citations import ResolvedAnswer
from rag.generate import generate_answer, stream_generate
from rag.llm import ChatLLM, OpenAICompatibleLLM, build_llm
from rag.prompts import REFUSAL_SENTENCE, REFUSAL_SENTENCE_EN
from tests.fakes.openai_server import Reply
from tests.fakes.ports import free_port
from tests.fakes.records import make_passage

SP = "002_d05e322e15ff4b92:14:0"
VVD = "002_d05e322e15ff4b92:15:0"
PASSAGES = [
    make_passage(
        chunk_id=SP, speaker="De heer Van Nispen", party="SP", text="Wij willen een vergunningplicht voor sekswerkers."
    ),
    make_passage(chunk_id=VVD, party="VVD", text="De VVD is tegen een pooierboete."),
]
MESSAGES = [{"role": "user", "content": "Hallo"}]
SECRET = "sk-geheim-1234567890"


def _llm(server, *, max_retries: int = 0, **fields) -> OpenAICompatibleLLM:
    settings = LLMSettings(base_url=server.base_url, model=server.model, **fields)
    return OpenAICompatibleLLM(settings, max_retries=max_retries)


def _error(call) -> LLMEndpointError:
    with pytest.raises(LLMEndpointError) as caught:
        call()
    return caught.value


# -- client --------------------------------------------------------------------------------------


def test_chat_returns_the_reply(openai_server):
    openai_server.queue("Het antwoord.")
    assert _llm(openai_server).chat(MESSAGES) == "Het antwoord."


def test_stream_chat_deltas_concatenate_to_the_reply(openai_server):
    openai_server.queue("Een langer antwoord dat in stukjes komt.")
    assert "".join(_llm(openai_server).stream_chat(MESSAGES)) == "Een langer antwoord dat in stukjes komt."


def test_stream_chat_yields_several_deltas(openai_server):
    openai_server.queue(Reply.ok("", chunks=["Een ", "twee ", "drie"]))
    assert list(_llm(openai_server).stream_chat(MESSAGES)) == ["Een ", "twee ", "drie"]


def test_request_carries_the_model_name(openai_server):
    openai_server.queue("ok")
    _llm(openai_server).chat(MESSAGES)
    assert openai_server.requests[0]["model"] == openai_server.model


def test_request_carries_temperature_and_max_tokens(openai_server):
    openai_server.queue("ok")
    _llm(openai_server, temperature=0.3, max_tokens=123).chat(MESSAGES)
    assert (openai_server.requests[0]["temperature"], openai_server.requests[0]["max_tokens"]) == (0.3, 123)


def test_request_carries_the_api_key(openai_server):
    openai_server.queue("ok")
    _llm(openai_server, api_key=SECRET).chat(MESSAGES)
    assert openai_server.request_headers[0]["authorization"] == f"Bearer {SECRET}"


def test_failed_request_is_retried_once_by_default(openai_server):
    openai_server.queue(Reply.error(503))
    openai_server.queue("na een nieuwe poging")
    assert _llm(openai_server, max_retries=1).chat(MESSAGES) == "na een nieuwe poging"


def test_http_500_raises_endpoint_error_naming_the_setting(openai_server):
    openai_server.queue(Reply.error(500))
    assert "KAMERBRON_LLM_BASE_URL" in str(_error(lambda: _llm(openai_server).chat(MESSAGES)))


def test_endpoint_error_names_the_endpoint_url(openai_server):
    openai_server.queue(Reply.error(500))
    assert openai_server.base_url in str(_error(lambda: _llm(openai_server).chat(MESSAGES)))


def test_http_401_names_the_api_key_setting(openai_server):
    openai_server.queue(Reply.error(401, "Incorrect API key"))
    assert "KAMERBRON_LLM_API_KEY" in str(_error(lambda: _llm(openai_server, api_key=SECRET).chat(MESSAGES)))


def test_endpoint_error_never_shows_the_api_key(openai_server):
    openai_server.queue(Reply.error(401, f"Incorrect API key provided: {SECRET}"))
    assert SECRET not in str(_error(lambda: _llm(openai_server, api_key=SECRET).chat(MESSAGES)))


def test_http_404_names_the_model_setting(openai_server):
    openai_server.queue(Reply.error(404, "model not found"))
    assert "KAMERBRON_LLM_MODEL" in str(_error(lambda: _llm(openai_server).chat(MESSAGES)))


def test_timeout_raises_endpoint_error_naming_the_timeout_setting(openai_server):
    openai_server.queue(Reply.slow("te laat", 5.0))
    assert "KAMERBRON_LLM_TIMEOUT_S" in str(_error(lambda: _llm(openai_server, timeout_s=0.5).chat(MESSAGES)))


def test_streaming_timeout_raises_endpoint_error(openai_server):
    openai_server.queue(Reply.slow("te laat", 5.0))
    llm = _llm(openai_server, timeout_s=0.5)
    assert "KAMERBRON_LLM_TIMEOUT_S" in str(_error(lambda: list(llm.stream_chat(MESSAGES))))


def test_connection_refused_raises_endpoint_error():
    llm = OpenAICompatibleLLM(LLMSettings(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m"), max_retries=0)
    assert "KAMERBRON_LLM_BASE_URL" in str(_error(lambda: llm.chat(MESSAGES)))


def test_body_that_is_not_json_raises_endpoint_error(openai_server):
    openai_server.queue(Reply.garbage())
    assert "not an OpenAI chat completion" in str(_error(lambda: _llm(openai_server).chat(MESSAGES)))


def test_stream_that_is_not_json_raises_endpoint_error(openai_server):
    openai_server.queue(Reply.garbage())
    assert "not an OpenAI chat completion" in str(_error(lambda: list(_llm(openai_server).stream_chat(MESSAGES))))


def test_streaming_http_500_raises_endpoint_error(openai_server):
    openai_server.queue(Reply.error(500))
    assert "HTTP 500" in str(_error(lambda: list(_llm(openai_server).stream_chat(MESSAGES))))


def test_empty_reply_raises_endpoint_error(openai_server):
    openai_server.queue("")
    assert "empty reply" in str(_error(lambda: _llm(openai_server).chat(MESSAGES)))


def test_empty_base_url_names_the_setting():
    assert "KAMERBRON_LLM_BASE_URL" in str(_error(lambda: OpenAICompatibleLLM(LLMSettings(model="m"))))


def test_base_url_without_scheme_names_the_setting():
    settings = LLMSettings(base_url="localhost:11434/v1", model="m")
    assert "KAMERBRON_LLM_BASE_URL" in str(_error(lambda: OpenAICompatibleLLM(settings)))


def test_empty_model_names_the_setting():
    settings = LLMSettings(base_url="http://127.0.0.1:1/v1")
    assert "KAMERBRON_LLM_MODEL" in str(_error(lambda: OpenAICompatibleLLM(settings)))


def test_build_llm_without_base_url_is_none():
    assert build_llm(Settings(_env_file=None)) is None


def test_build_llm_with_base_url_is_a_chat_llm():
    settings = Settings(_env_file=None, llm=LLMSettings(base_url="http://127.0.0.1:1/v1", model="m"))
    assert isinstance(build_llm(settings), ChatLLM)


# -- generation ----------------------------------------------------------------------------------


def test_request_carries_the_passages(openai_server):
    openai_server.queue(f"De SP wil dat [{SP}].")
    generate_answer("Wat wil de SP?", PASSAGES, _llm(openai_server))
    assert SP in openai_server.request_text() and PASSAGES[1].text in openai_server.request_text()


def test_request_carries_the_refusal_instruction(openai_server):
    openai_server.queue(f"De SP wil dat [{SP}].")
    generate_answer("Wat wil de SP?", PASSAGES, _llm(openai_server))
    assert REFUSAL_SENTENCE in openai_server.request_text()


def test_generate_answer_numbers_citations(openai_server):
    openai_server.queue(f"De VVD is tegen [{VVD}]. De SP wil een vergunningplicht [{SP}].")
    answer = generate_answer("Wat vinden SP en VVD?", PASSAGES, _llm(openai_server))
    assert answer.text == "De VVD is tegen [1]. De SP wil een vergunningplicht [2]."


def test_generate_answer_marks_refusal(openai_server):
    openai_server.queue(REFUSAL_SENTENCE)
    assert generate_answer("Wat vindt Volt?", PASSAGES, _llm(openai_server)).refused


def test_generate_answer_marks_an_english_refusal(openai_server):
    openai_server.queue(REFUSAL_SENTENCE_EN)
    answer = generate_answer("What does Volt think?", PASSAGES, _llm(openai_server))
    assert answer.refused and answer.text == REFUSAL_SENTENCE_EN


def test_generate_answer_without_passages_refuses_in_the_question_language(openai_server):
    assert (
        generate_answer("What does Volt think about the register?", [], _llm(openai_server)).text == REFUSAL_SENTENCE_EN
    )
    assert generate_answer("Wat vindt Volt van het register?", [], _llm(openai_server)).text == REFUSAL_SENTENCE


def test_generate_answer_without_passages_does_not_call_the_llm(openai_server):
    generate_answer("Wat vindt Volt?", [], _llm(openai_server))
    assert openai_server.requests == []


def test_stream_generate_ends_with_the_resolved_answer(openai_server):
    openai_server.queue(f"De SP wil een vergunningplicht [{SP}].")
    steps = list(stream_generate("Wat wil de SP?", PASSAGES, _llm(openai_server)))
    assert isinstance(steps[-1], ResolvedAnswer) and steps[-1].citations[0].chunk_id == SP


def test_stream_generate_last_text_equals_final_text(openai_server):
    openai_server.queue(f"De SP wil een vergunningplicht [{SP}]. De VVD is tegen [{VVD}; {SP}].")
    steps = list(stream_generate("Wat vinden ze?", PASSAGES, _llm(openai_server)))
    assert steps[-2] == steps[-1].text


def test_stream_generate_never_shows_a_raw_id(openai_server):
    openai_server.queue(f"De SP wil een vergunningplicht [{SP}]. De VVD is tegen [{VVD}].")
    shown = list(stream_generate("Wat vinden ze?", PASSAGES, _llm(openai_server)))[:-1]
    assert shown and not [s for s in shown if "d05e" in s]


# -- the fake server itself ----------------------------------------------------------------------


def test_fake_server_lists_its_model(openai_server):
    models = httpx.get(f"{openai_server.base_url}/models").json()
    assert [m["id"] for m in models["data"]] == [openai_server.model]


def test_fake_server_without_queued_reply_answers_500(openai_server):
    response = httpx.post(f"{openai_server.base_url}/chat/completions", json={"model": "m", "messages": []})
    assert response.status_code == 500
