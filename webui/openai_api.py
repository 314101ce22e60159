"""An OpenAI-compatible face on Kamerbron: GET /v1/models and POST /v1/chat/completions.

Chat front-ends that speak the OpenAI API (Open WebUI, LibreChat, AnythingLLM) can add Kamerbron as a
"model". The conversation's earlier user/assistant turns become the answer's history (follow-up
condensing); the reply text ends with a "Bronnen" list of numbered links to the official sources, and
the structured answer (citations, checked quotes) rides along in the extra field ``kamerbron``.

Authentication, body limits and admission are the app's own (webui.server's middleware and the AskGate
that POST /api/ask uses); this module only translates between the two shapes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from kamerbron.errors import KamerbronError
from kamerbron.records import Answer, Citation
from webui.api import (
    NOT_JSON,
    AskQueueFullError,
    AskRequestInvalidError,
    answer_payload,
    parse_filters,
    public_message,
)
from webui.api_models import AnswerJSON, AskFilters, json_route, refusal_responses, unreadable_body
from webui.chat import CLIENT_STATE_KEY, UNEXPECTED_ERROR, AskRequest, ChatHandlers
from webui.render import Lang, answer_html, format_date_nl, safe_url

log = logging.getLogger(__name__)

OPENAI_PREFIX = "/v1/"
# Every method a request may use: the /v1 catch-all answers the ones a route does not take.
HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
MODEL_ID = "kamerbron"
# A fixed creation time: the model is the app, not a file with a date.
MODEL_CREATED = 1_767_225_600
SOURCES_HEADING = "**Bronnen**"
# What separates the answer from its sources list; stripped from assistant turns sent back as history.
SOURCES_SEPARATOR = f"\n\n{SOURCES_HEADING}\n"
REVISED_HEADING = "**Nagekeken antwoord** (de tekst hierboven is bij het nakijken van de bronnen aangepast):"


# --- request and response shapes ------------------------------------------------------------------


class TextPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(description="'text' is read; other parts (images, files) are ignored.")
    text: str = ""


class ChatMessage(BaseModel):
    """One message of the conversation, as OpenAI clients send it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """The body of POST /v1/chat/completions. Sampling options (temperature, max_tokens, ...) are ignored:
    the answer is composed from the sources, not sampled to taste."""

    model_config = ConfigDict(extra="ignore")

    model: Literal[MODEL_ID] = Field(description="The one model GET /v1/models lists.")
    messages: list[ChatMessage] = Field(min_length=1, description="The conversation; the last one is the question.")
    stream: bool = Field(False, description="Server-sent events in OpenAI's chunk format, ending with [DONE].")
    filters: AskFilters | None = Field(
        None, description="Kamerbron's retrieval filters, as POST /api/ask takes them; e.g. via extra_body."
    )
    html: Lang | None = Field(
        None,
        description="Also send the answer as the app shows it (webui/render.py), labels in this language, as "
        "kamerbron.html: the widget shows that markup.",
    )


