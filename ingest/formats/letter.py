"""Letters (``brief``): one passage per paragraph, spoken by the first signer.

Section = the heading above the paragraph (if any); speaker = the first signer ('Staatssecretaris
Harbers'). All signers are kept in a final passage with section 'Ondertekening'.
"""

from __future__ import annotations

import re

from ingest.formats.common import Draft, TextDocument, heading_like, parse_kamerstuk, sniff_document
from ingest.normalize import Paragraph
from kamerbron.records import ParsedDocument

NAME = "letter"
DOC_TYPE = "brief"

SIGNER_RE = re.compile(
    r"^De (?P<office>Minister-president|Minister|Staatssecretaris)\b(?P<rest>.*?),\s*(?P<name>(?:[A-Z]\.\s*)+\S.{0,60})$"
)


def sniff(raw: bytes) -> float:
    doc = sniff_document(raw)
    return score(doc) if doc is not None else 0.0


def score(doc: TextDocument) -> float:
    """0.5 when the title says 'BRIEF' or a minister signs near the end (below a debate's or a
    consultation's structure, which may quote a signature); else 0."""
    signed = any(SIGNER_RE.match(p.text) for p in doc.paragraphs[-12:])
    return 0.5 if doc.title.kind.startswith("BRIEF") or signed else 0.0


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    return parse_kamerstuk(raw, split, doc_type=DOC_TYPE, doc_id=doc_id, source_file=source_file,
                           manifest_entry=manifest_entry)  # fmt: skip


def split(doc: TextDocument, warnings: list[str]) -> list[Draft]:
    body = doc.body
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
    drafts: list[Draft] = []
    section = ""
    for idx, p in enumerate(body):
        nxt = body[idx + 1] if idx + 1 < len(body) else None
        if heading_like(p, nxt):
            section = p.text
            continue
        d = Draft(speaker, surname, "", role, section=section, line_no=p.line_no)
        d.paragraphs.append(p)
        drafts.append(d)
    if signers:
        sig = Paragraph(text="\n\n".join(s[3] for s in signers), line_no=0)
        drafts.append(Draft(speaker, surname, "", role, section="Ondertekening", paragraphs=[sig]))
    return drafts


def _surname_from_signature(name: str) -> str:
    surname = re.sub(r"^(?:[A-Z]\.\s*)+", "", name.strip()).strip()
    return surname[:1].upper() + surname[1:]
