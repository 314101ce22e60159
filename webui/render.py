"""HTML for chat messages and source cards. Every piece of data is escaped here.

Messages are single-line HTML blocks starting with ``<div``: the chatbot's Markdown renderer then
passes them through untouched (no Markdown inside data), and its sanitizer runs on top.

This module is the one source of the answer's markup: the Gradio chat shows it, and the widget
(webui/static/widget.js) shows the same HTML, which POST /v1/chat/completions sends along when asked
(``html``). The labels come in Dutch (the app) and English (a widget with ``lang="en"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import Literal

from kamerbron.records import Answer, Citation, Passage, QuoteCheck
from kamerbron.text import format_date

Lang = Literal["nl", "en"]
REFUSAL_FALLBACK = "Op deze vraag staat geen antwoord in de gevonden passages."
UNKNOWN_ROLE = "onbekend"  # the parsers' value for a role they could not tell: not worth a label
STATUS_HINT = "Publicatiestatus van het document, zoals de uitgever die vermeldt"
CLOSEST_SHOWN = 3
# A card shows a passage whole below this length, else an excerpt with this much context.
EXCERPT_WHOLE_BELOW = 480
EXCERPT_CONTEXT = 160
EXCERPT_OPENING = 300
SENTENCE_ENDS = (". ", "? ", "! ")
# What a quote check (rag/verify.py) is called on the answer and on a source card; the worst status
# of a card's checks is shown, in this order.
QUOTE_VERIFIED = "letterlijk geverifieerd"
QUOTE_VERIFIED_HINT = "Elk citaat staat woordelijk in de aangehaalde passage"
QUOTE_WARNINGS = {
    "misattributed": "citaat van een andere spreker",
    "unverified": "citaat niet letterlijk in de bron",
    "repaired": "citaat aangepast aan de brontekst",
    "paraphrase": "parafrase, niet letterlijk in de bron",
}
_MARKER = re.compile(r"\[(\d{1,3})\]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Labels:
    """The words a message puts around the data, in one language."""

    sources: str
    others: str
    refused: str
    closest: str
    not_answering: str
    source_link: str
    status_hint: str
    whole_passage: str
    unknown_speaker: str
    verified: str
    verified_hint: str
    quote_warnings: dict[str, str]
    quote_by: str
    thinking: str


LABELS: dict[str, Labels] = {
    "nl": Labels(
        sources="Bronnen",
        others="Overige gevonden passages",
        refused="Geen antwoord gevonden",
        closest="Dichtstbijzijnde passages (niet beantwoordend: ze geven geen antwoord op de vraag)",
        not_answering="niet beantwoordend",
        source_link="Officiële bron",
        status_hint=STATUS_HINT,
        whole_passage="Hele passage",
        unknown_speaker="Onbekende spreker",
        verified=QUOTE_VERIFIED,
        verified_hint=QUOTE_VERIFIED_HINT,
        quote_warnings=QUOTE_WARNINGS,
        quote_by="citaat van {}",
        thinking="Bezig met zoeken in de Kamerstukken…",
    ),
    "en": Labels(
        sources="Sources",
        others="Other passages found",
        refused="No answer found",
        closest="Closest passages (not answering: they do not answer the question)",
        not_answering="not answering",
        source_link="Official source",
        status_hint="The document's publication status, as its publisher states it",
        whole_passage="Whole passage",
        unknown_speaker="Unknown speaker",
        verified="verified verbatim",
        verified_hint="Every quote is word for word in the passage cited",
        quote_warnings={
            "misattributed": "quote by another speaker",
            "unverified": "quote not verbatim in the source",
            "repaired": "quote corrected to the source text",
            "paraphrase": "paraphrase, not verbatim in the source",
        },
        quote_by="quote by {}",
        thinking="Searching the parliamentary papers…",
    ),
}
NL = LABELS["nl"]


def esc(text: object) -> str:
    """Escape text for HTML content and attribute values; newlines become spaces."""
    return escape(_SPACE.sub(" ", str(text or "")).strip(), quote=True)


def md_text(text: object) -> str:
    """Inline text for a Markdown component, shown as typed: HTML escaped, Markdown punctuation backslashed."""
    plain = escape(_SPACE.sub(" ", str(text or "")).strip(), quote=False)
    return re.sub(r"([\\`*_{}\[\]()+\-.!|~])", r"\\\1", plain)


def shown_date(value: str, lang: Lang = "nl") -> str:
    """'2020-05-12' -> '12 mei 2020' (or '12 May 2020'); anything unparsable is returned as it is."""
    return format_date((value or "")[:10], english=lang == "en") or value or ""


def format_date_nl(value: str) -> str:
    """'2020-05-12' -> '12 mei 2020'; anything unparsable is returned as it is."""
    return shown_date(value)


def safe_url(url: str) -> str:
    """The URL if it is http(s), else ''; a javascript: or data: link is never rendered."""
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s\"'<>]+$", url, re.IGNORECASE) else ""


def mark_ranges(text: str, sentences: Iterable[str]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping (start, end) offsets of each sentence found in ``text``.

    Matching ignores differences in whitespace, since passages and sentences may be wrapped differently.
    """
    found: list[tuple[int, int]] = []
    for sentence in sentences:
        words = [re.escape(w) for w in (sentence or "").split()]
        match = re.search(r"\s+".join(words), text) if words else None
        if match:
            found.append(match.span())
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_spans(text: str, sentences: Iterable[str], lo: int = 0, hi: int | None = None) -> list[tuple[str, bool]]:
    """``text[lo:hi]`` as (segment, relied_on) pieces, marking each sentence found in it."""
    text = text or ""
    hi = len(text) if hi is None else hi
    pieces: list[tuple[str, bool]] = []
    cursor = lo
    for start, end in mark_ranges(text, sentences):
        start, end = max(start, lo), min(end, hi)
        if start >= end:
            continue
        if start > cursor:
            pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    if cursor < hi:
        pieces.append((text[cursor:hi], False))
    return pieces


