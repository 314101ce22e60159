"""Toezeggingen at query time: the commitments of the debates (ingest/commitments.py), each matched
against the later government passages that may fulfil it, filtered for the CLI, the API, the
Toezeggingen tab and the chat, and cached per index generation.

A commitment is marked 'mogelijk ingelost' only on clear evidence: one sentence of one passage that
- is later: its document is dated after the debate (an undated document never counts);
- is the government's: a minister's or state secretary's turn, or a letter;
- delivers: it hands something over in this very document ('Hierbij bied ik u ... aan', '... delen
  we het programma hiermee', 'stuur ik u'), or reports a delivery while referring to the commitment
  ('zoals toegezegd heb ik u ... gestuurd'); a promise for later ('zal ik u informeren'), a mere
  mention, or a reference to another debate's commitment never counts;
- delivers the same kind of thing, when the commitment names one ('plan van aanpak' ~ 'het
  programma', 'actieplan'; 'onderzoek' ~ 'rapport', 'evaluatie');
- is about the same subject: most of the commitment's content words (weighted by how rare they are
  in the index) are in the passage or its document's title. A commitment whose only content is its
  deliverable ('voor de begroting komt het plan van aanpak') needs a sentence that names the debate
  ('zoals toegezegd tijdens het AO ... op 27 september') or a passage in the debate's dossier;
- is on time: not after the stated deadline (plus a month) when the deadline can be dated.
Of the passages that pass, the strongest (naming the debate, referring to the commitment, covering
its subject, same dossier, same person) is the evidence; ``fulfilled_reason`` says why, in Dutch.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.build import corpus_files
from ingest.chunk import chunk_document
from ingest.commitments import DEADLINE_RE, QUALIFICATION_RE, SUBJECT_RE, extract_commitments
from ingest.parse import parse_document
from kamerbron.analyzer import Analyzer
from kamerbron.errors import ArgumentInvalidError, DocumentParseError
from kamerbron.records import Chunk, Citation, Commitment, Passage
from kamerbron.settings import Settings
from kamerbron.text import MONTH_NUMBER, MONTHS_NL, format_date, parse_iso_date, split_sentences

log = logging.getLogger(__name__)

STATUS_OPEN = "open"
STATUS_FULFILLED = "ingelost"
# A delivery a little after the stated term still counts ('voor de zomer' met on 20 July).
DEADLINE_GRACE = dt.timedelta(days=31)
# Share of a commitment's subject (idf-weighted) a passage must cover: with a sentence that refers
# to the commitment or names the debate, and without one.
COVERAGE_REFERRED = 0.5
COVERAGE_UNREFERRED = 0.67
# Commitment lists kept: one per index generation (or corpus state) recently served.
CACHE_SIZE = 4

# The kinds of thing a commitment promises, by the words that name them; a compound counts by its
# head ('actieplan', 'vervolgonderzoek', 'kabinetsreactie'). A delivery must name the same kind.
# 'brief' is only the carrier: it never decides a match.
DELIVERABLE_KINDS: dict[str, tuple[str, ...]] = {
    "plan": ("plan van aanpak", "plan", "plannen", "programma", "programma's", "strategie"),
    "onderzoek": (
        "onderzoek", "onderzoeken", "rapport", "rapporten", "evaluatie", "evaluaties", "studie", "verkenning",
        "analyse", "monitor", "inventarisatie", "quickscan", "doorlichting",
    ),
    "voortgang": ("tussenstand", "rapportage", "voortgang", "overzicht", "stand van zaken"),
    "reactie": ("reactie", "standpunt", "appreciatie", "visie", "beantwoording"),
    "wet": ("wetsvoorstel", "wetswijziging", "amvb", "algemene maatregel van bestuur"),
    "brief": ("brief", "brieven"),
}  # fmt: skip
_KIND_WORD = {word: kind for kind, words in DELIVERABLE_KINDS.items() for word in words if " " not in word}
_KIND_PHRASES = [(phrase, kind) for kind, words in DELIVERABLE_KINDS.items() for phrase in words if " " in phrase]
_WORD = re.compile(r"[\w']+")
# Words of a commitment that say who does what, not about what: never its subject.
_GENERIC = (
    "zal zullen komt komen gaat gaan kamer kamerleden staatssecretaris minister minister-president kabinet "
    "regering bewindspersoon informeren rapporteren sturen toesturen zenden aangeven terugkomen terug brengen "
    "stellen toezegging toegezegd toezeggen zegt toe bereid treden overleg hierover daarover daarop erover "
    "betreft aanzien kader aandacht orde doen concrete zogenoemde zogenaamde plus aparte apart uw onze ingaan "
    "vraag lid opnemen nemen brief brieven ten per teneinde net daarmee hoeveel hoeverre mogelijk onder andere "
    "stuurt stuur informeert rapporteert zendt geeft geven brengt biedt bieden aanbieden voorleggen legt "
    "najaar voorjaar zomer winter reces jaar maand week spoedig binnenkort snel"
)

# A sentence that hands something over in this document: an anchor ('hierbij', 'met deze brief') with a
# finite verb of delivery and its subject ('bied ik', 'delen we'); in a letter also 'stuur ik u',
# 'ontvangt u' without an anchor, unless a term follows ('Voor de zomer stuur ik u ...' is a promise).
_ANCHOR = r"(?:hierbij|hiermee|bij\s+deze(?:\s+brief)?|met\s+deze\s+brief|in\s+deze\s+brief|bijgaand|bijgevoegd)"
_VERB_SG = r"(?:bied|stuur|zend|verstuur|informeer|deel|geef|presenteer|beantwoord|reageer|meld)"
_VERB_PL = r"(?:bieden|sturen|zenden|versturen|informeren|delen|geven|presenteren|beantwoorden|reageren|melden)"
_FINITE = (
    rf"(?:{_VERB_SG}\s+ik|ik\s+{_VERB_SG}|{_VERB_PL}\s+(?:wij|we)|(?:wij|we)\s+{_VERB_PL}"
    r"|kom\s+ik\b[^.;:?]{0,60}?\b(?:terug|na)|doe\s+ik\s+u\b[^.;:?]{0,60}?\btoekomen|voldoe\s+ik)"
)
PERFORMATIVE_RE = re.compile(
    rf"\b{_ANCHOR}\b[^.;:?]{{0,80}}?\b{_FINITE}\b|\b{_FINITE}\b[^.;:?]{{0,80}}?\b{_ANCHOR}\b", re.I
)
LETTER_PERFORMATIVE_RE = re.compile(
    rf"\b(?:{_VERB_SG}|leg|breng)\s+ik\s+(?:u|uw\s+kamer|de\s+kamer)\b"
    rf"|\b{_VERB_PL}\s+(?:wij|we)\s+(?:u|uw\s+kamer|de\s+kamer)\b"
    r"|\b(?:ontvangt|treft|vindt)\s+u\b",
    re.I,
)
_FUTURE = re.compile(
    r"\b(?:zal|zullen|zult|zou|zouden|ga|gaan|wil|willen|hoop|hopen|verwacht|verwachten|kan|kunnen|moet|moeten|"
    r"binnenkort|later|straks|nog\s+op\s+terug)\b",
    re.I,
)
# A reference to a commitment: 'zoals toegezegd', 'conform de toezegging', 'heb ik toegezegd', 'beloofd'.
REFERS_RE = re.compile(
    r"\btoegezegd\w*|\btoezegging\w*|\bzoals\s+(?:\w+\s+){0,4}?(?:beloofd|aangekondigd|afgesproken)\b",
    re.I,
)
PAST_DELIVERY_RE = re.compile(
    r"\b(?:heb|hebben|heeft|is|zijn)\b[^.;?]{0,80}?\b(?:gestuurd|toegestuurd|verstuurd|verzonden|toegezonden|"
    r"aangeboden|gedeeld|geïnformeerd|ontvangen|voorgelegd)\b",
    re.I,
)
_DAY_MONTH = re.compile(r"\b(\d{1,2})\s+(" + "|".join(MONTHS_NL) + r")\b", re.I)
_OBJECT_ARTICLE = r"(?:het|de|een|dit|deze|dat|die|ons|mijn)"


class CommitmentFilterInvalidError(ArgumentInvalidError):
    """A filter of the commitment list is malformed (a date, a status). Message in Dutch: users read it."""


# ---------------------------------------------------------------------------- deadlines


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _next(debate: dt.date, month: int, day: int | None = None, year: int | None = None) -> dt.date:
    """The first ``day``/``month`` on or after the debate (or in ``year``); the month's end without a day."""
    for y in [year] if year else [debate.year, debate.year + 1]:
        try:
            when = dt.date(y, month, day) if day else _month_end(y, month)
        except ValueError:
            return _month_end(y, month)
        if year or when >= debate:
            return when
    return when


