"""Questions about commitments, answered from the commitment records rather than from retrieved passages:
'Welke toezeggingen deed Harbers in 2018?', 'Wat heeft de minister toegezegd over taakstraffen?',
'What did the state secretary promise about the action plan?'.

A question is one when it speaks of commitments (toezegging, toegezegd, 'zegde ... toe', beloofd,
belofte, promise, commit, pledge). What it names narrows the list: a government member of the index
(by surname), a role (minister, staatssecretaris), a year or a date of the debate, 'open' or 'ingelost'
in a 'welke ...' question, and its remaining content words, the subject: the commitments that cover
the most of it (weighted by how rare each word is among the commitments) are kept. Each line quotes
the chair's words and cites the chair's passage; a commitment that may have been fulfilled also quotes
and cites the delivering passage. When none matches, the answer says so (a refusal) and names whose
commitments there are.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field

from kamerbron.analyzer import Analyzer
from kamerbron.records import Answer, Chunk, Citation, Commitment, Passage
from kamerbron.settings import Settings
from kamerbron.text import DUTCH_DATE_RE, STOPWORDS, YEAR_RE, find_parties, format_date, is_english, iso_date
from rag.commitments import CACHE_SIZE, STATUS_FULFILLED, STATUS_OPEN, commitments_key, load_commitments, who_label
from rag.compose import attribution
from rag.index import LoadedIndex
from rag.query_terms import EN_TO_NL

COMMITMENT_QUESTION_RE = re.compile(
    r"\btoezegging\w*|\btoegezegd\w*|\btoezeg(?:gen|t)\b|\bzeg(?:t|de|den)\b[^?.!]*\btoe\b"
    r"|\bbelo(?:ofd\w*|fte\w*|ven|ft)\b|\bpromis\w*|\bpledg\w*|\bcommitments?\b"
    r"|\bcommit(?:s|ted)?\s+(?:to|himself|herself|itself|themselves)\b",
    re.I,
)
_ROLES = (
    ("minister-president", re.compile(r"\b(?:minister-president|premier|prime\s+minister)\b", re.I)),
    ("minister", re.compile(r"\bminister(?!-)\b|\bministers\b", re.I)),
    ("staatssecretaris", re.compile(r"\bstaatssecretaris\w*|\bstate\s+secretar\w*", re.I)),
)
_YEAR = YEAR_RE
_LIST_QUESTION = re.compile(r"^\s*(?:en\s+)?(?:welke|which|what)\b", re.I)
_STATUS_WORDS = (
    (STATUS_OPEN, re.compile(r"\b(?:open|openstaand\w*|nog\s+niet\s+(?:ingelost|nagekomen)|outstanding)\b", re.I)),
    (STATUS_FULFILLED, re.compile(r"\b(?:ingelost|nagekomen|fulfilled|kept|delivered)\b", re.I)),
)
# Words of a question that ask for commitments, not about what: never its subject.
_QUESTION_WORDS = (
    "welke welk wat wie heeft hebben had deed deden gedaan doen toezegging toezeggingen toegezegd toezeggen "
    "zegde zegden zegt toe beloofd beloofde belofte beloften beloven belooft minister ministers minister-president "
    "premier staatssecretaris staatssecretarissen bewindspersoon bewindspersonen kabinet regering kamer debat debatten "
    "overleg algemeen commissiedebat ao waren zijn nog open openstaande ingelost nagekomen waargemaakt gehouden "
    "mogelijk allemaal alle lijst geef noem toon laat zien jaar vóór voor sturen gestuurd informeren geleverd "
    "what which who did does do promise promised promises commit committed commitment commitments pledge pledged "
    "made make give gave state secretary secretaries government cabinet about kept fulfilled outstanding list show "
    "all year debate"
)
# Words that stand for "any subject" ("did she promise anything about ..."): never a subject.
_INDEFINITE = frozenset("iets wat anything something everything iets ietsje".split())
# A long list is cut here; the tab shows them all.
MAX_LISTED = 10


@dataclass
class CommitmentQuestion:
    """What a commitment question names."""

    persons: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    status: str = ""
    topic: dict[str, str] = field(default_factory=dict)  # stem -> the word as asked
    english: bool = False


class _Words:
    analyzer = Analyzer()
    ignored = frozenset(analyzer.stems(_QUESTION_WORDS))


def is_commitment_question(question: str) -> bool:
    """Whether a question asks about the government's commitments (toezeggingen, beloftes, promises); one
    that names a party and no government member asks about the party's promises, which are no toezegging."""
    if COMMITMENT_QUESTION_RE.search(question or "") is None:
        return False
    return not find_parties(question) or any(pattern.search(question) for _, pattern in _ROLES)


