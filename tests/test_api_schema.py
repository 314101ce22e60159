"""POST /api/ask and POST /v1/chat/completions fuzzed from the app's own /openapi.json (issue #13).

Schemathesis draws requests from the schema, valid ones and invalid ones, and checks every response:
no 5xx, a status code the schema documents, and a body of the documented shape (refusals included).
The real app (create_server with the fake answerer) is called in-process over ASGI, a bounded number
of examples per route and mode.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import ServerError
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from starlette.testclient import TestClient

from kamerbron.records import Answer, QuoteCheck
from tests.fakes.answerer import FakeAnswerer, ao_passage, capacity_answer, refusal_answer
from tests.fakes.settings import make_settings
from webui.api_models import AnswerJSON
from webui.server import create_server

EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
ROUTES = ["/api/ask", "/v1/chat/completions"]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


class BrokenAnswerer(FakeAnswerer):
    """Fails as no answerer should: every question that gets through the checks ends in a 500."""

    def _next(self, kind, question, history, filters):
        raise RuntimeError("deliberately broken")


# Words in Latin script, as questions are (/api/ask's question is drawn as any text from its schema).
questions = st.from_regex(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9 ?.,'-]{0,80}", fullmatch=True)


def asking_last(drawn: tuple) -> schemathesis.Case:
    """A chat request that ends with the user's question, a rule the JSON Schema cannot state.

    Drawn conversations almost never do (the last message is the assistant's, or has no text, or no
    letters), so without this the answers' shape would go unchecked.
    """
    case, question = drawn
    if case.path == "/v1/chat/completions" and case.body.get("messages"):
        case.body["messages"][-1] |= {"role": "user", "content": question}
    return case


def fuzz(schema, path: str, mode: schemathesis.GenerationMode, examples: int = EXAMPLES) -> None:
    """Call ``POST path`` with ``examples`` cases drawn from ``schema``; raises on the first failed check."""
    cases = schema[path]["POST"].as_strategy(generation_mode=mode)
    if mode == schemathesis.GenerationMode.POSITIVE:
        cases = st.tuples(cases, questions).map(asking_last)

    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: a failure's report already holds the request as a curl command.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def call(case):
        case.call_and_validate(checks=CHECKS)

    call()


def api_schema(tmp_path, answerer):
    settings = make_settings(tmp_path, app={"max_per_client": 1000, "feedback_per_minute": 1000})
    return schemathesis.openapi.from_asgi("/openapi.json", create_server(settings, answerer))


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    yield api_schema(tmp_path_factory.mktemp("schema"), FakeAnswerer())
    shutdown_lifespans()


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("path", ROUTES)
def test_fuzzed_requests_get_documented_answers_or_refusals(schema, path, mode):
    fuzz(schema, path, mode)


@pytest.mark.parametrize("path", ROUTES)
def test_the_fuzz_catches_a_server_error(tmp_path, path):
    broken = api_schema(tmp_path, BrokenAnswerer())
    try:
        with pytest.raises(BaseExceptionGroup) as failed:
            fuzz(broken, path, schemathesis.GenerationMode.POSITIVE)
    finally:
        shutdown_lifespans()
    assert failed.value.subgroup(lambda e: isinstance(e, ServerError)) is not None


# --- the schema says what the routes do ------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("client"), answer={"max_question_chars": 300})
    with TestClient(create_server(settings, FakeAnswerer())) as c:
        yield c


def test_openapi_shows_the_apps_question_limit(client):
    body = client.get("/openapi.json").json()["components"]["schemas"]["AskRequestBody"]
    assert body["properties"]["question"]["maxLength"] == 300


def linked_and_checked_answer() -> Answer:
    """An answer with every optional part of the JSON: a linked passage and a misattributed quote."""
    linked = ao_passage(4, via="linked", linked_from="000_528fd6ff245c8aa8:1:0")
    quote = QuoteCheck(
        text="op sterkte", status="misattributed", source_text="x", actual_speaker="Harbers", claimed="Blok"
    )
    answer = capacity_answer()
    return answer.model_copy(update={"retrieved": [*answer.retrieved, linked], "quotes": [quote]})


@pytest.mark.parametrize("answer", [capacity_answer(), refusal_answer(), linked_and_checked_answer()])
def test_answer_json_model_takes_every_answer_json(answer):
    assert AnswerJSON.model_validate(answer.to_json()).question == answer.question


def test_answer_json_model_requires_exactly_the_answer_fields():
    required = AnswerJSON.model_json_schema(mode="serialization")["required"]
    assert sorted(required) == sorted(capacity_answer().to_json())


def test_api_ask_takes_json_sent_as_a_form(client):
    # curl -d sends application/x-www-form-urlencoded; the API always read the body as JSON.
    body = b'{"question": "Wat zei de SP?"}'
    response = client.post("/api/ask", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200


def test_api_ask_question_too_long_only_by_its_spaces_points_to_the_schema(client):
    response = client.post("/api/ask", json={"question": "Wat zei de SP?" + " " * 300})
    assert (response.status_code, "/openapi.json" in response.json()["error"]) == (400, True)


def test_oversized_openai_request_gets_an_openai_error_object(client):
    response = client.post("/v1/chat/completions", content=b"x" * 300_000)
    assert (response.status_code, response.json()["error"]["message"]) == (
        413,
        "De aanvraag is te groot (maximaal 256 kB).",
    )


def test_too_deep_openai_request_gets_an_openai_error_object(client):
    response = client.post("/v1/chat/completions", content=b"[" * 100 + b"]" * 100)
    assert (response.status_code, response.json()["error"]["type"]) == (422, "invalid_request_error")


def test_unauthenticated_openai_request_gets_an_openai_error_object(tmp_path):
    settings = make_settings(tmp_path, app={"auth_username": "kamer", "auth_password": "geheim"})
    with TestClient(create_server(settings, FakeAnswerer())) as c:
        response = c.post("/v1/chat/completions", json={"model": "kamerbron", "messages": []})
    assert (response.status_code, response.json()["error"]["type"]) == (401, "authentication_error")


def test_unknown_model_in_the_schema_is_still_404(client):
    response = client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [{"role": "user"}]})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "model_not_found")