# Terms named after a moment of the parliamentary year: (month, day) it falls by, roughly.
_SEASONS = (
    (re.compile(r"voorjaarsnota", re.I), (6, 1)),
    (re.compile(r"miljoenennota", re.I), (9, 20)),
    (re.compile(r"najaarsnota", re.I), (12, 1)),
    (re.compile(r"voorjaarsreces", re.I), (2, 28)),
    (re.compile(r"zomer", re.I), (7, 15)),
    (re.compile(r"herfstreces", re.I), (10, 25)),
    (re.compile(r"kerst|jaarwisseling|einde van (?:dit|het) jaar|dit jaar|najaar|begroting", re.I), (12, 31)),
    (re.compile(r"voorjaar", re.I), (6, 20)),
)
_QUARTERS = {"eerste": 3, "tweede": 6, "derde": 9, "vierde": 12, "laatste": 12}
_WITHIN = re.compile(r"binnen (een|twee|drie|vier|zes|enkele|\d+) (dag|dagen|week|weken|maand|maanden|jaar)", re.I)
_COUNTS = {"een": 1, "twee": 2, "drie": 3, "vier": 4, "zes": 6, "enkele": 3}


def deadline_date(deadline: str | None, debate_date: str) -> dt.date | None:
    """The last day a deadline as printed ('voor de zomer', 'uiterlijk in september', 'binnen drie
    maanden') allows, counted from the debate; None when it cannot be dated or sets no end ('jaarlijks',
    'na de zomer')."""
    debate = parse_iso_date(debate_date)
    if not deadline or debate is None:
        return None
    text = deadline.lower().strip()
    if text.startswith("na ") or "jaarlijks" in text:
        return None
    years = re.findall(r"\b(\d{4})\b", text)
    year = int(years[0]) if years else (debate.year + 1 if "volgend jaar" in text else None)
    if m := _WITHIN.search(text):
        n = int(m.group(1)) if m.group(1).isdigit() else _COUNTS[m.group(1)]
        unit = m.group(2)
        if unit.startswith(("dag", "we")):
            return debate + dt.timedelta(days=n * (1 if unit.startswith("dag") else 7))
        months = debate.month - 1 + n * (12 if unit == "jaar" else 1)
        year, month = debate.year + months // 12, months % 12 + 1
        return dt.date(year, month, min(debate.day, calendar.monthrange(year, month)[1]))
    if m := _DAY_MONTH.search(text):
        return _next(debate, MONTH_NUMBER[m.group(2).lower()], int(m.group(1)), year)
    if m := re.search(r"\b(" + "|".join(MONTHS_NL) + r")\b", text):
        month = MONTH_NUMBER[m.group(1)]
        if re.search(r"\b(?:voor|vóór)\s+" + m.group(1), text):  # before the month starts
            first = _next(debate, month, 1, year)
            return first - dt.timedelta(days=1)
        if text.startswith("begin"):
            return _next(debate, month, 10, year)
        return _next(debate, month, None, year)
    if m := re.search(r"\b(eerste|tweede|derde|vierde|laatste) (kwartaal|halfjaar|helft)", text):
        month = _QUARTERS[m.group(1)] if m.group(2) == "kwartaal" else (6 if m.group(1) == "eerste" else 12)
        return _next(debate, month, None, year)
    if "volgend jaar" in text:
        return dt.date(debate.year + 1, 12, 31)
    if re.search(r"\b(?:deze|komende) week\b", text):
        return debate + dt.timedelta(days=7)
    if re.search(r"\bdeze maand\b", text):
        return _month_end(debate.year, debate.month)
    if re.search(r"\bkomende maand\b", text):
        return debate + dt.timedelta(days=62)
    for pattern, (month, day) in _SEASONS:
        if pattern.search(text):
            return _next(debate, month, day, year)
    return None


