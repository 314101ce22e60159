"""The shapes of POST /api/ask as pydantic models, and what the JSON API routes share.

FastAPI checks a request against its model and /openapi.json describes both, so the schema is the
documentation. A body the model refuses never gets FastAPI's English 422: ``json_route`` hands it to
the route's own ``refuse``, which names the problem in Dutch with the status code the request's checks
(webui.api) give it. The answer's JSON stays ``Answer.to_json()``; ``AnswerJSON`` describes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, create_model

from kamerbron.records import Answer, Filters, PassageFields
from kamerbron.settings import Settings

QUESTION_DOC = "The question, in Dutch or English."
HISTORY_DOC = (
    "Earlier [question, answer] pairs of the conversation, oldest first, for follow-up questions; "
    "together at most app.max_history_chars characters."
)
FILTERS_DOC = "Limit the search to these parties, speakers, documents or dates; an empty field filters nothing."

HistoryPair = Annotated[list[str], Field(min_length=2, max_length=2, description="[question, answer]")]


class AskFilters(Filters):
    """Filters as the API takes them: an unknown field is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class AskRequestBody(BaseModel):
    """The body of POST /api/ask. ``ask_body_model`` adds the app's limits."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, description=QUESTION_DOC)
    history: list[HistoryPair] | None = Field(None, description=HISTORY_DOC)
    filters: AskFilters | None = Field(None, description=FILTERS_DOC)

    def filter_fields(self) -> dict | None:
        """The filters as sent (checked), for webui.api.parse_filters."""
        return None if self.filters is None else self.filters.model_dump()


def ask_body_model(settings: Settings) -> type[AskRequestBody]:
    """AskRequestBody with this app's limits: the question's length and the history's pairs."""
    return create_model(
        "AskRequestBody",
        __base__=AskRequestBody,
        __doc__=AskRequestBody.__doc__,
        question=(str, Field(min_length=1, max_length=settings.answer.max_question_chars, description=QUESTION_DOC)),
        history=(
            list[HistoryPair] | None,
            Field(None, max_length=settings.app.max_history_pairs, description=HISTORY_DOC),
        ),
    )


def inline_refs(schema: dict) -> dict:
    """A pydantic JSON Schema with every ``$ref`` to its ``$defs`` replaced by the definition itself."""
    definitions = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items() if key != "$defs"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


# --- responses ------------------------------------------------------------------------------------


class PassageJSON(PassageFields):
    """A retrieved passage as an answer lists it (``Passage.to_json``)."""

    model_config = ConfigDict(extra="forbid")

    rank: int
    text: str
    score: float
    via: str = Field("", description="Only on a passage a linked hit brought along: 'linked'.")
    linked_from: str = Field("", description="With ``via``: chunk_id of the hit that brought it along.")


class AnswerJSON(Answer):
    """An answer as POST /api/ask returns it: ``python -m rag ask --json`` (``Answer.to_json``).

    Every field is always present; ``retrieved`` holds passages as ``Passage.to_json`` gives them.
    """

    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)

    retrieved: list[PassageJSON] = Field(default_factory=list, description="Every passage retrieved, best first.")


class ErrorJSON(BaseModel):
    """A refusal with its reason in Dutch, for the user."""

    error: str
    detail: str | None = Field(None, description="Refusals before the route repeat the message here (Gradio shows it).")


# Statuses every JSON API route can answer, from the app's middleware, admission and answering.
API_REFUSALS = {
    401: "Not signed in: basic authentication, or the trusted proxy's user header, is required.",
    413: "The body is larger than app.max_body_bytes.",
    429: "This client already has app.max_per_client questions in progress, or the API queue is full. See Retry-After.",
    500: "An unexpected error; it is logged.",
    502: "The language model did not answer.",
    503: "Answering is unavailable: no index, no embedding model or no Chroma server.",
}


def refusal_responses(model: type[BaseModel], statuses: dict[int, str]) -> dict[int, dict]:
    """FastAPI ``responses=`` for a route's refusals: API_REFUSALS and ``statuses``, each a ``model`` body."""
    merged = sorted((API_REFUSALS | statuses).items())
    return {status: {"model": model, "description": text} for status, text in merged}


ASK_RESPONSES = refusal_responses(
    ErrorJSON,
    {
        400: "Not a question: a body of the wrong shape, an empty or too long question, unknown filters.",
        403: "The page's origin may not embed Kamerbron (app.allowed_origins).",
        422: "Too deeply nested JSON, lone surrogates, or a history over app.max_history_pairs or _chars.",
    },
)


# --- the routes' class ------------------------------------------------------------------------------


def unreadable_body(error: RequestValidationError) -> bool:
    """Whether the body was not JSON at all, rather than JSON of the wrong shape (or none: that is like null)."""
    return any(e["type"] == "json_invalid" for e in error.errors())


def json_route(refuse: Callable[[Request, RequestValidationError], Response]) -> type[APIRoute]:
    """An APIRoute class for a JSON API route.

    The body is read as JSON whatever Content-Type says (``curl -d`` sends form encoding, and the API
    always took it), and a body the route's model refuses is answered by ``refuse``.
    """

    class JSONRoute(APIRoute):
        def get_route_handler(self) -> Callable:
            handler = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    return await handler(_as_json(request))
                except RequestValidationError as error:
                    return refuse(request, error)

            return handle

    return JSONRoute


def _as_json(request: Request) -> Request:
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
    return Request({**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}, request.receive)
