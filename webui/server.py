"""The Gradio chat, the JSON API and the embeddable widget, on one FastAPI app."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from fastapi import APIRouter, FastAPI, Request  # noqa: E402
from fastapi.exception_handlers import http_exception_handler  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import HTMLResponse, JSONResponse, Response  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.datastructures import Headers, MutableHeaders  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402
from starlette.types import ASGIApp, Message, Receive, Scope, Send  # noqa: E402

from kamerbron.errors import (  # noqa: E402
    ArgumentInvalidError,
    ChromaUnreachableError,
    EmbeddingModelError,
    IndexDamagedError,
    IndexMissingError,
    KamerbronError,
    LLMEndpointError,
    QuestionInvalidError,
)
from kamerbron.settings import Settings, load_settings  # noqa: E402
from rag.answer import Answerer  # noqa: E402
from rag.commitments import CommitmentFilter, filter_commitments  # noqa: E402
from webui.api import (  # noqa: E402
    NOT_JSON,
    AskGate,
    AskQueueFullError,
    AskRequestInvalidError,
    AskRequestUnprocessableError,
    answer_payload,
    ask_problem,
    client_busy_message,
    json_problem,
    public_message,
    seconds_nl,
)
from webui.api_models import (  # noqa: E402
    ASK_RESPONSES,
    AnswerJSON,
    AskRequestBody,
    ask_body_model,
    json_route,
    unreadable_body,
)
from webui.chat import CLIENT_STATE_KEY, UNEXPECTED_ERROR, AnswererLike, ChatHandlers  # noqa: E402
from webui.commitments_tab import app_commitments, commitments_tab  # noqa: E402
from webui.evalreport import render_report  # noqa: E402
from webui.feedback import FeedbackStore  # noqa: E402
from webui.openai_api import error_response, http_error_response, is_openai_path, openai_router  # noqa: E402
from webui.positions_tab import positions_router, positions_tab  # noqa: E402
from webui.questions_tab import questions_router, questions_tab  # noqa: E402
from webui.render import format_date_nl  # noqa: E402

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The widget (webui/static/widget.js) may run on another origin: it loads from /widget.js and asks through
# the streaming /v1/chat/completions; /api/ask is the older JSON route.
CORS_PATHS = frozenset({"/api/ask", "/v1/chat/completions", "/widget.js"})
# Gradio's queue holds the chat's waiting questions (and the Gradio API's); per slot this many.
GRADIO_QUEUE_PER_SLOT = 16
GRADIO_QUEUE_MIN = 64
# Concurrency groups of Gradio's queue: a burst of Gradio API calls never holds up the chat's events.
CHAT_GROUP = "chat"
API_GROUP = "api"
GRADIO_PREFIX = "/gradio_api/"
# Where Gradio queues an event: one per question, counted per client.
GRADIO_JOIN_PATHS = ("/gradio_api/queue/join", "/gradio_api/call/")
# No feature of Kamerbron takes files, so Gradio's upload routes are closed.
UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/upload_progress")
GRADIO_MAX_FILE_SIZE = "1mb"
EXAMPLE_QUESTIONS = [
    "Wat antwoordde de minister op de vragen van de SP over de capaciteit van de politie?",
    "Wie stelde een taaltoets voor sekswerkers voor?",
    "Hoe verschilden de partijen over de registratieplicht voor prostituees?",
]


# --- access: authentication and cross-origin rules -----------------------------------------


class Access:
    """Who may call the app: optional basic authentication, trusted proxy header, CORS allowlist."""

    def __init__(self, settings: Settings) -> None:
        app = settings.app
        self.username = app.auth_username
        self.password = app.auth_password.get_secret_value()
        self.user_header = app.trusted_user_header.strip().lower()
        self.allowed_origins = {o.strip().rstrip("/").lower() for o in app.allowed_origins if o.strip()}
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in app.trusted_proxies]

    @property
    def enabled(self) -> bool:
        return bool(self.username or self.user_header)

    def is_proxy(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    def client_address(self, scope: Scope, headers: Headers) -> str:
        """The caller's address: from X-Forwarded-For only when the request comes from a trusted proxy."""
        peer = (scope.get("client") or ("", 0))[0] or ""
        if not self.is_proxy(peer):
            return peer
        hops = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_proxy(hop):
                return hop
        return hops[0] if hops else peer

    def authenticate(self, headers: Headers, peer: str = "") -> tuple[str | None, str]:
        """(user, "") when allowed, (None, Dutch reason) when not; user is "" without authentication.

        ``peer`` is the address the request comes from: the user header counts only from a trusted proxy.
        """
        user = ""
        if self.username:
            scheme, _, encoded = headers.get("authorization", "").partition(" ")
            try:
                given_user, _, given_password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                given_user = given_password = ""
            ok_user = secrets.compare_digest(given_user.encode(), self.username.encode())
            ok_password = secrets.compare_digest(given_password.encode(), self.password.encode())
            if scheme.lower() != "basic" or not (ok_user and ok_password):
                return None, "Aanmelden vereist: geef een geldige gebruikersnaam en wachtwoord op."
            user = given_user
        if self.user_header:
            header_user = headers.get(self.user_header, "").strip()
            if self.user_header in headers and not self.is_proxy(peer):
                log.warning(
                    "refused %s header from %s, which is not in KAMERBRON_APP_TRUSTED_PROXIES",
                    self.user_header,
                    peer or "an unknown address",
                )
                return None, "Aanmelden kan alleen via het intranet: deze aanvraag kwam niet via de aanmeldserver."
            if not header_user:
                return None, "Niet aangemeld: open Kamerbron via het intranet, zodat je aanmelding wordt meegestuurd."
            user = header_user
        return user, ""

    def gradio_user(self, request: Request) -> str | None:
        """For gr.mount_gradio_app(auth_dependency=...): the user, or None to refuse."""
        user, _ = self.authenticate(request.headers, request.client.host if request.client else "")
        return user or None

    def origin_allowed(self, origin: str, scope: Scope, headers: Headers) -> bool:
        origin = origin.strip().rstrip("/").lower()
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}".lower()
        return origin == own or origin in self.allowed_origins or "*" in self.allowed_origins


