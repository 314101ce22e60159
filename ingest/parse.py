"""Parse one Kamerstuk into ``ParsedDocument(meta, turns, warnings)``.

The text is first normalised (``ingest.normalize``: clean paragraphs, footnotes moved out),
then split into turns according to the document type, detected from the text:

* ``debat`` (committee debate report): one turn per speaker label. A label is a line that is
  only a label: ``De heer Van Nispen (SP):``, ``Mevrouw Kuik (CDA):``, ``De voorzitter:``,
  ``Minister Blok:``, ``Staatssecretaris Harbers:`` (markup removed first). The text before
  the first label (committee, agenda letters, attendance) becomes one passage with role
  'onbekend' and section 'Inleiding'. ``Voorzitter: X`` lines set the chair; the chair's turns
  keep speaker 'De voorzitter' and get the chair's surname.
* ``schriftelijk_overleg`` (written consultation): in part I each party block becomes a turn
  (speaker 'leden van de SP-fractie', role 'fractie'). A block starts at a paragraph whose
  first sentence names a party ('De leden van de SP-fractie ...') and runs until the next
  such paragraph or heading. In part II ('II Reactie van de Minister ...') each answer
  becomes a turn of the answering official; an answer starts at a paragraph whose first
  sentence restates a question (names a party, or 'Voornoemde leden ...', '... wordt
  gevraagd ...', which keep the party of the previous answer). Paragraphs before the first
  answer under a heading are put in front of that answer.
* ``brief`` (letter): one passage per paragraph, section = the heading above it (if any);
  speaker = the first signer ('Staatssecretaris Harbers'). All signers are kept in a final
  passage with section 'Ondertekening'.
* anything else: one passage per paragraph (role 'onbekend', speaker '') and a warning.

Interruptions (debates): a turn answers (``replies_to``) the previous substantive turn when
that was spoken by someone else and the two are in one exchange. Procedural chair turns are
skipped when looking for the previous turn and never link themselves. A new contribution
starts (no link) when a skipped chair turn gave the floor ('het woord', a new 'termijn',
naming the next speaker) without mentioning an interruption or question, when the previous
turn is a chair turn that gave the floor, or when the turn opens by addressing the chair
('Voorzitter. ...', 'Dank u wel, voorzitter.'). A bare acknowledgement ('Dank.') closes an
exchange: a third speaker after it replies to the turn that was acknowledged. So: A speaks;
B interrupts (B -> A); A answers (A -> B); B follows up (B -> A's answer).

Procedural chair turns: sentences that only manage the meeting (thanks, giving the floor,
interruptions, time, suspension, naming the next speaker) are not counted; a chair turn is
procedural when fewer than ten words remain, or fewer than thirty when it gives the floor.
Listed commitments ('– De Minister zal ...') always count. A chair turn that opens with 'Als
woordvoerder' or 'In mijn hoedanigheid van woordvoerder', or continues such an exchange, is
the chair speaking as a member: never procedural, and it gets the chair's party (looked up
from the chair's own member label in the document); other chair turns have no party.

Answer links (written consultations): each answer links, per party it names, to that party's
question turn in the same numbered section with the largest overlap with the answer's
restating sentence (IDF-weighted word stems; the rest of the paragraph breaks ties). When a
question of that party in another section overlaps clearly more (the minister answers some
questions under an earlier heading), that one is linked as well; a party without a question in
the section gets only its best question elsewhere. An answer that names no party ('Voornoemde
leden vragen ...') is treated as one group of the parties of the previous answer in the same
section; after a new numbered heading it is matched against all questions of that section.

Metadata merge rule: a fact parsed from the text (doc_type, dossier, number, date, committee,
chair) wins; the manifest entry fills what the text does not state; a manifest value that
disagrees with the text is reported in ``warnings``. The display fields ``title`` and ``url``
are taken from the manifest when it gives them, else built from the text (url only when both
dossier and number are known). Dates: the meeting date for debates ('heeft op 27 september
2018 overleg gevoerd'), else 'Vastgesteld <date>', the letter date ('Den Haag, 13 november
2018').
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ingest.normalize import FOOTER_RE, NUMBERED_HEADING_RE, NormalisedText, Paragraph, is_terminal, normalise
from kamerbron.errors import DocumentParseError
from kamerbron.records import DocumentMeta, ParsedDocument, Turn
from kamerbron.text import DUTCH_DATE_RE as DATE_RE
from kamerbron.text import STOPWORDS, iso_date

MAX_FILE_BYTES = 20 * 1024 * 1024
OFFICIAL_URL = "https://zoek.officielebekendmakingen.nl/kst-{dossier}-{number}.html"


_PARTICLES = r"van|der|den|de|het|ter|ten|te|in|'t|d'"
NAME = rf"(?=[A-Z])(?:[A-Z][\w'’.-]*|{_PARTICLES})(?:\s+(?:[A-Z][\w'’.-]*|{_PARTICLES})){{0,4}}"
CHAIR_LABEL_RE = re.compile(r"^De [Vv]oorzitter:$")
MEMBER_LABEL_RE = re.compile(rf"^(?P<hon>De heer|Mevrouw)\s+(?P<name>{NAME})\s*\((?P<party>[^()]{{1,40}})\):$")
GOV_LABEL_RE = re.compile(
    rf"^(?P<office>Minister-president|Minister|Staatssecretaris)\s+(?:(?:van|voor)\s+[^:]{{3,80}}?,\s+)?(?P<name>{NAME}):$"
)
CHAIR_CHANGE_RE = re.compile(rf"^Voorzitter:\s*(?P<name>{NAME})$")
CLERK_RE = re.compile(r"^(?:Adjunct-)?[Gg]riffier:\s*\S.*$")
STAGE_RE = re.compile(
    r"^(?:(?:Aanvang|Sluiting)\s+\d{1,2}[.:]\d{2}\s+uur|De vergadering wordt\b.*\b(?:geschorst|heropend|gesloten))\.?$"
)

ROMAN_HEADING_RE = re.compile(r"^(?P<roman>I{1,3}|IV|V)\s+(?P<title>(?:Vragen|Reactie|Antwoord|Inbreng)\b.*)$")
PARTY_RE = r"[A-Z][\w]*(?:-[A-Z][\w]*)*"
PARTY_BLOCK_RE = re.compile(rf"\bleden van de (?P<party>{PARTY_RE})-fractie\b")
PARTY_MENTION_RE = re.compile(rf"\b(?P<party>{PARTY_RE})-(?:fracties?|leden)\b")
PARTY_LIST_RE = re.compile(rf"\b(?P<party>{PARTY_RE})-(?=,|\s+en\s|\s+of\s)")
PARTY_HEADING_RE = re.compile(rf"^Vragen en opmerkingen van de leden van de (?P<party>{PARTY_RE})-fractie$")
RESTATE_START_RE = re.compile(r"^(?:De leden|Voornoemde leden|Deze leden|De aan het woord zijnde leden)\b")
ASKED_RE = re.compile(r"\bwordt\s+(?:(?:nog|verder|voorts|ook|tevens|daarnaast)\s+)*gevraagd\b")
SIGNER_RE = re.compile(
    r"^De (?P<office>Minister-president|Minister|Staatssecretaris)\b(?P<rest>.*?),\s*(?P<name>(?:[A-Z]\.\s*)+\S.{0,60})$"
)
COMMITTEE_RE = re.compile(r"\b(?:De )?(?P<kind>vaste|algemene) commissie voor (?P<name>[A-Z][^,.;()]*?) heeft\b")
MEETING_DATE_RE = re.compile(rf"\bheeft op {DATE_RE} overleg gevoerd\b")
ESTABLISHED_RE = re.compile(rf"^Vastgesteld {DATE_RE}\.?$")
PLACE_DATE_RE = re.compile(rf"^[A-Z][\w' -]{{1,40}}, {DATE_RE}\.?$")
SO_CHAIR_RE = re.compile(rf"^De (?:fungerend |waarnemend )?voorzitter van de (?:vaste )?commissie,\s*(?P<name>{NAME})$")

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
        rf"^(?:de heer|mevrouw|meneer|mijnheer|collega) {NAME}(?:,? (?:van|namens) (?:de |het )?[\w-]+)?(?:, afrondend)?[.?]?$",
        r"\b(?:aan de orde is|ik sluit|sluit ik|ik dank (?:u|iedereen|de)|dank (?:u )?allen|wens u|tot slot|we kunnen weer verder|is gereed|gereed (?:is|te zijn))\b",
    )
]
FLOOR_RE = re.compile(r"\bhet woord\b|\btermijn\b", re.IGNORECASE)
NAMES_NEXT_RE = re.compile(
    rf"(?:^|[.!?]\s+)(?:De heer|Mevrouw|Meneer|Mijnheer) {NAME}(?:,? (?:van|namens) (?:de |het )?[\w-]+)?\.$|"
    rf"\b(?:[Dd]e heer|[Mm]evrouw) {NAME},? (?:van|namens) (?:de |het )?[A-Z][\w-]+"
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

# Words every party question and government answer of a consultation share: no evidence of a link.
CONSULTATION_WORDS = frozenset("minister staatssecretaris leden fractie vragen vraagt reeds".split())


@dataclass
class Label:
    speaker: str
    surname: str
    party: str
    role: str


@dataclass
class _Draft:
    speaker: str
    surname: str = ""
    party: str = ""
    role: str = "onbekend"
    section: str = ""
    paragraphs: list[Paragraph] = field(default_factory=list)
    procedural: bool = False
    replies: list[_Draft] = field(default_factory=list)
    # Internal bookkeeping for linking.
    line_no: int = 0
    parties: list[str] = field(default_factory=list)
    explicit: bool = False
    restatement: str = ""
    part: int = 0
    gives_floor: bool = False
    as_member: bool = False

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)


# ---------------------------------------------------------------------------
# Reading


def read_text(path: Path) -> str:
    """Read a corpus file as text: UTF-8, else cp1252. Empty, binary or huge files raise."""
    path = Path(path)
    if not path.exists():
        raise DocumentParseError(f"{path}: file not found; check the path or remove it from the corpus list.")
    if not path.is_file():
        raise DocumentParseError(f"{path}: not a regular file; pass a .txt file or a folder of them.")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DocumentParseError(
            f"{path}: file is {size / 1_048_576:.1f} MB, over the 20 MB limit; split the document or remove it."
        )
    raw = path.read_bytes()
    return decode_bytes(raw, str(path))


def decode_bytes(raw: bytes, name: str) -> str:
    """Decode file bytes (UTF-8 with or without BOM, else cp1252); ``name`` is used in error messages."""
    if not raw.strip():
        raise DocumentParseError(f"{name}: file is empty; export the document text again or remove the file.")
    if b"\x00" in raw:
        raise DocumentParseError(f"{name}: file is binary (NUL bytes), not text; convert it to plain UTF-8 text first.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise DocumentParseError(
                f"{name}: not readable as UTF-8 or cp1252 text (byte {exc.start}); convert it to UTF-8 first."
            ) from exc
    control = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f")
    if control > max(2, len(text) // 50):
        raise DocumentParseError(f"{name}: file looks binary (control characters), not text; convert it to UTF-8 text.")
    return text


# ---------------------------------------------------------------------------
# Labels and small helpers


def parse_label(line: str) -> Label | None:
    """A speaker label that is a whole line (markup already removed), or None."""
    line = re.sub(r"\s+", " ", line.strip())
    if CHAIR_LABEL_RE.match(line):
        return Label("De voorzitter", "", "", "voorzitter")
    m = MEMBER_LABEL_RE.match(line)
    if m:
        name = m.group("name").strip()
        return Label(f"{m.group('hon')} {name}", name, m.group("party").strip(), "kamerlid")
    m = GOV_LABEL_RE.match(line)
    if m:
        name = m.group("name").strip()
        office = m.group("office")
        role = "staatssecretaris" if office == "Staatssecretaris" else "minister"
        return Label(f"{office} {name}", name, "", role)
    return None


def _standalone(line: str) -> bool:
    line = line.strip()
    return bool(parse_label(line) or CHAIR_CHANGE_RE.match(line) or CLERK_RE.match(line))


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!])\s+(?=[A-Z«\"(])", text, maxsplit=1)[0][:400]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+|\n+", text) if s.strip()]


def _party_mentions(sentence: str, known: set[str] | None = None) -> list[str]:
    found: list[tuple[int, str]] = []
    for regex in (PARTY_MENTION_RE, PARTY_LIST_RE):
        found.extend((m.start(), m.group("party")) for m in regex.finditer(sentence))
    out: list[str] = []
    for _, party in sorted(found):
        if (not known or party in known) and party not in out:
            out.append(party)
    return out


def _surname_from_signature(name: str) -> str:
    surname = re.sub(r"^(?:[A-Z]\.\s*)+", "", name.strip()).strip()
    return surname[:1].upper() + surname[1:]


def _title_case_office(text: str) -> str:
    small = {"van", "de", "en", "voor", "het", "een", "der", "den", "op", "over", "inzake", "aan", "met"}
    words = text.lower().split()
    out = [w if (i and w.strip(",") in small) else w[:1].upper() + w[1:] for i, w in enumerate(words)]
    return " ".join(out)


def _heading_like(p: Paragraph, nxt: Paragraph | None) -> bool:
    if p.bold and len(p.text) <= 200 and not p.bullet:
        return True
    text = p.text
    if len(text) > 120 or len(text.split()) > 15 or p.bullet or is_terminal(text) or text.endswith(","):
        return False
    if not re.match(r"[A-Z0-9«]", text):
        return False
    return nxt is not None and bool(re.match(r"[\"'«(]?[A-Z]", nxt.text))


# ---------------------------------------------------------------------------
# Metadata


@dataclass
class _Facts:
    doc_type: str = "onbekend"
    dossier: str = ""
    number: str = ""
    date: str = ""
    title: str = ""
    committee: str = ""
    chair: str = ""
    header_ids: set[int] = field(default_factory=set)


def _header_zone(paras: list[Paragraph]) -> tuple[set[int], dict]:
    """Indices of the title block at the top (volume, dossier, number, kind, dates), and what they say.

    The block must start at the first paragraph and ends at the first paragraph that is not a
    title line, so a body paragraph is never taken for one.
    """
    info: dict = {"dossiers": [], "titles": [], "number": "", "kind": "", "established": "", "place_date": ""}
    ids: set[int] = set()
    after_dossier = False
    for i, p in enumerate(paras[:25]):
        text = p.text
        is_dossier = bool(re.fullmatch(r"\d{2} \d{3}(?: [A-Z]{1,4})?", text))
        if is_dossier:
            info["dossiers"].append(text)
        elif re.fullmatch(r"Vergaderjaar \d{4}\s*[–-]\s*\d{4}", text) or text.startswith("Aan de Voorzitter van de"):
            pass
        elif re.fullmatch(r"Nr\. ?\d+", text):
            info["number"] = re.search(r"\d+", text).group()
        elif after_dossier and p.bold:
            info["titles"].append(text)
        elif len(text) > 8 and text.upper() == text and re.search(r"[A-Z]{4}", text):
            info["kind"] = text
        elif m := ESTABLISHED_RE.match(text):
            info["established"] = iso_date(*m.groups())
        elif m := PLACE_DATE_RE.match(text):
            info["place_date"] = iso_date(*m.groups()[-3:])
        else:
            break
        ids.add(i)
        after_dossier = is_dossier
    return ids, info


def _detect_type(paras: list[Paragraph], kind: str) -> str:
    labels = sum(1 for p in paras if p.standalone and parse_label(p.text))
    if labels >= 2:
        return "debat"
    if any(ROMAN_HEADING_RE.match(p.text) for p in paras):
        return "schriftelijk_overleg"
    blocks = sum(1 for p in paras if PARTY_BLOCK_RE.search(_first_sentence(p.text)))
    if blocks >= 2:
        return "schriftelijk_overleg"
    if kind.startswith("BRIEF") or any(SIGNER_RE.match(p.text) for p in paras[-12:]):
        return "brief"
    if "OVERLEG" in kind or "DEBAT" in kind:
        return "schriftelijk_overleg" if "SCHRIFTELIJK" in kind else "debat"
    return "onbekend"


def _extract_facts(norm: NormalisedText) -> _Facts:
    paras = norm.paragraphs
    ids, info = _header_zone(paras)
    facts = _Facts(header_ids=ids)
    facts.doc_type = _detect_type(paras, info["kind"])
    footer = next((m for m in (FOOTER_RE.match(f) for f in norm.footers) if m), None)
    if info["dossiers"]:
        facts.dossier = info["dossiers"][0]
    elif footer:
        facts.dossier = re.sub(r"^(\d{2})(\d{3})", r"\1 \2", footer.group("dossier"))
    if info["number"]:
        facts.number = info["number"]
    elif footer and footer.group("number"):
        facts.number = footer.group("number")
    head_text = " ".join(p.text for p in paras[:40])
    if m := COMMITTEE_RE.search(head_text):
        facts.committee = f"{m.group('kind')} commissie voor {m.group('name').strip()}"
    meeting = MEETING_DATE_RE.search(head_text)
    if facts.doc_type == "debat" and meeting:
        facts.date = iso_date(*meeting.groups())
    elif facts.doc_type == "brief" and info["place_date"]:
        facts.date = info["place_date"]
    elif info["established"]:
        facts.date = info["established"]
    else:
        for p in paras:
            if m := ESTABLISHED_RE.match(p.text):
                facts.date = iso_date(*m.groups())
                break
    for p in paras:
        if m := CHAIR_CHANGE_RE.match(p.text):
            facts.chair = m.group("name")
            break
    if not facts.chair and facts.doc_type != "debat":
        for p in paras[:40]:
            if m := SO_CHAIR_RE.match(p.text):
                facts.chair = m.group("name")
                break
    kind = info["kind"]
    if info["titles"] and kind:
        phrase = kind[:1] + kind[1:].lower() if kind.startswith("VERSLAG") else _title_case_office(kind)
        facts.title = f"{info['titles'][0]}; {phrase}"
    return facts


def _merge_meta(
    facts: _Facts, entry: dict, *, doc_id: str, source_file: str, content_hash: str, warnings: list[str]
) -> DocumentMeta:
    values: dict[str, str] = {}
    for key in ("doc_type", "dossier", "number", "date", "committee", "chair"):
        parsed = getattr(facts, key)
        given = str(entry.get(key, "") or "")
        if parsed in ("", "onbekend"):
            values[key] = given or parsed
        else:
            values[key] = parsed
            if given and given != parsed:
                warnings.append(f"manifest {key}={given!r} disagrees with the text ({parsed!r}); the text is used")
    values["title"] = str(entry.get("title") or facts.title)
    url = str(entry.get("url") or "")
    if not url and values["dossier"] and values["number"]:
        url = OFFICIAL_URL.format(dossier=values["dossier"].replace(" ", ""), number=values["number"])
    values["url"] = url
    return DocumentMeta(doc_id=doc_id, source_file=source_file, content_hash=content_hash, **values)


# ---------------------------------------------------------------------------
# Debates


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


def _gives_floor(text: str) -> bool:
    if INTERRUPT_CUE_RE.search(text):
        return False
    return bool(FLOOR_RE.search(text) or NAMES_NEXT_RE.search(text.strip()))


def _parse_debate(paras: list[Paragraph], facts: _Facts, warnings: list[str]) -> list[_Draft]:
    chair = ""
    intro: list[Paragraph] = []
    drafts: list[_Draft] = []
    current: _Draft | None = None
    parties: dict[str, str] = {}
    for p in paras:
        label = parse_label(p.text) if p.standalone else None
        if label and label.role == "kamerlid":
            parties.setdefault(label.surname.lower(), label.party)
    for i, p in enumerate(paras):
        if i in facts.header_ids:
            continue
        if p.standalone:
            if m := CHAIR_CHANGE_RE.match(p.text):
                chair = m.group("name")
                continue
            if CLERK_RE.match(p.text):
                continue
            label = parse_label(p.text)
            if label:
                current = _Draft(label.speaker, label.surname, label.party, label.role, line_no=p.line_no)
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
    kept: list[_Draft] = []
    if intro:
        kept.append(_Draft("", section="Inleiding", paragraphs=intro, line_no=intro[0].line_no))
    for d in drafts:
        if not d.paragraphs:
            warnings.append(f"speaker label {d.speaker!r} at line {d.line_no} has no text; skipped")
            continue
        kept.append(d)
    _classify_chair_turns(kept)
    _link_interruptions(kept)
    return kept


def _classify_chair_turns(drafts: list[_Draft]) -> None:
    for d in drafts:
        if d.role != "voorzitter":
            continue
        d.as_member = bool(MEMBER_SIGNAL_RE.match(d.text))
        d.procedural = not d.as_member and _is_procedural(d.text)
        d.gives_floor = _gives_floor(d.text)


def _link_interruptions(drafts: list[_Draft]) -> None:
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


# ---------------------------------------------------------------------------
# Written consultations


def _answerer(title: str) -> tuple[str, str]:
    m = re.search(r"\b(?:van|door) (de (?:Minister|Staatssecretaris|Minister-president)\b.*)$", title)
    who = m.group(1) if m else "de regering"
    speaker = who[:1].upper() + who[1:]
    role = "staatssecretaris" if "Staatssecretaris" in who else ("minister" if "Minister" in who else "regering")
    return speaker, role


def _section_number(section: str) -> str:
    m = re.match(r"(\d+)\.", section)
    return m.group(1) if m else section


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


def _parse_consultation(paras: list[Paragraph], facts: _Facts, warnings: list[str]) -> list[_Draft]:
    body = _skip_contents([p for i, p in enumerate(paras) if i not in facts.header_ids])
    drafts: list[_Draft] = []
    intro: list[Paragraph] = []
    part = 0
    level1 = level2 = heading_party = ""
    answerer: tuple[str, str] = ("", "regering")
    announced_reply = False
    current: _Draft | None = None
    # Part II paragraphs under a heading before its first answer; they go in front of that answer.
    pending: list[Paragraph] = []
    pending_section = ""

    def section() -> str:
        return f"{level1} – {level2}" if level1 and level2 else (level1 or level2)

    def flush_pending() -> None:
        nonlocal pending
        if pending:
            drafts.append(_Draft(answerer[0], role=answerer[1], section=pending_section, paragraphs=pending,
                                 part=2, line_no=pending[0].line_no))  # fmt: skip
            pending = []

    def new_block(party: str, p: Paragraph) -> _Draft:
        d = _Draft(f"leden van de {party}-fractie" if party else "", party=party, role="fractie" if party else "onbekend",
                   section=section(), part=1, line_no=p.line_no)  # fmt: skip
        drafts.append(d)
        return d

    for idx, p in enumerate(body):
        text = p.text
        if m := ROMAN_HEADING_RE.match(text):
            flush_pending()
            current, level2, heading_party = None, "", ""
            if m.group("title").startswith(("Reactie", "Antwoord")):
                part, announced_reply, level1 = 2, True, text
                answerer = _answerer(m.group("title"))
            else:
                part, level1 = 1, ""
            continue
        if part == 0 and not PARTY_BLOCK_RE.search(_first_sentence(text)):
            intro.append(p)
            continue
        part = part or 1
        if NUMBERED_HEADING_RE.match(text) and len(text) < 250 and not is_terminal(text):
            flush_pending()
            current, level1, level2, heading_party = None, text, "", ""
            continue
        if hm := PARTY_HEADING_RE.match(text):
            current, level1, level2, heading_party = None, text, "", hm.group("party")
            continue
        if _heading_like(p, body[idx + 1] if idx + 1 < len(body) else None):
            current, level2 = None, text
            continue
        first = _first_sentence(text)
        if part == 1:
            if mention := PARTY_BLOCK_RE.search(first):
                current = new_block(mention.group("party"), p)
            elif current is None or current.section != section():
                party = heading_party or (current.party if current is not None else "")
                if not party:
                    warnings.append(f"paragraph at line {p.line_no} names no party; kept as a passage without speaker")
                current = new_block(party, p)
            current.paragraphs.append(p)
            continue
        named = _party_mentions(first, {d.party for d in drafts if d.part == 1} or None)
        if named or RESTATE_START_RE.match(text) or ASKED_RE.search(first):
            previous = next((d for d in reversed(drafts) if d.part == 2 and d.parties), None)
            if previous is not None and _section_number(previous.section) != _section_number(section()):
                previous = None  # 'Voornoemde leden' does not reach back across a numbered heading
            current = _Draft(answerer[0], role=answerer[1], section=section(), part=2, line_no=p.line_no)
            current.parties = named or (previous.parties if previous else [])
            current.explicit, current.restatement = bool(named), text
            current.paragraphs = [*pending, p]
            pending = []
            drafts.append(current)
        elif current is not None and current.section == section():
            current.paragraphs.append(p)
        else:
            if not pending:
                pending_section = section()
            pending.append(p)
    if pending:
        last = drafts[-1] if drafts and drafts[-1].part == 2 and drafts[-1].parties else None
        if last is not None and _section_number(last.section) == _section_number(pending_section):
            last.paragraphs.extend(pending)
        else:
            flush_pending()
    if intro:
        drafts.insert(0, _Draft("", section="Inleiding", paragraphs=intro, line_no=intro[0].line_no))
    if announced_reply and not any(d.part == 2 for d in drafts):
        warnings.append("part II (the government's reply) is announced but has no text; only the questions are parsed")
    _link_answers(drafts, warnings)
    return drafts


def _stems(text: str) -> set[str]:
    return {w[:7] for w in re.findall(r"[a-zà-ÿ]{5,}", text.lower()) if w not in STOPWORDS and w not in CONSULTATION_WORDS}


def _best(scores: dict[int, float], candidates: list[_Draft], section_no: str) -> list[_Draft]:
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


def _link_answers(drafts: list[_Draft], warnings: list[str]) -> None:
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
        links: list[_Draft] = []
        for group in groups:
            links.extend(q for q in _best(scores, group, section_no) if q not in links)
        if not links:
            who = ", ".join(d.parties) or "no party"
            warnings.append(f"answer at line {d.line_no} ({who}) could not be linked to a question")
        d.replies = links


# ---------------------------------------------------------------------------
# Letters and plain text


def _parse_letter(paras: list[Paragraph], facts: _Facts, warnings: list[str]) -> list[_Draft]:
    body = [p for i, p in enumerate(paras) if i not in facts.header_ids]
    signers: list[tuple[str, str, str, str]] = []
    while body and (m := SIGNER_RE.match(body[-1].text)):
        office = m.group("office")
        surname = _surname_from_signature(m.group("name"))
        role = "staatssecretaris" if office == "Staatssecretaris" else "minister"
        signers.insert(0, (f"{office} {surname}", surname, role, body[-1].text))
        body.pop()
    if signers:
        speaker, surname, role, _ = signers[0]
    else:
        speaker, surname, role = "", "", "onbekend"
        warnings.append("no signature found at the end of the letter; passages have no speaker")
    drafts: list[_Draft] = []
    section = ""
    for idx, p in enumerate(body):
        nxt = body[idx + 1] if idx + 1 < len(body) else None
        if _heading_like(p, nxt):
            section = p.text
            continue
        d = _Draft(speaker, surname, "", role, section=section, line_no=p.line_no)
        d.paragraphs.append(p)
        drafts.append(d)
    if signers:
        sig = Paragraph(text="\n\n".join(s[3] for s in signers), line_no=0)
        drafts.append(_Draft(speaker, surname, "", role, section="Ondertekening", paragraphs=[sig]))
    return drafts


def _parse_plain(paras: list[Paragraph], facts: _Facts, warnings: list[str]) -> list[_Draft]:
    warnings.append(
        "no speaker labels, party blocks or letter signature found; the text is kept as plain paragraphs"
    )
    return [
        _Draft("", paragraphs=[p], line_no=p.line_no) for i, p in enumerate(paras) if i not in facts.header_ids
    ]


# ---------------------------------------------------------------------------
# Entry points


def parse_text(text: str, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    """Parse document text (already decoded); ``manifest_entry`` fills metadata the text lacks."""
    return _parse(text, doc_id=doc_id, source_file=source_file, entry=manifest_entry or {},
                  content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest())  # fmt: skip


def parse_document(path: Path, manifest: dict | None = None) -> ParsedDocument:
    """Parse one corpus file. ``manifest`` is this file's manifest entry; None loads the folder's manifest."""
    path = Path(path)
    text = read_text(path)
    if manifest is None:
        from ingest.manifest import load_manifest

        manifest = load_manifest(path.parent).get(path.name, {})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return _parse(text, doc_id=path.stem, source_file=path.name, entry=manifest, content_hash=digest)


def _parse(text: str, *, doc_id: str, source_file: str, entry: dict, content_hash: str) -> ParsedDocument:
    if not text.strip():
        raise DocumentParseError(f"{source_file}: document is empty; export the text again or remove the file.")
    norm = normalise(text, standalone=_standalone)
    warnings = list(norm.warnings)
    facts = _extract_facts(norm)
    doc_type = facts.doc_type
    if doc_type == "onbekend" and entry.get("doc_type"):
        doc_type = entry["doc_type"]
    parser = {
        "debat": _parse_debate,
        "schriftelijk_overleg": _parse_consultation,
        "brief": _parse_letter,
    }.get(doc_type, _parse_plain)
    drafts = parser(norm.paragraphs, facts, warnings)
    drafts = [d for d in drafts if d.paragraphs]
    if not drafts and doc_type != "onbekend":
        drafts = _parse_plain(norm.paragraphs, facts, warnings)
    meta = _merge_meta(facts, entry, doc_id=doc_id, source_file=source_file, content_hash=content_hash,
                       warnings=warnings)  # fmt: skip
    turns = _to_turns(drafts, doc_id)
    if not turns:
        raise DocumentParseError(f"{source_file}: no text left after removing headers and markup; check the file.")
    return ParsedDocument(meta=meta, turns=turns, warnings=warnings)


def _to_turns(drafts: list[_Draft], doc_id: str) -> list[Turn]:
    index = {id(d): i for i, d in enumerate(drafts)}
    turns: list[Turn] = []
    for i, d in enumerate(drafts):
        replies = sorted({index[id(r)] for r in d.replies if id(r) in index})
        notes: list[str] = []
        for p in d.paragraphs:
            notes.extend(n for n in p.footnotes if n not in notes)
        turns.append(
            Turn(
                doc_id=doc_id,
                turn_index=i,
                speaker=d.speaker,
                surname=d.surname,
                party=d.party,
                role=d.role,  # type: ignore[arg-type]
                section=d.section,
                procedural=d.procedural,
                replies_to=replies,
                text=d.text,
                footnotes=notes,
            )
        )
    return turns
