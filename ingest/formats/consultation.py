"""Written consultations (``schriftelijk_overleg``): party questions, then the government's answers.

In part I each party block becomes a turn (speaker 'leden van de SP-fractie', role 'fractie').
A block starts at a paragraph whose first sentence names a party ('De leden van de SP-fractie
...') and runs until the next such paragraph or heading. In part II ('II Reactie van de Minister
...') each answer becomes a turn of the answering official; an answer starts at a paragraph whose
first sentence restates a question (names a party, or 'Voornoemde leden ...', '... wordt
gevraagd ...', which keep the party of the previous answer). Paragraphs before the first answer
under a heading are put in front of that answer.

Answer links: each answer links, per party it names, to that party's question turn in the same
numbered section with the largest overlap with the answer's restating sentence (IDF-weighted
word stems; the rest of the paragraph breaks ties). When a question of that party in another
section overlaps clearly more (the minister answers some questions under an earlier heading),
that one is linked as well; a party without a question in the section gets only its best
question elsewhere. An answer that names no party ('Voornoemde leden vragen ...') is treated as
one group of the parties of the previous answer in the same section; after a new numbered
heading it is matched against all questions of that section.
"""

from __future__ import annotations

import enum
import math
import re

from ingest.formats.common import Draft, TextDocument, heading_like, parse_kamerstuk, sniff_document
from ingest.normalize import NUMBERED_HEADING_RE, Paragraph, is_terminal
from kamerbron.records import ParsedDocument
from kamerbron.text import STOPWORDS

NAME = "consultation"
DOC_TYPE = "schriftelijk_overleg"

ROMAN_HEADING_RE = re.compile(r"^(?P<roman>I{1,3}|IV|V)\s+(?P<title>(?:Vragen|Reactie|Antwoord|Inbreng)\b.*)$")
PARTY_RE = r"[A-Z][\w]*(?:-[A-Z][\w]*)*"
PARTY_BLOCK_RE = re.compile(rf"\bleden van de (?P<party>{PARTY_RE})-fractie\b")
PARTY_MENTION_RE = re.compile(rf"\b(?P<party>{PARTY_RE})-(?:fracties?|leden)\b")
PARTY_LIST_RE = re.compile(rf"\b(?P<party>{PARTY_RE})-(?=,|\s+en\s|\s+of\s)")
PARTY_HEADING_RE = re.compile(rf"^Vragen en opmerkingen van de leden van de (?P<party>{PARTY_RE})-fractie$")
RESTATE_START_RE = re.compile(r"^(?:De leden|Voornoemde leden|Deze leden|De aan het woord zijnde leden)\b")
ASKED_RE = re.compile(r"\bwordt\s+(?:(?:nog|verder|voorts|ook|tevens|daarnaast)\s+)*gevraagd\b")
# Words every party question and government answer of a consultation share: no evidence of a link.
CONSULTATION_WORDS = frozenset("minister staatssecretaris leden fractie vragen vraagt reeds".split())


def sniff(raw: bytes) -> float:
    doc = sniff_document(raw)
    return score(doc) if doc is not None else 0.0


def score(doc: TextDocument) -> float:
    """0.8 with a part heading ('II Reactie van de Minister') or two party blocks (below speaker
    labels, above a letter's signature); 0.2 when only the title says 'schriftelijk overleg'; else 0."""
    if any(ROMAN_HEADING_RE.match(p.text) for p in doc.paragraphs):
        return 0.8
    if sum(1 for p in doc.paragraphs if PARTY_BLOCK_RE.search(_first_sentence(p.text))) >= 2:
        return 0.8
    kind = doc.title.kind
    return 0.2 if ("OVERLEG" in kind or "DEBAT" in kind) and "SCHRIFTELIJK" in kind else 0.0


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    return parse_kamerstuk(raw, split, doc_type=DOC_TYPE, doc_id=doc_id, source_file=source_file,
                           manifest_entry=manifest_entry)  # fmt: skip


def split(doc: TextDocument, warnings: list[str]) -> list[Draft]:
    """Party blocks of part I and answers of part II, each answer linked to the questions it restates."""
    drafts = _ConsultationSplitter(warnings).run(_skip_contents(doc.body))
    _link_answers(drafts, warnings)
    return drafts


class Part(enum.Enum):
    BEFORE_PARTS = enum.auto()  # introduction: before the first party block or part heading
    QUESTIONS = enum.auto()  # part I: party blocks
    ANSWERS = enum.auto()  # part II: the government's reply


