"""The 'Vragen en antwoorden' tab: each party question of a written consultation beside the government
answer linked to it, or marked as having none in these papers; filters by document, party and section.

Handlers and HTML are plain functions (tests call them directly); ``questions_tab`` only lays them out.
Every piece of data in the HTML is escaped (webui.render).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import gradio as gr
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kamerbron.errors import IndexMissingError, KamerbronError
from kamerbron.settings import Settings
from rag.index import LoadedIndex
from rag.qa_pairs import OPEN_LABEL, QAPair, consultation_facets, question_answer_pairs
from webui import render
from webui.positions_tab import error_json, parameters_problem, retriever_of

log = logging.getLogger(__name__)

INDEX_MISSING = (
    "Vragen en antwoorden zijn niet beschikbaar: de index is niet geladen. Herstart de app na `python -m ingest build`."
)
UNEXPECTED = "Er ging iets mis bij het tonen van de vragen en antwoorden. Probeer het opnieuw."
NO_REPLY_NOTE = (
    "De reactie van de regering staat niet in de bron van dit verslag: alle vragen eruit staan hier zonder antwoord."
)
ALL = ""  # the filters' "no filter" value
CELL_STYLE = "vertical-align: top; width: 50%"


def index_of(answerer: object) -> LoadedIndex:
    """The index generation the answerer serves now; KamerbronError (Dutch) without one."""
    retriever = retriever_of(answerer)
    if retriever is None:
        raise IndexMissingError(INDEX_MISSING)
    return retriever.index.current


def _anchor(chunk_id: str) -> str:
    return "kb-qa-" + re.sub(r"[^A-Za-z0-9_-]+", "-", chunk_id)


def pair_html(pair: QAPair) -> str:
    """One row: the question's card beside its answers' cards, or the open mark."""
    q = pair.question
    section = f'<div class="kb-qa-section">{render.esc(q.section)}</div>' if q.section else ""
    question_cell = section + render.passage_card(q)
    if pair.answers:
        answer_cell = "".join(render.passage_card(a) for a in pair.answers)
    else:
        answer_cell = f'<div class="kb-qa-open"><em>{render.esc(OPEN_LABEL)}</em></div>'
    state = "kb-qa-open-row" if pair.open else "kb-qa-answered"
    return (
        f'<tr class="kb-qa-row {state}" id="{_anchor(q.chunk_id)}" data-party="{render.esc(q.party)}" '
        f'data-doc="{render.esc(q.doc_id)}"><td class="kb-qa-question" style="{CELL_STYLE}">'
        f'<a class="kb-qa-cite" href="#{_anchor(q.chunk_id)}" title="{render.esc(q.chunk_id)}">'
        f"{render.esc(q.chunk_id)}</a>{question_cell}</td>"
        f'<td class="kb-qa-answer" style="{CELL_STYLE}">{answer_cell}</td></tr>'
    )


def questions_html(pairs: list[QAPair]) -> str:
    """The table of pairs, with how many are answered and a note for documents without the government's reply."""
    if not pairs:
        return '<div class="kb-qa"><p class="kb-qa-summary">Geen vragen gevonden.</p></div>'
    answered = sum(not p.open for p in pairs)
    summary = f"{len(pairs)} vragen; {answered} met antwoord, {len(pairs) - answered} {OPEN_LABEL}."
    notes = [
        f'<p class="kb-qa-note">{render.esc(title)}: {render.esc(NO_REPLY_NOTE)}</p>'
        for title in dict.fromkeys(p.question.doc_title or p.question.doc_id for p in pairs if not p.reply_in_document)
    ]
    return (
        f'<div class="kb-qa"><p class="kb-qa-summary">{render.esc(summary)}</p>{"".join(notes)}'
        '<table class="kb-qa-table"><thead><tr><th>Vraag van de fractie</th><th>Antwoord van de regering</th></tr>'
        f"</thead><tbody>{''.join(pair_html(p) for p in pairs)}</tbody></table></div>"
    )


