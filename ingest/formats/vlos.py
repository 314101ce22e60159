"""Tweede Kamer Open Data verslagen (VLOS XML, root ``vlosCoreDocument``) -> ``ParsedDocument``.

Both generations are read: the current one (``MessageType="vlos2document"``, pretty-printed) and
the 2014 one (``Vlos2_GGM``: one line, ``alineagroep`` and ``lijst`` inside the text). The file is
read with ``iterparse`` and each ``woordvoerder`` is dropped once read, so a whole plenary day
never sits in memory as one tree.

Turns: one per ``woordvoerder`` and per ``interrumpant`` with text, in document order. The
speaker comes from ``spreker`` (``aanhef`` + ``verslagnaam``: 'De heer Soepboer'; 'Minister
Veldkamp'), the party from ``fractie``, the role from ``spreker/@soort`` and ``functie``
(Tweede Kamerlid -> kamerlid, Minister -> minister, Staatssecretaris -> staatssecretaris),
and ``isvoorzitter`` makes a turn the chair's ('De voorzitter', surname of the chair). The
printed label that opens the text ('De heer Soepboer (NSC):') is removed; emphasis markup is
dropped; the text of a motion the speaker moves (``alineagroep type="Motietekst"``) stays in
the turn, the chair's note on it (``Motieinfo``) does not. Section: the ``activiteit`` title.

Links follow the structure, with the text parser's meaning (A speaks; B interrupts, B -> A; A
answers, A -> B; B follows up, B -> A's answer): an ``interrumpant`` sits inside the
``woordvoerder`` it interrupts and replies to it; the speaker's next ``woordvoerder`` in the same
activity replies to the last interruption of the one before. Chair turns are classified with
the text parser's rules (procedural, or speaking as a member); procedural ones never link.

Metadata: meeting date, title, committee (``commissie/verslagnaam``), the most frequent dossier
of the ``zaak`` elements (its number only when all of them name the same stuk), the status
(``status`` and ``soort`` of the root: 'Ongecorrigeerd (Tussenpublicatie)') and a URL: a plenary
report's page on tweedekamer.nl by year and meeting number, a committee meeting's page by the
activity number (``parlisid`` like 2025A02948). A manifest entry fills what the file lacks.
A Casco skeleton has no turns yet: it parses to no turns and a warning.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from ingest.formats.common import Draft, Facts, merge_meta, to_turns

# The debate text format's chair rules, reused so that both formats call the same turns procedural.
from ingest.formats.debate import _classify_chair_turns
from ingest.normalize import Paragraph, clean_inline
from kamerbron.errors import DocumentParseError
from kamerbron.records import ParsedDocument

NAME = "vlos_xml"

# lxml holds about 5 times the file size while parsing; 64 MB stays far from the machine's memory
# even though iterparse frees each turn. The largest plenary days are a few MB.
MAX_BYTES = 64 * 1024 * 1024
# No DTD, no entity expansion, no network, no libxml2 'huge' limits lifted: a billion-laughs or
# external-entity file fails instead of expanding.
SAFE_PARSE = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                  remove_comments=True, remove_pis=True)  # fmt: skip

PLENARY_URL = "https://www.tweedekamer.nl/kamerstukken/plenaire_verslagen/detail/{year}/{number}"
COMMITTEE_URL = "https://www.tweedekamer.nl/debat_en_vergadering/commissievergaderingen/details?id={number}"

_ROOT_RE = re.compile(rb"<(?:[\w.-]+:)?vlosCoreDocument[\s>]")
_ACTIVITY_NUMBER_RE = re.compile(r"\d{4}A\d{5}")
_DOSSIER_RE = re.compile(r"(\d{2})(\d{3})(?:-([A-Z0-9]{1,6}))?")
_CHAIR_LINE_RE = re.compile(r"^Voorzitter:\s*(?P<name>\S.{0,60})$")
_PARTY_SUFFIX_RE = re.compile(r"\s*\([^()]{1,60}\)\s*$")


def sniff(raw: bytes) -> bool:
    """True for a VLOS verslag: an XML document whose root element is ``vlosCoreDocument``."""
    head = raw[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and bool(_ROOT_RE.search(head))


@dataclass
class _Speaker:
    key: str
    speaker: str
    surname: str
    party: str
    role: str


@dataclass
class _State:
    source_file: str
    root: dict[str, str] = field(default_factory=dict)
    meeting_kind: str = ""
    meeting: dict[str, str] = field(default_factory=dict)
    section: str = ""
    activity_kinds: list[str] = field(default_factory=list)
    activity_number: str = ""
    committee: str = ""
    chair: str = ""
    zaken: list[tuple[str, str]] = field(default_factory=list)
    # Dossier and stuk numbers printed in the agenda text, for reports without zaak elements.
    agenda: list[tuple[str, str]] = field(default_factory=list)
    in_turn: bool = False
    drafts: list[Draft] = field(default_factory=list)
    # Per draft: speaker key, 'woordvoerder'/'interrumpant', index of the woordvoerder it sits in.
    shape: list[tuple[str, str, int | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    woordvoerders: int = 0


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    """Parse a VLOS verslag; raises DocumentParseError naming ``source_file`` when it cannot be read."""
    if len(raw) > MAX_BYTES:
        raise DocumentParseError(
            f"{source_file}: {len(raw) / 1_048_576:.0f} MB is over the {MAX_BYTES // 1_048_576} MB limit for a "
            "VLOS verslag; split the meeting per activity or leave the file out."
        )
    state = _State(source_file)
    try:
        for event, el in etree.iterparse(io.BytesIO(raw), events=("start", "end"), **SAFE_PARSE):
            _handle(event, el, state)
    except etree.XMLSyntaxError as exc:
        raise DocumentParseError(
            f"{source_file}: not well-formed XML ({exc.msg}, line {exc.lineno}); download the verslag again "
            "from the Tweede Kamer Open Data API."
        ) from None
    if not state.root:
        raise DocumentParseError(f"{source_file}: not a VLOS verslag (no vlosCoreDocument root); check the file.")

    _classify_chair_turns(state.drafts)
    for d in state.drafts:
        if d.role == "voorzitter" and not d.as_member:
            d.party = ""
    _link(state)
    status = _status(state.root)
    if not state.drafts:
        why = "a Casco skeleton" if "casco" in status.lower() else "a verslag"
        state.warnings.append(
            f"{why} without speech turns (status: {status or 'none'}): nothing to index until the Tweede Kamer "
            "publishes the text; fetch the verslag again later"
        )
    meta = _meta(state, doc_id=doc_id, source_file=source_file, entry=manifest_entry or {},
                 content_hash=hashlib.sha256(raw).hexdigest())  # fmt: skip
    return ParsedDocument(meta=meta.model_copy(update={"status": status or meta.status}), turns=to_turns(state.drafts, doc_id),
                          warnings=state.warnings)  # fmt: skip


# ---------------------------------------------------------------------------
# Reading


def _local(el) -> str:
    return el.tag.rpartition("}")[2] if isinstance(el.tag, str) else ""


def _child(el, name: str):
    return next((c for c in el if _local(c) == name), None)


def _text(el) -> str:
    """The element's text and its children's, without unexpanded entity references ('&x;')."""
    parts = [el.text or ""]
    for c in el:
        if isinstance(c.tag, str):
            parts.append(_text(c))
        parts.append(c.tail or "")
    return "".join(parts)


def _child_text(el, name: str) -> str:
    c = _child(el, name)
    return " ".join(_text(c).split()) if c is not None else ""


def _release(el) -> None:
    """Free a finished element and the siblings read before it (iterparse keeps them otherwise)."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def _handle(event: str, el, state: _State) -> None:
    name = _local(el)
    if event == "start":
        if name == "vlosCoreDocument":
            state.root = {"soort": el.get("soort", ""), "status": el.get("status", ""), "id": el.get("MessageID", "")}
        elif name == "vergadering":
            state.meeting_kind = el.get("soort", "")
        elif name == "activiteit":
            state.activity_kinds.append(el.get("soort", ""))
        elif name == "woordvoerder":
            state.in_turn = True
        return
    parent = el.getparent()
    parent_name = _local(parent) if parent is not None else ""
    if name == "woordvoerder":
        state.in_turn = False
        _read_woordvoerder(el, state)
        _release(el)
    elif parent_name == "vergadering" and name in ("titel", "vergaderjaar", "vergaderingnummer", "datum"):
        state.meeting[name] = _child_text(parent, name)
    elif parent_name == "activiteit" and name == "titel":
        state.section = " ".join(_text(el).split())
    elif parent_name == "activiteit" and name == "parlisid":
        number = (el.text or "").strip()
        if not state.activity_number and _ACTIVITY_NUMBER_RE.fullmatch(number):
            state.activity_number = number
    elif name == "zaak":
        state.zaken.append((_child_text(el, "dossiernummer"), _child_text(el, "stuknummer")))
    elif name == "commissie" and not state.committee:
        state.committee = _child_text(el, "verslagnaam")
    elif name == "alineaitem" and not state.in_turn:
        if not state.chair and (m := _CHAIR_LINE_RE.match(" ".join(_text(el).split()))):
            state.chair = m.group("name")
        state.agenda.extend(_numbers(el))
    elif name == "activiteit":
        _release(el)