class OpenAIRequestError(AskRequestInvalidError):
    """A chat completion request Kamerbron cannot take; ``status`` and ``code`` as OpenAI would send them."""

    def __init__(self, message: str, *, status: int = 400, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.param = status, code, param


class CompletionMessage(BaseModel):
    role: Literal["assistant"]
    content: str = Field(description="The answer with [n] markers, then the Bronnen list with links.")


class CompletionChoice(BaseModel):
    index: int
    message: CompletionMessage
    finish_reason: Literal["stop"]


class Usage(BaseModel):
    """Always zero: no tokens are counted (the answer may not come from a language model at all)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


def _html_optional(schema: dict) -> None:
    """Every field of an answer is always sent (AnswerJSON requires them all); ``html`` only when asked for."""
    schema["required"].remove("html")


class KamerbronJSON(AnswerJSON):
    """The structured answer: the fields of POST /api/ask's answer, and ``html`` when it was asked for."""

    model_config = ConfigDict(json_schema_extra=_html_optional)

    html: str = Field("", description="The answer as the app shows it; only when the request's `html` is set.")


class ChatCompletion(BaseModel):
    """A non-streamed reply of POST /v1/chat/completions."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: Literal[MODEL_ID]
    choices: list[CompletionChoice]
    usage: Usage
    kamerbron: KamerbronJSON


class ModelCard(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelList(BaseModel):
    """GET /v1/models."""

    object: Literal["list"]
    data: list[ModelCard]


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, in Dutch, for the user.")
    type: str = Field(description="invalid_request_error, authentication_error, rate_limit_exceeded or server_error.")
    param: str | None
    code: str | None


class OpenAIErrorJSON(BaseModel):
    """OpenAI's error object, with Kamerbron's Dutch message."""

    error: OpenAIErrorDetail


# One event of a stream: OpenAI's chat.completion.chunk as JSON, an in-band error object, or [DONE].
STREAM_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {"data": {"type": "string", "description": "A chat.completion.chunk, an error object, or [DONE]."}},
}
COMPLETION_RESPONSES = {
    200: {
        "description": "The answer; with `stream`, server-sent events of chat.completion.chunk ending with [DONE].",
        "content": {"text/event-stream": {"schema": STREAM_EVENT}},
    }
} | refusal_responses(
    OpenAIErrorJSON,
    {
        400: "Not a chat request Kamerbron can answer: a body of the wrong shape, no user question last, "
        "an empty or too long question, unknown filters.",
        403: "The page's origin may not embed Kamerbron (app.allowed_origins).",
        404: "A model other than 'kamerbron' (code model_not_found).",
        422: "Too deeply nested JSON, or lone surrogates.",
    },
)


def error_type(status: int) -> str:
    """OpenAI's error ``type`` for an HTTP status."""
    if status >= 500:
        return "server_error"
    return {401: "authentication_error", 429: "rate_limit_exceeded"}.get(status, "invalid_request_error")


def error_body(message: str, *, kind: str = "invalid_request_error", code: str | None = None, param=None) -> dict:
    """OpenAI's error object, with Kamerbron's Dutch message."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(
    status: int, message: str, *, code: str | None = None, param: str | None = None, headers: dict | None = None
) -> JSONResponse:
    """OpenAI's error object as a response, its type following the status (webui.server's refusals use it too)."""
    return JSONResponse(
        error_body(message, kind=error_type(status), code=code, param=param), status_code=status, headers=headers
    )


def is_openai_path(path: str) -> bool:
    """Whether ``path`` is under /v1, where every refusal is OpenAI's error object."""
    return path == OPENAI_PREFIX.rstrip("/") or path.startswith(OPENAI_PREFIX)


def http_error_response(request: Request, error: StarletteHTTPException) -> JSONResponse:
    """FastAPI's own refusals under /v1 (unknown path, wrong method) as OpenAI error objects, in Dutch."""
    method, path = request.method, request.url.path
    if error.status_code == 404:
        message = (
            f"Onbekend adres: {method} {path}. Kamerbron biedt GET {OPENAI_PREFIX}models en "
            f"POST {OPENAI_PREFIX}chat/completions."
        )
        return error_response(404, message, code="unknown_url", headers=error.headers)
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        message = f"{method} kan niet op {path}" + (f"; gebruik {allowed}." if allowed else ".")
        return error_response(405, message, code="method_not_allowed", headers=error.headers)
    return error_response(error.status_code, str(error.detail), headers=error.headers)


def models_payload() -> dict:
    """GET /v1/models: the one model Kamerbron offers."""
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": MODEL_CREATED, "owned_by": "kamerbron"}],
    }


# --- from messages to a question with history -------------------------------------------------------


def request_error(error: RequestValidationError) -> OpenAIRequestError:
    """The refusal of a body ChatCompletionRequest did not take, with a Dutch message naming what is wrong."""
    body = error.body
    if unreadable_body(error):
        return OpenAIRequestError(NOT_JSON)
    if not isinstance(body, dict):
        return OpenAIRequestError('Verwacht een object zoals {"model": "kamerbron", "messages": [...]}.')
    fields = sorted({str(e["loc"][1]) for e in error.errors() if len(e["loc"]) > 1})
    if fields == ["model"] and isinstance(body.get("model"), str):
        return OpenAIRequestError(
            f"Onbekend model '{body['model']}'. Kamerbron biedt één model: '{MODEL_ID}'.",
            status=404,
            code="model_not_found",
            param="model",
        )
    if fields == ["filters"]:
        try:
            parse_filters(body["filters"])
        except KamerbronError as problem:
            return OpenAIRequestError(str(problem), param="filters")
    where = ", ".join(fields) or "de aanvraag"
    return OpenAIRequestError(
        f"Ongeldige waarde in {where}: stuur 'model' als tekst en 'messages' als een niet-lege lijst van "
        "berichten met 'role' (user, assistant of system) en 'content' (tekst).",
        param=fields[0] if fields else None,
    )


def check_request(request: ChatCompletionRequest) -> None:
    """Raises OpenAIRequestError when the conversation does not end with the user's question."""
    if request.messages[-1].role != "user":
        raise OpenAIRequestError(
            "Het laatste bericht moet een vraag van de gebruiker zijn (role 'user').", param="messages"
        )