def show_questions(answerer: object, doc: str = ALL, party: str = ALL, section: str = ALL) -> str:
    """The tab's HTML for the filters chosen, or a Dutch message saying what to change."""
    try:
        pairs = question_answer_pairs(index_of(answerer), party=party or "", section=section or "", doc=doc or "")
        return questions_html(pairs)
    except KamerbronError as error:
        return render.error_html(str(error))
    except Exception:
        log.exception("questions view failed for doc=%r party=%r section=%r", doc, party, section)
        return render.error_html(UNEXPECTED)


def filter_choices(answerer: object) -> dict[str, list[tuple[str, str]]]:
    """The filters' choices (label, value), each starting with 'all'; only 'all' without an index."""
    try:
        facets = consultation_facets(index_of(answerer))
    except KamerbronError:
        facets = {"documents": [], "parties": [], "sections": []}
    documents = [(d["title"] or d["doc_id"], d["doc_id"]) for d in facets["documents"]]
    return {
        "documents": [("Alle schriftelijke overleggen", ALL), *documents],
        "parties": [("Alle partijen", ALL), *((p, p) for p in facets["parties"])],
        "sections": [("Alle koppen", ALL), *((s, s) for s in facets["sections"])],
    }


def questions_router(handlers, *, status_for: Callable[[KamerbronError], int]) -> APIRouter:
    """``GET /api/questions?party=&section=&doc=`` over the app's answerer (``handlers.answerer``)."""
    router = APIRouter()

    @router.get("/api/questions", summary="Vragen en antwoorden")
    async def api_questions(request: Request) -> JSONResponse:
        """The party questions of the written consultations, each with the government answers linked to it
        (`open`: none in these papers). Filters: `party`, `section` (part of a heading), `doc`."""
        params = request.query_params
        problem = parameters_problem(params.keys(), ("party", "section", "doc"))
        if problem:
            return JSONResponse({"error": problem}, status_code=400)
        try:
            index = index_of(handlers.require_answerer())
            pairs = await run_in_threadpool(
                question_answer_pairs,
                index,
                party=params.get("party", ""),
                section=params.get("section", ""),
                doc=params.get("doc", ""),
            )
        except KamerbronError as error:
            return error_json(error, status_for)
        except Exception:
            log.exception("GET /api/questions failed")
            return JSONResponse({"error": UNEXPECTED}, status_code=500)
        return JSONResponse([p.to_json() for p in pairs])

    return router


def questions_tab(answerer: object, settings: Settings) -> None:
    """The 'Vragen en antwoorden' tab, laid out inside build_app's ``gr.Tabs()``."""
    choices = filter_choices(answerer)
    with gr.Tab("Vragen en antwoorden", id="vragen-en-antwoorden") as tab:
        gr.Markdown(
            "De vragen van de fracties in de schriftelijke overleggen, elk naast het antwoord van de regering dat "
            f"erbij hoort. Een vraag zonder antwoord in deze stukken staat er ook: *{OPEN_LABEL}*."
        )
        with gr.Row():
            document = gr.Dropdown(
                choices=choices["documents"], value=ALL, label="Document", elem_id="kb-qa-doc", scale=2
            )
            party = gr.Dropdown(choices=choices["parties"], value=ALL, label="Partij", elem_id="kb-qa-party", scale=1)
            section = gr.Dropdown(choices=choices["sections"], value=ALL, label="Kop", elem_id="kb-qa-section", scale=2)
        table = gr.HTML("", elem_id="kb-qa-result", js_on_load=None)

        def handle(doc: str, who: str, heading: str) -> str:
            return show_questions(answerer, doc, who, heading)

        def opened(doc: str, who: str, heading: str):
            # Choices follow the index the answerer serves now; the table as filtered.
            fresh = filter_choices(answerer)
            return (
                gr.Dropdown(choices=fresh["documents"]),
                gr.Dropdown(choices=fresh["parties"]),
                gr.Dropdown(choices=fresh["sections"]),
                handle(doc, who, heading),
            )

        filters = [document, party, section]
        # Rendered when the tab is opened and at each filter change, not with every page load.
        tab.select(opened, filters, [*filters, table], api_visibility="private", queue=False)
        for dropdown in filters:
            dropdown.change(handle, filters, table, api_visibility="private", queue=False)