class AccessMiddleware:
    """Applies Access to every request: CORS on the widget paths first, then authentication."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        cors = scope["path"] in CORS_PATHS and origin is not None
        allowed = cors and self.access.origin_allowed(origin, scope, headers)
        if cors and not allowed:
            await self._refuse(scope, receive, send, 403, "Deze website mag Kamerbron niet insluiten.", {})
            return
        cors_headers = (
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
                "Vary": "Origin",
            }
            if allowed
            else {}
        )
        if cors and scope.get("method") == "OPTIONS" and "access-control-request-method" in headers:
            # Preflights never carry credentials, so they are answered before authentication.
            preflight = cors_headers | {
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Content-Type, Authorization",
                "Access-Control-Max-Age": "600",
            }
            await Response(status_code=204, headers=preflight)(scope, receive, send)
            return
        user, reason = self.access.authenticate(headers, (scope.get("client") or ("", 0))[0] or "")
        if user is None:
            extra = dict(cors_headers)
            if self.access.username:
                extra["WWW-Authenticate"] = 'Basic realm="Kamerbron", charset="UTF-8"'
            await self._refuse(scope, receive, send, 401, reason, extra)
            return
        state = scope.setdefault("state", {})
        state["kamerbron_user"] = user
        # Per-client limits count by signed-in user, else by address.
        state[CLIENT_STATE_KEY] = f"user:{user}" if user else f"ip:{self.access.client_address(scope, headers)}"
        if not cors_headers:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for key, value in cors_headers.items():
                    response_headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, reason: str, headers: dict) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await _refusal(scope, status, reason, headers, detail=False)(scope, receive, send)


# --- request limits ----------------------------------------------------------------------------


# Routes whose body is always JSON, whatever Content-Type says.
JSON_API_PATHS = frozenset({"/api/ask", "/v1/chat/completions"})


class RequestLimitsMiddleware:
    """Bounds what one request may cost, on every route, before the app sees it.

    - a body over ``max_body_bytes`` gets 413, by its Content-Length or by the bytes that arrive;
    - a JSON body that is too deep, not UTF-8, not JSON or holds lone surrogates gets 422 or 400;
    - Gradio's upload routes are closed (no feature takes files);
    - a client with ``per_client`` questions already queued or answered gets 429 for one more in
      Gradio's queue (``gradio_backlog``);
    - Gradio's own English refusals (a full queue, a malformed body) are answered in Dutch, a full
      queue with 429 and an honest Retry-After.
    Every refusal is JSON ``{"error": ..., "detail": ...}`` (Gradio's page shows ``detail``); under /v1
    it is OpenAI's error object.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        per_client: int,
        gradio_backlog: Callable[[str], int],
        retry_after_s: Callable[[], int],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.per_client = per_client
        self.gradio_backlog = gradio_backlog
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope.get("method", "GET")
        headers = Headers(scope=scope)
        if path.rstrip("/") in UPLOAD_PATHS:
            await _refusal(scope, 403, "Bestanden uploaden kan niet in Kamerbron.")(scope, receive, send)
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._too_large(scope, receive, send)
            return
        if method in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        if body and (path in JSON_API_PATHS or "json" in headers.get("content-type", "")):
            problem = json_problem(body)
            if problem:
                await _refusal(scope, *problem)(scope, receive, send)
                return
        client = (scope.get("state") or {}).get(CLIENT_STATE_KEY, "")
        if method == "POST" and path.startswith(GRADIO_JOIN_PATHS) and self.gradio_backlog(client) >= self.per_client:
            wait = self.retry_after_s()
            message = client_busy_message(self.per_client, wait)
            await _refusal(scope, 429, message, {"Retry-After": str(wait)})(scope, receive, send)
            return
        replay = _replaying(body, receive)
        if path.startswith(GRADIO_PREFIX):
            await self.app(scope, replay, self._dutch_gradio_refusals(send))
        else:
            await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit_kb = self.max_body_bytes // 1024
        await _refusal(scope, 413, f"De aanvraag is te groot (maximaal {limit_kb} kB).")(scope, receive, send)

    def _dutch_gradio_refusals(self, send: Send) -> Send:
        """Gradio answers a full queue with 503 "Queue is full" and a bad body with a list of English errors."""
        held: list[Message] = []

        async def translating_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (422, 503):
                held.append(message)
                return
            if not held:
                await send(message)
                return
            held.append(message)
            if message.get("more_body"):
                return
            start, chunks = held[0], held[1:]
            raw = b"".join(chunk.get("body", b"") for chunk in chunks)
            replacement = self._dutch(start["status"], raw)
            held.clear()
            if replacement is None:
                await send(start)
                for chunk in chunks:
                    await send(chunk)
                return
            status, content, extra = replacement
            response = JSONResponse(content, status_code=status, headers=extra)
            await send({"type": "http.response.start", "status": status, "headers": response.raw_headers})
            await send({"type": "http.response.body", "body": response.body})

        return translating_send

    def _dutch(self, status: int, raw: bytes) -> tuple[int, dict, dict] | None:
        try:
            detail = json.loads(raw).get("detail")
        except (ValueError, AttributeError):
            return None
        if status == 503 and isinstance(detail, str) and detail.startswith("Queue is full"):
            wait = self.retry_after_s()
            message = f"Het is nu te druk: er wachten al veel vragen. Probeer het over {seconds_nl(wait)} opnieuw."
            return 429, {"error": message, "detail": message}, {"Retry-After": str(wait)}
        if status == 422 and isinstance(detail, list):
            message = "De aanvraag heeft niet de vorm die dit adres verwacht."
            return 422, {"error": message, "detail": message}, {}
        return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it passes ``limit`` bytes."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the app the body already read, then waits for the disconnect as before."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _refusal(
    scope: Scope, status: int, message: str, headers: dict | None = None, *, detail: bool = True
) -> JSONResponse:
    """A refusal before any route: OpenAI's error object under /v1 (what OpenAI clients read), else
    ``{"error": message}`` with the message again as ``detail`` (what Gradio's page shows)."""
    if is_openai_path(scope["path"]):
        return error_response(status, message, headers=headers)
    body = {"error": message, "detail": message} if detail else {"error": message}
    return JSONResponse(body, status_code=status, headers=headers)


def gradio_waiting_for(demo: gr.Blocks) -> Callable[[str], int]:
    """Events of one client waiting in Gradio's queue, not yet started (once started, AskGate counts them).

    Reads Gradio's queue (``Blocks._queue.event_queue_per_concurrency_id``, each event holding the
    request that queued it); tests/test_admission.py checks that this still works with the pinned Gradio.
    """

    def count(client: str) -> int:
        groups = getattr(getattr(demo, "_queue", None), "event_queue_per_concurrency_id", {})
        waiting = [event for group in list(groups.values()) for event in list(getattr(group, "queue", []))]
        return sum(1 for event in waiting if _event_client(event) == client)

    return count


def _event_client(event: Any) -> str:
    request = getattr(event, "request", None)
    scope = getattr(request, "scope", None) or {}
    return (scope.get("state") or {}).get(CLIENT_STATE_KEY, "")


def gradio_waiting(demo: gr.Blocks) -> int:
    """Events waiting in Gradio's queue (all groups)."""
    try:
        return len(demo._queue)
    except (AttributeError, TypeError):
        return 0


# --- the Gradio app ---------------------------------------------------------------------------


def _facets(answerer: AnswererLike | None) -> dict:
    if answerer is None:
        return {}
    try:
        return answerer.facets() or {}
    except Exception:
        log.exception("could not read facets for the filters")
        return {}


def _document_choices(documents: list[dict]) -> list[tuple[str, str]]:
    choices = []
    for doc in documents:
        label = doc.get("title") or doc.get("source_file") or doc.get("doc_id", "")
        if doc.get("date"):
            label = f"{label} ({format_date_nl(doc['date'])})"
        choices.append((label, doc.get("doc_id", "")))
    return choices


def build_app(answerer: AnswererLike | None, settings: Settings, *, handlers: ChatHandlers | None = None) -> gr.Blocks:
    """The chat UI (not launched). Styling is passed where it is mounted: see create_server."""
    handlers = handlers or ChatHandlers(answerer, settings)
    facets = _facets(answerer)
    date_hint = ""
    if facets.get("date_min") and facets.get("date_max"):
        date_hint = f"Kamerstukken van {format_date_nl(facets['date_min'])} tot {format_date_nl(facets['date_max'])}."

    with gr.Blocks(title="Kamerbron") as demo:
        gr.HTML(
            '<div id="kb-header"><div class="kb-logo" aria-hidden="true"></div><div>'
            "<h1>Kamerbron</h1><p>Vragen over Kamerstukken over mensenhandel en prostitutiebeleid, "
            "met bij elk antwoord de passages waarop het steunt.</p></div></div>",
            js_on_load=None,
        )
        turns = gr.State([])
        with gr.Tabs():
            with gr.Tab("Vragen", id="vragen"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=420):
                        chatbot = gr.Chatbot(
                            label="Gesprek",
                            elem_id="kb-chat",
                            height="68vh",
                            min_height=420,
                            sanitize_html=True,
                            render_markdown=True,
                            latex_delimiters=[],
                            buttons=[],
                            feedback_options=("Like", "Dislike"),
                            layout="bubble",
                            placeholder=(
                                "<div class='kb-placeholder'><strong>Stel een vraag over de Kamerstukken.</strong>"
                                "<br>Elk antwoord noemt de passages waarop het steunt, met spreker, partij, "
                                "document en datum.</div>"
                            ),
                        )
                        with gr.Row(equal_height=True):
                            question = gr.Textbox(
                                show_label=False,
                                placeholder="Typ je vraag, bijvoorbeeld: Wie stelde een taaltoets voor sekswerkers voor?",
                                lines=1,
                                max_lines=5,
                                scale=6,
                                elem_id="kb-question",
                                autofocus=True,
                            )
                            send = gr.Button("Vraag", variant="primary", scale=1, min_width=90, elem_id="kb-send")
                        gr.Examples(EXAMPLE_QUESTIONS, inputs=[question], label="Voorbeeldvragen")
                        with gr.Row():
                            clear = gr.Button(
                                "Nieuw gesprek",
                                size="sm",
                                variant="secondary",
                                elem_id="kb-clear",
                                scale=0,
                                min_width=140,
                            )
                        with gr.Accordion("Opmerking bij een antwoord", open=False, elem_id="kb-feedback"):
                            gr.Markdown(
                                "Gebruik de duim omhoog of omlaag bij een antwoord. Een opmerking hier hoort bij "
                                "het laatst beoordeelde antwoord, of anders bij het laatste antwoord."
                            )
                            comment = gr.Textbox(show_label=False, placeholder="Opmerking (optioneel)", lines=2)
                            comment_send = gr.Button("Opmerking versturen", size="sm")
                        status = gr.Markdown("", elem_id="kb-status")
                    with gr.Column(scale=1, min_width=260, elem_id="kb-filters"):
                        gr.Markdown(
                            "### Filters\nBeperk het zoeken tot bepaalde partijen, sprekers, documenten of een periode."
                        )
                        party = gr.Dropdown(
                            choices=facets.get("parties", []),
                            multiselect=True,
                            label="Partij",
                            value=[],
                            elem_id="kb-party",
                        )
                        speaker = gr.Dropdown(
                            choices=facets.get("speakers", []),
                            multiselect=True,
                            label="Spreker",
                            value=[],
                            elem_id="kb-speaker",
                        )
                        document = gr.Dropdown(
                            choices=_document_choices(facets.get("documents", [])),
                            multiselect=True,
                            label="Document",
                            value=[],
                            elem_id="kb-document",
                        )
                        date_from = gr.Textbox(
                            label="Periode vanaf",
                            placeholder="JJJJ-MM-DD",
                            info=date_hint or None,
                            elem_id="kb-date-from",
                        )
                        date_to = gr.Textbox(label="Periode tot en met", placeholder="JJJJ-MM-DD", elem_id="kb-date-to")
                        reset = gr.Button("Filters wissen", size="sm", elem_id="kb-reset-filters")
            positions_tab(answerer, settings)
            questions_tab(answerer, settings)
            commitments_tab(answerer, settings)
            with gr.Tab("Evaluatie", id="evaluatie"):
                with gr.Row():
                    refresh = gr.Button("Vernieuwen", size="sm", scale=0, min_width=120)
                report = gr.Markdown(elem_id="kb-report")

        inputs = [question, turns, party, speaker, document, date_from, date_to]
        outputs = [chatbot, turns, question]
        # The chat's and the Gradio API's events run in their own groups, each as wide as the answering
        # slots they may hold (handlers.gate), so a burst of API calls never holds up a chat question.
        chat_limit, api_limit = handlers.gate.slots, handlers.gate.api_slots
        question.submit(
            handlers.respond,
            inputs,
            outputs,
            api_visibility="private",
            concurrency_id=CHAT_GROUP,
            concurrency_limit=chat_limit,
        )
        send.click(
            handlers.respond,
            inputs,
            outputs,
            api_visibility="private",
            concurrency_id=CHAT_GROUP,
            concurrency_limit=chat_limit,
        )
        clear.click(handlers.clear, None, [chatbot, turns, question, status], queue=False, api_visibility="private")
        # The chatbot's own trash button empties only the messages; forget the turns as well.
        chatbot.clear(handlers.clear, None, [chatbot, turns, question, status], queue=False, api_visibility="private")
        chatbot.like(handlers.like, [turns], [turns, status], queue=False, api_visibility="private")
        comment_send.click(
            handlers.comment, [turns, comment], [turns, comment, status], queue=False, api_visibility="private"
        )
        reset.click(
            lambda: ([], [], [], "", ""),
            None,
            [party, speaker, document, date_from, date_to],
            queue=False,
            api_visibility="private",
        )

        def load_report() -> str:
            return render_report(settings.paths.eval_dir)

        refresh.click(load_report, None, report, queue=False, api_visibility="private")
        demo.load(load_report, None, report, queue=False, api_visibility="private")
        gr.api(handlers.ask_api, api_name="ask", concurrency_id=API_GROUP, concurrency_limit=api_limit)

    # api_open=False: answering functions are reached through the queue only, where clients are counted.
    demo.queue(
        default_concurrency_limit=chat_limit,
        max_size=max(GRADIO_QUEUE_MIN, GRADIO_QUEUE_PER_SLOT * handlers.gate.slots),
        api_open=False,
    )
    return demo


# --- the server -------------------------------------------------------------------------------


def _status_for(error: KamerbronError) -> int:
    if isinstance(error, AskRequestUnprocessableError):
        return 422
    if isinstance(error, (QuestionInvalidError, ArgumentInvalidError, AskRequestInvalidError)):
        return 400
    if isinstance(error, AskQueueFullError):
        return 429
    if isinstance(error, (IndexMissingError, IndexDamagedError, EmbeddingModelError, ChromaUnreachableError)):
        return 503
    if isinstance(error, LLMEndpointError):
        return 502
    return 500


def app_theme() -> gr.themes.Base:
    """Gradio's default look with bundled fonts only (no Google Fonts).

    Weights 400 and 700: the SemiBold (600) Source Sans Pro file shipped with Gradio holds only a few
    glyphs, so bold text would fall back glyph by glyph to another font.
    """
    return gr.themes.Default(
        primary_hue="blue",
        secondary_hue="slate",
        neutral_hue="slate",
        font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif"],
    )


def widget_script() -> str:
    """widget.js with widget.css inlined, so embedding it costs one request."""
    css = (STATIC_DIR / "widget.css").read_text(encoding="utf-8")
    script = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    return script.replace('"__KAMERBRON_WIDGET_CSS__"', json.dumps(css))


def load_answerer(settings: Settings) -> tuple[Any, KamerbronError | None]:
    """The real Answerer, or (None, error) when it cannot load: no index, no model, no Chroma server."""
    try:
        return Answerer(settings), None
    except (IndexMissingError, EmbeddingModelError, ChromaUnreachableError) as error:
        log.error("answering unavailable: %s", error)
        return None, error


def create_server(
    settings: Settings | None = None,
    answerer: AnswererLike | None = None,
    *,
    feedback: FeedbackStore | None = None,
    api_max_waiting: int | None = None,
) -> FastAPI:
    """FastAPI app with the chat at /, POST /api/ask, /widget.js and /widget-demo.

    Without an answerer the real one is loaded; if that fails (no index), the app still starts
    and every question gets the error's message (HTTP 503 on the API). ``api_max_waiting``
    overrides ``app.api_queue_size``.
    """
    settings = settings or load_settings()
    unavailable: KamerbronError | None = None
    if answerer is None:
        answerer, unavailable = load_answerer(settings)
    gate = AskGate.from_settings(settings, api_waiting=api_max_waiting)
    handlers = ChatHandlers(
        answerer,
        settings,
        feedback=feedback or FeedbackStore.from_settings(settings),
        gate=gate,
        unavailable=unavailable,
    )
    access = Access(settings)
    # /openapi.json describes the JSON APIs (POST /api/ask, /v1); no docs pages, which would load scripts from a CDN.
    app = FastAPI(title="Kamerbron", docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.handlers = handlers

    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # OpenAI clients read only OpenAI's error object, so FastAPI's own 404 and 405 under /v1 come in that shape.
        if is_openai_path(request.scope["path"]):
            return http_error_response(request, error)
        return await http_exception_handler(request, error)

    app.add_exception_handler(StarletteHTTPException, http_error)

    def refuse_ask(request: Request, error: RequestValidationError) -> JSONResponse:
        # A body AskRequestBody refused: the request's own checks name the problem, in Dutch.
        status, message = (400, NOT_JSON) if unreadable_body(error) else ask_problem(error.body, settings)
        return JSONResponse({"error": message}, status_code=status)

    async def api_ask(body: AskRequestBody, request: Request) -> JSONResponse:
        """Answer a question with citations: the same JSON as `python -m rag ask --json`.

        Refusals carry a Dutch message for the user in `error`.
        """
        client = request.scope.get("state", {}).get(CLIENT_STATE_KEY, "")
        try:
            asked = handlers.prepare(body.question, body.history, body.filter_fields())
            answerer = handlers.require_answerer()
            # Waiting for a slot happens in the event loop: a long queue holds no threads.
            async with gate.enter_async("api", client):
                answer = await run_in_threadpool(handlers.answer_and_record, answerer, asked, "api")
        except KamerbronError as error:
            status = _status_for(error)
            headers = {"Retry-After": str(error.retry_after_s)} if isinstance(error, AskQueueFullError) else None
            return JSONResponse({"error": public_message(error)}, status_code=status, headers=headers)
        except Exception:
            log.exception("POST /api/ask failed")
            return JSONResponse({"error": UNEXPECTED_ERROR}, status_code=500)
        return JSONResponse(answer_payload(answer))

    # FastAPI reads the body's model from the annotation: this app's, with its limits from the settings.
    api_ask.__annotations__["body"] = ask_body_model(settings)
    ask_routes = APIRouter(route_class=json_route(refuse_ask))
    ask_routes.add_api_route(
        "/api/ask",
        api_ask,
        methods=["POST"],
        response_model=AnswerJSON,
        responses=ASK_RESPONSES,
        summary="Ask a question",
    )
    app.include_router(ask_routes)

    @app.get("/api/commitments")
    async def api_commitments(request: Request) -> JSONResponse:
        # The toezeggingen of the debates (?who=&doc=&from=&to=&status=open|ingelost), each with what may
        # fulfil it; computed once per index generation (rag.commitments.load_commitments).
        params = request.query_params
        try:
            flt = CommitmentFilter.parse(
                who=params.get("who"),
                doc_ids=params.getlist("doc"),
                date_from=params.get("from"),
                date_to=params.get("to"),
                status=params.get("status"),
            )
            found = await run_in_threadpool(app_commitments, handlers.answerer, settings)
        except KamerbronError as error:
            return JSONResponse({"error": public_message(error)}, status_code=_status_for(error))
        return JSONResponse([c.to_json() for c in filter_commitments(found, flt)])

    # GET /api/positions?topic=&format=json|csv|md and GET /api/questions?party=&section=&doc=
    app.include_router(positions_router(handlers, status_for=_status_for))
    app.include_router(questions_router(handlers, status_for=_status_for))

    @app.get("/api/health")
    async def api_health() -> JSONResponse:
        # 503 unless the index answers; "generation" is the index generation served (rag.index.LiveIndex).
        error = str(unavailable or "") if handlers.answerer is None else ""
        generation = ""
        check = getattr(getattr(handlers.answerer, "retriever", None), "check", None)
        if handlers.answerer is not None and check is not None:
            try:
                generation = await run_in_threadpool(check)
            except KamerbronError as failure:
                error = str(failure)
        ok = handlers.answerer is not None and not error
        body = {
            "status": "ok" if ok else "unavailable",
            "error": error,
            "generation": generation,
            "queue": gate.snapshot(),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/widget.js")
    async def widget_js() -> Response:
        return Response(
            widget_script(),
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/widget-demo")
    async def widget_demo() -> HTMLResponse:
        return HTMLResponse((STATIC_DIR / "widget-demo.html").read_text(encoding="utf-8"))

    # GET /v1/models and POST /v1/chat/completions for OpenAI clients, through the same checks and gate.
    app.include_router(openai_router(handlers, status_for=_status_for))

    demo = build_app(answerer, settings, handlers=handlers)
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        auth_dependency=access.gradio_user if access.enabled else None,
        footer_links=["api"],
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        pwa=False,
        theme=app_theme(),
        css=(STATIC_DIR / "app.css").read_text(encoding="utf-8"),
        max_file_size=GRADIO_MAX_FILE_SIZE,
    )
    # Added last runs first: access (who is it) before limits (which count per client).
    waiting_in_gradio = gradio_waiting_for(demo)
    app.add_middleware(
        RequestLimitsMiddleware,
        max_body_bytes=settings.app.max_body_bytes,
        per_client=settings.app.max_per_client,
        gradio_backlog=lambda client: waiting_in_gradio(client) + gate.admitted(client),
        retry_after_s=lambda: gate.retry_after_s("chat", extra_waiting=gradio_waiting(demo)),
    )
    app.add_middleware(AccessMiddleware, access=access)
    if access.user_header and not access.proxies:
        log.warning(
            "KAMERBRON_APP_TRUSTED_USER_HEADER is set but KAMERBRON_APP_TRUSTED_PROXIES is empty: "
            "every request with that header is refused"
        )
    return app
