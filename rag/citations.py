"""Citation post-processing of LLM output: chunk-id markers become numbered citations.

The LLM sees passages labelled with their chunk ids (``{doc_id}:{turn_index}:{part}``) and cites
them in square brackets, e.g. ``[002_d05e322e15ff4b92:14:0]`` or ``[id1; id2]``. That is the one
scheme: the prompt shows no passage numbers, so a plain-number marker such as ``[1]`` is
malformed and dropped, as is any id that was not retrieved. Valid ids become ``[1]``, ``[2]``, ...
in order of first use. Brackets that hold no id-like token (``[sic]``, ``[...]``, ``[2017]``) are
ordinary text and left alone.

Reasoning models think aloud first (``<think>…</think>``, ``<reasoning>…</reasoning>``): that is
removed before anything is shown or checked, while streaming too (``strip_reasoning``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, Field

from kamerbron.records import Citation, Passage
from kamerbron.text import STOPWORDS, split_sentences
from rag.prompts import REFUSAL_SENTENCES

# The doc-id part must hold a letter or underscore, so a time such as 10:02:33 is never an id.
_ID = r"(?=[\w.\-]*[A-Za-z_])[A-Za-z0-9][\w.\-]*:\d+:\d+"
_ID_LIKE = re.compile(r"[\w.\-]*[A-Za-z_][\w.\-]*:\d+(?::\d*)?|\d{1,3}")
# A bracketed marker, a parenthesised one, or a bare id; one pass keeps numbering in reading order.
_CITATION = re.compile(
    rf"(?P<pre>[ \t]*)(?:\[(?P<square>[^\[\]\n]{{1,400}})\]|\((?P<round>[^()\[\]\n]{{1,400}})\)"
    rf"|(?<![\w.\-:\[])(?P<bare>{_ID})(?![\w\-:]))"
)
_TOKEN_SPLIT = re.compile(r"[,;]|\s+")
_TOKEN_STRIP = "`'\"“”‘’*"
_NUMBER_MARKER = re.compile(r"\[(\d+)\]")
_MARKER_RUN = re.compile(r"\[\d+\](?:[ \t]*\[\d+\])+")
_UNCLOSED_TAIL = re.compile(r"[ \t]*[\[(](?P<body>[^\[\]()\n]{0,400})$")
_ID_PREFIX = re.compile(r"[\w.\-]*_[\w.\-:]*")
_MARKER_CHARS = re.compile(r"[\w.:,;\s`'\"\-]*")
_PARTIAL_WORD_TAIL = re.compile(r"[\w.\-:]+$")
REASONING_TAGS = ("think", "thinking", "reasoning", "reflection")
_TAG_NAMES = "|".join(REASONING_TAGS)
_REASONING_BLOCK = re.compile(rf"<\s*({_TAG_NAMES})\b[^<>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_REASONING_OPEN = re.compile(rf"<\s*(?:{_TAG_NAMES})\b[^<>]*>", re.IGNORECASE)
_REASONING_CLOSE = re.compile(rf"<\s*/\s*(?:{_TAG_NAMES})\s*>", re.IGNORECASE)
_PARTIAL_TAG = re.compile(r"<\s*/?\s*([a-z]*)$", re.IGNORECASE)


class ResolvedAnswer(BaseModel):
    """LLM output after citation post-processing."""

    text: str = Field(description="Answer text with [n] markers numbered in order of first use.")
    citations: list[Citation] = Field(default_factory=list)
    dropped_ids: list[str] = Field(
        default_factory=list,
        description="Cited tokens that are not a retrieved chunk id (never retrieved, malformed or plain "
        "numbers); removed from the text.",
    )
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="Answer sentences without a valid citation, refusal sentence excluded."
    )
    refused: bool = Field(False, description="The model refused and cited nothing; text is the refusal sentence.")
    raw: str = Field("", description="The model output as received.")


def strip_reasoning(text: str, *, final: bool = True) -> str:
    """``text`` without a reasoning model's thinking: every ``<think>…</think>`` block (or
    ``<thinking>``, ``<reasoning>``, ``<reflection>``), everything before a closing tag whose opening
    tag the server dropped, and an unclosed block to the end. While streaming (``final=False``) a tag
    still being written at the end is held back too."""
    text = _REASONING_BLOCK.sub("", text)
    closes = list(_REASONING_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    opening = _REASONING_OPEN.search(text)
    if opening:
        text = text[: opening.start()]
    if not final:
        partial = _PARTIAL_TAG.search(text)
        if partial and any(tag.startswith(partial.group(1).lower()) for tag in REASONING_TAGS):
            text = text[: partial.start()]
    return text


def resolve_citations(raw: str, passages: list[Passage]) -> ResolvedAnswer:
    """Renumber chunk-id markers in ``raw`` (its reasoning removed) against the retrieved ``passages``."""
    by_id = _passages_by_id(passages)
    text, order, dropped = _render(strip_reasoning(raw), by_id.keys(), final=True)
    refusal = _refusal_in(text)
    if not order and (not text or refusal):
        return ResolvedAnswer(text=refusal or REFUSAL_SENTENCES[0], dropped_ids=dropped, refused=True, raw=raw)

    sentences = split_answer_sentences(text)
    citing: dict[int, list[str]] = {n: [] for n in range(1, len(order) + 1)}
    unsupported = []
    for sentence in sentences:
        numbers = {int(m) for m in _NUMBER_MARKER.findall(sentence) if 1 <= int(m) <= len(order)}
        clean = _NUMBER_MARKER.sub("", sentence).strip()
        for n in numbers:
            citing[n].append(clean)
        if not numbers and clean and not _refusal_in(clean):
            unsupported.append(clean)

    citations = [_citation(n, by_id[chunk_id], citing[n]) for n, chunk_id in enumerate(order, start=1)]
    return ResolvedAnswer(
        text=text, citations=citations, dropped_ids=dropped, unsupported_sentences=unsupported, raw=raw
    )


class StreamingCitationRenderer:
    """Turns streamed raw deltas into display text, numbering markers as resolve_citations will.

    A marker cut in half by a delta boundary is held back until it is complete, so the display
    never shows a raw chunk id.
    """

    def __init__(self, passages: list[Passage]) -> None:
        self._ids = frozenset(_passages_by_id(passages))
        self._raw = ""
        self.text = ""

    @property
    def raw(self) -> str:
        return self._raw

    def feed(self, delta: str) -> str:
        """Add one delta; return the display text so far."""
        self._raw += delta
        self.text, _, _ = _render(_safe_prefix(strip_reasoning(self._raw, final=False)), self._ids, final=False)
        return self.text

    def finish(self) -> str:
        """The display text of the complete output; equals resolve_citations(...).text unless refused."""
        self.text, _, _ = _render(strip_reasoning(self._raw), self._ids, final=True)
        return self.text


def split_answer_sentences(text: str) -> list[str]:
    """Split an answer into sentences; citation markers after a full stop stay with their sentence."""
    return split_sentences(text, keep_lines=True)


def _passages_by_id(passages: Iterable[Passage]) -> dict[str, Passage]:
    by_id: dict[str, Passage] = {}
    for passage in passages:
        by_id.setdefault(passage.chunk_id, passage)
    return by_id


def _render(raw: str, valid_ids: Iterable[str], *, final: bool) -> tuple[str, list[str], list[str]]:
    """Replace markers in ``raw``; return the text, the valid ids in order of first use, dropped tokens."""
    valid = set(valid_ids)
    order: list[str] = []
    dropped: list[str] = []

    def number(chunk_id: str) -> int:
        if chunk_id not in order:
            order.append(chunk_id)
        return order.index(chunk_id) + 1

    def replace(match: re.Match) -> str:
        if match.group("bare") is not None:
            chunk_id = match.group("bare")
            if chunk_id in valid:
                return f"{match.group('pre')}[{number(chunk_id)}]"
            dropped.append(chunk_id)
            return ""
        is_square = match.group("square") is not None
        tokens = [t.strip(_TOKEN_STRIP) for t in _TOKEN_SPLIT.split(match.group("square" if is_square else "round"))]
        tokens = [t for t in tokens if t]
        if not any(t in valid or _is_id_like(t, allow_number=is_square) for t in tokens):
            return match.group(0)
        numbers: list[int] = []
        for token in tokens:
            if token in valid:
                n = number(token)
                if n not in numbers:
                    numbers.append(n)
            elif _is_id_like(token):
                dropped.append(token)
        return match.group("pre") + "".join(f"[{n}]" for n in numbers) if numbers else ""

    if final:
        tail = _UNCLOSED_TAIL.search(raw)
        tokens = [t.strip(_TOKEN_STRIP) for t in _TOKEN_SPLIT.split(tail.group("body"))] if tail else []
        if any(t in valid or _is_id_like(t, allow_number=False) or _ID_PREFIX.fullmatch(t) for t in tokens):
            dropped.extend(t for t in tokens if t and t not in valid)
            raw = raw[: tail.start()]
    text = _CITATION.sub(replace, raw)
    text = _MARKER_RUN.sub(_dedupe_run, text)
    return text.strip(), order, dropped


def _dedupe_run(match: re.Match) -> str:
    """``[2][1] [2]`` -> ``[2][1]``: a number cited twice in one run of markers is shown once."""
    numbers = list(dict.fromkeys(_NUMBER_MARKER.findall(match.group(0))))
    return "".join(f"[{n}]" for n in numbers)


def _is_id_like(token: str, *, allow_number: bool = True) -> bool:
    if not _ID_LIKE.fullmatch(token):
        return False
    return allow_number or not token.isdigit()


def _safe_prefix(raw: str) -> str:
    """The part of a stream that can be shown: without a marker or bare id still being written."""
    opening = max(raw.rfind("["), raw.rfind("("))
    if opening != -1 and "]" not in raw[opening:] and ")" not in raw[opening:]:
        tail = raw[opening + 1 :]
        if len(tail) <= 400 and _MARKER_CHARS.fullmatch(tail):
            return raw[:opening]
    match = _PARTIAL_WORD_TAIL.search(raw)
    word = match.group(0) if match else ""
    # A word that ends in a full stop is finished; one with ':' or '_' may still become a bare id.
    if word and not word.endswith(".") and (":" in word or "_" in word or word.isdigit()):
        return raw[: match.start()]
    return raw


def _refusal_in(text: str) -> str:
    """The refusal sentence (Dutch or English) that ``text`` holds, or ''."""
    return next((r for r in REFUSAL_SENTENCES if _normalise(r) in _normalise(text)), "")


def _normalise(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def _content_words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    words = re.findall(r"\w+", folded)
    # A six-letter prefix is a crude, language-neutral stem: 'prostituees' meets 'prostitutie'.
    return {w[:6] for w in words if (len(w) >= 4 or w.isdigit()) and w not in STOPWORDS}


def _supporting_sentences(passage_text: str, claims: list[str]) -> list[str]:
    """For each claim, the passage sentence sharing most content words with it; in passage order."""
    candidates = split_sentences(passage_text)
    chosen: set[int] = set()
    for claim in claims:
        claim_words = _content_words(claim)
        best, best_score = -1, 0.0
        for i, sentence in enumerate(candidates):
            overlap = len(claim_words & _content_words(sentence))
            # Dividing by a root of the length keeps long sentences from winning on size alone.
            score = overlap / math.sqrt(len(sentence.split()) + 1) if overlap else 0.0
            if score > best_score:
                best, best_score = i, score
        if best >= 0:
            chosen.add(best)
    return [candidates[i] for i in sorted(chosen)]


def _citation(n: int, passage: Passage, claims: list[str]) -> Citation:
    return Citation.from_passage(n, passage, _supporting_sentences(passage.text, claims))