def excerpt_window(text: str, sentences: Iterable[str]) -> tuple[int, int]:
    """The part of a long passage a card shows: the sentences relied on with some context,
    or the opening when none is marked; cut at sentence or else word boundaries."""
    if len(text) <= EXCERPT_WHOLE_BELOW:
        return 0, len(text)
    ranges = mark_ranges(text, sentences)
    if ranges:
        lo, hi = max(0, ranges[0][0] - EXCERPT_CONTEXT), min(len(text), ranges[-1][1] + EXCERPT_CONTEXT)
    else:
        lo, hi = 0, EXCERPT_OPENING
    first, last = (ranges[0][0], ranges[-1][1]) if ranges else (lo, lo)
    if lo > 0:
        # Start at a sentence in the context if there is one, else at a word.
        ends = [i for i in (text.find(end, lo, first) for end in SENTENCE_ENDS) if i >= 0]
        space = text.find(" ", lo, first)
        lo = min(ends) + 2 if ends else (space + 1 if space >= 0 else lo)
    if hi < len(text):
        sentence = max(text.rfind(end, last, hi) for end in SENTENCE_ENDS)
        space = text.rfind(" ", last, hi)
        hi = sentence + 1 if sentence >= 0 else (space if space > 0 else hi)
    return lo, hi


def _pieces_html(pieces: list[tuple[str, bool]]) -> str:
    # Escape without stripping, to keep the spaces around a highlight.
    return "".join(
        f"<mark>{escape(_SPACE.sub(' ', segment), quote=True)}</mark>"
        if marked
        else escape(_SPACE.sub(" ", segment), quote=True)
        for segment, marked in pieces
    ).strip()


def passage_html(text: str, sentences: Iterable[str] = (), *, lang: Lang = "nl") -> str:
    """The passage, shortened around the sentences relied on; the whole of it behind a details element."""
    text, sentences = text or "", list(sentences)
    lo, hi = excerpt_window(text, sentences)
    body = _pieces_html(highlight_spans(text, sentences, lo, hi))
    if lo == 0 and hi == len(text):
        return f'<div class="kb-passage">{body}</div>'
    excerpt = ("… " if lo > 0 else "") + body + (" …" if hi < len(text) else "")
    whole = _pieces_html(highlight_spans(text, sentences))
    return (
        f'<div class="kb-passage">{excerpt}</div>'
        f'<details class="kb-full"><summary>{esc(LABELS[lang].whole_passage)}</summary>'
        f'<div class="kb-passage">{whole}</div></details>'
    )


