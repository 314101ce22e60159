"""HTML for chat messages and source cards. Every piece of data is escaped here.

Messages are single-line HTML blocks starting with ``<div``: the chatbot's Markdown renderer then
passes them through untouched (no Markdown inside data), and its sanitizer runs on top.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from html import escape

from kamerbron.records import Answer, Citation, Passage, QuoteCheck

MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
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


def esc(text: object) -> str:
    """Escape text for HTML content and attribute values; newlines become spaces."""
    return escape(_SPACE.sub(" ", str(text or "")).strip(), quote=True)


def md_text(text: object) -> str:
    """Inline text for a Markdown component, shown as typed: HTML escaped, Markdown punctuation backslashed."""
    plain = escape(_SPACE.sub(" ", str(text or "")).strip(), quote=False)
    return re.sub(r"([\\`*_{}\[\]()+\-.!|~])", r"\\\1", plain)


def format_date_nl(value: str) -> str:
    """'2020-05-12' -> '12 mei 2020'; anything unparsable is returned as it is."""
    try:
        day = date.fromisoformat(value[:10])
    except (TypeError, ValueError):
        return value or ""
    return f"{day.day} {MONTHS_NL[day.month - 1]} {day.year}"


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


def passage_html(text: str, sentences: Iterable[str] = ()) -> str:
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
        f'<details class="kb-full"><summary>Hele passage</summary><div class="kb-passage">{whole}</div></details>'
    )


def answer_text_html(text: str) -> str:
    """Answer text as paragraphs, with [n] markers styled as references."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    html_parts = []
    for paragraph in paragraphs:
        body = _MARKER.sub(r'<span class="kb-ref">[\1]</span>', esc(paragraph))
        html_parts.append(f"<p>{body}</p>")
    return "".join(html_parts)


def _who(speaker: str, party: str, role: str) -> str:
    parts = [f'<span class="kb-speaker">{esc(speaker) or "Onbekende spreker"}</span>']
    if party:
        parts.append(f'<span class="kb-party">{esc(party)}</span>')
    if role and role != UNKNOWN_ROLE:
        parts.append(f'<span class="kb-role">{esc(role)}</span>')
    return " ".join(parts)


def _doc_line(title: str, date_value: str, url: str, status: str = "") -> str:
    parts = []
    if title:
        parts.append(f'<span class="kb-doc-title">{esc(title)}</span>')
    shown_date = format_date_nl(date_value) if date_value else ""
    # titles of debate reports already end in the meeting date ("gehouden op 27 september 2018")
    if shown_date and shown_date not in title:
        parts.append(f'<span class="kb-date">{esc(shown_date)}</span>')
    if status:
        # Whoever cites the passage must see that it is e.g. an uncorrected report.
        parts.append(f'<span class="kb-status" title="{esc(STATUS_HINT)}">{esc(status)}</span>')
    link = safe_url(url)
    if link:
        parts.append(
            f'<a class="kb-link" href="{escape(link, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer">Officiële bron</a>'
        )
    return f'<div class="kb-card-doc">{" · ".join(parts)}</div>'


def _quote_kind(check: QuoteCheck) -> str:
    """The check's warning kind: its status, with an unverified cited sentence called a paraphrase."""
    return "paraphrase" if check.kind == "sentence" and check.status == "unverified" else check.status


def quote_mark(checks: Iterable[QuoteCheck]) -> str:
    """A source card's mark: 'letterlijk geverifieerd' when every check of it verified, else a warning
    naming the worst (who did say it, for a misattribution); '' without checks."""
    checks = list(checks)
    if not checks:
        return ""
    kinds = {_quote_kind(c) for c in checks}
    if kinds == {"verified"}:
        return f'<span class="kb-verified" title="{esc(QUOTE_VERIFIED_HINT)}">✓ {esc(QUOTE_VERIFIED)}</span>'
    worst = next(kind for kind in QUOTE_WARNINGS if kind in kinds)
    label = QUOTE_WARNINGS[worst]
    if worst == "misattributed":
        speakers = list(
            dict.fromkeys(c.actual_speaker for c in checks if c.status == "misattributed" and c.actual_speaker)
        )
        label = f"citaat van {', '.join(speakers)}" if speakers else label
    return f'<span class="kb-quote-warning kb-quote-{worst}">⚠ {esc(label)}</span>'


