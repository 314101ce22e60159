"""Committee debate reports (``debat``): one turn per speaker label.

Markdown-like and PDF-extracted reports are one format: everything they differ in (markup,
wrapped lines, page footers, footnotes) is undone by normalisation before this module sees them.

A label is a line that is only a label: ``De heer Van Nispen (SP):``, ``Mevrouw Kuik (CDA):``,
``De voorzitter:``, ``Minister Blok:``, ``Staatssecretaris Harbers:`` (markup removed first).
The text before the first label (committee, agenda letters, attendance) becomes one passage with
role 'onbekend' and section 'Inleiding'. ``Voorzitter: X`` lines set the chair; the chair's turns
keep speaker 'De voorzitter' and get the chair's surname.

Interruptions: a turn answers (``replies_to``) the previous substantive turn when that was
spoken by someone else and the two are in one exchange. Procedural chair turns are skipped when
looking for the previous turn and never link themselves. A new contribution starts (no link)
when a skipped chair turn gave the floor ('het woord', a new 'termijn', naming the next speaker)
without mentioning an interruption or question, when the previous turn is a chair turn that gave
the floor, or when the turn opens by addressing the chair ('Voorzitter. ...', 'Dank u wel,
voorzitter.'). A bare acknowledgement ('Dank.') closes an exchange: a third speaker after it
replies to the turn that was acknowledged. So: A speaks; B interrupts (B -> A); A answers
(A -> B); B follows up (B -> A's answer).

Procedural chair turns: sentences that only manage the meeting (thanks, giving the floor,
interruptions, time, suspension, naming the next speaker) are not counted; a chair turn is
procedural when fewer than ten words remain, or fewer than thirty when it gives the floor.
Listed commitments ('– De Minister zal ...') always count. A chair turn that opens with 'Als
woordvoerder' or 'In mijn hoedanigheid van woordvoerder', or continues such an exchange, is the
chair speaking as a member: never procedural, and it gets the chair's party (looked up from the
chair's own member label in the document); other chair turns have no party.
"""

from __future__ import annotations

import re

from ingest.formats.common import (
    CHAIR_CHANGE_RE,
    CLERK_RE,
    PERSON_NAME,
    Draft,
    TextDocument,
    parse_kamerstuk,
    parse_label,
    sniff_document,
)
from ingest.normalize import Paragraph
from kamerbron.records import ParsedDocument

NAME = "debate"
DOC_TYPE = "debat"

STAGE_RE = re.compile(
    r"^(?:(?:Aanvang|Sluiting)\s+\d{1,2}[.:]\d{2}\s+uur|De vergadering wordt\b.*\b(?:geschorst|heropend|gesloten))\.?$"
)
# Chair sentences that only manage the meeting.
PROCEDURAL_SENTENCE_RES = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^(?:heel |nogmaals )?(?:hartelijk |hartstikke )?dank(?:je(?:wel)?)?(?: u)?(?: wel)?(?:,? (?:voor [^.?!]*|mevrouw [^.?!]*|meneer [^.?!]*|mijnheer [^.?!]*|de heer [^.?!]*|collega[^.?!]*))?[.!]?$",
        r"^(?:goedemorgen|goedemiddag|goedenavond|welkom|collega[’']s)\b",
        r"\bhet woord\b",
        r"\b(?:interrupt|interrumpe|interventie|vervolgvraag)",
        r"\b(?:heeft|wil|mag|krijgt|zag|stellen|is)\b[^.?!]{0,30}\b(?:vraag|opmerking|toelichting|interruptie)\b",
        r"\bvraag van (?:de heer|mevrouw|collega)\b",
        r"\b(?:spreektijd|termijn|schors\w*|geschorst|pauzer\w*|aanvangsbel|de bel|voorzitterschap|afronde\w*|reservetijd|eindtijd|tijd|spelregels|V?AO|procedurevergadering|beweging)\b",
        r"\b(?:bij het onderwerp te blijven|stelt u\b|uw vraag\b|aan het eind (?:zijn|is) gekomen|(?:dan )?kom ik bij de\b)",
        r"^(?:u (?:kunt|mag|vervolgt)|kort (?:maar krachtig|graag)|een moment|zeker|oké|precies|graag|ja|nee|excuus|sorry)\b",
        r"\b(?:gaat u (?:verder|door)|vervolgt u|punt van orde)\b",
        r"\b(?:minuu?t(?:en|je)?|\d{1,2}[.:]\d{2} uur|woordvoerders|als voorzitter|mee aan het debat|algemeen overleg)\b",
        rf"^(?:de heer|mevrouw|meneer|mijnheer|collega) {PERSON_NAME}(?:,? (?:van|namens) (?:de |het )?[\w-]+)?(?:, afrondend)?[.?]?$",
        r"\b(?:aan de orde is|ik sluit|sluit ik|ik dank (?:u|iedereen|de)|dank (?:u )?allen|wens u|tot slot|we kunnen weer verder|is gereed|gereed (?:is|te zijn))\b",
    )
]
FLOOR_RE = re.compile(r"\bhet woord\b|\btermijn\b", re.IGNORECASE)
NAMES_NEXT_RE = re.compile(
    rf"(?:^|[.!?]\s+)(?:De heer|Mevrouw|Meneer|Mijnheer) {PERSON_NAME}(?:,? (?:van|namens) (?:de |het )?[\w-]+)?\.$|"
    rf"\b(?:[Dd]e heer|[Mm]evrouw) {PERSON_NAME},? (?:van|namens) (?:de |het )?[A-Z][\w-]+"
)
INTERRUPT_CUE_RE = re.compile(
    r"\b(?:interruptie\b|interrumpe|interventie|vervolgvraag|toelichting|beweging|afrondend)|"
    r"\b(?:heeft|wil|mag|krijgt|stellen|is)\b[^.?!]{0,30}\b(?:vraag|opmerking)\b|\bvraag van\b",
    re.IGNORECASE,
)
MEMBER_SIGNAL_RE = re.compile(r"^(?:In mijn hoedanigheid (?:van|als) woordvoerder|Als woordvoerder)\b")
ADDRESS_OPENING_RE = re.compile(
    r"^(?:(?:Heel )?(?:hartelijk )?dank(?: u)?(?: wel)?,?\s+)?(?:(?:mevrouw|meneer) de )?voorzitter\b", re.IGNORECASE
)