def answer_text_html(text: str) -> str:
    """Answer text as paragraphs, with [n] markers styled as references."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    html_parts = []
    for paragraph in paragraphs:
        body = _MARKER.sub(r'<span class="kb-ref">[\1]</span>', esc(paragraph))
        html_parts.append(f"<p>{body}</p>")
    return "".join(html_parts)


def _who(speaker: str, party: str, role: str, labels: Labels) -> str:
    parts = [f'<span class="kb-speaker">{esc(speaker) or esc(labels.unknown_speaker)}</span>']
    if party:
        parts.append(f'<span class="kb-party">{esc(party)}</span>')
    if role and role != UNKNOWN_ROLE:
        parts.append(f'<span class="kb-role">{esc(role)}</span>')
    return " ".join(parts)


def doc_line(title: str, date_value: str, url: str, status: str = "", *, lang: Lang = "nl") -> str:
    """A source card's document line: title, date (unless the title ends in it), status and official link."""
    labels = LABELS[lang]
    parts = []
    if title:
        parts.append(f'<span class="kb-doc-title">{esc(title)}</span>')
    date_text = shown_date(date_value, lang) if date_value else ""
    # titles of debate reports already end in the meeting date ("gehouden op 27 september 2018")
    if date_text and date_text not in title and shown_date(date_value) not in title:
        parts.append(f'<span class="kb-date">{esc(date_text)}</span>')
    if status:
        # Whoever cites the passage must see that it is e.g. an uncorrected report.
        parts.append(f'<span class="kb-status" title="{esc(labels.status_hint)}">{esc(status)}</span>')
    link = safe_url(url)
    if link:
        parts.append(
            f'<a class="kb-link" href="{escape(link, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">{esc(labels.source_link)}</a>'
        )
    return f'<div class="kb-card-doc">{" · ".join(parts)}</div>'


def _quote_kind(check: QuoteCheck) -> str:
    """The check's warning kind: its status, with an unverified cited sentence called a paraphrase."""
    return "paraphrase" if check.kind == "sentence" and check.status == "unverified" else check.status


def _verified(tag: str, classes: str, labels: Labels) -> str:
    return f'<{tag} class="{classes}" title="{esc(labels.verified_hint)}">✓ {esc(labels.verified)}</{tag}>'


def quote_mark(checks: Iterable[QuoteCheck], *, lang: Lang = "nl") -> str:
    """A source card's mark: 'letterlijk geverifieerd' when every check of it verified, else a warning
    naming the worst (who did say it, for a misattribution); '' without checks."""
    checks, labels = list(checks), LABELS[lang]
    if not checks:
        return ""
    kinds = {_quote_kind(c) for c in checks}
    if kinds == {"verified"}:
        return _verified("span", "kb-verified", labels)
    worst = next(kind for kind in QUOTE_WARNINGS if kind in kinds)
    label = labels.quote_warnings[worst]
    if worst == "misattributed":
        speakers = list(
            dict.fromkeys(c.actual_speaker for c in checks if c.status == "misattributed" and c.actual_speaker)
        )
        label = labels.quote_by.format(", ".join(speakers)) if speakers else label
    return f'<span class="kb-quote-warning kb-quote-{worst}">⚠ {esc(label)}</span>'


def quotes_html(checks: Iterable[QuoteCheck], *, lang: Lang = "nl") -> str:
    """The answer's quote line: 'letterlijk geverifieerd' when every check verified, else each kind of
    problem with its count (and how many did verify); '' without checks."""
    checks, labels = list(checks), LABELS[lang]
    if not checks:
        return ""
    counts: dict[str, int] = {}
    for check in checks:
        counts[_quote_kind(check)] = counts.get(_quote_kind(check), 0) + 1
    if set(counts) == {"verified"}:
        return _verified("div", "kb-quotes kb-verified", labels)
    parts = [f"{counts[kind]}× {labels.quote_warnings[kind]}" for kind in QUOTE_WARNINGS if kind in counts]
    if counts.get("verified"):
        parts.append(f"{counts['verified']}× {labels.verified}")
    return f'<div class="kb-quotes kb-quote-warning">⚠ {esc(" · ".join(parts))}</div>'