def strip_sources(text: str) -> str:
    """An assistant turn without the Bronnen list Kamerbron appended (history needs only the answer)."""
    return text.split(SOURCES_SEPARATOR, 1)[0].strip()


def conversation(messages: list[ChatMessage], *, max_pairs: int, max_chars: int) -> tuple[str, list[list[str]]]:
    """(question, history): the last user message, and the [question, answer] pairs before it.

    System and tool messages are ignored; a user message without an answer is dropped. Front-ends send
    the whole conversation, so only the latest pairs that fit the app's history limits are kept.
    """
    pairs: list[list[str]] = []
    pending: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            pending = message.text()
        elif message.role == "assistant" and pending is not None:
            pairs.append([pending, strip_sources(message.text())])
            pending = None
    pairs = pairs[-max_pairs:]
    while pairs and sum(len(q) + len(a) for q, a in pairs) > max_chars:
        pairs.pop(0)
    return messages[-1].text(), pairs


# --- from an Answer to a reply ----------------------------------------------------------------------


def _link_text(text: str) -> str:
    return " ".join(text.replace("[", "(").replace("]", ")").split())


def source_line(citation: Citation) -> str:
    """'- [1] Mevrouw Van Nispen (SP), Verslag …, 27 september 2018: [officiële bron](url)'."""
    who = citation.speaker or "Onbekende spreker"
    if citation.party:
        who += f" ({citation.party})"
    parts = [who]
    if citation.doc_title:
        parts.append(citation.doc_title)
    shown_date = format_date_nl(citation.date) if citation.date else ""
    if shown_date and shown_date not in citation.doc_title:
        parts.append(shown_date)
    if citation.status:
        parts.append(citation.status)
    line = f"- [{citation.n}] " + _link_text(", ".join(parts))
    url = safe_url(citation.url)
    return f"{line}: [officiële bron]({url})" if url else line


def sources_block(answer: Answer) -> str:
    """The Bronnen list (with the answer's notice, if any) that follows the answer text; '' without citations."""
    block = ""
    if answer.citations:
        block = SOURCES_SEPARATOR + "\n".join(source_line(c) for c in answer.citations)
    if answer.notice:
        block += f"\n\n_{answer.notice}_"
    return block


def reply_text(answer: Answer) -> str:
    """The assistant message: the answer with [n] markers, then the numbered sources with their links."""
    return answer.answer + sources_block(answer)


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def kamerbron_payload(answer: Answer, html: Lang | None = None) -> dict:
    """The structured answer of the ``kamerbron`` field; with ``html``, also its markup in that language."""
    payload = answer_payload(answer)
    if html:
        payload["html"] = answer_html(answer, lang=html)
    return payload


def completion_payload(answer: Answer, *, completion_id: str = "", created: int = 0, html: Lang | None = None) -> dict:
    """A non-streamed chat.completion with the whole answer in ``kamerbron``."""
    return {
        "id": completion_id or _completion_id(),
        "object": "chat.completion",
        "created": created or int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply_text(answer)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "kamerbron": kamerbron_payload(answer, html),
    }


def chunk_payload(completion_id: str, created: int, delta: dict, *, finish: str | None = None, **extra) -> dict:
    """One chat.completion.chunk."""
    return {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL_ID,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    } | extra