def parse_question(question: str, people: list[str]) -> CommitmentQuestion:
    """Who, when, which status and what subject a commitment question names; ``people`` are the surnames
    it may name (government members of the index)."""
    q = CommitmentQuestion(english=is_english(question))
    rest = question
    for name in sorted(set(people), key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.I)
        if pattern.search(rest):
            q.persons.append(name)
            rest = pattern.sub(" ", rest)
    for role, pattern in _ROLES:
        if pattern.search(rest):
            q.roles.append(role)
            rest = pattern.sub(" ", rest)
    for day, month, year in re.findall(DUTCH_DATE_RE, rest, flags=re.I):
        q.dates.append(iso_date(day, month, year))
    rest = re.sub(DUTCH_DATE_RE, " ", rest, flags=re.I)
    q.years = list(dict.fromkeys(_YEAR.findall(rest)))
    rest = _YEAR.sub(" ", rest)
    if _LIST_QUESTION.search(question):
        q.status = next((status for status, pattern in _STATUS_WORDS if pattern.search(rest)), "")
    for word in _Words.analyzer.words(rest):
        if word.lower() in STOPWORDS or word.lower() in _INDEFINITE:
            continue
        # an English subject word is matched by its Dutch counterpart ("municipalities" -> gemeenten)
        dutch = EN_TO_NL.get(word.lower(), word) if q.english else word
        stem = _Words.analyzer.stems(dutch)
        if stem and stem[0] not in _Words.ignored and not word.isdigit():
            q.topic.setdefault(stem[0], word)
    return q


def _base_role(c: Commitment) -> str:
    return c.role.split()[0].lower() if c.role else ""


def _keeps(c: Commitment, q: CommitmentQuestion) -> bool:
    if q.persons and (c.who or "").lower() not in {p.lower() for p in q.persons}:
        return False
    if q.roles and not q.persons and _base_role(c) not in q.roles:
        return False
    if q.years and c.date[:4] not in q.years:
        return False
    if q.dates and c.date not in q.dates:
        return False
    if q.status == STATUS_OPEN and c.fulfilled_by:
        return False
    return not (q.status == STATUS_FULFILLED and not c.fulfilled_by)


class _SubjectIndex:
    """The commitments' words, for matching a question's subject; a stem's weight is its rarity among them."""

    def __init__(self, commitments: list[Commitment]):
        self.texts = {id(c): f"{c.text} {c.doc_title}".lower() for c in commitments}
        self.stems = {id(c): set(_Words.analyzer.stems(self.texts[id(c)])) for c in commitments}
        self.n = len(commitments)
        self._weight: dict[str, float] = {}

    def covers(self, c: Commitment, stem: str) -> bool:
        """The stem is in the commitment, also inside a compound ('taakstraf' in 'taakstrafverbod'), or the
        question's compound holds one of its words ('begrotingsbehandeling' holds 'begroting')."""
        if (stem in self.texts[id(c)]) if len(stem) >= 5 else (stem in self.stems[id(c)]):
            return True
        return any(len(s) >= 5 and (stem.startswith(s) or stem.endswith(s)) for s in self.stems[id(c)])

    def weight(self, stem: str, commitments: list[Commitment]) -> float:
        if stem not in self._weight:
            df = sum(self.covers(c, stem) for c in commitments)
            self._weight[stem] = math.log(1.0 + (self.n + 1) / (df + 0.5))
        return self._weight[stem]


