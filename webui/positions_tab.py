"""The 'Standpunten' tab: for a topic, one row per party with its statements cited, or 'niets gevonden in
deze stukken'; CSV and Markdown downloads; and the link to it from a chat answer that compares parties.

Handlers and HTML are plain functions (tests call them directly); ``positions_tab`` only lays them out.
Every piece of data in the HTML is escaped (webui.render.esc).
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Callable, Iterable
from urllib.parse import quote, urlencode

import gradio as gr
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from kamerbron.errors import IndexMissingError, KamerbronError
from kamerbron.records import Citation, PassageFields
from kamerbron.settings import Settings
from rag.positions import (
    SILENT_LABEL,
    PositionFinder,
    Positions,
    comparison_topic,
    statement_label,
    to_csv,
    to_markdown,
)
from rag.retrieve import Retriever
from webui import render
from webui.api import public_message

log = logging.getLogger(__name__)

INDEX_MISSING = (
    "Standpunten zijn niet beschikbaar: de index is niet geladen. Herstart de app na `python -m ingest build`."
)
UNEXPECTED = "Er ging iets mis bij het zoeken naar standpunten. Probeer het opnieuw."
FORMATS = ("json", "csv", "md")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "md": "text/markdown; charset=utf-8"}
# The chat's link to this tab carries the topic in this query parameter; the page script below reads it.
TOPIC_PARAMETER = "standpunten"
# Questions answered in this tab at once (each is a dozen retrievals); the rest wait in Gradio's queue.
CONCURRENCY = 2
CELL_STYLE = "vertical-align: top; white-space: nowrap"

# Keyed by the answerer, which the finder does not hold, so a finder goes with its answerer.
_FINDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def retriever_of(answerer: object) -> Retriever | None:
    """The retriever of a real rag.answer.Answerer; None for a stand-in without an index."""
    retriever = getattr(answerer, "retriever", None)
    return retriever if isinstance(retriever, Retriever) else None


def position_finder(answerer: object) -> PositionFinder:
    """One PositionFinder per answerer (its caches are shared by the tab and the API)."""
    retriever = retriever_of(answerer)
    if retriever is None:
        raise IndexMissingError(INDEX_MISSING)
    finder = _FINDERS.get(answerer)
    if finder is None or finder.base is not retriever:
        # the answerer's EvidenceFinder (rag.answer.Answerer.composer) is over the same index: share it
        composer = getattr(answerer, "composer", None)
        finder = PositionFinder(retriever, finder=getattr(composer, "finder", None))
        _FINDERS[answerer] = finder
    return finder


# --- HTML ------------------------------------------------------------------------------------------


def _citation(n: int, statement) -> Citation:
    fields = statement.model_dump(include=set(PassageFields.model_fields) | {"text", "sentences"})
    return Citation(n=n, **fields)


def download_links(topic: str) -> str:
    links = [
        f'<a class="kb-pos-download" href="api/positions?{escape_query(topic, fmt)}" '
        f'download="{render.esc(file_name(topic, fmt))}">{label}</a>'
        for fmt, label in (("csv", "Download CSV"), ("md", "Download Markdown"))
    ]
    return f'<div class="kb-pos-downloads">{" · ".join(links)}</div>'


def escape_query(topic: str, fmt: str) -> str:
    return render.esc(urlencode({"topic": topic, "format": fmt}, quote_via=quote))


def file_name(topic: str, fmt: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", topic.lower()).strip("-")[:60] or "onderwerp"
    return f"standpunten-{slug}.{fmt}"


def positions_html(result: Positions) -> str:
    """The table (party, statements with [n] citations; silent parties say so) and the cited sources."""
    rows, sources = [], []
    for row in result.parties:
        party = render.esc(row.party)
        if row.silent:
            rows.append(
                f'<tr class="kb-pos-row kb-pos-silent" data-party="{party}"><td class="kb-pos-party" style="{CELL_STYLE}">'
                f"{party}</td>"
                f'<td class="kb-pos-none"><em>{render.esc(SILENT_LABEL)}</em></td></tr>'
            )
            continue
        cells = []
        for statement in row.statements:
            n = len(sources) + 1
            sources.append(
                f'<div class="kb-pos-source" id="kb-pos-src-{n}">{render.citation_card(_citation(n, statement))}</div>'
            )
            quote_text = " … ".join(statement.sentences)
            cells.append(
                f'<div class="kb-pos-statement">“{render.esc(quote_text)}” '
                f'<span class="kb-pos-who">— {render.esc(statement_label(statement))}</span> '
                f'<a class="kb-pos-cite" href="#kb-pos-src-{n}" title="{render.esc(statement.chunk_id)}">[{n}]</a></div>'
            )
        rows.append(
            f'<tr class="kb-pos-row" data-party="{party}"><td class="kb-pos-party" style="{CELL_STYLE}">{party}</td>'
            f"<td>{''.join(cells)}</td></tr>"
        )
    speaking = len(result.speaking())
    summary = (
        f"{speaking} van de {len(result.parties)} partijen in deze stukken zeiden iets over "
        f"“{render.esc(result.topic)}”; bij de andere staat: {render.esc(SILENT_LABEL)}."
    )
    return (
        f'<div class="kb-positions" data-topic="{render.esc(result.topic)}">'
        f'<p class="kb-pos-summary">{summary}</p>{download_links(result.topic)}'
        '<table class="kb-pos-table"><thead><tr><th>Partij</th><th>Uitspraken</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        + (f'<div class="kb-sources-title">Bronnen</div>{"".join(sources)}' if sources else "")
        + "</div>"
    )


def positions_link_html(question: str) -> str:
    """Under a chat answer that compares parties: a link to this tab with the question's topic; else ''."""
    topic = comparison_topic(question)
    if not topic:
        return ""
    href = "?" + urlencode({TOPIC_PARAMETER: topic}, quote_via=quote)
    return (
        f'<div class="kb-positions-more"><a class="kb-positions-link" href="{render.esc(href)}">'
        f"Bekijk alle standpunten over {render.esc(topic)} in het tabblad Standpunten</a></div>"
    )