def _numbers(item) -> list[tuple[str, str]]:
    """(dossier, stuk) pairs printed in an agenda line: '(<dossiernummer>36602</dossiernummer>, nr.
    <stuknummer>153</stuknummer>)'."""
    pairs: list[list[str]] = []
    for c in item.iter("{*}dossiernummer", "{*}stuknummer"):
        text = " ".join(_text(c).split())
        if _local(c) == "dossiernummer":
            pairs.append([text, ""])
        elif pairs and not pairs[-1][1]:
            pairs[-1][1] = text
    return [(d, n) for d, n in pairs]


def _read_woordvoerder(w, state: _State) -> None:
    state.woordvoerders += 1
    index = _add_turn(w, "woordvoerder", None, state)
    if index is None:
        # An empty woordvoerder: its interruptions answer the speaker's last turn, if any.
        key = _speaker(_child(w, "spreker"), False).key
        index = next((i for i in range(len(state.shape) - 1, -1, -1) if state.shape[i][0] == key), None)
    for child in w:
        if _local(child) == "interrumpant":
            _add_turn(child, "interrumpant", index, state)


def _add_turn(el, kind: str, parent: int | None, state: _State) -> int | None:
    is_chair = _child_text(el, "isvoorzitter").lower() == "true"
    who = _speaker(_child(el, "spreker"), is_chair)
    paragraphs = _strip_label(_paragraphs(el), who)
    if not paragraphs:
        who_name = who.speaker or "an unnamed speaker"
        state.warnings.append(f"{kind} of {who_name} in '{state.section}' has no text; skipped")
        return None
    if is_chair and not state.chair:
        state.chair = who.surname
    draft = Draft(who.speaker, who.surname, who.party, who.role, section=state.section,
                   paragraphs=[Paragraph(text=p, line_no=0) for p in paragraphs])  # fmt: skip
    state.drafts.append(draft)
    state.shape.append((who.key, kind, parent))
    return len(state.drafts) - 1