class _ConsultationSplitter:
    """Walks the body once, paragraph by paragraph, keeping which part and heading it is under."""

    def __init__(self, warnings: list[str]) -> None:
        self.warnings = warnings
        self.part = Part.BEFORE_PARTS
        self.drafts: list[Draft] = []
        self.intro: list[Paragraph] = []
        # Headings: a numbered or party heading, the heading-like line under it, the party it names.
        self.level1 = ""
        self.level2 = ""
        self.heading_party = ""
        self.answerer: tuple[str, str] = ("", "regering")
        self.announced_reply = False
        self.current: Draft | None = None
        # Answer paragraphs under a heading before its first answer; they go in front of that answer.
        self.pending: list[Paragraph] = []
        self.pending_section = ""

    @property
    def section(self) -> str:
        return f"{self.level1} – {self.level2}" if self.level1 and self.level2 else (self.level1 or self.level2)

    def run(self, body: list[Paragraph]) -> list[Draft]:
        for idx, p in enumerate(body):
            self.feed(p, body[idx + 1] if idx + 1 < len(body) else None)
        self.finish()
        return self.drafts

    def feed(self, p: Paragraph, nxt: Paragraph | None) -> None:
        text = p.text
        if m := ROMAN_HEADING_RE.match(text):
            self.start_part(text, m.group("title"))
            return
        if self.part is Part.BEFORE_PARTS:
            if not PARTY_BLOCK_RE.search(_first_sentence(text)):
                self.intro.append(p)
                return
            self.part = Part.QUESTIONS
        if NUMBERED_HEADING_RE.match(text) and len(text) < 250 and not is_terminal(text):
            self.flush_pending()
            self.current, self.level1, self.level2, self.heading_party = None, text, "", ""
        elif hm := PARTY_HEADING_RE.match(text):
            self.current, self.level1, self.level2, self.heading_party = None, text, "", hm.group("party")
        elif heading_like(p, nxt):
            self.current, self.level2 = None, text
        elif self.part is Part.QUESTIONS:
            self.add_question(p)
        else:
            self.add_answer(p)

    def start_part(self, text: str, title: str) -> None:
        self.flush_pending()
        self.current, self.level2, self.heading_party = None, "", ""
        if title.startswith(("Reactie", "Antwoord")):
            self.part, self.announced_reply, self.level1 = Part.ANSWERS, True, text
            self.answerer = _answerer(title)
        else:
            self.part, self.level1 = Part.QUESTIONS, ""

    def add_question(self, p: Paragraph) -> None:
        current = self.current
        if mention := PARTY_BLOCK_RE.search(_first_sentence(p.text)):
            current = self.new_block(mention.group("party"), p)
        elif current is None or current.section != self.section:
            party = self.heading_party or (current.party if current is not None else "")
            if not party:
                self.warnings.append(f"paragraph at line {p.line_no} names no party; kept as a passage without speaker")
            current = self.new_block(party, p)
        current.paragraphs.append(p)
        self.current = current

    def new_block(self, party: str, p: Paragraph) -> Draft:
        d = Draft(f"leden van de {party}-fractie" if party else "", party=party, role="fractie" if party else "onbekend",
                  section=self.section, part=1, line_no=p.line_no)  # fmt: skip
        self.drafts.append(d)
        return d

    def add_answer(self, p: Paragraph) -> None:
        text, first = p.text, _first_sentence(p.text)
        named = _party_mentions(first, {d.party for d in self.drafts if d.part == 1} or None)
        if named or RESTATE_START_RE.match(text) or ASKED_RE.search(first):
            previous = next((d for d in reversed(self.drafts) if d.part == 2 and d.parties), None)
            if previous is not None and _section_number(previous.section) != _section_number(self.section):
                previous = None  # 'Voornoemde leden' does not reach back across a numbered heading
            answer = Draft(self.answerer[0], role=self.answerer[1], section=self.section, part=2, line_no=p.line_no)
            answer.parties = named or (previous.parties if previous else [])
            answer.explicit, answer.restatement = bool(named), text
            answer.paragraphs = [*self.pending, p]
            self.pending = []
            self.drafts.append(answer)
            self.current = answer
        elif self.current is not None and self.current.section == self.section:
            self.current.paragraphs.append(p)
        else:
            if not self.pending:
                self.pending_section = self.section
            self.pending.append(p)

    def flush_pending(self) -> None:
        """Paragraphs that no answer followed under their heading become an answer of their own."""
        if self.pending:
            self.drafts.append(Draft(self.answerer[0], role=self.answerer[1], section=self.pending_section,
                                     paragraphs=self.pending, part=2, line_no=self.pending[0].line_no))  # fmt: skip
            self.pending = []

    def finish(self) -> None:
        if self.pending:
            last = self.drafts[-1] if self.drafts and self.drafts[-1].part == 2 and self.drafts[-1].parties else None
            if last is not None and _section_number(last.section) == _section_number(self.pending_section):
                last.paragraphs.extend(self.pending)
            else:
                self.flush_pending()
        if self.intro:
            self.drafts.insert(0, Draft("", section="Inleiding", paragraphs=self.intro, line_no=self.intro[0].line_no))
        if self.announced_reply and not any(d.part == 2 for d in self.drafts):
            self.warnings.append(
                "part II (the government's reply) is announced but has no text; only the questions are parsed"
            )


