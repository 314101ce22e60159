"""officielebekendmakingen.nl XML (root ``officiele-publicatie``) -> ``ParsedDocument``.

Three shapes are read:

* Handelingen (``h-tk-...``, ``h-ek-...``) with ``spreekbeurt`` elements: one turn per
  ``spreekbeurt``. Speaker from ``spreker`` (``voorvoegsels`` + ``achternaam``: 'De heer
  Graus', 'Staatssecretaris Keijzer', 'De voorzitter'), party from ``politiek``, role from the
  prefix or ``functie``. A motion moved in the turn keeps its text; the chair's note on it
  (``motie-info``) is left out. Chair turns and interruptions are classified and linked by
  the debate text format's rules (the Handelingen mark no interruptions); a ``spreekbeurt
  nieuw="ja"`` opens a new contribution and never replies. A Handelingen item without any
  ``spreekbeurt`` (opening, attendance list) has nothing to index and raises.
* Written questions (``vraag``/``antwoord``, Aanhangsel and lists of questions): one turn per
  question and per answer; an answer replies to the question with its number.
* Other Kamerstukken (letters, reports): the XML is written out as the corpus' markdown-like
  text (title block, bold headings, '- ' list items, footnotes, signature) and parsed by the
  text formats (``ingest.parse.parse_text``), so letters go to their signer and written
  consultations link answers to party questions as they do for text files.

Metadata comes from the file where it is there (item title, meeting date, dossier, number,
dates) and otherwise from the publication identifier (``h-tk-20172018-61-10``: chamber, year,
meeting and item), read from the file's metadata link or else from its file name; the URL is
``https://zoek.officielebekendmakingen.nl/<identifier>.html``.

Files that a third party passed through an HTML pretty-printer (a mojibake BOM and a line break
before ``<?xml``, double-encoded UTF-8, lower-cased attribute names, line breaks inside inline
text) are repaired when every trace can be undone: the encoding with ftfy, checked to leave no
mojibake behind; anything else raises one ``DocumentParseError`` naming the file.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

import ftfy
from lxml import etree

from ingest.formats.common import Draft, Facts, merge_meta, to_turns

# The debate text format's chair rules and links: the Handelingen XML marks no interruptions.
from ingest.formats.debate import _classify_chair_turns, _link_interruptions
from ingest.normalize import Paragraph, clean_inline
from kamerbron.errors import DocumentParseError
from kamerbron.records import ParsedDocument
from kamerbron.text import DUTCH_DATE_RE, iso_date

NAME = "officiele_xml"

# Publications are per item or per Kamerstuk (a few hundred kB); 64 MB keeps lxml's tree (about
# five times the file) far below the machine's memory.
MAX_BYTES = 64 * 1024 * 1024
_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                       remove_comments=True, remove_pis=True)  # fmt: skip
OFFICIAL_URL = "https://zoek.officielebekendmakingen.nl/{identifier}.html"

_BOM = b"\xef\xbb\xbf"
# The UTF-8 BOM decoded as cp1252 and encoded again: what the pretty-printer left at the start.
_MOJIBAKE_BOM = _BOM.decode("cp1252").encode("utf-8")
_ROOT_RE = re.compile(rb"<officiele-publicatie[\s>]", re.IGNORECASE)
# Double-encoded UTF-8: a lead byte of a two- or three-byte sequence read as cp1252 ('Ã©' for 'é').
_MOJIBAKE_RE = re.compile("[ÃÂ][\u0080-\u00bf\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]|â€")
_IDENTIFIER_RE = re.compile(r"\b((?:h|kst|ah|blg)-[a-z0-9]+(?:-[a-z0-9]+)+)\b", re.IGNORECASE)
_HANDELINGEN_ID_RE = re.compile(r"^h-(?P<kamer>tk|ek)-(?P<y1>\d{4})(?P<y2>\d{4})-(?P<meeting>\d+)-(?P<item>\d+)$")
_KST_DOC_RE = re.compile(r"^kst-(\d{2})(\d{3})(?:-([A-Z0-9]{1,6}))?-(\d+)$", re.IGNORECASE)
_CHAIR_LINE_RE = re.compile(r"^Voorzitter:\s*(?P<name>\S.{0,60})$")
_ASKER_RE = re.compile(
    r"\bVragen van (?:het lid|de leden) (?P<names>.+?)(?: \((?P<party>[^()]{1,40})\))?(?= aan | over |\s*\(|$)"
)
_ANSWERER_RE = re.compile(
    r"\b[Aa]ntwoord van (?:de )?(?P<office>(?i:minister-president|minister|staatssecretaris))\s+"
    r"(?P<name>[A-Z][^\s(,]*(?: (?:van|der|den|de|ter|ten|[A-Z])[^\s(,]*)*)"
)
_SIGNER_OFFICE_RE = re.compile(r"^De (?P<office>Minister-president|Minister|Staatssecretaris)\b", re.IGNORECASE)

# Containers whose text is not the document's: footnotes are read where they are marked.
_SKIP = {"metadata", "meta", "noot", "motie-info", "spreker", "kamerstukkop", "stuknr", "kamervraagkop"}


def sniff(raw: bytes) -> bool:
    """True for an officielebekendmakingen publication, also one damaged by an HTML pretty-printer."""
    head = raw[:4096]
    for prefix in (_MOJIBAKE_BOM, _BOM):
        head = head.removeprefix(prefix)
    head = head.lstrip(b" \t\r\n")
    return head.startswith(b"<") and bool(_ROOT_RE.search(head))


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    """Parse one publication; raises DocumentParseError naming ``source_file`` when it cannot be read."""
    if len(raw) > MAX_BYTES:
        raise DocumentParseError(
            f"{source_file}: {len(raw) / 1_048_576:.0f} MB is over the {MAX_BYTES // 1_048_576} MB limit for an "
            "officielebekendmakingen publication; leave the file out."
        )
    root, repairs = _read_xml(raw, source_file)
    warnings = [f"repaired damage from an HTML pretty-printer ({', '.join(repairs)}); check quotes against "
                "the official page"] if repairs else []  # fmt: skip
    identifier = _identifier(root, source_file)
    entry = manifest_entry or {}
    content_hash = hashlib.sha256(raw).hexdigest()
    if (h := _first(root, "handelingen")) is not None:
        return _parse_handelingen(h, identifier, warnings, doc_id=doc_id, source_file=source_file, entry=entry,
                                  content_hash=content_hash)  # fmt: skip
    if _first(root, "vraag") is not None and _first(root, "antwoord") is not None:
        return _parse_questions(root, identifier, warnings, doc_id=doc_id, source_file=source_file, entry=entry,
                                content_hash=content_hash)  # fmt: skip
    return _parse_kamerstuk(root, identifier, warnings, doc_id=doc_id, source_file=source_file, entry=entry,
                            content_hash=content_hash)  # fmt: skip


# ---------------------------------------------------------------------------
# Reading and repair


def _read_xml(raw: bytes, source_file: str):
    repairs: list[str] = []
    body = raw
    if body.startswith(_MOJIBAKE_BOM):
        body, _ = body[len(_MOJIBAKE_BOM) :], repairs.append("mojibake BOM")
    body = body.removeprefix(_BOM)
    if body[:1].isspace():
        body = body.lstrip()
        repairs.append("text before the XML declaration")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentParseError(
            f"{source_file}: not UTF-8 (byte {exc.start}); download the XML again from officielebekendmakingen.nl."
        ) from None
    if _MOJIBAKE_RE.search(text):
        text = ftfy.fix_encoding(text)
        if _MOJIBAKE_RE.search(text):
            raise DocumentParseError(
                f"{source_file}: damaged text encoding (double-encoded UTF-8) that cannot be repaired safely; "
                "download the XML again from officielebekendmakingen.nl."
            )
        repairs.append("double-encoded UTF-8")
    if re.search(r"\sxsi:nonamespaceschemalocation=", text[:2000]):
        repairs.append("lower-cased attribute names")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        done = f" after repairing {', '.join(repairs)}" if repairs else ""
        raise DocumentParseError(
            f"{source_file}: not well-formed XML{done} ({exc.msg}); download the XML again from "
            "officielebekendmakingen.nl."
        ) from None
    if _local(root) != "officiele-publicatie":
        raise DocumentParseError(f"{source_file}: root element is <{_local(root)}>, not <officiele-publicatie>; "
                                 "check that this is an officielebekendmakingen XML file.")  # fmt: skip
    return root, repairs


def _local(el) -> str:
    return el.tag.rpartition("}")[2].lower() if isinstance(el.tag, str) else ""


def _first(el, name: str):
    return next((c for c in el.iter() if _local(c) == name), None)


def _children(el, name: str) -> list:
    return [c for c in el if _local(c) == name]


def _attr(el, name: str) -> str:
    """An attribute whatever the case of its name (the pretty-printer lower-cased them)."""
    name = name.lower()
    return next((v for k, v in el.attrib.items() if k.rpartition("}")[2].lower() == name), "")


def _tidy(text: str) -> str:
    # A pretty-printer's line breaks inside inline markup leave '( VVD )' and 'Careyn .'.
    text = re.sub(r"([(\[«„“‘]) +", r"\1", " ".join(text.split()))
    return clean_inline(re.sub(r" +([)\]»”’])", r"\1", text))


def _plain(el) -> str:
    """All text of an element, footnotes left out, whitespace collapsed."""
    if el is None:
        return ""
    parts: list[str] = []

    def walk(e) -> None:
        # Footnotes are read where they are marked; an unexpanded entity reference ('&x;') is dropped.
        if _local(e) == "noot" or not isinstance(e.tag, str):
            parts.append(e.tail or "")
            return
        parts.append(e.text or "")
        for c in e:
            walk(c)
        parts.append(e.tail or "")

    parts.append(el.text or "")
    for c in el:
        walk(c)
    return _tidy("".join(parts))


@dataclass
class _Block:
    kind: str  # 'al', 'heading', 'item', 'signature'
    text: str
    notes: tuple[str, ...] = ()


def _notes(el) -> tuple[str, ...]:
    out = []
    for note in (n for n in el.iter() if _local(n) == "noot"):
        body = _first(note, "noot.al")
        if text := _plain(body if body is not None else note):
            out.append(text)
    return tuple(out)


def _blocks(el, skip: set[str] = _SKIP) -> list[_Block]:
    """Block-level text in document order: paragraphs, headings, list items, signatures."""
    out: list[_Block] = []

    def walk(e) -> None:
        name = _local(e)
        if name in skip:
            return
        if name in ("al", "tussenkop"):
            if text := _plain(e):
                out.append(_Block("heading" if name == "tussenkop" else "al", text, _notes(e)))
            return
        if name == "kop":
            text = " ".join(t for t in (_plain(c) for c in e if _local(c) in ("label", "nr", "titel")) if t)
            if text:
                out.append(_Block("heading", text, _notes(e)))
            return
        if name == "li":
            nr = _plain(_first(e, "li.nr")) if _children(e, "li.nr") else ""
            texts = [_plain(c) for c in e if _local(c) == "al"]
            if any(texts):
                label = "" if nr in ("–", "-", "•") else nr
                out.append(_Block("item", " ".join(t for t in [label, *texts] if t), _notes(e)))
            for c in e:
                if _local(c) not in ("al", "li.nr"):
                    walk(c)
            return
        if name == "row":
            cells = [_plain(c) for c in e]
            if any(cells):
                out.append(_Block("al", " | ".join(c for c in cells if c), _notes(e)))
            return
        if name == "ondertekening":
            office = _plain(_first(e, "functie")) if _first(e, "functie") is not None else ""
            person = _plain(_first(e, "naam")) if _first(e, "naam") is not None else ""
            whole = _plain(e)
            if office and person:
                out.append(_Block("signature", f"{office.rstrip(',')},\n{person}"))
            elif whole:
                out.append(_Block("al", whole))
            return
        blocky = [c for c in e if isinstance(c.tag, str)]
        if (e.text or "").strip() and not any(_local(c) in ("al", "al-groep", "lijst", "kop") for c in blocky):
            if text := _plain(e):
                out.append(_Block("al", text, _notes(e)))
            return
        for c in blocky:
            walk(c)

    walk(el)
    return out


def _identifier(root, source_file: str) -> str:
    for meta in root.iter():
        if _local(meta) == "meta" and "externmetadatarecord" in _attr(meta, "name").lower():
            if m := _IDENTIFIER_RE.search(_attr(meta, "content")):
                return m.group(1).lower()
    stem = re.sub(r"\.xml$", "", source_file.rsplit("/", 1)[-1], flags=re.IGNORECASE)
    m = _IDENTIFIER_RE.fullmatch(stem)
    return m.group(1).lower() if m else ""


def _url(identifier: str) -> str:
    return OFFICIAL_URL.format(identifier=identifier) if identifier else ""


def _finish(drafts: list[Draft], facts: Facts, url: str, warnings: list[str], *, doc_id: str, source_file: str,
            entry: dict, content_hash: str) -> ParsedDocument:  # fmt: skip
    given = {"title": facts.title, "url": url, **{k: v for k, v in entry.items() if v}}
    meta = merge_meta(facts, given, doc_id=doc_id, source_file=source_file, content_hash=content_hash,
                      warnings=warnings)  # fmt: skip
    return ParsedDocument(meta=meta, turns=to_turns(drafts, doc_id), warnings=warnings)


# ---------------------------------------------------------------------------
# Handelingen


def _parse_handelingen(h, identifier: str, warnings: list[str], **kw) -> ParsedDocument:
    source_file = kw["source_file"]
    spreekbeurten = [e for e in h.iter() if _local(e) == "spreekbeurt"]
    if not spreekbeurten:
        raise DocumentParseError(
            f"{source_file}: Handelingen item without speeches (no <spreekbeurt>: an opening, attendance list "
            "or announcement); nothing to index, so leave the file out of the corpus."
        )
    chair = next((m.group("name") for al in h.iter() if _local(al) == "al"
                  and (m := _CHAIR_LINE_RE.match(_plain(al)))), kw["entry"].get("chair", ""))  # fmt: skip
    drafts: list[Draft] = []
    new_contribution: set[int] = set()
    for sb in spreekbeurten:
        speaker, surname, party, role = _spreker(_first(sb, "spreker"))
        if role == "voorzitter":
            surname = chair
        section = _section(sb)
        paragraphs = [Paragraph(text=b.text, line_no=0, footnotes=list(b.notes))
                      for b in _blocks(sb) if b.kind != "signature"]  # fmt: skip
        if not paragraphs:
            warnings.append(f"spreekbeurt of {speaker or 'an unnamed speaker'} in '{section}' has no text; skipped")
            continue
        drafts.append(Draft(speaker, surname, party, role, section=section, paragraphs=paragraphs))
        if _attr(sb, "nieuw").lower() == "ja":
            new_contribution.add(len(drafts) - 1)
    _classify_chair_turns(drafts)
    _link_interruptions(drafts)
    for i in new_contribution:
        drafts[i].replies = []
    facts = Facts(doc_type="debat", chair=chair)
    title = next((_plain(e) for e in h.iter() if _local(e) == "item-titel"), "")
    m = _HANDELINGEN_ID_RE.match(identifier)
    if m:
        house = "II" if m.group("kamer") == "tk" else "I"
        year = f"{m.group('y1')}/{m.group('y2')[2:]}"
        cite = f"Handelingen {house} {year}, nr. {m.group('meeting')}, item {m.group('item')}"
        facts.title = f"{title}; {cite}" if title else cite
    else:
        facts.title = title
    if (date_el := _first(h, "vergaderdatum")) is not None and (d := re.search(DUTCH_DATE_RE, _plain(date_el))):
        facts.date = iso_date(*d.groups())
    dossiers = Counter(_dossier_of(e) for e in h.iter() if _local(e) in ("motie", "extref") and _dossier_of(e))
    if dossiers:
        facts.dossier = dossiers.most_common(1)[0][0]
    return _finish(drafts, facts, _url(identifier), warnings, **kw)


def _spreker(sp) -> tuple[str, str, str, str]:
    """speaker, surname, party, role of a Handelingen ``spreker``."""
    if sp is None:
        return "", "", "", "onbekend"
    prefix = _plain(_first(sp, "voorvoegsels")) if _first(sp, "voorvoegsels") is not None else ""
    name = _plain(_first(sp, "achternaam")) if _first(sp, "achternaam") is not None else ""
    party = _plain(_first(sp, "politiek")) if _first(sp, "politiek") is not None else ""
    office = f"{prefix} {_plain(_first(sp, 'functie')) if _first(sp, 'functie') is not None else ''}".lower()
    if name.lower() == "voorzitter":
        return "De voorzitter", "", "", "voorzitter"
    if "staatssecretaris" in office:
        return f"Staatssecretaris {name}", name, "", "staatssecretaris"
    if "minister" in office:
        return f"Minister {name}", name, "", "minister"
    if party or prefix.lower() in ("de heer", "mevrouw"):
        return f"{prefix} {name}".strip(), name, party, "kamerlid"
    return f"{prefix} {name}".strip(), name, party, "onbekend"


def _section(sb) -> str:
    for anc in sb.iterancestors():
        if _local(anc) == "agendapunt":
            titel = next((c for c in anc if _local(c) == "item-titel"), None)
            return _plain(titel) if titel is not None else _plain(_first(anc, "onderwerp"))
    return ""


def _dossier_of(el) -> str:
    """'M-31311-199' or doc="kst-31311-199" -> '31 311'."""
    ref = _attr(el, "id") if _local(el) == "motie" else _attr(el, "doc")
    m = _KST_DOC_RE.match(re.sub(r"^M-", "kst-", ref))
    if not m:
        return ""
    suffix = m.group(3) or ""
    return f"{m.group(1)} {m.group(2)}" + (f"-{suffix}" if suffix.isdigit() else f" {suffix}" if suffix else "")


# ---------------------------------------------------------------------------
# Written questions and answers


def _parse_questions(root, identifier: str, warnings: list[str], **kw) -> ParsedDocument:
    description = " ".join(_plain(e) for e in root.iter() if _local(e) == "kamervraagomschrijving")
    asker, party = "De commissie", ""
    if m := _ASKER_RE.search(description):
        names = m.group("names").strip()
        asker = f"{'Het lid' if ' en ' not in names and ',' not in names else 'De leden'} {names}"
        party = (m.group("party") or "").strip() if asker.startswith("Het lid") else ""
    answerer, answer_role = _answerer(root, description)
    drafts: list[Draft] = []
    questions: dict[str, Draft] = {}
    last_question: Draft | None = None
    for el in root.iter():
        kind = _local(el)
        if kind not in ("vraag", "antwoord"):
            continue
        number = re.sub(r"\D", "", _plain(_first(el, "nr"))) if _children(el, "nr") else ""
        paragraphs = [Paragraph(text=b.text, line_no=0, footnotes=list(b.notes)) for b in _blocks(el, _SKIP | {"nr"})]
        # A numbered question or answer may carry its number as the first paragraph ('Vraag 1').
        if paragraphs and re.fullmatch(r"(?:Vraag|Antwoord)\s*\d+[.:]?", paragraphs[0].text):
            number = number or re.sub(r"\D", "", paragraphs[0].text)
            paragraphs = paragraphs[1:]
        if not paragraphs:
            continue
        label = f"{'Vraag' if kind == 'vraag' else 'Antwoord'} {number}".strip()
        if kind == "vraag":
            d = Draft(asker, asker.split(" ", 2)[-1] if asker.startswith("Het lid") else "", party,
                      "kamerlid" if asker.startswith(("Het lid", "De leden")) else "onbekend", section=label,
                      paragraphs=paragraphs)  # fmt: skip
            questions[number] = last_question = d
        else:
            d = Draft(answerer[0], answerer[1], "", answer_role, section=label, paragraphs=paragraphs)
            target = questions.get(number) if number else last_question
            d.replies = [target] if target is not None else []
        drafts.append(d)
    if not drafts:
        raise DocumentParseError(f"{kw['source_file']}: questions and answers without text; check the file.")
    facts = Facts(doc_type="schriftelijk_overleg", title=description[:300])
    if (date_el := next((e for e in root.iter() if _local(e) == "datum" and _attr(e, "isodatum")), None)) is not None:
        facts.date = _attr(date_el, "isodatum")[:10]
    return _finish(drafts, facts, _url(identifier), warnings, **kw)


def _answerer(root, description: str) -> tuple[tuple[str, str], str]:
    """((speaker, surname), role) of whoever answers: the 'Antwoord van ...' line, else the signer."""
    if m := _ANSWERER_RE.search(description):
        office = m.group("office").lower()
        role = "staatssecretaris" if office == "staatssecretaris" else "minister"
        name = m.group("name")
        return (f"{office[:1].upper()}{office[1:]} {name}", name), role
    for sig in (e for e in root.iter() if _local(e) == "ondertekening"):
        office = _plain(_first(sig, "functie")) if _first(sig, "functie") is not None else ""
        if (m := _SIGNER_OFFICE_RE.match(office)) and (naam := _first(sig, "naam")) is not None:
            surname = _plain(_first(naam, "achternaam")) if _first(naam, "achternaam") is not None else _plain(naam)
            word = m.group("office")
            role = "staatssecretaris" if word.lower() == "staatssecretaris" else "minister"
            return (f"{word[:1].upper()}{word[1:].lower()} {surname}", surname), role
    return ("De regering", ""), "regering"


# ---------------------------------------------------------------------------
# Other Kamerstukken: written out as text for the text formats


def _parse_kamerstuk(root, identifier: str, warnings: list[str], **kw) -> ParsedDocument:
    # ingest.parse imports the format registry, which may import this module: import it when used.
    from ingest.parse import parse_text

    text = _kamerstuk_text(root)
    if not text.strip():
        raise DocumentParseError(f"{kw['source_file']}: publication without text; check the file.")
    entry = {"url": _url(identifier), **{k: v for k, v in kw["entry"].items() if v}}
    date = next((_attr(e, "isodatum")[:10] for e in root.iter() if _local(e) == "datum" and _attr(e, "isodatum")), "")
    if date and not entry.get("date"):
        entry["date"] = date
    doc = parse_text(text, doc_id=kw["doc_id"], source_file=kw["source_file"], manifest_entry=entry)
    meta = doc.meta.model_copy(update={"content_hash": kw["content_hash"]})
    return ParsedDocument(meta=meta, turns=doc.turns, warnings=warnings + doc.warnings)


def _kamerstuk_text(root) -> str:
    """A Kamerstuk as the corpus' markdown-like text: title block, bold headings, items, footnotes."""
    lines: list[str] = []
    notes: list[str] = []
    for kop in (e for e in root.iter() if _local(e) in ("kamerstukkop", "kamervraagkop")):
        lines += [_plain(t) for t in kop if _plain(t)]
    for dossier in (e for e in root.iter() if _local(e) == "dossier"):
        number = _first(dossier, "dossiernr")
        if number is not None and _plain(number):
            lines.append(f"**{_plain(number)}**")
        for titel in _children(dossier, "titel"):
            lines.append(f"**{_plain(titel)}**")
    body = next((e for e in root.iter() if _local(e) == "stuk"), None)
    if body is None:
        body = next((e for e in root if _local(e) not in ("metadata", "meta")), root)
    if (stuknr := _first(body, "stuknr")) is not None and _plain(stuknr):
        lines.append(f"**{_plain(stuknr)}**")
    skip = _SKIP | ({"dossier"} if body is root else set())
    for block in _blocks(body, skip):
        marks = ""
        for note in block.notes:
            notes.append(note)
            marks += f"<sup>{len(notes)}</sup>"
        if block.kind == "heading":
            lines.append(f"**{block.text}**{marks}")
        elif block.kind == "item":
            lines.append(f"- {block.text}{marks}")
        elif block.kind == "signature":
            office, person = block.text.split("\n", 1)
            lines.append(f"{office}  \n{person}")
        else:
            lines.append(block.text + marks)
    lines += [f"<sup>{i}</sup> {note}" for i, note in enumerate(notes, start=1)]
    return "\n\n".join(lines) + "\n"