def select_commitments(
    commitments: list[Commitment], q: CommitmentQuestion, subjects: _SubjectIndex | None = None
) -> list[Commitment]:
    """The commitments the question asks for: its who, when and status filters, then, when it names a
    subject, those covering at least half of it and nearly as much as the best (weighted by rarity).
    ``subjects``: the commitments' _SubjectIndex when one is kept; else it is made."""
    kept = [c for c in commitments if _keeps(c, q)]
    if not q.topic or not kept:
        return kept
    subjects = subjects or _SubjectIndex(commitments)
    weights = {stem: subjects.weight(stem, commitments) for stem in q.topic}
    total = sum(weights.values())
    scores = {id(c): sum(w for stem, w in weights.items() if subjects.covers(c, stem)) / total for c in kept}
    best = max(scores.values())
    return [c for c in kept if scores[id(c)] >= 0.5 and scores[id(c)] >= 0.8 * best]


def _chunk(index: LoadedIndex, chunk_id: str) -> Chunk | None:
    at = index.position.get(chunk_id)
    return index.chunks[at] if at is not None else None


def _government_surnames(index: LoadedIndex) -> list[str]:
    return sorted({c.surname for c in index.chunks if c.surname and c.role in ("minister", "staatssecretaris")})


@dataclass(frozen=True)
class _Known:
    """An index generation's commitments with what every question over them needs: the people a question
    may name (those with commitments and the government members of the index) and the subject index."""

    commitments: list[Commitment]
    people: list[str]
    subjects: _SubjectIndex


# By rag.commitments.commitments_key, as load_commitments keeps the lists themselves.
_known: dict[tuple, _Known] = {}
_known_lock = threading.Lock()


def _known_commitments(settings: Settings, index: LoadedIndex) -> _Known:
    key = commitments_key(settings, index)
    with _known_lock:
        known = _known.get(key)
    if known is None:
        # load_commitments keeps only commitments whose passage the index holds
        commitments = load_commitments(settings, index)
        people = sorted({c.who for c in commitments if c.who} | set(_government_surnames(index)))
        known = _Known(commitments, people, _SubjectIndex(commitments))
        with _known_lock:
            _known[key] = known
            while len(_known) > CACHE_SIZE:
                del _known[next(iter(_known))]
    return known


def _asked(q: CommitmentQuestion) -> str:
    """'van staatssecretaris Harbers in 2018 over taakstraffen', as the question put it."""
    parts = []
    also, either = (" and ", " or ") if q.english else (" en ", " of ")
    if q.persons:
        parts.append(("by " if q.english else "van ") + also.join(q.persons))
    elif q.roles:
        parts.append(("by the " if q.english else "van de ") + either.join(q.roles))
    if q.dates:
        parts.append(("in the debate of " if q.english else "in het debat van ") + format_date(q.dates[0], q.english))
    elif q.years:
        parts.append("in " + either.join(q.years))
    if q.status:
        fulfilled = q.status == STATUS_FULFILLED
        if q.english:
            parts.append("that may have been fulfilled" if fulfilled else "still open")
        else:
            parts.append("die mogelijk zijn ingelost" if fulfilled else "die nog open staan")
    if q.topic:
        words = list(q.topic.values())
        listed = ", ".join(words[:-1]) + also + words[-1] if len(words) > 1 else words[0]
        parts.append(("about " if q.english else "over ") + listed)
    return " ".join(parts)


class _Numbering:
    """Citation numbers by passage, in order of first use; each citation marks the sentences relied on."""

    def __init__(self) -> None:
        self.citations: dict[str, Citation] = {}
        self.passages: list[Passage] = []

    def cite(self, chunk: Chunk, sentence: str) -> int:
        citation = self.citations.get(chunk.chunk_id)
        if citation is None:
            passage = Passage.from_chunk(chunk)
            citation = Citation.from_passage(len(self.citations) + 1, passage, [])
            self.citations[chunk.chunk_id] = citation
            self.passages.append(passage)
        if sentence not in citation.sentences:
            citation.sentences.append(sentence)
        return citation.n


