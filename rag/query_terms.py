"""What the retrievers search for: a question's words, with the Dutch for its English key terms.

Shared by retrieval (the BM25 query) and the evidence stage (the words a sentence should hold), so
both read a question the same way.
"""

from __future__ import annotations

import re

from kamerbron.text import WHO_QUESTION_RE

# BM25 cannot bridge languages; the dense side can. English key terms get their Dutch
# equivalents added to the BM25 query so English questions still find exact-term matches.
EN_TO_NL = {
    "human trafficking": "mensenhandel",
    "trafficking": "mensenhandel",
    "trafficker": "mensenhandelaar",
    "traffickers": "mensenhandelaren",
    "prostitution": "prostitutie",
    "prostitute": "prostituee",
    "prostitutes": "prostituees",
    "sex worker": "sekswerker",
    "sex workers": "sekswerkers",
    "brothel": "bordeel",
    "victim": "slachtoffer",
    "victims": "slachtoffers",
    "police": "politie",
    "minister": "minister",
    "state secretary": "staatssecretaris",
    "labour exploitation": "arbeidsuitbuiting",
    "exploitation": "uitbuiting",
    "sexual exploitation": "seksuele uitbuiting",
    "children": "kinderen",
    "child": "kind",
    "minors": "minderjarigen",
    "loverboys": "loverboys",
    "pimp": "pooier",
    "registration": "registratie",
    "licence": "vergunning",
    "license": "vergunning",
    "permit": "vergunning",
    "language test": "taaleis",
    "language requirement": "taaleis",
    "age": "leeftijd",
    "minimum age": "minimumleeftijd",
    "law": "wet",
    "bill": "wetsvoorstel",
    "money": "geld",
    "million": "miljoen",
    "budget": "middelen",
    "funding": "middelen",
    "shelter": "opvang",
    "reception": "opvang",
    "residence permit": "verblijfsvergunning",
    "municipalities": "gemeenten",
    "municipality": "gemeente",
    "prosecution": "vervolging",
    "public prosecutor": "openbaar ministerie",
    "national rapporteur": "nationaal rapporteur",
    "labour inspectorate": "inspectie",
    "inspection": "inspectie",
    "escort": "escort",
    "window": "raam",
    "enforcement": "handhaving",
    "supervision": "toezicht",
    "asylum": "asiel",
    "debate": "debat",
    "party": "partij",
    "parties": "partijen",
    "answer": "antwoord",
    "question": "vraag",
    "letter": "brief",
    "action plan": "actieplan",
    "customers": "klanten",
    "clients": "klanten",
    "punishable": "strafbaar",
    "criminal": "strafbaar",
    "forced": "gedwongen",
    "coercion": "dwang",
    "marechaussee": "marechaussee",
}
_EN_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, EN_TO_NL), key=len, reverse=True)) + r")\b", re.I)


def expand_for_bm25(query: str) -> str:
    extra = {EN_TO_NL[m.group(1).lower()] for m in _EN_PATTERN.finditer(query)}
    return f"{query} {' '.join(sorted(extra))}" if extra else query


def without_who_frame(query: str) -> str:
    """A who-question without its frame and verb ("Wie stelde in 2018 een taaltoets voor?" -> "in
    2018 een taaltoets voor?"); any other question as it is."""
    frame = WHO_QUESTION_RE.match(query)
    if frame:
        rest = query[frame.end() :].split(maxsplit=1)
        query = rest[1] if len(rest) == 2 else query
    return query


def bm25_query(query: str) -> str:
    """What BM25 searches for: a who-question's frame and its verb ("Welke partijen wilden", "Wie
    stelde") are not what is asked about, and a rare verb form ("wilden") would outweigh the object
    ("pooierverbod")."""
    return expand_for_bm25(without_who_frame(query))