def quotes_html(checks: Iterable[QuoteCheck]) -> str:
    """The answer's quote line: 'letterlijk geverifieerd' when every check verified, else each kind of
    problem with its count (and how many did verify); '' without checks."""
    checks = list(checks)
    if not checks:
        return ""
    counts: dict[str, int] = {}
    for check in checks:
        counts[_quote_kind(check)] = counts.get(_quote_kind(check), 0) + 1
    if set(counts) == {"verified"}:
        return f'<div class="kb-quotes kb-verified" title="{esc(QUOTE_VERIFIED_HINT)}">✓ {esc(QUOTE_VERIFIED)}</div>'
    parts = [f"{counts[kind]}× {QUOTE_WARNINGS[kind]}" for kind in QUOTE_WARNINGS if kind in counts]
    if counts.get("verified"):
        parts.append(f"{counts['verified']}× {QUOTE_VERIFIED}")
    return f'<div class="kb-quotes kb-quote-warning">⚠ {esc(" · ".join(parts))}</div>'


def citation_card(citation: Citation, checks: Iterable[QuoteCheck] = ()) -> str:
    """The source card of one cited passage, with the sentence(s) relied on in <mark> and, given the
    answer's quote checks of this citation, whether its quotes are verbatim."""
    mark = quote_mark(checks)
    return (
        f'<div class="kb-card">'
        f'<div class="kb-card-head"><span class="kb-card-n">[{int(citation.n)}]</span> '
        f"{_who(citation.speaker, citation.party, citation.role)}{' ' + mark if mark else ''}</div>"
        f"{_doc_line(citation.doc_title, citation.date, citation.url, citation.status)}"
        f"{passage_html(citation.text, citation.sentences)}"
        f"</div>"
    )


def passage_card(passage: Passage, *, badge: str = "") -> str:
    """The card of a retrieved passage that the answer does not cite."""
    badge_html = f' <span class="kb-badge">{esc(badge)}</span>' if badge else ""
    return (
        f'<div class="kb-card kb-card-other">'
        f'<div class="kb-card-head">{_who(passage.speaker, passage.party, passage.role)}{badge_html}</div>'
        f"{_doc_line(passage.doc_title, passage.date, passage.url, passage.status)}"
        f"{passage_html(passage.text)}"
        f"</div>"
    )


def _others(passages: list[Passage], summary: str, badge: str = "") -> str:
    if not passages:
        return ""
    cards = "".join(passage_card(p, badge=badge) for p in passages)
    return f'<details class="kb-other"><summary>{esc(summary)} ({len(passages)})</summary>{cards}</details>'


def answer_html(answer: Answer) -> str:
    """The whole assistant message: notice, answer, cited sources, and the rest on request."""
    parts = []
    if answer.notice:
        parts.append(f'<div class="kb-notice">{esc(answer.notice)}</div>')
    if answer.refused:
        parts.append('<div class="kb-refusal-label">Geen antwoord gevonden</div>')
        parts.append(f'<div class="kb-answer">{answer_text_html(answer.answer or REFUSAL_FALLBACK)}</div>')
        closest = answer.retrieved[:CLOSEST_SHOWN]
        if closest:
            parts.append(
                '<div class="kb-sources-title">Dichtstbijzijnde passages '
                "(niet beantwoordend: ze geven geen antwoord op de vraag)</div>"
            )
            parts.extend(passage_card(p, badge="niet beantwoordend") for p in closest)
        parts.append(_others(answer.retrieved[CLOSEST_SHOWN:], "Overige gevonden passages", badge="niet beantwoordend"))
        return f'<div class="kb-msg kb-refused">{"".join(parts)}</div>'
    parts.append(f'<div class="kb-answer">{answer_text_html(answer.answer)}</div>')
    parts.append(quotes_html(answer.quotes))
    if answer.citations:
        parts.append('<div class="kb-sources-title">Bronnen</div>')
        parts.extend(
            citation_card(c, [q for q in answer.quotes if q.n == c.n])
            for c in sorted(answer.citations, key=lambda c: c.n)
        )
    cited = {c.chunk_id for c in answer.citations}
    parts.append(_others([p for p in answer.retrieved if p.chunk_id not in cited], "Overige gevonden passages"))
    return f'<div class="kb-msg">{"".join(parts)}</div>'


def streaming_html(text: str) -> str:
    body = answer_text_html(text) or "<p>Bezig met zoeken in de Kamerstukken…</p>"
    return f'<div class="kb-msg"><div class="kb-answer kb-streaming">{body}</div></div>'


def question_html(question: str) -> str:
    return f'<div class="kb-question">{esc(question)}</div>'


def error_html(message: str) -> str:
    return f'<div class="kb-msg kb-error"><p>{esc(message)}</p></div>'
