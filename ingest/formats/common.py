"""What the text formats share: the analysed text, speaker labels, facts and metadata, drafts to turns.

A text document is decoded (``ingest.formats.textfile``) and normalised first
(``ingest.normalize``: markdown-like and PDF-extracted text alike become clean paragraphs,
footnotes moved out); the title block at the top (volume, dossier, number, kind, dates) is read.
Each text format then splits the paragraphs after the title block into :class:`Draft` turns
(``debate``, ``consultation``, ``letter``; ``plain`` as the fallback), and
:func:`parse_kamerstuk` turns those into a ``ParsedDocument``.

Metadata merge rule: a fact parsed from the text (doc_type, dossier, number, date, committee,
chair) wins; the manifest entry fills what the text does not state; a manifest value that
disagrees with the text is reported in ``warnings``. The display fields ``title`` and ``url``
are taken from the manifest when it gives them, else built from the text (url only when both
dossier and number are known); the publication ``status`` comes from the manifest (a text
file does not state one). Dates: the meeting date for debates ('heeft op 27 september
2018 overleg gevoerd'), else 'Vastgesteld <date>', the letter date ('Den Haag, 13 november
2018').
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.formats.textfile import decode_bytes
from ingest.normalize import FOOTER_RE, Paragraph, is_terminal, normalise
from kamerbron.errors import DocumentParseError
from kamerbron.records import DocumentMeta, ParsedDocument, Turn
from kamerbron.text import DUTCH_DATE_RE as DATE_RE
from kamerbron.text import iso_date

OFFICIAL_URL = "https://zoek.officielebekendmakingen.nl/kst-{dossier}-{number}.html"

_PARTICLES = r"van|der|den|de|het|ter|ten|te|in|'t|d'"
PERSON_NAME = rf"(?=[A-Z])(?:[A-Z][\w'’.-]*|{_PARTICLES})(?:\s+(?:[A-Z][\w'’.-]*|{_PARTICLES})){{0,4}}"
CHAIR_LABEL_RE = re.compile(r"^De [Vv]oorzitter:$")
MEMBER_LABEL_RE = re.compile(rf"^(?P<hon>De heer|Mevrouw)\s+(?P<name>{PERSON_NAME})\s*\((?P<party>[^()]{{1,40}})\):$")
GOV_LABEL_RE = re.compile(
    rf"^(?P<office>Minister-president|Minister|Staatssecretaris)\s+(?:(?:van|voor)\s+[^:]{{3,80}}?,\s+)?(?P<name>{PERSON_NAME}):$"
)
CHAIR_CHANGE_RE = re.compile(rf"^Voorzitter:\s*(?P<name>{PERSON_NAME})$")
CLERK_RE = re.compile(r"^(?:Adjunct-)?[Gg]riffier:\s*\S.*$")

COMMITTEE_RE = re.compile(r"\b(?:De )?(?P<kind>vaste|algemene) commissie voor (?P<name>[A-Z][^,.;()]*?) heeft\b")
MEETING_DATE_RE = re.compile(rf"\bheeft op {DATE_RE} overleg gevoerd\b")
ESTABLISHED_RE = re.compile(rf"^Vastgesteld {DATE_RE}\.?$")
PLACE_DATE_RE = re.compile(rf"^[A-Z][\w' -]{{1,40}}, {DATE_RE}\.?$")
SO_CHAIR_RE = re.compile(
    rf"^De (?:fungerend |waarnemend )?voorzitter van de (?:vaste )?commissie,\s*(?P<name>{PERSON_NAME})$"
)


@dataclass
class Label:
    speaker: str
    surname: str
    party: str
    role: str


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


def is_standalone(line: str) -> bool:
    """Lines that normalisation must keep on their own: speaker labels, chair changes, the clerk."""
    line = line.strip()
    return bool(parse_label(line) or CHAIR_CHANGE_RE.match(line) or CLERK_RE.match(line))


@dataclass
class Draft:
    """A turn being built by a text format; :func:`to_turns` numbers them and resolves ``replies``."""

    speaker: str
    surname: str = ""
    party: str = ""
    role: str = "onbekend"
    section: str = ""
    paragraphs: list[Paragraph] = field(default_factory=list)
    procedural: bool = False
    replies: list[Draft] = field(default_factory=list)
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


# ---------------------------------------------------------------- the analysed text


@dataclass(frozen=True)
class TitleBlock:
    """The title block at the top: which paragraphs it spans and what they say."""

    ids: frozenset[int] = frozenset()
    dossiers: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    number: str = ""
    kind: str = ""
    established: str = ""
    place_date: str = ""


@dataclass(frozen=True)
class TextDocument:
    """One decoded text, normalised, with its title block read. Shared between sniffs: read only."""

    text: str
    paragraphs: tuple[Paragraph, ...]
    footers: tuple[str, ...]
    warnings: tuple[str, ...]
    title: TitleBlock

    @property
    def body(self) -> list[Paragraph]:
        """The paragraphs after the title block."""
        return [p for i, p in enumerate(self.paragraphs) if i not in self.title.ids]


# Every text format sniffs the same bytes before one of them parses them: normalise once.
@functools.lru_cache(maxsize=1)
def analyse(text: str) -> TextDocument:
    """Normalise ``text`` and read its title block."""
    norm = normalise(text, standalone=is_standalone)
    paragraphs = tuple(norm.paragraphs)
    return TextDocument(text, paragraphs, tuple(norm.footers), tuple(norm.warnings), _title_block(paragraphs))


def sniff_document(raw: bytes) -> TextDocument | None:
    """``raw`` analysed as text for a text format's sniff; None when the bytes are not text."""
    try:
        text = decode_bytes(raw, "")
    except DocumentParseError:
        return None
    return analyse(text)