def _answerer(title: str) -> tuple[str, str]:
    m = re.search(r"\b(?:van|door) (de (?:Minister|Staatssecretaris|Minister-president)\b.*)$", title)
    who = m.group(1) if m else "de regering"
    speaker = who[:1].upper() + who[1:]
    role = "staatssecretaris" if "Staatssecretaris" in who else ("minister" if "Minister" in who else "regering")
    return speaker, role


def _section_number(section: str) -> str:
    m = re.match(r"(\d+)\.", section)
    return m.group(1) if m else section


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!])\s+(?=[A-Z«\"(])", text, maxsplit=1)[0][:400]


def _party_mentions(sentence: str, known: set[str] | None = None) -> list[str]:
    found: list[tuple[int, str]] = []
    for regex in (PARTY_MENTION_RE, PARTY_LIST_RE):
        found.extend((m.start(), m.group("party")) for m in regex.finditer(sentence))
    out: list[str] = []
    for _, party in sorted(found):
        if (not known or party in known) and party not in out:
            out.append(party)
    return out


def _skip_contents(body: list[Paragraph]) -> list[Paragraph]:
    """Drop a table of contents: from 'Inhoudsopgave' up to where its first part heading repeats."""
    start = next((i for i, p in enumerate(body) if p.text.strip().lower() == "inhoudsopgave"), None)
    if start is None:
        return body
    first = next((j for j in range(start + 1, len(body)) if ROMAN_HEADING_RE.match(body[j].text)), None)
    if first is None:
        return body
    again = next((k for k in range(first + 1, len(body)) if body[k].text == body[first].text), first)
    return body[:start] + body[again:]


def _stems(text: str) -> set[str]:
    return {
        w[:7] for w in re.findall(r"[a-zà-ÿ]{5,}", text.lower()) if w not in STOPWORDS and w not in CONSULTATION_WORDS
    }


def _best(scores: dict[int, float], candidates: list[Draft], section_no: str) -> list[Draft]:
    """The best candidate of the same section, plus one from another section that scores clearly higher."""
    same = [d for d in candidates if _section_number(d.section) == section_no]
    other = [d for d in candidates if _section_number(d.section) != section_no]
    best_same = max(same, key=lambda d: scores[id(d)], default=None)
    best_other = max(other, key=lambda d: scores[id(d)], default=None)
    if best_same is None:
        return [best_other] if best_other is not None else []
    if best_other is not None and scores[id(best_other)] > 2 * scores[id(best_same)] + 1.5:
        return [best_same, best_other]
    return [best_same]


def _link_answers(drafts: list[Draft], warnings: list[str]) -> None:
    questions = [d for d in drafts if d.part == 1 and d.role == "fractie"]
    texts = {id(q): q.text.lower() for q in questions}
    for d in drafts:
        if d.part != 2 or not (d.parties or d.restatement):
            continue
        # Stems of the restating first sentence count fully; the rest of the paragraph breaks ties.
        first, rest = _stems(_first_sentence(d.restatement)), _stems(d.restatement)
        df = {s: sum(1 for t in texts.values() if s in t) for s in first | rest}
        idf = {s: math.log((len(texts) + 1) / (n + 0.5)) for s, n in df.items()}
        scores = {
            id(q): sum(idf[s] for s in first if s in texts[id(q)])
            + 0.1 * sum(idf[s] for s in rest if s in texts[id(q)])
            for q in questions
        }
        section_no = _section_number(d.section)
        if d.explicit:
            groups = [[q for q in questions if q.party == party] for party in d.parties]
        elif d.parties:
            groups = [[q for q in questions if q.party in d.parties]]
        else:
            groups = [[q for q in questions if _section_number(q.section) == section_no]]
        links: list[Draft] = []
        for group in groups:
            links.extend(q for q in _best(scores, group, section_no) if q not in links)
        if not links:
            who = ", ".join(d.parties) or "no party"
            warnings.append(f"answer at line {d.line_no} ({who}) could not be linked to a question")
        d.replies = links
