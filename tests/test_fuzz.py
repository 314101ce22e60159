"""POST /api/ask and the Gradio endpoints fuzzed from their schemas (issue #12, findings 1 and 6):
whatever arrives, the answer is an answer or a 4xx with a Dutch message, never a 500.

Bodies are drawn from each endpoint's JSON Schema (webui.api.ask_request_schema; Gradio's
/gradio_api/info and /config), and from the same shapes with hostile values: lone surrogates,
control characters, deep nesting, wrong types, very long text. A bounded number of examples, on
127.0.0.1 only (the app runs in-process under Starlette's TestClient).
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from kamerbron.settings import Settings
from tests.fakes.answerer import FakeAnswerer
from tests.fakes.settings import make_settings
from webui.api import ask_request_schema
from webui.server import create_server

EXAMPLES = 40
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
API_STATUSES = {200, 400, 413, 422, 429, 503}
DUTCH = frozenset(
    "de het een niet geen moet moeten bevat vraag aanvraag maximaal onbekend onbekende ongeldige ongeldig verwacht "
    "toegestaan tekst probeer opnieuw datum periode gespreksgeschiedenis lijst filters tekens".split()
)

# Text as clients send it, and as attackers do: lone surrogates, controls, brackets, very long.
hostile_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Cf", "Co"]), min_size=1, max_size=5),
    st.sampled_from(["", " ", "\ud800", "Wat zei de SP\udfff?", "[" * 50, "2021-02-30", "\x00"]),
    st.integers(1001, 5000).map(lambda n: "x" * n),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


def from_schema(schema: dict) -> st.SearchStrategy:
    """Documents valid under ``schema``: the JSON Schema subset these endpoints use (type, oneOf,
    properties, required, additionalProperties, items, min/max items and length)."""
    if "oneOf" in schema or "anyOf" in schema:
        return st.one_of(*[from_schema(option) for option in schema.get("oneOf", schema.get("anyOf"))])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*[from_schema(schema | {"type": k}) for k in kind])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        return st.integers(-10, 10**6)
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 60), 60))
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        properties = {name: from_schema(sub) for name, sub in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        fixed = st.fixed_dictionaries(
            {k: v for k, v in properties.items() if k in required},
            optional={k: v for k, v in properties.items() if k not in required},
        )
        if schema.get("additionalProperties") in (None, False) or properties:
            return fixed
        return st.dictionaries(st.text(max_size=10), json_values, max_size=4)
    return json_values


def post_json(app: TestClient, path: str, document: object):
    """POST ``document`` as JSON with non-ASCII escaped, so lone surrogates travel as ``\\ud800``."""
    return app.post(path, content=json.dumps(document).encode(), headers={"Content-Type": "application/json"})


def dutch(message: object) -> bool:
    words = set(re.findall(r"[a-zà-ÿ]+", str(message).lower()))
    return isinstance(message, str) and bool(words & DUTCH)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("fuzz"), app={"max_per_client": 1000, "feedback_per_minute": 1000})
    with TestClient(create_server(settings, FakeAnswerer()), client=("127.0.0.1", 50000)) as client:
        client.settings = settings
        yield client


# --- POST /api/ask ------------------------------------------------------------------------------------------


def ask_bodies(schema: dict) -> st.SearchStrategy[bytes]:
    fields = st.fixed_dictionaries(
        {}, optional={"question": json_values, "history": json_values, "filters": json_values}
    )
    documents = st.one_of(from_schema(schema), fields, json_values)
    deep = st.integers(20, 3000).map(lambda n: b'{"question": "Vraag?", "history": ' + b"[" * n + b"]" * n + b"}")
    return st.one_of(documents.map(lambda doc: json.dumps(doc).encode()), deep, st.binary(max_size=64))


ASK_SCHEMA = ask_request_schema(Settings(_env_file=None))


@FUZZ
@given(body=ask_bodies(ASK_SCHEMA))
def test_api_ask_never_answers_500(app, body):
    response = app.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in API_STATUSES, (body[:200], response.status_code, response.text[:300])


@FUZZ
@given(body=ask_bodies(ASK_SCHEMA))
def test_api_ask_refusals_are_dutch(app, body):
    response = app.post("/api/ask", content=body, headers={"Content-Type": "application/json"})
    if response.status_code != 200:
        assert dutch(response.json().get("error")), (body[:200], response.text[:300])


@FUZZ
@given(body=from_schema(ASK_SCHEMA))
def test_api_ask_bodies_within_the_schema_are_answered_or_refused_for_the_question(app, body):
    response = post_json(app, "/api/ask", body)
    assert response.status_code in {200, 400}, (body, response.text[:300])


# --- Gradio: the "ask" endpoint, from /gradio_api/info --------------------------------------------------------------


def gradio_ask_data(info: dict) -> st.SearchStrategy[list]:
    parameters = info["named_endpoints"]["/ask"]["parameters"]
    return st.tuples(*[st.one_of(from_schema(p["type"]), json_values) for p in parameters]).map(list)


@pytest.fixture(scope="module")
def ask_data(app):
    return gradio_ask_data(app.get("/gradio_api/info").json())


def last_event(stream: str) -> tuple[str, object]:
    events = re.findall(r"event: (\w+)\ndata: (.*)\n", stream)
    kind, data = [e for e in events if e[0] != "heartbeat"][-1]
    return kind, json.loads(data)


def test_gradio_ask_never_fails_unexpectedly(app, ask_data):
    @FUZZ
    @given(data=ask_data)
    def check(data):
        joined = post_json(app, "/gradio_api/call/ask", {"data": data})
        assert joined.status_code in {200, 413, 422, 429}, (data, joined.text[:300])
        if joined.status_code != 200:
            assert dutch(joined.json()["detail"])
            return
        kind, payload = last_event(app.get(f"/gradio_api/call/ask/{joined.json()['event_id']}").text)
        if kind == "error":
            assert dutch((payload or {}).get("error")), (data, payload)
        else:
            assert kind == "complete" and "answer" in payload[0], (data, payload)

    check()


# --- Gradio: the chat, through the queue as the browser calls it, from /config -------------------------------------


@pytest.fixture(scope="module")
def chat(app):
    config = app.get("/config").json()
    respond = next(d for d in config["dependencies"] if d.get("api_name") == "respond")
    components = {c["id"]: c for c in config["components"]}
    return respond, components


def component_values(component: dict) -> st.SearchStrategy:
    kind, props = component["type"], component.get("props", {})
    if kind == "dropdown":
        choices = [choice[1] for choice in props.get("choices", [])]
        return st.lists(st.sampled_from(choices), max_size=3, unique=True) if choices else st.just([])
    if kind == "state":
        return st.none()
    return hostile_text


def test_chat_always_answers_with_a_message(app, chat):
    respond, components = chat

    @FUZZ
    @given(data=st.tuples(*[component_values(components[i]) for i in respond["inputs"]]).map(list))
    def check(data):
        session = uuid.uuid4().hex
        joined = post_json(
            app,
            "/gradio_api/queue/join",
            {
                "data": data,
                "fn_index": respond["id"],
                "session_hash": session,
                "event_data": None,
                "trigger_id": respond["targets"][0][0],
            },
        )
        assert joined.status_code in {200, 413, 422}, (data, joined.text[:300])
        if joined.status_code != 200:
            assert dutch(joined.json()["detail"])
            return
        stream = app.get("/gradio_api/queue/data", params={"session_hash": session}).text
        done = [json.loads(line[6:]) for line in stream.splitlines() if '"process_completed"' in line][-1]
        assert done["success"], (data, done)
        chatbot = done["output"]["data"][0]
        assert chatbot and dutch(re.sub(r"<[^>]+>", " ", str(chatbot[-1]["content"]))), (data, chatbot)

    check()