def sniff(raw: bytes) -> float:
    doc = sniff_document(raw)
    return score(doc) if doc is not None else 0.0


def score(doc: TextDocument) -> float:
    """0.9 with two or more speaker labels (they outrank every other text structure); 0.2 when
    only the title calls it a debate or an overleg that is not written; else 0."""
    if sum(1 for p in doc.paragraphs if p.standalone and parse_label(p.text)) >= 2:
        return 0.9
    kind = doc.title.kind
    return 0.2 if ("OVERLEG" in kind or "DEBAT" in kind) and "SCHRIFTELIJK" not in kind else 0.0


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    return parse_kamerstuk(raw, split, doc_type=DOC_TYPE, doc_id=doc_id, source_file=source_file,
                           manifest_entry=manifest_entry)  # fmt: skip


def split(doc: TextDocument, warnings: list[str]) -> list[Draft]:
    """One draft per speaker label, after an introduction passage; interruptions linked."""
    chair = ""
    intro: list[Paragraph] = []
    drafts: list[Draft] = []
    current: Draft | None = None
    parties: dict[str, str] = {}
    for p in doc.paragraphs:
        label = parse_label(p.text) if p.standalone else None
        if label and label.role == "kamerlid":
            parties.setdefault(label.surname.lower(), label.party)
    for p in doc.body:
        if p.standalone:
            if m := CHAIR_CHANGE_RE.match(p.text):
                chair = m.group("name")
                continue
            if CLERK_RE.match(p.text):
                continue
            label = parse_label(p.text)
            if label:
                current = Draft(label.speaker, label.surname, label.party, label.role, line_no=p.line_no)
                if label.role == "voorzitter":
                    current.surname = chair
                    current.party = parties.get(chair.lower(), "")
                drafts.append(current)
                continue
        if STAGE_RE.match(p.text):
            continue
        if current is None:
            intro.append(p)
        else:
            current.paragraphs.append(p)
    kept: list[Draft] = []
    if intro:
        kept.append(Draft("", section="Inleiding", paragraphs=intro, line_no=intro[0].line_no))
    for d in drafts:
        if not d.paragraphs:
            warnings.append(f"speaker label {d.speaker!r} at line {d.line_no} has no text; skipped")
            continue
        kept.append(d)
    _classify_chair_turns(kept)
    _link_interruptions(kept)
    return kept


def _is_procedural(text: str) -> bool:
    content = _content_words(text)
    # Giving the floor with some small talk around it is still managing the meeting.
    return content < 10 or (content < 30 and _gives_floor(text))


def _content_words(text: str) -> int:
    content = 0
    for sentence in _sentences(text):
        s = sentence.strip()
        # A listed commitment ('– De Minister zal ...') is content, whatever words it uses.
        if not s.startswith("–") and any(r.search(s) for r in PROCEDURAL_SENTENCE_RES):
            continue
        content += len(s.split())
    return content


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+|\n+", text) if s.strip()]


def _gives_floor(text: str) -> bool:
    if INTERRUPT_CUE_RE.search(text):
        return False
    return bool(FLOOR_RE.search(text) or NAMES_NEXT_RE.search(text.strip()))


def _classify_chair_turns(drafts: list[Draft]) -> None:
    for d in drafts:
        if d.role != "voorzitter":
            continue
        d.as_member = bool(MEMBER_SIGNAL_RE.match(d.text))
        d.procedural = not d.as_member and _is_procedural(d.text)
        d.gives_floor = _gives_floor(d.text)


def _link_interruptions(drafts: list[Draft]) -> None:
    for i, d in enumerate(drafts):
        if d.role == "onbekend" or d.procedural:
            continue
        floor_change = False
        prev: int | None = None
        for j in range(i - 1, -1, -1):
            c = drafts[j]
            if c.role == "onbekend":
                break
            if c.procedural:
                floor_change = floor_change or c.gives_floor
                continue
            prev = j
            break
        if prev is None or floor_change:
            continue
        p = drafts[prev]
        # A bare acknowledgement ('Dank.') closes an exchange; a third speaker then addresses
        # the turn it acknowledged.
        if len(p.text.split()) <= 4 and p.replies and p.replies[0].speaker not in (d.speaker, p.speaker):
            p = p.replies[0]
        if d.role == "voorzitter" and not d.as_member:
            # The chair continues a member exchange it started ('Dus in uw ogen ...').
            if p.replies and p.replies[0].as_member:
                d.as_member = True
        if p.speaker == d.speaker and p.role == d.role:
            continue
        if p.role == "voorzitter" and p.gives_floor and not p.as_member:
            continue
        if d.role != "voorzitter" and ADDRESS_OPENING_RE.match(d.text):
            continue
        if d.role == "voorzitter" and d.gives_floor and not d.as_member:
            continue
        d.replies = [p]
    for d in drafts:
        if d.role == "voorzitter" and not d.as_member:
            d.party = ""