def _speaker(sp, is_chair: bool) -> _Speaker:
    if sp is None:
        return _Speaker("", "De voorzitter" if is_chair else "", "", "", "voorzitter" if is_chair else "onbekend")
    soort = sp.get("soort", "")
    functie = _child_text(sp, "functie")
    # verslagnaam is the printed name ('Van Eijk'); achternaam is sorted ('Eijk van').
    name = _child_text(sp, "verslagnaam") or _child_text(sp, "achternaam")
    aanhef = _child_text(sp, "aanhef")
    office = f"{soort} {functie}".lower()
    if "staatssecretaris" in office:
        role, speaker, party = "staatssecretaris", f"Staatssecretaris {name}", ""
    elif "minister" in office:
        role, speaker, party = "minister", f"Minister {name}", ""
    elif "kamerlid" in office or "lid tweede kamer" in office or "lid eerste kamer" in office:
        role, speaker, party = "kamerlid", f"{aanhef} {name}".strip(), _child_text(sp, "fractie")
    else:
        role, speaker, party = "onbekend", f"{aanhef} {name}".strip(), _child_text(sp, "fractie")
    if is_chair:
        role, speaker = "voorzitter", "De voorzitter"
    return _Speaker(sp.get("objectid") or name, speaker, name, party, role)


def _item_text(item) -> str:
    return clean_inline(" ".join(_text(item).split()))


def _alineas(container) -> list[str]:
    out = []
    for alinea in container.iter("{*}alinea"):
        lines = [t for t in (_item_text(i) for i in alinea.iter("{*}alineaitem")) if t]
        if lines:
            out.append("\n".join(lines))
    return out


def _paragraphs(el) -> list[str]:
    """The turn's own text, then the motions it moves; never the text of nested interruptions."""
    out: list[str] = []
    tekst = _child(el, "tekst")
    if tekst is not None:
        out.extend(_alineas(tekst))
    for fragment in el:
        if _local(fragment) != "draadboekfragment" or (tekst_el := _child(fragment, "tekst")) is None:
            continue
        for group in tekst_el.iter("{*}alineagroep"):
            if group.get("type") == "Motietekst":
                out.extend(_alineas(group))
    return out