def _title_block(paras: tuple[Paragraph, ...]) -> TitleBlock:
    """The block must start at the first paragraph and ends at the first paragraph that is not a
    title line, so a body paragraph is never taken for one."""
    ids: set[int] = set()
    dossiers: list[str] = []
    titles: list[str] = []
    number = kind = established = place_date = ""
    after_dossier = False
    for i, p in enumerate(paras[:25]):
        text = p.text
        is_dossier = bool(re.fullmatch(r"\d{2} \d{3}(?: [A-Z]{1,4})?", text))
        if is_dossier:
            dossiers.append(text)
        elif re.fullmatch(r"Vergaderjaar \d{4}\s*[–-]\s*\d{4}", text) or text.startswith("Aan de Voorzitter van de"):
            pass
        elif re.fullmatch(r"Nr\. ?\d+", text):
            number = re.search(r"\d+", text).group()
        elif after_dossier and p.bold:
            titles.append(text)
        elif len(text) > 8 and text.upper() == text and re.search(r"[A-Z]{4}", text):
            kind = text
        elif m := ESTABLISHED_RE.match(text):
            established = iso_date(*m.groups())
        elif m := PLACE_DATE_RE.match(text):
            place_date = iso_date(*m.groups()[-3:])
        else:
            break
        ids.add(i)
        after_dossier = is_dossier
    return TitleBlock(frozenset(ids), tuple(dossiers), tuple(titles), number, kind, established, place_date)


def heading_like(p: Paragraph, nxt: Paragraph | None) -> bool:
    """A short paragraph that reads as a heading of the paragraph after it."""
    if p.bold and len(p.text) <= 200 and not p.bullet:
        return True
    text = p.text
    if len(text) > 120 or len(text.split()) > 15 or p.bullet or is_terminal(text) or text.endswith(","):
        return False
    if not re.match(r"[A-Z0-9«]", text):
        return False
    return nxt is not None and bool(re.match(r"[\"'«(]?[A-Z]", nxt.text))


# ---------------------------------------------------------------- from drafts to a parsed document

Split = Callable[[TextDocument, list[str]], list[Draft]]


def split_paragraphs(doc: TextDocument, warnings: list[str]) -> list[Draft]:
    """The fallback split: one passage per paragraph (role 'onbekend', speaker ''), and a warning."""
    warnings.append("no speaker labels, party blocks or letter signature found; the text is kept as plain paragraphs")
    return [Draft("", paragraphs=[p], line_no=p.line_no) for p in doc.body]


def parse_kamerstuk(
    raw: bytes, split: Split, *, doc_type: str, doc_id: str, source_file: str, manifest_entry: dict | None
) -> ParsedDocument:
    """Decode ``raw`` and parse it with :func:`parse_kamerstuk_text`; the content hash is of the raw bytes."""
    return parse_kamerstuk_text(decode_bytes(raw, source_file), split, doc_type=doc_type, doc_id=doc_id,
                                source_file=source_file, manifest_entry=manifest_entry,
                                content_hash=hashlib.sha256(raw).hexdigest())  # fmt: skip