def _line(i: int, c: Commitment, chunk: Chunk, index, numbers: _Numbering, english: bool) -> str:
    when = format_date(c.date, english)
    head = f"{i}. {who_label(c)}, {'debate of' if english else 'debat van'} {when}."
    said = "The chair read out:" if english else "De voorzitter las voor:"
    parts = [f"{head} {said} “{c.text}” [{numbers.cite(chunk, c.text)}]"]
    for label_nl, label_en, value in (
        ("Termijn", "Deadline", c.deadline),
        ("Voorbehoud", "Reservation", c.qualification),
    ):
        if value:
            parts.append(f"{label_en if english else label_nl}: {value.rstrip('.')}.")
    evidence = _chunk(index, c.fulfilled_by) if c.fulfilled_by else None
    if evidence is not None and c.evidence is not None and c.evidence.sentences:
        quoted = " ".join(c.evidence.sentences)  # consecutive sentences of the passage
        for sentence in c.evidence.sentences:
            n = numbers.cite(evidence, sentence)
        label = "Possibly fulfilled" if english else "Mogelijk ingelost"
        parts.append(f"{label}: {c.fulfilled_reason}.")
        parts.append(f"{attribution(Passage.from_chunk(evidence), english)}: “{quoted}” [{n}]")
    return " ".join(parts)


def _none_found(question: str, q: CommitmentQuestion, commitments: list[Commitment]) -> Answer:
    asked = _asked(q)
    if q.english:
        text = f"The committee reports in Kamerbron hold no commitments{' ' + asked if asked else ''}."
    else:
        text = f"In de verslagen van de commissiedebatten in Kamerbron staan geen toezeggingen{' ' + asked if asked else ''}."
    who_when = list(dict.fromkeys(f"{c.who or c.role} ({c.date[:4]})" for c in commitments if c.who or c.role))
    if who_when:
        shown = ", ".join(who_when[:6])
        text += f" There are commitments by: {shown}." if q.english else f" Wel toezeggingen van: {shown}."
    return Answer(question=question, answer=text, refused=True, backend="extractive")


def commitment_answer(question: str, index, settings: Settings) -> Answer | None:
    """The answer to a commitment question from the commitment records, each line cited; None when the
    question is not about commitments. ``index`` is the LoadedIndex (or LiveIndex) the records cite."""
    if not is_commitment_question(question):
        return None
    index = getattr(index, "current", index)
    known = _known_commitments(settings, index)
    q = parse_question(question, known.people)
    chosen = select_commitments(known.commitments, q, known.subjects)
    if not chosen:
        return _none_found(question, q, known.commitments)
    numbers = _Numbering()
    asked = _asked(q)
    if q.english:
        intro = f"Commitments{' ' + asked if asked else ''}, as the chair read them out at the end of the debate ({len(chosen)}):"
    else:
        intro = f"Toezeggingen{' ' + asked if asked else ''}, zoals de voorzitter ze aan het eind van het debat voorlas ({len(chosen)}):"
    lines = [intro]
    for i, c in enumerate(chosen[:MAX_LISTED], start=1):
        lines.append(_line(i, c, _chunk(index, c.chunk_id), index, numbers, q.english))
    if len(chosen) > MAX_LISTED:
        more = len(chosen) - MAX_LISTED
        lines.append(
            f"And {more} more: the Toezeggingen tab lists them all."
            if q.english
            else f"En nog {more}: het tabblad Toezeggingen toont ze allemaal."
        )
    return Answer(
        question=question,
        answer="\n\n".join(lines),
        citations=list(numbers.citations.values()),
        retrieved=numbers.passages,  # the passages cited are the ones this answer consulted
        backend="extractive",
    )