# ---------------------------------------------------------------------------- matching


def _kinds(text: str) -> dict[str, str]:
    """Kind of deliverable -> the word that names it in ``text`` ('plan' -> 'plan'), in order of first mention."""
    lowered = " ".join(text.lower().split())
    found: dict[str, tuple[int, str]] = {}
    for phrase, kind in _KIND_PHRASES:
        if (at := lowered.find(phrase)) >= 0:
            found.setdefault(kind, (at, phrase))
    for m in _WORD.finditer(lowered):
        token = m.group(0)
        for word, kind in _KIND_WORD.items():
            if token == word or (token.endswith(word) and len(token) - len(word) >= 3):
                if kind not in found or m.start() < found[kind][0]:
                    found[kind] = (m.start(), token)
    return {kind: word for kind, (_, word) in sorted(found.items(), key=lambda item: item[1][0])}


def _object_phrase(text: str, word: str) -> str:
    """'het programma', 'het plan van aanpak': the deliverable's word with its article, as printed."""
    pattern = rf"\b(?:{_OBJECT_ARTICLE}\s+)?(?:[\w'-]+\s+)??{re.escape(word)}(?:\s+van\s+(?!de\b|het\b|een\b)\w+)?\b"
    m = re.search(pattern, text, re.I)
    return " ".join(m.group(0).split()) if m else word