def parse_kamerstuk_text(
    text: str,
    split: Split,
    *,
    doc_type: str,
    doc_id: str,
    source_file: str,
    manifest_entry: dict | None,
    content_hash: str,
) -> ParsedDocument:
    """Split ``text`` with ``split`` and merge the facts of the text with the manifest entry.

    ``doc_type`` is the type the text states ('onbekend' when it states none). When ``split``
    keeps no text, the paragraphs are kept as plain passages instead.
    """
    if not text.strip():
        raise DocumentParseError(f"{source_file}: document is empty; export the text again or remove the file.")
    doc = analyse(text)
    warnings = list(doc.warnings)
    facts = extract_facts(doc, doc_type)
    drafts = [d for d in split(doc, warnings) if d.paragraphs]
    if not drafts and split is not split_paragraphs:
        drafts = split_paragraphs(doc, warnings)
    if not drafts:
        raise DocumentParseError(f"{source_file}: no text left after removing headers and markup; check the file.")
    meta = merge_meta(facts, manifest_entry or {}, doc_id=doc_id, source_file=source_file,
                      content_hash=content_hash, warnings=warnings)  # fmt: skip
    return ParsedDocument(meta=meta, turns=to_turns(usable_drafts(drafts, warnings), doc_id), warnings=warnings)


def usable_drafts(drafts: list[Draft], warnings: list[str]) -> list[Draft]:
    """The drafts that hold text to index, so that no passage is junk.

    A passage that is only a speaker label is dropped. A document whose passages are all titles or
    headings (a title-only file) keeps none: it is parsed, with a warning, and indexes nothing.
    """
    kept = []
    for d in drafts:
        label = parse_label(d.text) if len(d.paragraphs) == 1 else None
        if label is None:
            kept.append(d)
        else:
            warnings.append(f"speaker label {label.speaker!r} at line {d.line_no} has no text; skipped")
    if not kept:
        warnings.append("no usable passage: only speaker labels without text; nothing of this file is indexed")
    elif all(_is_title(p) for d in kept for p in d.paragraphs):
        shown = "; ".join(d.text for d in kept)
        shown = shown if len(shown) <= 80 else shown[:79] + "…"
        warnings.append(f"no usable passage: only a title or headings ({shown!r}), no text; nothing of this file is "
                        "indexed")  # fmt: skip
        kept = []
    return kept


def _is_title(p: Paragraph) -> bool:
    """A paragraph that names rather than says: no sentence end, and bold or a few words only."""
    return not is_terminal(p.text) and (p.bold or len(p.text.split()) <= TITLE_MAX_WORDS)


# A line without a sentence end and at most this many words reads as a title or heading.
TITLE_MAX_WORDS = 12


def to_turns(drafts: list[Draft], doc_id: str) -> list[Turn]:
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


# ---------------------------------------------------------------- metadata


@dataclass
class Facts:
    """What the text itself states about the document."""

    doc_type: str = "onbekend"
    dossier: str = ""
    number: str = ""
    date: str = ""
    title: str = ""
    committee: str = ""
    chair: str = ""


def extract_facts(doc: TextDocument, doc_type: str) -> Facts:
    paras = doc.paragraphs
    block = doc.title
    facts = Facts(doc_type=doc_type)
    footer = next((m for m in (FOOTER_RE.match(f) for f in doc.footers) if m), None)
    if block.dossiers:
        facts.dossier = block.dossiers[0]
    elif footer:
        facts.dossier = re.sub(r"^(\d{2})(\d{3})", r"\1 \2", footer.group("dossier"))
    if block.number:
        facts.number = block.number
    elif footer and footer.group("number"):
        facts.number = footer.group("number")
    head_text = " ".join(p.text for p in paras[:40])
    if m := COMMITTEE_RE.search(head_text):
        facts.committee = f"{m.group('kind')} commissie voor {m.group('name').strip()}"
    meeting = MEETING_DATE_RE.search(head_text)
    if facts.doc_type == "debat" and meeting:
        facts.date = iso_date(*meeting.groups())
    elif facts.doc_type == "brief" and block.place_date:
        facts.date = block.place_date
    elif block.established:
        facts.date = block.established
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
    kind = block.kind
    if block.titles and kind:
        phrase = kind[:1] + kind[1:].lower() if kind.startswith("VERSLAG") else _title_case_office(kind)
        facts.title = f"{block.titles[0]}; {phrase}"
    return facts


def _title_case_office(text: str) -> str:
    small = {"van", "de", "en", "voor", "het", "een", "der", "den", "op", "over", "inzake", "aan", "met"}
    words = text.lower().split()
    out = [w if (i and w.strip(",") in small) else w[:1].upper() + w[1:] for i, w in enumerate(words)]
    return " ".join(out)


def merge_meta(
    facts: Facts, entry: dict, *, doc_id: str, source_file: str, content_hash: str, warnings: list[str]
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
    values["status"] = str(entry.get("status") or "")
    return DocumentMeta(doc_id=doc_id, source_file=source_file, content_hash=content_hash, **values)