def sse(data: dict | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


def next_delta(sent: str, text: str) -> str:
    """The new tail of a streamed update's text, or '' when it adds nothing or no longer extends ``sent``."""
    return text[len(sent) :] if text.startswith(sent) else ""


def closing_delta(sent: str, answer: Answer) -> str:
    """What to send after ``sent`` so the joined deltas end in the final reply.

    Checking quotes can change text already streamed (or the LLM can fail and the extractive answer
    stand in); deltas cannot take text back, so the checked answer then follows in full.
    """
    final = reply_text(answer)
    if final.startswith(sent):
        return final[len(sent) :]
    return f"\n\n---\n\n{REVISED_HEADING}\n\n{final}"


# --- the routes -----------------------------------------------------------------------------------


def _error_response(error: KamerbronError, status_for: Callable[[KamerbronError], int]) -> JSONResponse:
    if isinstance(error, OpenAIRequestError):
        status, code, param = error.status, error.code, error.param
    else:
        status, code, param = status_for(error), None, None
    headers = {"Retry-After": str(error.retry_after_s)} if isinstance(error, AskQueueFullError) else None
    return error_response(status, public_message(error), code=code, param=param, headers=headers)


def openai_router(handlers: ChatHandlers, *, status_for: Callable[[KamerbronError], int]) -> APIRouter:
    """The /v1 routes, answering through ``handlers`` (its checks, answerer and AskGate).

    ``status_for`` maps a domain error to its HTTP status, the same mapping POST /api/ask uses.
    """

    def refuse(request: Request, error: RequestValidationError) -> JSONResponse:
        return _error_response(request_error(error), status_for)

    router = APIRouter(prefix=OPENAI_PREFIX.rstrip("/"), route_class=json_route(refuse))
    gate = handlers.gate
    limits = handlers.settings.app

    def prepare(completion: ChatCompletionRequest) -> AskRequest:
        check_request(completion)
        question, history = conversation(
            completion.messages, max_pairs=limits.max_history_pairs, max_chars=limits.max_history_chars
        )
        filters = None if completion.filters is None else completion.filters.model_dump()
        return handlers.prepare(question, history, filters)

    @router.get("/models", response_model=ModelList, responses={401: {"model": OpenAIErrorJSON}})
    async def list_models() -> JSONResponse:
        """The one model Kamerbron offers."""
        return JSONResponse(models_payload())

    @router.post("/chat/completions", response_model=ChatCompletion, responses=COMPLETION_RESPONSES)
    async def chat_completions(completion: ChatCompletionRequest, request: Request) -> Response:
        """Answer the conversation's last user message with citations, as OpenAI's chat API does.

        Sampling options are ignored; refusals are OpenAI error objects with a Dutch message.
        """
        client = request.scope.get("state", {}).get(CLIENT_STATE_KEY, "")
        try:
            asked = prepare(completion)
            answerer = handlers.require_answerer()
            if completion.stream:
                events = _stream(answerer, asked, client, completion.html)
                first = await anext(events)  # admitted, or the gate's refusal as a status code
                return StreamingResponse(
                    _chained(first, events),
                    media_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                )
            async with gate.enter_async("api", client):
                answer = await run_in_threadpool(handlers.answer_and_record, answerer, asked, "api")
        except KamerbronError as error:
            return _error_response(error, status_for)
        except Exception:
            log.exception("POST /v1/chat/completions failed")
            return JSONResponse(error_body(UNEXPECTED_ERROR, kind="server_error"), status_code=500)
        return JSONResponse(completion_payload(answer, html=completion.html))

    async def _stream(answerer, asked: AskRequest, client: str, html: Lang | None) -> AsyncIterator[str]:
        completion_id, created = _completion_id(), int(time.time())
        async with gate.enter_async("api", client):
            yield sse(chunk_payload(completion_id, created, {"role": "assistant", "content": ""}))
            started = time.perf_counter()
            updates = answerer.stream(asked.question, history=asked.history, filters=asked.filters)
            sent, final = "", None
            try:
                async for update in iterate_in_threadpool(updates):
                    if update.final is not None:
                        final = update.final
                        break
                    delta = next_delta(sent, update.text)
                    if delta:
                        sent += delta
                        yield sse(chunk_payload(completion_id, created, {"content": delta}))
                if final is None:
                    raise KamerbronError("Het antwoord is onvolledig gebleven. Stel de vraag opnieuw.")
                # Recorded before the last chunks go out, so a client that leaves after them is still counted.
                latency_ms = (time.perf_counter() - started) * 1000
                await run_in_threadpool(handlers.feedback.record_question, final, channel="api", latency_ms=latency_ms)
                tail = closing_delta(sent, final)
                if tail:
                    yield sse(chunk_payload(completion_id, created, {"content": tail}))
                kamerbron = kamerbron_payload(final, html)
                yield sse(chunk_payload(completion_id, created, {}, finish="stop", kamerbron=kamerbron))
            except KamerbronError as error:
                # The 200 and some text are out already: the error goes in-band, as OpenAI sends it.
                yield sse(error_body(public_message(error), kind="server_error"))
            except Exception:
                log.exception("streaming /v1/chat/completions failed")
                yield sse(error_body(UNEXPECTED_ERROR, kind="server_error"))
            finally:
                close = getattr(updates, "close", None)
                with contextlib.suppress(ValueError):  # still running in its thread after a disconnect
                    if close is not None:
                        close()
        yield sse("[DONE]")

    known = list(router.routes)  # before the catch-all below joins them

    @router.api_route("", methods=HTTP_METHODS, include_in_schema=False)
    @router.api_route("/{rest:path}", methods=HTTP_METHODS, include_in_schema=False)
    async def elsewhere(request: Request) -> Response:
        # Without this, the rest of /v1 would fall through to Gradio (mounted at /) and its {"detail": ...};
        # raised, so the app's handler words it (http_error_response).
        allowed = sorted(
            {m for route in known if route.matches(request.scope)[0] == Match.PARTIAL for m in route.methods}
        )
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404)

    return router


async def _chained(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    try:
        yield first
        async for event in rest:
            yield event
    finally:
        await rest.aclose()