# --- handlers -------------------------------------------------------------------------------------


def show_positions(answerer: object, topic: str) -> str:
    """The tab's HTML for ``topic``: the table, or a Dutch message saying what to fix."""
    try:
        return positions_html(position_finder(answerer).find(topic))
    except KamerbronError as error:
        return render.error_html(str(error))
    except Exception:
        log.exception("positions failed for topic %r", topic)
        return render.error_html(UNEXPECTED)


def positions_response(result: Positions, fmt: str) -> Response:
    """``GET /api/positions``: the result as JSON, or a CSV or Markdown download."""
    if fmt == "json":
        return JSONResponse(result.to_json())
    body = to_csv(result) if fmt == "csv" else to_markdown(result)
    disposition = f'attachment; filename="{file_name(result.topic, fmt)}"'
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


def format_problem(fmt: str) -> str:
    """A Dutch message when ``fmt`` is not one of FORMATS; '' when it is."""
    return "" if fmt in FORMATS else f"Onbekend formaat '{fmt}'; kies json, csv of md."


def parameters_problem(given: Iterable[str], allowed: tuple[str, ...]) -> str:
    """A Dutch message naming query parameters the route does not take; '' when there are none."""
    unknown = sorted(set(given) - set(allowed))
    return f"Onbekende parameter: {', '.join(unknown)}. Toegestaan: {', '.join(allowed)}." if unknown else ""


def error_json(error: KamerbronError, status_for: Callable[[KamerbronError], int]) -> JSONResponse:
    """A domain error as the JSON routes answer it: its status from ``status_for`` (the app's one mapping,
    in which a bad topic or filter is the caller's: 400) and the message a user may read."""
    return JSONResponse({"error": public_message(error)}, status_code=status_for(error))


