"""Rewrite a follow-up question into a standalone one, with an LLM or a heuristic."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kamerbron.errors import LLMEndpointError
from kamerbron.text import CASE_SENSITIVE_PARTIES, MONTHS_NL, PARTY_BY_LOWER, PARTY_RE, is_english
from rag.citations import strip_reasoning
from rag.llm import ChatLLM
from rag.prompts import render_prompt
from rag.query_terms import without_who_frame

log = logging.getLogger(__name__)

CONDENSE_HISTORY_TURNS = 3
CONDENSE_ANSWER_CHARS = 400
# A condensed question is embedded and searched: condensing never makes a question longer than this
# (a question that is longer by itself is left as it is; the app limits questions). Earlier
# questions are cut to it before they are read, so a huge history costs no more than a small one.
MAX_CONDENSED_CHARS = 600
SHORT_FOLLOW_UP_WORDS = 6
# Only a true fragment ("en de VVD?", "and about shelters?") is rewritten by swapping parts of the
# previous question; a longer follow-up has its own verb and keeps its own wording.
FRAGMENT_WORDS = 3
# "dat voorstel", "die maatregel", "that proposal": a noun that points back at the previous topic.
# "op dat idee", "over dat voorstel", "about that proposal": a noun that points back into the conversation
_POINTED_NOUN = re.compile(
    r"\b(?:op|over|van|bij|met|tegen|voor|aan|to|about|on|of|with)\s+(?:dat|die|deze|dit|that|this|these|those)\s+\w{4,}",
    re.IGNORECASE,
)
_DEMONSTRATIVE_NOUN = re.compile(r"\b(?:dat|die|deze|dit|that|this|these|those)\s+\w{4,}", re.IGNORECASE)

_ROLE = re.compile(
    r"(?:\b(?i:de|het|the)\s+)?\b(?i:minister|staatssecretaris|kabinet|regering|rapporteur|cabinet|government)\b"
    r"(?:\s+van\s+[A-Z]\w+(?:\s+en\s+[A-Z]\w+)?)?(?:\s+(?!Van\b|De\b)[A-Z][\w'\-]+)?"
)
_PERSON = re.compile(
    r"\b(?:(?:de heer|mevrouw|het Kamerlid|Kamerlid|mr\.|mrs\.|ms\.)\s+)?"
    r"(?P<name>(?:(?:[Vv]an|[Dd]e|der|den|[Tt]er|[Tt]en)\s+)*[A-Z][a-zà-ÿ'’\-]+(?:-[A-Z][a-zà-ÿ\-]+)?)"
)
_NOT_NAMES = frozenset(
    """Kamer Tweede Eerste Nederland Nederlandse Europa Europese Unie Kamerstuk Kamerstukken Justitie Veiligheid
    Ministerie Politie Marechaussee Koninklijke Wet Engels Nederlands Dutch English Rijksoverheid Openbaar
    Ministerie Inspectie Raad State Nationaal Rapporteur Kamerlid Minister Staatssecretaris Kabinet Regering
    Zelfstandige Vraag Antwoord""".split()
    # a month is no one's name ("in September", "in september 2018")
    + [m.capitalize() for m in MONTHS_NL]
    + "January February March April May June July August September October November December".split()
)

_LEADING_MARKER = re.compile(
    r"^\s*(?:(?:en|maar|of|ook|dus|and|but|so|also)\b[\s,]*)*"
    r"(?P<fragment>what about|how about|and what about|hoe zit het met|hoe zat het met|en hoe zit het met|"
    r"wat dacht je van|en wat dan met|wat dan met)?\s*",
    re.IGNORECASE,
)
_FOLLOW_UP_START = re.compile(
    r"^\s*(?:en|maar|of|ook|and|but|what about|how about|hoe zit het met|wat zei|wat vond|wat vindt|wat denkt|"
    r"wat zegt|what did|what does)\b",
    re.IGNORECASE,
)
# Dutch pronominal adverbs ("daarover" = "about that") point back to the previous topic.
_ANAPHOR = re.compile(
    r"\b(?:daar|hier|er)\s?(?P<prep>over|van|bij|mee|op|tegen|voor|aan|in|uit|naar)\b"
    r"|\b(?P<en_prep>about|on|of|with|regarding)\s+(?:it|that|this|those|these|them)\b",
    re.IGNORECASE,
)
_WEAK_PRONOUN = re.compile(
    r"\b(?:dat|die|deze|dit|hij|zij|ze|hem|haar|hun|it|they|them|he|she|that|this|those)\b", re.IGNORECASE
)
_SUBJECT_PRONOUN = re.compile(r"\b(?:hij|zij|ze|he|she|they|die partij|deze partij|that party)\b", re.IGNORECASE)
_TOPIC_PREPOSITION = re.compile(
    r"\b(?:over|about|inzake|omtrent|aangaande|regarding|tegen|against|rond|rondom|met betrekking tot|"
    r"ten aanzien van)\s+(?P<topic>[^?]+)",
    re.IGNORECASE,
)
_STARTS_WITH_QUESTION = re.compile(
    r"^(?:wat|welke|wie|hoe|waarom|wanneer|waar|hoeveel|is|zijn|heeft|hebben|had|kan|kon|kunnen|wordt|werd|"
    r"worden|zei|zegt|noem|geef|vat|klopt|gaat|what|which|who|how|why|when|where|is|are|was|were|does|did|do|"
    r"has|have|can|could|give|list|name|summarize|summarise)\b",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"(de|het|the)\s+", re.IGNORECASE)
_ANAPHOR_PREP = {"mee": "met", "about": "about", "on": "on", "of": "of", "with": "with", "regarding": "regarding"}
_NON_TOPIC_WORDS = frozenset(
    """de het een en of maar ook nog dan wel eigenlijk precies dus wat welke wie hoe waarom wanneer waar hoeveel
    is zijn was waren heeft hebben had kan kon kunnen wordt werd worden zei zegt zeggen gezegd vond vindt vinden
    vind denkt dacht denken standpunt standpunten mening visie reactie over van bij met op tegen voor aan in uit
    zou zouden moet moeten moest wil wilde wilden wilt mag mogen kunnen gaan ging gingen
    stelde stelden stelt vroeg vroegen vraagt noemde noemden noemt
    naar er daar hier dat die deze dit hij zij ze hem haar hun zich partij fractie noem geef vat samen klopt gaat
    the a an and or but also then what which who how why when where is are was were does did do has have had
    say said says think thinks thought position positions opinion view stance about of on with for to in it
    that this those these they them he she his her party give list name summarize summarise tell me us""".split()
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    text: str


def condense_question(question: str, history: Sequence[tuple[str, str]], llm: ChatLLM | None = None) -> str:
    """A standalone version of ``question`` given earlier (question, answer) pairs.

    With ``llm`` the rewrite is asked of the model, falling back to the heuristic when the endpoint
    fails or returns nothing usable. A self-contained question comes back unchanged.
    """
    if not history:
        return question
    if llm is not None:
        try:
            condensed = _clean_llm_output(llm.chat(_condense_messages(question, history)))
        except LLMEndpointError as error:
            log.warning("Condensing with the LLM failed, using the heuristic: %s", error)
        else:
            if condensed:
                return _capped(condensed, question)
            log.warning("The LLM returned no usable standalone question, using the heuristic.")
    return condense_heuristic(question, history)


def condense_heuristic(question: str, history: Sequence[tuple[str, str]]) -> str:
    """Rule-based condensing: carry the previous subject, speakers and parties into a follow-up.

    Only the last few turns count (a chain of follow-ups is resolved oldest first), so the cost does
    not grow with the history.
    """
    if not history or not looks_like_follow_up(question):
        return question
    recent = [_cut(q, MAX_CONDENSED_CHARS) for q, _ in list(history)[-CONDENSE_HISTORY_TURNS:]]
    previous = recent[0]
    for earlier in recent[1:]:
        previous = _condense_once(earlier, previous)
    return _condense_once(question, previous)


def _condense_once(question: str, previous: str) -> str:
    """``question`` made standalone with the (standalone) question before it."""
    if not looks_like_follow_up(question):
        return question
    english = is_english(question)
    body, _ = _strip_leading_marker(question)
    if not _STARTS_WITH_QUESTION.match(body) and len(body.split()) <= FRAGMENT_WORDS:
        rewritten = _rewrite_fragment(body, previous, english)
    else:
        rewritten = _rewrite_question(body, previous, english)
    return _capped(_finish(rewritten, question), question)


def looks_like_follow_up(question: str) -> bool:
    """True for questions that lean on the conversation: 'en de VVD?', 'wat zei hij daarover?'."""
    words = question.split()
    if _FOLLOW_UP_START.match(question) or _ANAPHOR.search(question) or _POINTED_NOUN.search(question):
        return True
    if not _topic_words(question):
        return True
    return bool(_WEAK_PRONOUN.search(question)) and len(words) <= SHORT_FOLLOW_UP_WORDS


def _rewrite_fragment(body: str, previous: str, english: bool) -> str:
    """'en de VVD?' or 'en over X?': the previous question with its actor or topic swapped."""
    fragment = body.strip().rstrip("?").strip()
    new_actors = _actor_spans(fragment)
    topic_text = _remove_spans(fragment, new_actors).strip(" ,")
    topic_text = re.sub(r"^(?:dan|then)\b|\b(?:dan|then|ook|also)$", "", topic_text, flags=re.IGNORECASE).strip(" ,")
    has_topic = bool(_topic_words(topic_text))

    edits: list[tuple[int, int, str]] = []
    topic_match = _TOPIC_PREPOSITION.search(previous)
    if has_topic:
        starts_with_preposition = _TOPIC_PREPOSITION.match(topic_text)
        if topic_match:
            start = topic_match.start() if starts_with_preposition else topic_match.start("topic")
            edits.append((start, topic_match.end("topic"), topic_text))
        else:
            joiner = "" if starts_with_preposition else (" about " if english else " over ")
            edits.append((len(previous.rstrip("? ")), len(previous.rstrip("? ")), joiner.rstrip() + " " + topic_text))
    if new_actors:
        actor_text = (" and " if english else " en ").join(s.text for s in new_actors)
        old_actors = [s for s in _actor_spans(previous) if not edits or not _inside(s, edits[0])]
        if old_actors:
            first = old_actors[0]
            edits.append((first.start, first.end, _same_language_article(actor_text, first.text)))
            edits.extend((s.start, s.end, "") for s in old_actors[1:])
        else:
            at = len(previous.rstrip("? "))
            edits.append((at, at, (" according to " if english else " volgens ") + actor_text))
    if not edits:
        return previous
    return _apply(previous, edits)


def _rewrite_question(body: str, previous: str, english: bool) -> str:
    """'wat zei de VVD daarover?': fill in the previous topic and, when none is named, the previous actor."""
    topic = _topic_phrase(previous)
    text = body.strip()
    filled = False
    if topic:

        def fill(match: re.Match) -> str:
            nonlocal filled
            filled = True
            prep = match.group("prep") or match.group("en_prep")
            return f"{_ANAPHOR_PREP.get(prep.lower(), prep.lower())} {topic}"

        text = _ANAPHOR.sub(fill, text, count=1)
        if not filled and (not _topic_words(text) or _DEMONSTRATIVE_NOUN.search(text)):
            text = _append(text, (" about " if english else " over ") + topic)
    if not _actor_spans(body):
        old_actors = _actor_spans(previous)
        if old_actors:
            actor_text = (" and " if english else " en ").join(s.text for s in old_actors)
            replaced = _SUBJECT_PRONOUN.sub(actor_text, text, count=1)
            according = " according to " if english else " volgens "
            text = replaced if replaced != text else _append(text, according + actor_text)
    return text


def _same_language_article(new: str, old: str) -> str:
    """'the PVV' replacing 'de SP' in a Dutch question becomes 'de PVV' (and the other way round)."""
    new_article, old_article = _ARTICLE.match(new), _ARTICLE.match(old)
    if new_article and old_article and (new_article[1].lower() == "the") != (old_article[1].lower() == "the"):
        return old_article[0] + new[new_article.end() :]
    return new


def _topic_phrase(question: str) -> str:
    """What the question is about: the phrase after 'over'/'about', else its content words (of a
    who-question, those after its frame and verb: "Wie stelde ..." asks about what was proposed)."""
    question = without_who_frame(question)
    match = _TOPIC_PREPOSITION.search(question)
    # a one-word phrase ("... tegen mensenhandel") is too thin a topic: take all content words then
    if match and len(match.group("topic").split()) >= 2:
        return match.group("topic").strip(" ,.")
    return " ".join(_topic_words(_remove_spans(question, _actor_spans(question))))


def _topic_words(text: str) -> list[str]:
    without_actors = _remove_spans(text, _actor_spans(text))
    without_anaphors = _ANAPHOR.sub(" ", without_actors)
    return [w for w in re.findall(r"[\w\-]+", without_anaphors) if w.lower() not in _NON_TOPIC_WORDS and len(w) > 2]


def _actor_spans(text: str) -> list[_Span]:
    spans = _party_spans(text) + [_Span(m.start(), m.end(), m.group(0)) for m in _ROLE.finditer(text)]
    for match in _PERSON.finditer(text):
        name = match.group("name")
        last = name.split()[-1]
        at_start = not text[: match.start()].strip(" \"'“(")
        if last in _NOT_NAMES or last.upper() == last or (at_start and match.group(0) == name and " " not in name):
            continue
        if PARTY_BY_LOWER.get(last.lower()):
            continue
        spans.append(_Span(match.start(), match.end(), match.group(0)))
    spans.sort(key=lambda s: (s.start, -s.end))
    kept: list[_Span] = []
    for span in spans:
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _party_spans(text: str, *, name_only: bool = False) -> list[_Span]:
    spans = []
    for match in PARTY_RE.finditer(text):
        name = match.group("name")
        canonical = PARTY_BY_LOWER[name.lower()]
        if canonical in CASE_SENSITIVE_PARTIES and name != canonical:
            continue
        if name_only:
            spans.append(_Span(match.start("name"), match.end("name"), name))
        else:
            spans.append(_Span(match.start(), match.end(), match.group(0)))
    return spans


def _strip_leading_marker(question: str) -> tuple[str, bool]:
    match = _LEADING_MARKER.match(question)
    return question[match.end() :], bool(match.group("fragment"))


def _remove_spans(text: str, spans: list[_Span]) -> str:
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[: span.start] + " " + text[span.end :]
    return re.sub(r"\s+", " ", text)


def _inside(span: _Span, edit: tuple[int, int, str]) -> bool:
    return edit[0] <= span.start and span.end <= edit[1]


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return re.sub(r"\s+", " ", text)


def _append(text: str, addition: str) -> str:
    return text.rstrip().rstrip("?").rstrip() + addition


def _finish(rewritten: str, original: str) -> str:
    text = re.sub(r"\s+([?,.])", r"\1", re.sub(r"\s+", " ", rewritten)).strip()
    text = text.rstrip("?").rstrip() + "?" if original.rstrip().endswith("?") or text.endswith("?") else text
    return text[:1].upper() + text[1:]


def _capped(condensed: str, question: str) -> str:
    """``condensed`` cut at a word to at most MAX_CONDENSED_CHARS, or the question's own length if longer."""
    limit = max(MAX_CONDENSED_CHARS, len(question))
    if len(condensed) <= limit:
        return condensed
    cut = _cut(condensed, limit - 1).rstrip(" ,;:.?")
    return cut + "?" if condensed.endswith("?") else cut


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word boundary where there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return head[:space] if space > limit // 2 else head


def _condense_messages(question: str, history: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    turns = [
        {"question": _cut(q, MAX_CONDENSED_CHARS), "answer": a[:CONDENSE_ANSWER_CHARS]}
        for q, a in list(history)[-CONDENSE_HISTORY_TURNS:]
    ]
    return [{"role": "user", "content": render_prompt("condense", question=question, history=turns)}]


def _clean_llm_output(output: str) -> str:
    lines = [line.strip() for line in strip_reasoning(output).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    line = re.sub(r"^(?:zelfstandige vraag|standalone question|vraag|question)\s*:\s*", "", lines[0], flags=re.I)
    line = line.strip().strip("\"'“”‘’").strip()
    return line if len(line) <= MAX_CONDENSED_CHARS else ""