_ANALYZER = Analyzer()


def _stemmed(text: str) -> str:
    """The text as its word stems (kamerbron.analyzer), stopwords left out: 'nationaal' and 'nationale' alike."""
    return " ".join(_ANALYZER.stems(text))


def _covered(term: str, text: str) -> bool:
    """A stem is in a stemmed text as a word or as part of a compound ('taakstraf' in 'taakstrafverbod')."""
    return term in text if len(term) >= 5 else re.search(rf"\b{re.escape(term)}", text) is not None


class _Rarity:
    """Inverse document frequency of a stem over the candidate passages, counted on first use."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        self._idf: dict[str, float] = {}

    def __call__(self, term: str) -> float:
        if term not in self._idf:
            df = sum(_covered(term, text) for text in self.texts)
            self._idf[term] = math.log(1.0 + (len(self.texts) + 1) / (df + 0.5))
        return self._idf[term]


@dataclass
class _Delivery:
    """A sentence of a later government passage that hands something over, or says it was handed over."""

    chunk: Chunk
    sentence: str
    evidence: list[str]  # the sentence, with a neighbour that says what was delivered or which commitment
    performative: bool
    refers: bool
    past: bool  # reports, referring to a commitment, that it was delivered
    context: str  # passage and document title as stems: where the commitment's subject is looked for
    kinds: dict[str, str] = field(default_factory=dict)
    dates: list[tuple[int, int]] = field(default_factory=list)  # (day, month) named in the sentence

    @property
    def delivers(self) -> bool:
        return self.performative or self.past


@dataclass
class _Match:
    delivery: _Delivery
    score: float
    reason: str


def _is_government(chunk: Chunk) -> bool:
    if chunk.role in ("minister", "staatssecretaris", "regering"):
        return True
    return chunk.doc_type == "brief" and chunk.role not in ("kamerlid", "fractie", "voorzitter")


def hands_over(sentence: str, *, letter: bool = False) -> bool:
    """Whether a sentence hands something over in its own document ('Hierbij bied ik u ... aan', '... delen
    we het programma hiermee'); in a letter also 'stuur ik u ...', 'ontvangt u ...' without an anchor,
    unless it speaks of later or names a term (then it is a promise)."""
    if sentence.rstrip().endswith("?"):
        return False
    if any(not _FUTURE.search(m.group(0)) for m in PERFORMATIVE_RE.finditer(sentence)):
        return True
    return (
        letter
        and LETTER_PERFORMATIVE_RE.search(sentence) is not None
        and not _FUTURE.search(sentence)
        and not DEADLINE_RE.search(sentence)
    )


def reports_delivery(sentence: str, around: str = "") -> bool:
    """Whether a sentence says something was delivered ('... heb ik u het rapport gestuurd'), not that it
    will be, while it (or ``around``, the sentences next to it) refers to a commitment ('zoals toegezegd')."""
    return (
        REFERS_RE.search(f"{sentence} {around}") is not None
        and PAST_DELIVERY_RE.search(sentence) is not None
        and not _FUTURE.search(sentence)
    )


def _dates(text: str) -> list[tuple[int, int]]:
    return [(int(day), MONTH_NUMBER[month.lower()]) for day, month in _DAY_MONTH.findall(text)]


def _completes(neighbour: str, sentence: str) -> bool:
    """Whether a neighbouring sentence says what the delivering one (with any neighbour taken already)
    leaves out: what was delivered, or which commitment ('In het debat van 12 mei heb ik toegezegd ...
    Met deze brief kom ik die toezegging na.')."""
    if not neighbour:
        return False
    adds_kind = not _kinds(sentence).keys() - {"brief"} and bool(_kinds(neighbour).keys() - {"brief"})
    refers_fully = REFERS_RE.search(sentence) and _dates(sentence)
    return adds_kind or (not refers_fully and bool(REFERS_RE.search(neighbour) or _dates(neighbour)))


def _deliveries(chunks: Iterable[Chunk]) -> list[_Delivery]:
    found = []
    for chunk in chunks:
        if not chunk.date or not _is_government(chunk):
            continue
        sentences = split_sentences(chunk.text)
        context = ""  # the passage as stems, made once, for its first delivering sentence
        for i, sentence in enumerate(sentences):
            before = sentences[i - 1] if i else ""
            after = sentences[i + 1] if i + 1 < len(sentences) else ""
            performative = hands_over(sentence, letter=chunk.doc_type == "brief")
            past = reports_delivery(sentence, f"{before} {after}")
            if not (performative or past):
                continue
            # a neighbour that says what this sentence does not joins the evidence
            evidence = [sentence]
            if _completes(before, sentence):
                evidence.insert(0, before)
            if _completes(after, " ".join(evidence)):
                evidence.append(after)
            window = " ".join(evidence)
            context = context or _stemmed(f"{chunk.text} {chunk.doc_title}")
            found.append(
                _Delivery(
                    chunk=chunk,
                    sentence=sentence,
                    evidence=evidence,
                    performative=performative,
                    refers=REFERS_RE.search(window) is not None,
                    past=past,
                    context=context,
                    kinds=_kinds(window) | _kinds(sentence),  # as the delivering sentence words it, if it does
                    dates=_dates(window),
                )
            )
    return found


class _Subject:
    """What a commitment is about: its deliverable kinds, and its content stems without the who, the
    verb, the deadline, the reservation and the deliverable's own words."""

    _generic = frozenset(_ANALYZER.stems(_GENERIC))

    def __init__(self, c: Commitment):
        text = SUBJECT_RE.sub("", c.text, count=1)
        for phrase in (c.deadline, c.qualification):
            if phrase:
                text = text.replace(phrase, " ")
        text = DEADLINE_RE.sub(" ", QUALIFICATION_RE.sub(" ", text))
        self.kinds = _kinds(text)
        self.objects = {kind: _object_phrase(text, word) for kind, word in self.kinds.items()}
        for phrase in self.objects.values():
            text = text.replace(phrase, " ")
        words = [w for w in _WORD.findall(text.lower()) if w not in _KIND_WORD and w != (c.who or "").lower()]
        self.terms = [t for t in dict.fromkeys(_ANALYZER.stems(" ".join(words))) if t not in self._generic]

    def coverage(self, context: str, rarity: Callable[[str], float]) -> float:
        if not self.terms:
            return 1.0
        total = sum(rarity(t) for t in self.terms)
        return sum(rarity(t) for t in self.terms if _covered(t, context)) / total


def _judge(
    c: Commitment,
    subject: _Subject,
    d: _Delivery,
    rarity: Callable[[str], float],
    dossier: str,
    deadline: dt.date | None,
) -> _Match | None:
    """The match of one commitment with one delivering sentence, or None when the evidence is not clear."""
    if not c.date or d.chunk.date <= c.date or not d.delivers:
        return None
    debate = parse_iso_date(c.date)
    names_debate = debate is not None and (debate.day, debate.month) in d.dates
    if d.refers and d.dates and not names_debate:
        return None  # 'zoals toegezegd in het AO van 16 februari': another debate's commitment
    # what is promised is the first deliverable named ('een reactie op het rapport': the reaction)
    head = next((kind for kind in subject.kinds if kind != "brief"), None)
    if head is not None and head not in d.kinds:
        return None
    shared = [head] if head else []
    coverage = subject.coverage(d.context, rarity)
    same_dossier = bool(dossier) and d.chunk.dossier == dossier
    if subject.terms:
        if coverage < (COVERAGE_REFERRED if (names_debate or d.refers) else COVERAGE_UNREFERRED):
            return None
    elif not (head and (names_debate or same_dossier)):
        return None
    delivered_on = parse_iso_date(d.chunk.date)
    if deadline is not None and (delivered_on is None or delivered_on > deadline + DEADLINE_GRACE):
        return None
    score = (
        3.0 * names_debate
        + 2.0 * d.refers
        + 2.0 * d.performative
        + 3.0 * coverage
        + 1.0 * same_dossier
        + 1.0 * bool(c.who and d.chunk.surname == c.who)
    )
    return _Match(d, score, _reason(c, subject, d, shared, names_debate, deadline))


def _reason(
    c: Commitment, subject: _Subject, d: _Delivery, shared: list[str], names_debate: bool, deadline: dt.date | None
) -> str:
    """'brief van 13 november 2018 levert het programma (toegezegd: het plan van aanpak) en verwijst naar
    het debat van 27 september 2018; termijn 'voor de begroting' gehaald'."""
    chunk = d.chunk
    when = format_date(chunk.date)
    if chunk.doc_type == "brief":
        source = f"brief van {when}"
    else:
        who = " ".join(
            p for p in (chunk.role if chunk.role in ("minister", "staatssecretaris") else "", chunk.surname) if p
        )
        source = f"{who or chunk.speaker} op {when}"
    if shared:
        kind = shared[0]
        delivered = _object_phrase(" ".join(d.evidence), d.kinds[kind])
        promised = subject.objects[kind]
        what = f"levert {delivered}"
        if not delivered.split()[-1].lower().endswith(promised.split()[-1].lower()):
            what += f" (toegezegd: {promised})"
    else:
        what = "informeert de Kamer erover"
    parts = [f"{source} {what}"]
    if names_debate:
        parts[0] += f" en verwijst naar het debat van {format_date(c.date)}"
    elif d.refers:
        parts[0] += " 'zoals toegezegd'"
    if c.deadline:
        parts.append(f"termijn '{c.deadline}'" + (" gehaald" if deadline is not None else ""))
    return "; ".join(parts)


def _ordinal(iso: str) -> int:
    day = parse_iso_date(iso)
    return day.toordinal() if day else 0


def match_fulfilments(
    commitments: Sequence[Commitment], chunks: Sequence[Chunk], *, idf: Callable[[str], float] | None = None
) -> list[Commitment]:
    """Copies of ``commitments`` with ``fulfilled_by``, ``fulfilled_reason`` and ``evidence`` set where a
    later government passage among ``chunks`` clearly fulfils one (see the module docstring); None otherwise.

    ``idf`` weighs a word stem (kamerbron.analyzer) by its rarity, e.g. from an index's BM25 statistics;
    by default it is counted over ``chunks`` by scanning them, fine for some thousands of passages.
    """
    deliveries = _deliveries(chunks)
    by_id = {chunk.chunk_id: chunk for chunk in chunks}
    rarity = idf or _Rarity([_stemmed(f"{chunk.text} {chunk.doc_title}") for chunk in chunks])
    out = []
    for c in commitments:
        subject = _Subject(c)
        own = by_id.get(c.chunk_id)
        deadline = deadline_date(c.deadline, c.date)
        matches = [m for d in deliveries if (m := _judge(c, subject, d, rarity, own.dossier if own else "", deadline))]
        # the strongest evidence; of equals, the earliest
        best = max(matches, key=lambda m: (m.score, -_ordinal(m.delivery.chunk.date)), default=None)
        update: dict[str, Any] = {"fulfilled_by": None, "fulfilled_reason": None, "evidence": None}
        if best is not None:
            chunk = best.delivery.chunk
            update = {
                "fulfilled_by": chunk.chunk_id,
                "fulfilled_reason": best.reason,
                "evidence": Citation.from_passage(1, Passage.from_chunk(chunk), best.delivery.evidence),
            }
        out.append(c.model_copy(update=update))
    return out


# ---------------------------------------------------------------------------- loading and caching


_cache: dict[tuple, tuple[Commitment, ...]] = {}
_cache_lock = threading.Lock()
# Held while a list is computed, so that concurrent first requests compute it once.
_compute_lock = threading.Lock()


def _parsed(paths: Iterable[Path]):
    for path in paths:
        try:
            yield parse_document(path)
        except DocumentParseError as error:
            log.warning("commitments: %s is left out: %s", path.name, error)


def _corpus_stamp(corpus_dir: Path) -> tuple:
    files = corpus_files([corpus_dir])
    manifest = corpus_dir / "manifest.toml"
    extra = [manifest] if manifest.is_file() else []
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files + extra)


def _compute(settings: Settings, index) -> tuple[Commitment, ...]:
    corpus_dir = Path(settings.paths.corpus_dir)
    max_words = settings.chunk.max_words
    if index is None:
        docs = list(_parsed(corpus_files([corpus_dir])))
        chunks = [chunk for doc in docs for chunk in chunk_document(doc, settings.chunk)]
        found = [c for doc in docs for c in extract_commitments(doc, max_words=max_words)]
        return tuple(match_fulfilments(found, chunks))
    chunks = list(index.chunks)
    debates = sorted({chunk.source_file for chunk in chunks if chunk.doc_type == "debat"})
    missing = [name for name in debates if not (corpus_dir / name).is_file()]
    if missing:
        log.warning("commitments: %d indexed debate(s) not in %s: %s", len(missing), corpus_dir, ", ".join(missing[:5]))
    docs = _parsed(corpus_dir / name for name in debates if name not in missing)
    found = [c for doc in docs for c in extract_commitments(doc, max_words=max_words)]
    # Never a commitment whose passage the index does not hold (a corpus file changed since the build).
    kept = [c for c in found if c.chunk_id in index.position]
    if len(kept) < len(found):
        log.warning("commitments: %d left out, their passages are not in the index; rebuild it", len(found) - len(kept))
    return tuple(match_fulfilments(kept, chunks, idf=lambda stem: index.idf(stem) or index.max_idf()))


def load_commitments(settings: Settings, index=None) -> list[Commitment]:
    """Every commitment of the debates, fulfilment matched, in corpus order.

    With ``index`` (a LoadedIndex or LiveIndex): the commitments of the debates it holds, read from
    their corpus files, matched against its passages, cached per generation. Without: those of every
    corpus file, cached until a corpus file changes. The records are shared: do not change them.
    """
    index = getattr(index, "current", index)  # a LiveIndex: one generation for the whole computation
    key = commitments_key(settings, index)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is None:
        with _compute_lock:
            with _cache_lock:
                cached = _cache.get(key)  # computed while this request waited
            if cached is None:
                cached = _compute(settings, index)
                with _cache_lock:
                    _cache[key] = cached
                    while len(_cache) > CACHE_SIZE:
                        del _cache[next(iter(_cache))]
    return list(cached)


def commitments_key(settings: Settings, index=None) -> tuple:
    """What ``load_commitments`` caches its list by: the index generation (a LoadedIndex or LiveIndex),
    or without one the state of the corpus files. For caches of what is derived from that list."""
    index = getattr(index, "current", index)
    corpus_dir = Path(settings.paths.corpus_dir)
    if index is not None:
        return (str(corpus_dir), settings.chunk.max_words, index.state.generation)
    return (str(corpus_dir), settings.chunk.max_words, _corpus_stamp(corpus_dir))


# ---------------------------------------------------------------------------- filters


_STATUSES = {
    "": "",
    "alle": "",
    "all": "",
    "open": STATUS_OPEN,
    "ingelost": STATUS_FULFILLED,
    "mogelijk ingelost": STATUS_FULFILLED,
    "mogelijk_ingelost": STATUS_FULFILLED,
    "fulfilled": STATUS_FULFILLED,
}


def _date(value: str | None, label: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    day = parse_iso_date(value)
    if day is None:
        raise CommitmentFilterInvalidError(
            f"De {label} '{value}' is ongeldig; gebruik de vorm JJJJ-MM-DD, bijvoorbeeld 2018-09-27."
        )
    return day.isoformat()


@dataclass(frozen=True)
class CommitmentFilter:
    """Which commitments to show; an empty field filters nothing."""

    who: str = ""  # part of the surname or role, any case: 'harbers', 'minister', 'Staatssecretaris van VWS'
    doc_ids: tuple[str, ...] = ()  # document ids or file names
    date_from: str = ""  # ISO date, inclusive
    date_to: str = ""  # ISO date, inclusive
    status: str = ""  # '', 'open' or 'ingelost' (mogelijk ingelost)

    @classmethod
    def parse(
        cls,
        *,
        who: str | None = "",
        doc_ids: Iterable[str] = (),
        date_from: str | None = "",
        date_to: str | None = "",
        status: str | None = "",
    ) -> CommitmentFilter:
        """The filter from what a person typed; CommitmentFilterInvalidError (Dutch) for a bad date or status."""
        start, end = _date(date_from, "begindatum"), _date(date_to, "einddatum")
        if start and end and start > end:
            raise CommitmentFilterInvalidError(
                f"De periode klopt niet: de begindatum ({start}) ligt na de einddatum ({end})."
            )
        wanted = " ".join((status or "").lower().replace("-", " ").split())
        if wanted not in _STATUSES:
            raise CommitmentFilterInvalidError(
                f"De status '{status}' bestaat niet; kies 'open' of 'ingelost' (mogelijk ingelost), of laat hem leeg."
            )
        docs = tuple(Path(d.strip()).stem for d in doc_ids if d and d.strip())
        return cls(" ".join((who or "").split()), docs, start, end, _STATUSES[wanted])

    def keeps(self, c: Commitment) -> bool:
        if self.who and self.who.lower() not in f"{c.role} {c.who or ''}".lower():
            return False
        if self.doc_ids and c.doc_id not in self.doc_ids:
            return False
        if self.date_from and (not c.date or c.date < self.date_from):
            return False
        if self.date_to and (not c.date or c.date > self.date_to):
            return False
        if self.status == STATUS_OPEN and c.fulfilled_by:
            return False
        return not (self.status == STATUS_FULFILLED and not c.fulfilled_by)


def filter_commitments(commitments: Iterable[Commitment], flt: CommitmentFilter) -> list[Commitment]:
    """The commitments the filter keeps, in their order."""
    return [c for c in commitments if flt.keeps(c)]


def who_label(c: Commitment) -> str:
    """'Harbers (staatssecretaris)', or the role as the chair named it when the person is unknown."""
    if c.who:
        base = (c.role.split()[0].lower() if c.role else "") or "regering"
        return f"{c.who} ({base})"
    return c.role or "onbekend"