def positions_router(handlers, *, status_for: Callable[[KamerbronError], int]) -> APIRouter:
    """``GET /api/positions?topic=...&format=json|csv|md`` over the app's answerer (``handlers.answerer``)."""
    router = APIRouter()
    slots = asyncio.Semaphore(CONCURRENCY)

    @router.get("/api/positions", summary="Standpunten")
    async def api_positions(request: Request) -> Response:
        """Each party's most relevant statements on `topic`, cited, or 'niets gevonden in deze stukken'.

        `format`: json (default), csv or md, the last two as a download. Errors carry a Dutch `error`.
        """
        params = request.query_params
        fmt = (params.get("format") or "json").strip().lower()
        problem = parameters_problem(params.keys(), ("topic", "format")) or format_problem(fmt)
        if problem:
            return JSONResponse({"error": problem}, status_code=400)
        try:
            finder = position_finder(handlers.require_answerer())
            async with slots:  # waiting here holds no thread
                result = await run_in_threadpool(finder.find, params.get("topic", ""))
        except KamerbronError as error:
            return error_json(error, status_for)
        except Exception:
            log.exception("GET /api/positions failed")
            return JSONResponse({"error": UNEXPECTED}, status_code=500)
        return positions_response(result, fmt)

    return router


# --- the tab --------------------------------------------------------------------------------------

# Opens this tab with a topic: from a chat link (a click, without leaving the page) or from the page's
# address (?standpunten=...), by filling the topic box and pressing the button as a person would.
PAGE_SCRIPT = """
if (!window.__kbPositionsLinks) {
  window.__kbPositionsLinks = true;
  const open = (topic) => {
    const tab = Array.from(document.querySelectorAll('button[role="tab"]'))
      .find((b) => b.textContent.trim() === 'Standpunten');
    if (tab) tab.click();
    let tries = 0;
    const fill = () => {
      const box = document.querySelector('#kb-pos-topic textarea, #kb-pos-topic input');
      const button = document.querySelector('#kb-pos-show');
      if (!box || !button || box.offsetParent === null) {
        if (tries++ < 50) setTimeout(fill, 100);
        return;
      }
      box.value = topic;
      box.dispatchEvent(new Event('input', { bubbles: true }));
      setTimeout(() => button.click(), 100);
    };
    fill();
  };
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a.kb-positions-link') : null;
    if (!link) return;
    const topic = new URL(link.getAttribute('href'), location.href).searchParams.get('__PARAMETER__');
    if (!topic) return;
    event.preventDefault();
    event.stopPropagation();
    open(topic);
  }, true);
  const initial = new URLSearchParams(location.search).get('__PARAMETER__');
  if (initial) open(initial);
}
""".replace("__PARAMETER__", TOPIC_PARAMETER)


def positions_tab(answerer: object, settings: Settings) -> None:
    """The 'Standpunten' tab, laid out inside build_app's ``gr.Tabs()``."""
    with gr.Tab("Standpunten", id="standpunten"):
        gr.Markdown(
            "Per partij de meest relevante uitspraken over een onderwerp, elk met spreker, datum en bron. "
            f"Partijen die in deze stukken niets over het onderwerp zeiden, staan er ook: *{SILENT_LABEL}*."
        )
        with gr.Row(equal_height=True):
            topic = gr.Textbox(
                show_label=False,
                placeholder="Onderwerp, bijvoorbeeld taaleis, pooierverbod of registratieplicht",
                lines=1,
                max_lines=1,
                scale=6,
                elem_id="kb-pos-topic",
            )
            show = gr.Button("Toon standpunten", variant="primary", scale=1, min_width=160, elem_id="kb-pos-show")
        table = gr.HTML("", elem_id="kb-pos-result", js_on_load=None)
        # at page load, not when the tab is first opened: Gradio mounts a tab's components only then
        gr.on(None, None, js=f"() => {{{PAGE_SCRIPT}}}", queue=False, api_visibility="private")

        def handle(text: str) -> str:
            return show_positions(answerer, text)

        for event in (show.click, topic.submit):
            event(
                handle,
                topic,
                table,
                api_visibility="private",
                concurrency_id="positions",
                concurrency_limit=CONCURRENCY,
            )
