"""Toezeggingen: the commitments a committee chair reads out at the end of a debate, as records.

The chair lists them as bullets ('– De Staatssecretaris zal ...') or as lines naming the
government ('De staatssecretaris zal ...', 'De minister zegt toe dat ...'), or notes one in
passing ('Ik noteer het gewoon als toezegging: voor de begroting komt het plan van aanpak.').
Only lines of this shape in a chair's turn are taken, and only in a turn that speaks of
toezeggingen or follows one that listed some: a chair's procedural sentences never become a
commitment. A commitment the chair then withdraws ('dan is het geen toezegging') is dropped.

Who committed is resolved from 'De Staatssecretaris' / 'De Minister' against the government
speakers of that debate: the only one with that title; with a ministry ('van VWS'), only when the
introduction ties the speaker to that ministry. A commitment that names nobody ('Er zal ...')
goes to the debate's only government speaker, if it has exactly one.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingest.build import corpus_files
from ingest.chunk import split_turn_text
from ingest.parse import parse_document
from kamerbron.records import Commitment, ParsedDocument, Turn, chunk_id
from kamerbron.settings import ChunkSettings
from kamerbron.text import MONTHS_NL

GOVERNMENT_ROLES = ("minister", "staatssecretaris")

BULLET_RE = re.compile(r"^\s*[–—•-]\s+")
NOTED_PREFIX_RE = re.compile(r"^(?:Tot slot |Verder |Ook )?heb ik (?:nog |ook )?de toezegging staan dat\s+", re.I)
_ROLE = r"(?P<base>minister-president|minister|staatssecretaris)"
# Case-sensitive even in SUBJECT_RE: a ministry is capitalised ('van VWS', 'voor Rechtsbescherming').
_MINISTRY = r"(?: (?:van|voor) (?P<ministry>(?-i:[A-Z][\w&-]*(?: (?:en )?[A-Z][\w&-]*)*)))?"
SUBJECT_RE = re.compile(rf"^(?:de|De) {_ROLE}{_MINISTRY}", re.I)
COMMIT_VERB_RE = re.compile(
    r"^(?:,[^.]*?,? )?\s*(?:zal|zullen|komt|gaat|heeft (?:(?:net|ook|nog) )*toegezegd|zegt (?:ook )?toe|is bereid)\b",
    re.I,
)
NOTED_RE = re.compile(r"\b(?:noteer|noteren|genoteerd)\b[^.:]*\bals toezegging:\s*(?P<text>[^.]+\.)", re.I)
WITHDRAWN_RE = re.compile(r"\b(?:is|wordt) het geen toezegging\b", re.I)
AMEND_RE = re.compile(
    r"maken we van het woord(?:je)? [«\"“](?P<old>[^»\"”]+)[»\"”] het woord(?:je)? [«\"“](?P<new>[^»\"”]+)[»\"”]"
)
CHAIR_SELF_RE = re.compile(r"\b(?:ik|ikzelf)\b", re.I)

_MONTH = "(?:" + "|".join(MONTHS_NL) + ")"
DEADLINE_RE = re.compile(
    "|".join(
        (
            rf"\b(?:uiterlijk |vóór |voor |na |per |op |in )?\d{{1,2}} {_MONTH}(?: \d{{4}})?",
            rf"\b(?:uiterlijk )?(?:in|voor|vóór|na|eind|begin) {_MONTH}(?: \d{{4}})?",
            r"\b(?:in|voor|vóór|na) het (?:eerste|tweede|derde|vierde|laatste) (?:kwartaal|halfjaar|helft)"
            r"(?: van (?:\d{4}|dit jaar|volgend jaar))?",
            r"\b(?:voor|vóór|na) (?:de|het) (?:zomer|kerst|herfst|voorjaar|verkiezings)?reces\b",
            r"\b(?:voor|vóór|na) de (?:zomer|begroting(?:sbehandeling)?|verkiezingen|jaarwisseling|behandeling van [^.,;]+)\b",
            r"\b(?:voor|vóór|bij|met) de (?:Miljoenennota|Voorjaarsnota|Najaarsnota|begroting)\b",
            r"\b(?:voor|vóór|aan) het einde van (?:dit|het|volgend) jaar\b",
            r"\bbinnen (?:een|twee|drie|vier|zes|enkele|\d+) (?:dagen|week|weken|maand|maanden|jaar)\b",
            r"\b(?:dit|volgend) (?:jaar|najaar|voorjaar)\b|\b(?:deze|komende) (?:zomer|maand|week)\b",
            r"\b(?:in|voor|vóór|na) het (?:najaar|voorjaar)\b|\bin de zomer\b",
            r"\bjaarlijks\b",
        )
    ),
    re.I,
)
QUALIFICATION_RE = re.compile(
    r"\b(?:indien mogelijk|zo mogelijk|waar mogelijk|voor zover (?:mogelijk|dat kan|dat mogelijk is)"
    r"|als dat (?:kan|mogelijk is)|(?:ik doe|we doen|wij doen) (?:mijn|ons) uiterste best|al dan niet [^.,;]+)",
    re.I,
)


def extract_commitments(doc: ParsedDocument, *, max_words: int | None = None) -> list[Commitment]:
    """Every toezegging the chair of this debate read out, in order. ``max_words`` is the chunking
    limit the chunk ids refer to (default: the settings' default)."""
    if doc.meta.doc_type != "debat":
        return []
    max_words = max_words or ChunkSettings().max_words
    government = _government(doc.turns)
    ministries = _ministries(doc.turns)
    found: list[Commitment] = []
    listing: list[Commitment] = []  # the commitments of the latest chair turn that listed some
    listing_open = False
    for i, turn in enumerate(doc.turns):
        if turn.role != "voorzitter":
            continue
        mentions = "toezegging" in turn.text.lower()
        if not (mentions or listing_open):
            continue
        if listing and WITHDRAWN_RE.search(turn.text):
            found.remove(listing.pop())
        if listing and (m := AMEND_RE.search(turn.text)):
            _amend(listing[-1], m.group("old"), m.group("new"))
        items = [(text, False) for text in _listed(turn.text)]
        items += [(m.group("text"), True) for m in NOTED_RE.finditer(turn.text)]
        if not items:
            continue
        listing = []
        for text, noted in items:
            role, who = _resolve(text, government, ministries)
            near = _before(doc.turns, i) if noted else []
            listing.append(
                Commitment(
                    who=who,
                    role=role,
                    text=text,
                    deadline=_first(DEADLINE_RE, text),
                    qualification=_first(QUALIFICATION_RE, text) or _first(QUALIFICATION_RE, *near),
                    doc_id=doc.meta.doc_id,
                    doc_title=doc.meta.title,
                    date=doc.meta.date,
                    url=doc.meta.url,
                    chunk_id=_chunk_of(turn, text, max_words),
                )
            )
        # A reservation the government adds straight after the list is about its last item.
        if not listing[-1].qualification:
            listing[-1].qualification = _first(QUALIFICATION_RE, *_after(doc.turns, i))
        found.extend(listing)
        listing_open = True
    return found


def corpus_commitments(
    corpus_dir: Path, *, doc_ids: list[str] | None = None, max_words: int | None = None
) -> list[Commitment]:
    """The commitments of every debate in ``corpus_dir`` (or of ``doc_ids`` only: ids or file names)."""
    wanted = {Path(d).stem for d in doc_ids or []}
    found: list[Commitment] = []
    for path in corpus_files([corpus_dir]):
        if not wanted or path.stem in wanted:
            found.extend(extract_commitments(parse_document(path), max_words=max_words))
    return found


def _listed(text: str) -> list[str]:
    """The commitment lines of one chair turn, without bullet or lead-in, chair's asides dropped."""
    items = []
    for line in text.split("\n"):
        line = line.strip()
        if BULLET_RE.match(line):
            line = BULLET_RE.sub("", line)
        elif NOTED_PREFIX_RE.match(line):
            pass
        elif not ((m := SUBJECT_RE.match(line)) and COMMIT_VERB_RE.match(line[m.end() :])):
            continue
        sentences = re.split(r"(?<=[.!?])\s+", line)
        # 'Daar heb ikzelf aandacht voor gevraagd.': the chair about itself, not the commitment
        kept = sentences[:1] + [s for s in sentences[1:] if not CHAIR_SELF_RE.search(s)]
        if kept[0]:
            items.append(" ".join(kept))
    return items


def _government(turns: list[Turn]) -> dict[str, list[str]]:
    """Surnames of the government speakers of the debate, by role ('minister', 'staatssecretaris')."""
    out: dict[str, list[str]] = {role: [] for role in GOVERNMENT_ROLES}
    for t in turns:
        if t.role in out and t.surname and t.surname not in out[t.role]:
            out[t.role].append(t.surname)
    return out


_INTRO_RES = (
    re.compile(
        r"(?P<name>[A-Z][\w'-]+(?: [A-Z][\w'-]+)*), (?P<title>[Mm]inister|[Ss]taatssecretaris) (?:van|voor) "
        r"(?P<ministry>[A-Z][\w,]*(?: (?:en )?[A-Z][\w,]*)*)"
    ),
    re.compile(
        r"(?P<title>[Mm]inister|[Ss]taatssecretaris) (?P<name>[A-Z][\w'-]+) (?:van|voor) "
        r"(?P<ministry>[A-Z][\w,]*(?: (?:en )?[A-Z][\w,]*)*)"
    ),
)


def _ministries(turns: list[Turn]) -> dict[str, set[str]]:
    """Surname -> the ways of writing their ministry ('justitie en veiligheid', 'jenv', 'jv'),
    from the introduction ('met de heer Harbers, Staatssecretaris van Justitie en Veiligheid')."""
    intro = " ".join(t.text for t in turns if t.role == "onbekend")
    out: dict[str, set[str]] = {}
    for pattern in _INTRO_RES:
        for m in pattern.finditer(intro):
            name = m.group("name").split()[-1]
            out.setdefault(name, set()).update(_spellings(m.group("ministry")))
    return out


def _spellings(ministry: str) -> set[str]:
    words = ministry.replace(",", "").split()
    with_en = "".join(w if w == "en" else w[0] for w in words)
    return {ministry.replace(",", "").lower(), with_en.lower(), with_en.replace("en", "").lower()}


def _resolve(text: str, government: dict[str, list[str]], ministries: dict[str, set[str]]) -> tuple[str, str | None]:
    """(role as named, surname) of who committed; the surname only when it is unambiguous."""
    text = NOTED_PREFIX_RE.sub("", text)
    m = SUBJECT_RE.match(text)
    if not m:
        speakers = [(role, name) for role in GOVERNMENT_ROLES for name in government[role]]
        if len(speakers) == 1:
            return speakers[0][0].capitalize(), speakers[0][1]
        return "", None
    base = m.group("base").lower()
    ministry = m.group("ministry")
    role = (base.capitalize() + text[m.end("base") : m.end()]) if ministry else base.capitalize()
    candidates = government.get(base, [])
    if ministry:
        candidates = [name for name in candidates if ministry.lower() in ministries.get(name, set())]
    return role, candidates[0] if len(candidates) == 1 else None


def _first(pattern: re.Pattern, *texts: str) -> str | None:
    for text in texts:
        if m := pattern.search(text):
            return m.group(0).strip()
    return None


def _after(turns: list[Turn], i: int) -> list[str]:
    """Texts of the government turns straight after turn ``i``."""
    out = []
    for t in turns[i + 1 :]:
        if t.role not in GOVERNMENT_ROLES:
            break
        out.append(t.text)
    return out


def _before(turns: list[Turn], i: int) -> list[str]:
    """Texts of the government turns just before turn ``i``, skipping the chair's short asides."""
    out = []
    for t in reversed(turns[max(0, i - 3) : i]):
        if t.role in GOVERNMENT_ROLES:
            out.append(t.text)
        elif t.role != "voorzitter":
            break
    return out


def _amend(commitment: Commitment, old: str, new: str) -> None:
    """The chair changes a word of the last commitment ('maken we van het woordje "na" het woordje
    "voor"'): the deadline follows; the text stays as read out, so that it still matches the source."""
    if commitment.deadline and re.search(rf"\b{re.escape(old)}\b", commitment.deadline):
        commitment.deadline = re.sub(rf"\b{re.escape(old)}\b", new, commitment.deadline, count=1)


def _chunk_of(turn: Turn, text: str, max_words: int) -> str:
    """The id of the chunk of ``turn`` that holds ``text`` (its first words, when split)."""
    parts = split_turn_text(turn.text, max_words)
    probe = " ".join(text.split()[:8])
    for part, part_text in enumerate(parts):
        if probe in " ".join(part_text.split()):
            return chunk_id(turn.doc_id, turn.turn_index, part)
    return chunk_id(turn.doc_id, turn.turn_index, 0)
