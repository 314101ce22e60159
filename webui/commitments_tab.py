"""The 'Toezeggingen' tab: the commitments the chairs read out at the end of the debates, filtered by
who, debate, period and status, each with its official source and, where a later government document
clearly delivers it, 'mogelijk ingelost door …' with the passage and the reason.

Handlers and HTML are plain functions (tests call them directly); ``commitments_tab`` only lays them out.
Every piece of data in the HTML is escaped (webui.render).
"""

from __future__ import annotations

import logging

import gradio as gr

from kamerbron.errors import KamerbronError
from kamerbron.records import Commitment
from kamerbron.settings import Settings
from rag.commitments import (
    STATUS_FULFILLED,
    STATUS_OPEN,
    CommitmentFilter,
    filter_commitments,
    load_commitments,
    who_label,
)
from webui import render

log = logging.getLogger(__name__)

ALL = ""  # the filters' "no filter" value
UNEXPECTED = "Er ging iets mis bij het tonen van de toezeggingen. Probeer het opnieuw."
INTRO = (
    "De toezeggingen die de voorzitter aan het eind van een commissiedebat voorlas. *Mogelijk ingelost* staat "
    "er alleen bij als een later stuk van de regering aantoonbaar levert wat is toegezegd; de passage en de reden "
    "staan er dan bij."
)
STATUS_CHOICES = [("Alle", ALL), ("Open", STATUS_OPEN), ("Mogelijk ingelost", STATUS_FULFILLED)]
# Inline, so the tab needs nothing from the app's stylesheet beyond the source cards' classes.
_FULFILLED_STYLE = "background:#e6f4ea;color:#1e6b34"
_OPEN_STYLE = "background:#eef2f7;color:#374151"


def app_commitments(answerer: object, settings: Settings) -> list[Commitment]:
    """The commitments for the app: of the index the answerer serves, or of the corpus without one."""
    index = getattr(getattr(answerer, "retriever", None), "index", None)
    return load_commitments(settings, index)


def commitment_card(c: Commitment) -> str:
    """One commitment: who, the text as read out, term and reservation, the debate with its official
    source, and what may have fulfilled it."""
    fulfilled = bool(c.fulfilled_by)
    badge = (
        f'<span class="kb-badge kb-commitment-fulfilled" style="{_FULFILLED_STYLE}">mogelijk ingelost</span>'
        if fulfilled
        else f'<span class="kb-badge kb-commitment-open" style="{_OPEN_STYLE}">open</span>'
    )
    terms = " · ".join(
        f"<strong>{label}:</strong> {render.esc(value)}"
        for label, value in (("Termijn", c.deadline), ("Voorbehoud", c.qualification))
        if value
    )
    parts = [
        f'<div class="kb-card kb-commitment" data-chunk="{render.esc(c.chunk_id)}" data-doc="{render.esc(c.doc_id)}">',
        f'<div class="kb-card-head"><span class="kb-speaker">{render.esc(who_label(c))}</span> {badge}</div>',
        f'<div class="kb-passage">{render.esc(c.text)}</div>',
        f'<div class="kb-card-doc kb-commitment-terms">{terms}</div>' if terms else "",
        render.doc_line(c.doc_title or c.doc_id, c.date, c.url),
    ]
    if fulfilled and c.evidence is not None:
        parts.append(
            '<div class="kb-commitment-evidence">'
            f"<div><strong>Mogelijk ingelost door</strong> {render.esc(c.fulfilled_reason or c.fulfilled_by)}</div>"
            f"{render.citation_card(c.evidence)}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def commitments_html(shown: list[Commitment], total: int) -> str:
    """The list: how many of how many, then one card each; a line saying so when none passes the filters."""
    if not total:
        return '<div class="kb-commitments-count">Er staan geen toezeggingen in de verslagen van deze stukken.</div>'
    count = f'<div class="kb-commitments-count">{len(shown)} van {total} toezeggingen</div>'
    if not shown:
        return count + "<p>Geen toezeggingen die aan deze filters voldoen.</p>"
    return count + "".join(commitment_card(c) for c in shown)


def show_commitments(
    answerer: object,
    settings: Settings,
    who: str | None = ALL,
    debate: str | None = ALL,
    date_from: str | None = "",
    date_to: str | None = "",
    status: str | None = ALL,
) -> str:
    """The tab's list for the filters as chosen; a Dutch message instead for a bad date or a failure."""
    try:
        flt = CommitmentFilter.parse(
            who=who, doc_ids=[debate] if debate else [], date_from=date_from, date_to=date_to, status=status
        )
        found = app_commitments(answerer, settings)
    except KamerbronError as error:
        return render.error_html(str(error))
    except Exception:
        log.exception("the commitments tab failed")
        return render.error_html(UNEXPECTED)
    return commitments_html(filter_commitments(found, flt), len(found))


def filter_choices(commitments: list[Commitment]) -> dict[str, list[tuple[str, str]]]:
    """The who and debate filters' choices (label, value), each starting with 'all'."""
    people = {(who_label(c), c.who or c.role): None for c in commitments if c.who or c.role}
    debates = {}
    for c in commitments:
        title = c.doc_title or c.doc_id
        date = render.format_date_nl(c.date) if c.date else ""
        debates.setdefault(c.doc_id, f"{title} ({date})" if date and date not in title else title)
    return {
        "who": [("Iedereen", ALL), *sorted(people, key=lambda p: p[0].lower())],
        "debates": [("Alle debatten", ALL), *((label, doc_id) for doc_id, label in debates.items())],
    }


def commitments_tab(answerer: object, settings: Settings) -> None:
    """The 'Toezeggingen' tab, laid out inside build_app's ``gr.Tabs()``."""
    with gr.Tab("Toezeggingen", id="toezeggingen") as tab:
        gr.Markdown(INTRO)
        with gr.Row():
            who = gr.Dropdown(choices=[("Iedereen", ALL)], value=ALL, label="Wie", elem_id="kb-c-who", scale=2)
            debate = gr.Dropdown(
                choices=[("Alle debatten", ALL)], value=ALL, label="Debat", elem_id="kb-c-debate", scale=3
            )
            date_from = gr.Textbox(label="Periode vanaf", placeholder="JJJJ-MM-DD", elem_id="kb-c-from", scale=1)
            date_to = gr.Textbox(label="Periode tot en met", placeholder="JJJJ-MM-DD", elem_id="kb-c-to", scale=1)
        status = gr.Radio(STATUS_CHOICES, value=ALL, label="Status", elem_id="kb-c-status")
        listing = gr.HTML("", elem_id="kb-commitments", js_on_load=None)

    def handle(*values: str) -> str:
        return show_commitments(answerer, settings, *values)

    def opened(*values: str):
        # Choices follow the index the answerer serves now; the list as filtered.
        try:
            choices = filter_choices(app_commitments(answerer, settings))
        except Exception:
            log.exception("the commitments tab could not read its filters' choices")
            choices = filter_choices([])
        return gr.Dropdown(choices=choices["who"]), gr.Dropdown(choices=choices["debates"]), handle(*values)

    filters = [who, debate, date_from, date_to, status]
    # Rendered when the tab is opened and at each filter change, not with every page load.
    tab.select(opened, filters, [who, debate, listing], api_visibility="private", queue=False)
    for component in (who, debate, status):
        component.change(handle, filters, listing, api_visibility="private", queue=False)
    for box in (date_from, date_to):
        box.submit(handle, filters, listing, api_visibility="private", queue=False)
        box.blur(handle, filters, listing, api_visibility="private", queue=False)
