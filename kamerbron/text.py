"""Dutch (and some English) text knowledge that every stage shares, written down once.

- ``split_sentences``: the one sentence splitter (passages, answers with citation markers);
- ``STOPWORDS``: Dutch and English function words;
- month names and ``parse_dutch_date`` / ``format_date``;
- ``is_english``: is a question written in English?
- party names (``PARTIES``, ``find_parties``) and the government roles.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN_PLUS

# ---------------------------------------------------------------- sentences

# Abbreviations common in Kamerstukken, without their final full stop. Matched against the whole
# last word before a full stop, so "boodschap." never counts as the abbreviation "p.".
ABBREVIATIONS = frozenset(
    "a.s art bijv blz bv c.s ca d.d d.w.z dhr dr drs e.a e.d enz etc excl i.c i.v.m incl ir jhr jl jo m.b.t "
    "max min mr mevr mw n.a.v nr o.a p prof resp st t.a.v t.o.v vgl vs z.g zgn e.g i.e mrs".split()
)
# A sentence ends at . ! ? or … (with closing quotes or brackets), optionally followed by citation
# markers such as "[1]" or "[doc:3:0]" that belong to the sentence before them.
_SENTENCE_END = re.compile(r"[.!?…]+['\"”’)]*(?P<markers>(?:\s*\[[^\[\]\n]{1,400}\])*)(?=\s|$)")


def _is_abbreviation(word: str) -> bool:
    word = word.strip("(\"'“‘").lower()
    return (len(word) == 1 and word.isalpha()) or word in ABBREVIATIONS


def _starts_sentence(text: str) -> bool:
    first = text[0]
    return first.isupper() or first.isdigit() or first in "\"'“‘«([-–•*"


def _split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        end = match.end()
        before = paragraph[start : match.start()]
        last_word = before.rsplit(None, 1)[-1] if before.strip() else ""
        next_text = paragraph[end:].lstrip()
        if not next_text or _is_abbreviation(last_word) or not _starts_sentence(next_text):
            continue
        sentences.append(paragraph[start:end].strip())
        start = end
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


# Every question splits its retrieved passages again, and the same passages recur across questions:
# the splits of the most recent passage-sized texts are kept (about 1 ms of each answer's 8 ms
# composition; at most some 12 MiB).
_CACHED_TEXT_CHARS = 4_000


def split_sentences(text: str, *, keep_lines: bool = False) -> list[str]:
    """Split text into sentences.

    Blank lines always end a sentence; with ``keep_lines`` every line break does (answers, whose
    lines are list items). Whitespace inside a sentence is collapsed to single spaces.
    """
    if len(text) > _CACHED_TEXT_CHARS:
        return list(_split(text, keep_lines))
    return list(_cached_split(text, keep_lines))


def _split(text: str, keep_lines: bool) -> tuple[str, ...]:
    blocks = text.splitlines() if keep_lines else re.split(r"\n\s*\n", text)
    sentences: list[str] = []
    for block in blocks:
        block = " ".join(block.split())
        if block:
            sentences.extend(_split_paragraph(block))
    return tuple(sentences)


_cached_split = lru_cache(maxsize=4096)(_split)


# ---------------------------------------------------------------- words

# bm25s's Dutch and English lists, plus Dutch function words they lack.
STOPWORDS = (
    frozenset(STOPWORDS_DUTCH)
    | frozenset(STOPWORDS_EN_PLUS)
    | frozenset("alle alleen daarbij hierover hiervan toe waar wel welke wij zoals".split())
)

_WORD = re.compile(r"[a-zà-ÿ']+")
# Question words and function words that tell English from Dutch; only words that are not also
# common Dutch words ("is", "of" and "die" are both).
_ENGLISH_MARKERS = frozenset(
    "what which who whom whose how why when where did does do the about say said says think thinks were was "
    "answer answered minister's government's state secretary propose proposed ask asked and any there their "
    "they this that these those between parties party differ position positions should would could".split()
)
_DUTCH_MARKERS = frozenset(
    "wat welke wie hoe waarom wanneer waar over de het zei vond en denkt van zijn heeft hebben een voor met "
    "niet dat deze dit die naar bij ook er werd worden staatssecretaris antwoordde vroeg stelde".split()
)


def is_english(text: str) -> bool:
    """True when ``text`` reads as English rather than Dutch (counted on marker words)."""
    words = _WORD.findall(text.lower())
    english = sum(w in _ENGLISH_MARKERS for w in words)
    dutch = sum(w in _DUTCH_MARKERS for w in words)
    return english > dutch


# ---------------------------------------------------------------- dates

MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
MONTH_NUMBER = {name: i for i, name in enumerate(MONTHS_NL, start=1)}
DUTCH_DATE_RE = r"(\d{1,2})\s+(" + "|".join(MONTHS_NL) + r")\s+(\d{4})"
# A year of the documents' era, as a whole word ("2016", not "20161").
YEAR_RE = re.compile(r"\b(?:19|20)\d{2}\b")


def iso_date(day: str | int, month: str, year: str | int) -> str:
    """'27', 'september', '2018' -> '2018-09-27' (month name in Dutch, any case)."""
    return f"{int(year):04d}-{MONTH_NUMBER[month.lower()]:02d}-{int(day):02d}"


def parse_iso_date(value: str) -> dt.date | None:
    """The date of an ISO 'YYYY-MM-DD' string, or None when it is empty or not a real date."""
    try:
        return dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or "") else None
    except ValueError:
        return None


def format_date(iso: str, english: bool = False) -> str:
    """'2018-09-27' -> '27 september 2018' (or '27 September 2018'); '' when not a date."""
    day = parse_iso_date(iso)
    if day is None:
        return ""
    return f"{day.day} {(MONTHS_EN if english else MONTHS_NL)[day.month - 1]} {day.year}"


# ---------------------------------------------------------------- parties and roles

PARTIES = (
    "GroenLinks-PvdA", "GroenLinks", "PvdA", "VVD", "PVV", "CDA", "D66", "SP", "ChristenUnie", "SGP",
    "PvdD", "50PLUS", "DENK", "FvD", "JA21", "Volt", "BBB", "NSC",
)  # fmt: skip
# 'DENK' and 'Volt' are also ordinary words ("denk", "volt"), so only their printed spelling counts.
CASE_SENSITIVE_PARTIES = frozenset({"DENK", "Volt"})
PARTY_BY_LOWER = {p.lower(): p for p in PARTIES}
PARTY_ALTERNATION = "|".join(re.escape(p) for p in sorted(PARTIES, key=len, reverse=True))
PARTY_RE = re.compile(
    rf"(?:\b(?:de|het|the)\s+)?(?<![\w-])(?P<name>{PARTY_ALTERNATION})(?:-?fractie)?(?![\w-])", re.IGNORECASE
)
# Roles whose turns speak for the government.
GOVERNMENT_ROLES = frozenset({"minister", "staatssecretaris", "regering"})
# A question that names the government ("de minister", "het kabinet", "the state secretary").
GOVERNMENT_RE = re.compile(
    r"\b(?:minister\w*|staatssecretaris\w*|bewindsperso\w*|kabinet\w*|regering\w*|government|cabinet|state\s+secretary)\b",
    re.I,
)
# A question that asks who: "wie", "welk Kamerlid", "welke partij", "who", "which party".
WHO_QUESTION_RE = re.compile(
    r"^\s*(?:en\s+)?(?:wie\b|welk(?:e)?\s+(?:kamerlid|kamerleden|partij|partijen|fractie|fracties|woordvoerder|lid)\b"
    r"|door wie\b|who\b|which\s+(?:member|members|mp|mps|party|parties|politician)\b|by whom\b)",
    re.I,
)


def find_parties(text: str) -> list[str]:
    """Party names mentioned in ``text``, canonical spelling, in order of mention."""
    found = []
    for match in PARTY_RE.finditer(text):
        name = match.group("name")
        canonical = PARTY_BY_LOWER[name.lower()]
        if canonical in CASE_SENSITIVE_PARTIES and name != canonical:
            continue
        found.append(canonical)
    return list(dict.fromkeys(found))