def citation_card(citation: Citation, checks: Iterable[QuoteCheck] = (), *, lang: Lang = "nl") -> str:
    """The source card of one cited passage, with the sentence(s) relied on in <mark> and, given the
    answer's quote checks of this citation, whether its quotes are verbatim."""
    mark = quote_mark(checks, lang=lang)
    return (
        f'<div class="kb-card">'
        f'<div class="kb-card-head"><span class="kb-card-n">[{int(citation.n)}]</span> '
        f"{_who(citation.speaker, citation.party, citation.role, LABELS[lang])}{' ' + mark if mark else ''}</div>"
        f"{doc_line(citation.doc_title, citation.date, citation.url, citation.status, lang=lang)}"
        f"{passage_html(citation.text, citation.sentences, lang=lang)}"
        f"</div>"
    )


def passage_card(passage: Passage, *, badge: str = "", lang: Lang = "nl") -> str:
    """The card of a retrieved passage that the answer does not cite."""
    badge_html = f' <span class="kb-badge">{esc(badge)}</span>' if badge else ""
    return (
        f'<div class="kb-card kb-card-other">'
        f'<div class="kb-card-head">{_who(passage.speaker, passage.party, passage.role, LABELS[lang])}{badge_html}</div>'
        f"{doc_line(passage.doc_title, passage.date, passage.url, passage.status, lang=lang)}"
        f"{passage_html(passage.text, lang=lang)}"
        f"</div>"
    )


def _others(passages: list[Passage], lang: Lang, badge: str = "") -> str:
    if not passages:
        return ""
    cards = "".join(passage_card(p, badge=badge, lang=lang) for p in passages)
    summary = f"{LABELS[lang].others} ({len(passages)})"
    return f'<details class="kb-other"><summary>{esc(summary)}</summary>{cards}</details>'


def answer_html(answer: Answer, *, lang: Lang = "nl") -> str:
    """The whole assistant message: notice, answer, cited sources, and the rest on request."""
    labels = LABELS[lang]
    parts = []
    if answer.notice:
        parts.append(f'<div class="kb-notice">{esc(answer.notice)}</div>')
    if answer.refused:
        parts.append(f'<div class="kb-refusal-label">{esc(labels.refused)}</div>')
        parts.append(f'<div class="kb-answer">{answer_text_html(answer.answer or REFUSAL_FALLBACK)}</div>')
        closest = answer.retrieved[:CLOSEST_SHOWN]
        if closest:
            parts.append(f'<div class="kb-sources-title">{esc(labels.closest)}</div>')
            parts.extend(passage_card(p, badge=labels.not_answering, lang=lang) for p in closest)
        parts.append(_others(answer.retrieved[CLOSEST_SHOWN:], lang, badge=labels.not_answering))
        return f'<div class="kb-msg kb-refused">{"".join(parts)}</div>'
    parts.append(f'<div class="kb-answer">{answer_text_html(answer.answer)}</div>')
    parts.append(quotes_html(answer.quotes, lang=lang))
    if answer.citations:
        parts.append(f'<div class="kb-sources-title">{esc(labels.sources)}</div>')
        parts.extend(
            citation_card(c, [q for q in answer.quotes if q.n == c.n], lang=lang)
            for c in sorted(answer.citations, key=lambda c: c.n)
        )
    cited = {c.chunk_id for c in answer.citations}
    parts.append(_others([p for p in answer.retrieved if p.chunk_id not in cited], lang))
    return f'<div class="kb-msg">{"".join(parts)}</div>'


def streaming_html(text: str) -> str:
    body = answer_text_html(text) or f"<p>{esc(NL.thinking)}</p>"
    return f'<div class="kb-msg"><div class="kb-answer kb-streaming">{body}</div></div>'


def question_html(question: str) -> str:
    return f'<div class="kb-question">{esc(question)}</div>'


def error_html(message: str) -> str:
    return f'<div class="kb-msg kb-error"><p>{esc(message)}</p></div>'