def _strip_label(paragraphs: list[str], who: _Speaker) -> list[str]:
    """Remove the printed speaker label ('De heer Soepboer (NSC):', 'De voorzitter:') that opens the text."""
    if not paragraphs:
        return paragraphs
    first = paragraphs[0]
    head, sep, rest = first.partition(":")
    if not sep or len(head) > 150 or "\n" in head:
        return paragraphs
    label = _PARTY_SUFFIX_RE.sub("", head).strip().lower()
    name = who.surname.lower()
    if label in ("de voorzitter", "voorzitter") or (name and label.endswith(name) and len(label.split()) <= 8):
        rest = rest.lstrip(" \n")
        return ([rest] if rest else []) + paragraphs[1:]
    return paragraphs


# ---------------------------------------------------------------------------
# Links and metadata


def _link(state: _State) -> None:
    drafts, shape = state.drafts, state.shape
    previous_w: int | None = None
    for i, d in enumerate(drafts):
        key, kind, parent = shape[i]
        if kind == "interrumpant":
            if d.procedural or parent is None or (d.role == "voorzitter" and d.gives_floor and not d.as_member):
                continue
            if shape[parent][0] != key:
                d.replies = [drafts[parent]]
            else:
                # The interrupted speaker answering inside the interruption block: to the last interrupter.
                earlier = [j for j in range(parent + 1, i) if shape[j][2] == parent and shape[j][0] != key
                           and not drafts[j].procedural]  # fmt: skip
                d.replies = [drafts[earlier[-1]]] if earlier else []
            continue
        before, previous_w = previous_w, i
        if before is None or d.procedural or drafts[before].section != d.section or shape[before][0] != key:
            continue
        interrupters = [j for j in range(before + 1, i) if shape[j][2] == before and shape[j][0] != key
                        and not drafts[j].procedural]  # fmt: skip
        if interrupters:
            d.replies = [drafts[interrupters[-1]]]


def _status(root: dict[str, str]) -> str:
    status, soort = root.get("status", ""), root.get("soort", "")
    return f"{status} ({soort})" if status and soort else status or soort


def _dossier(number: str) -> str:
    """'36600-IX' -> '36 600 IX', the spelling of the text parser; '' for a zaak number like 2025Z06401."""
    m = _DOSSIER_RE.fullmatch(number.strip())
    if not m:
        return ""
    suffix = m.group(3) or ""
    return f"{m.group(1)} {m.group(2)}" + (f"-{suffix}" if suffix.isdigit() else f" {suffix}" if suffix else "")


def _meta(state: _State, *, doc_id: str, source_file: str, entry: dict, content_hash: str):
    facts = Facts(doc_type="debat", committee=state.committee, chair=state.chair)
    day = state.meeting.get("datum", "")[:10]
    facts.date = day if re.fullmatch(r"\d{4}-\d{2}-\d{2}", day) else ""
    zaken = state.zaken if any(_dossier(z[0]) for z in state.zaken) else state.agenda
    dossiers = Counter(d for d in (_dossier(z[0]) for z in zaken) if d)
    if dossiers:
        facts.dossier = dossiers.most_common(1)[0][0]
        numbers = {z[1] for z in zaken if _dossier(z[0]) == facts.dossier}
        if len(numbers) == 1 and (only := numbers.pop()).isdigit():
            facts.number = only
    title = state.meeting.get("titel", "")
    year, number = state.meeting.get("vergaderjaar", ""), state.meeting.get("vergaderingnummer", "")
    if state.meeting_kind == "Plenair":
        facts.title = f"Plenaire vergadering Tweede Kamer, {title}" if title else ""
        url = PLENARY_URL.format(year=year, number=number) if year and number.isdigit() and int(number) > 0 else ""
    else:
        kind = next((k for k in state.activity_kinds if k not in ("Opening", "Sluiting", "")), "")
        facts.title = f"{title}; {kind.lower() or 'commissievergadering'}" if title else ""
        url = COMMITTEE_URL.format(number=state.activity_number) if state.activity_number else ""
    # The file's title and URL are the defaults; a manifest entry that gives them wins, as in the text parser.
    given = {"title": facts.title, "url": url, **{k: v for k, v in entry.items() if v}}
    return merge_meta(facts, given, doc_id=doc_id, source_file=source_file, content_hash=content_hash,
                       warnings=state.warnings)  # fmt: skip
