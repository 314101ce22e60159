"""Quote verification, for both answer backends: every quoted span and every cited sentence of an
answer is checked against the passage it cites, and so is the speaker or party it is credited to.

The stage: ``verify_quotes(text, citations, passages, chunks)`` -> ``Verification`` (the answer text
as it may be shown, and one ``QuoteCheck`` per quoted span or cited sentence). ``verify_answer``
runs it on an ``Answer`` in place; ``Answerer.stream`` calls it on every answer.

What is checked
- A *quote* is the text between „ “ (or „ ”), “ ”, " ", ‘ ’ or « » (the outermost pair; spans of
  fewer than ``MIN_QUOTE_WORDS`` words are terms such as „pooierboete“, not quotes). A *cited
  sentence* is a sentence with an ``[n]`` marker that holds no quote.
- A quote belongs to the markers after it in its sentence (else to its sentence's markers) and is
  compared with those passages; an uncited quote with every retrieved passage.
- Comparing ignores case, punctuation (so quote characters, dashes and ellipses), whitespace, and
  hyphenation: a line-break hyphen ("mensen- handel") and a hyphen inside a word vanish on both
  sides. An ellipsis (…, ..., […]) inside a quote joins verbatim parts of one passage, in order.
- Attribution: the words around a quote (before it in its sentence, else after it) name who said
  it: persons ("Minister Blok zei: …", "De heer Van Nispen (SP)"), parties with a speech verb ("de
  SP vroeg", "De leden van de SP-fractie schreven", "volgens de VVD") and the government ("de
  minister antwoordde"). The passage holding the words must be of one of them; any one will do, so
  that "De SP vroeg minister Blok: …" credits the SP's words rightly. A cited sentence is read the
  same way.

Statuses, and what the answer then shows
- ``verified``: verbatim in the cited passage (or in another passage of the speaker cited). So is
  a quote of whole sentences of the passage, in order, that leaves sentences out between them (how
  the extractive composer quotes): " … " is put where they were, and every word stays the source's.
- ``repaired``: close but not exact (one or two words changed, or two verbatim parts of the passage
  stitched together without an ellipsis): the exact source text (with " … " where words were left
  out) replaces the quote, followed by ``NOTES["repaired"]``.
- ``misattributed``: the words are real but someone else's: another speaker's turn holds them, or
  the passage's speaker is not the one named. The quote stays; ``NOTES["misattributed"]`` names
  who said it.
- ``unverified``: not found. An unverified quote is never shown as a quote: its quotation marks are
  removed and ``NOTES["unverified"]`` follows. (Dropping it would hide a claim the citation may
  still support; without its quotation marks it reads, and is marked, as a paraphrase.)
A cited sentence is never rewritten: it claims no wording, so an ``unverified`` sentence is a
paraphrase; only a wrong attribution adds the misattribution note to it.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Protocol

from kamerbron.records import Answer, QuoteCheck
from kamerbron.text import CASE_SENSITIVE_PARTIES, PARTY_ALTERNATION, PARTY_BY_LOWER, is_english, split_sentences
from rag.compose import speaker_label

# Fewer words between quotation marks make a term or a title, not a quote.
MIN_QUOTE_WORDS = 3
# Word-level similarity (2 * matched / (quote words + source words)) from which a quote is taken as a
# slightly wrong rendering of the source and repaired; below it the quote is not the source's.
# 0.8 lets one changed word in a quote of eight through, never a paraphrase (tests/test_verify.py).
REPAIR_SIMILARITY = 0.8
# A stitched quote is repaired only when each verbatim part has at least this many words; shorter
# parts match by chance.
MIN_STITCH_PART = 3
# At most this many corpus passages are looked at when searching who said a quote.
MAX_CORPUS_HITS = 20
_CORPUS_CACHE_SIZE = 4

NOTES = {
    "nl": {
        "repaired": "(citaat aangepast aan de brontekst)",
        "unverified": "(niet letterlijk in de bron)",
        "misattributed": "(in de bron gezegd door {speaker})",
    },
    "en": {
        "repaired": "(quote corrected to the source text)",
        "unverified": "(not verbatim in the source)",
        "misattributed": "(said in the source by {speaker})",
    },
}


class Source(Protocol):
    """What a checked passage needs: a Citation, a Passage or a Chunk."""

    chunk_id: str
    text: str
    speaker: str
    party: str
    role: str


@dataclass
class Verification:
    """The answer text as it may be shown, and one check per quoted span or cited sentence."""

    text: str
    quotes: list[QuoteCheck] = field(default_factory=list)


# ---------------------------------------------------------------------------- normalisation

_HYPHEN = re.compile(r"(?<=\w)[-\u00ad\u2010-\u2015]\s*(?=\w)")
_NON_WORD = re.compile(r"\W+")
_TOKEN = re.compile(r"\w+(?:[-\u00ad\u2010-\u2015]\s*\w+)*")
_JOIN = re.compile(r"[-\u00ad\u2010-\u2015]\s*")
_ELLIPSIS = re.compile(r"\s*(?:[\[(]\s*(?:…|\.{3})\s*[\])]|…|\.{3,})\s*")
_MARKER = re.compile(r"\[(\d{1,3})\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\d{1,3}\])+")
_TRAILING_MARKERS = re.compile(r"[ \t.,;:!?]*(?:\([^()\n]{0,160}\)[ \t.,;:!?]*)?(?P<markers>(?:\[\d{1,3}\][ \t]*)+)")
_LINE_BREAK_HYPHEN = re.compile(r"(?<=[^\W\d])-[ \t]*\n\s*(?=[^\W\d_])")


def normalise(text: str) -> str:
    """Words only, lower case, hyphenation and punctuation gone: what 'verbatim' compares."""
    text = unicodedata.normalize("NFC", text)
    return _NON_WORD.sub(" ", _HYPHEN.sub("", text)).casefold().strip()


@dataclass
class _Words:
    """A text's normalised words, each with its (start, end) in ``text`` (the text in NFC)."""

    text: str
    words: list[str]
    spans: list[tuple[int, int]]

    @classmethod
    def of(cls, text: str) -> _Words:
        text = unicodedata.normalize("NFC", text)
        words: list[str] = []
        spans: list[tuple[int, int]] = []
        for match in _TOKEN.finditer(text):
            token = match.group()
            # a token is word characters joined by hyphens: normalise() joins those, nothing else
            words.append((token if token.isalnum() else _JOIN.sub("", token)).casefold())
            spans.append(match.span())
        return cls(text, words, spans)

    def shown(self, start: int, end: int, quote: str = "") -> str:
        """Words ``start``..``end`` as an answer shows them: line-break hyphens joined, whitespace
        collapsed, and the quote's closing full stop (or ? !) when the source has it there too."""
        stop = self.spans[end - 1][1]
        last = quote.rstrip()[-1:]
        if last and last in ".?!" and self.text[stop : stop + 1] == last:
            stop += 1
        return " ".join(_LINE_BREAK_HYPHEN.sub("", self.text[self.spans[start][0] : stop]).split())


def _parts(quote: str) -> list[str]:
    """The normalised verbatim parts of a quote, split at its ellipses."""
    return [p for p in (normalise(part) for part in _ELLIPSIS.split(quote)) if p]


def _holds(parts: list[str], haystack: str) -> bool:
    """Whether the padded normalised ``haystack`` holds every part as whole words, in order."""
    position = 0
    for part in parts:
        found = haystack.find(f" {part} ", position)
        if found < 0:
            return False
        position = found + len(part) + 1
    return True


# ---------------------------------------------------------------------------- the corpus


class _CorpusText:
    """Every chunk's normalised text in one string, to find who said a quote in one pass."""

    def __init__(self, chunks: Sequence[Source]):
        self.chunks = chunks
        texts = [f" {normalise(c.text)} " for c in chunks]
        self.starts: list[int] = []
        offset = 0
        for text in texts:
            self.starts.append(offset)
            offset += len(text)
        self.text = "".join(texts)

    def find(self, parts: list[str]) -> list[Source]:
        """The chunks holding all ``parts`` in order (at most MAX_CORPUS_HITS)."""
        found: list[Source] = []
        needle = f" {parts[0]} "
        position = self.text.find(needle)
        while position >= 0 and len(found) < MAX_CORPUS_HITS:
            i = bisect.bisect_right(self.starts, position) - 1
            end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.text)
            if _holds(parts[1:], self.text[position + len(parts[0]) : end]):
                found.append(self.chunks[i])
            position = self.text.find(needle, end if found and found[-1] is self.chunks[i] else position + 1)
        return found


class _IndexFacts:
    """What the verifier keeps per index: its surnames; the normalised text of the passages checked
    so far, by chunk id; the whole corpus's normalised text on first need."""

    def __init__(self, chunks: Sequence[Source]):
        self.chunks = chunks
        self.surnames = frozenset(getattr(c, "surname", "") for c in chunks) - {""}
        self.padded: dict[str, tuple[str, str]] = {}
        self.words: dict[str, tuple[str, _Words]] = {}
        self.sentences: dict[str, tuple[str, dict[str, list[int]]]] = {}
        self._corpus: _CorpusText | None = None

    @property
    def corpus(self) -> _CorpusText:
        if self._corpus is None:
            self._corpus = _CorpusText(self.chunks)
        return self._corpus


_facts_cache: dict[int, _IndexFacts] = {}


def _facts(chunks: Sequence[Source]) -> _IndexFacts:
    """The facts of an index's chunks, kept while that list of chunks is in use."""
    cached = _facts_cache.get(id(chunks))
    if cached is not None and cached.chunks is chunks:
        return cached
    facts = _IndexFacts(chunks)
    if len(_facts_cache) >= _CORPUS_CACHE_SIZE:
        _facts_cache.pop(next(iter(_facts_cache)))
    _facts_cache[id(chunks)] = facts
    return facts


# ---------------------------------------------------------------------------- finding quotes and sentences

_QUOTE_CHARS = re.compile('[„“”«»‘’"\n]')
_CLOSERS = {"„": "“”", "“": "”", "«": "»", "‘": "’", '"': '"'}


def quote_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost quoted span, quotation marks included; within one line.

    ‘ opens only after a non-letter and ’ closes only before one, so "zo’n" is no quote.
    """
    spans: list[tuple[int, int]] = []
    stack: list[tuple[str, int]] = []
    for match in _QUOTE_CHARS.finditer(text):
        char, i = match.group(), match.start()
        if char == "\n":
            stack.clear()
            continue
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        closes = [k for k, (opener, _) in enumerate(stack) if char in _CLOSERS[opener]]
        if closes and not (char == "’" and after.isalnum()):
            start = stack[closes[-1]][1]
            del stack[closes[-1] :]
            if not stack:
                spans.append((start, i + 1))
        elif char in _CLOSERS and not (char == "‘" and before.isalnum()):
            stack.append((char, i))
    return spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) in ``text`` of each sentence of the one splitter (``split_sentences``)."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for sentence in split_sentences(text, keep_lines=True):
        words = sentence.split()
        start = text.find(words[0], cursor)
        if start < 0:
            continue
        end = start
        for word in words:  # the splitter only collapses whitespace: each word follows the last
            found = text.find(word, end)
            if found < 0:
                break
            end = found + len(word)
        spans.append((start, end))
        cursor = end
    return spans


# ---------------------------------------------------------------------------- attribution

_VERB = (
    r"(?:zei|zeiden|zegt|zeggen|zegde|vroeg|vroegen|vraagt|vragen|schreef|schreven|schrijft|schrijven|stelde|stelden|"
    r"stelt|stellen|antwoordde|antwoordden|antwoordt|wil|wilde|wilden|willen|vindt|vond|vonden|vinden|pleitte|"
    r"pleitten|pleit|pleiten|meent|meende|meenden|menen|betoogde|betoogt|benadrukte|benadrukt|verklaarde|verklaart|"
    r"waarschuwde|waarschuwt|merkte|merkt|noemde|noemt|vreest|vreesde|sprak|spreekt|stemde|steunt|steunde|heeft|had|"
    r"hebben|hadden|is|was|said|say|says|asked|ask|asks|wrote|writes|argued|argues|stated|states|wants|wanted|"
    r"replied|answered|has|had)"
)
# Verbs after which the party or government that follows is the subject ("antwoordde de minister");
# "vroeg de minister" is mostly someone asking the minister, so "vragen" is not among them.
_INVERTED_VERB = (
    r"(?:zei|zeiden|zegt|antwoordde|antwoordden|antwoordt|schreef|schreven|schrijft|stelde|stelden|stelt|meende|"
    r"meent|betoogde|betoogt|benadrukte|benadrukt|verklaarde|verklaart|said|wrote|replied|answered)"
)
_NAME = r"(?P<name>(?:(?:Van|De|Ter|Ten|Te|Op|In|Van der|Van den|Van de|Van 't|In 't)\s+)?[A-Z][\w’'-]+)"
_TITLE = (
    r"(?:(?i:minister-president|minister|staatssecretaris|premier|kamerlid|de heer|mevrouw|mevr\.|dhr\.|"
    r"state secretary|prime minister|mr\.?|mrs\.?|ms\.?))"
)
_TITLED = re.compile(rf"(?<![\w-])(?P<title>{_TITLE})\s+{_NAME}(?:\s*\((?P<party>{PARTY_ALTERNATION})\))?")
_PARTY_CLAIM = re.compile(
    rf"(?<![\w-])(?i:(?:(?:de|het|the)\s+)?(?:(?:leden|members)\s+(?:van|of)\s+(?:de|het|the)\s+)?)"
    rf"(?P<party>{PARTY_ALTERNATION})(?i:-?fractie|\s+group|\s+party)?,?\s+(?:\w+\s+){{0,3}}?(?i:{_VERB})\b"
    rf"|(?i:volgens|according\s+to)\s+(?i:(?:de|het|the)\s+)?(?P<party2>{PARTY_ALTERNATION})(?![\w-])"
    rf"|\b(?i:{_INVERTED_VERB})\s+(?i:(?:de|het|the)\s+)?(?i:(?:leden|members)\s+(?:van|of)\s+(?:de|het|the)\s+)?"
    rf"(?P<party3>{PARTY_ALTERNATION})(?![\w])",
    re.IGNORECASE,
)
_GOVERNMENT_CLAIM = re.compile(
    rf"(?i:(?:de|het|the)\s+(?:minister|staatssecretaris|regering|kabinet|bewindspersoon|government|cabinet|"
    rf"state\s+secretary)(?:\s+van\s+\w+(?:\s+en\s+\w+)?)?,?\s+(?:\w+\s+){{0,2}}?{_VERB}\b"
    rf"|volgens\s+de\s+(?:minister|staatssecretaris|regering)|according\s+to\s+the\s+(?:minister|government)"
    rf"|\b{_INVERTED_VERB}\s+(?:de|het|the)\s+(?:minister|staatssecretaris|regering|kabinet|government|cabinet)\b)"
)
_GOVERNMENT_WORDS = ("minister", "staatssecretaris", "regering", "kabinet", "government", "premier")
_GOVERNMENT_TITLES = frozenset(
    {"minister", "minister-president", "staatssecretaris", "premier", "state secretary", "prime minister"}
)


@dataclass
class _Claim:
    """Whom a frame credits: the persons named (title, name, party in brackets), the parties with a
    speech verb, and whether it names the government ("de minister zei")."""

    persons: list[tuple[str, str, str]] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)
    government: bool = False

    def __bool__(self) -> bool:
        return bool(self.persons or self.parties or self.government)

    def label(self) -> str:
        named = [" ".join(p for p in (title, name) if p) for title, name, _ in self.persons] + self.parties
        return " / ".join(named + (["de regering"] if self.government else []))


@lru_cache(maxsize=16)
def _surname_pattern(surnames: frozenset[str]) -> re.Pattern | None:
    # surnames of four letters or more: a shorter one is too often an ordinary word
    names = sorted((s for s in surnames if len(s) > 3), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?P<name>" + "|".join(map(re.escape, names)) + r")(?![\w-])") if names else None


def _canonical_party(name: str) -> str:
    canonical = PARTY_BY_LOWER.get(name.lower(), "")
    return "" if canonical in CASE_SENSITIVE_PARTIES and name != canonical else canonical


def claim_in(frame: str, surnames: re.Pattern | None = None) -> _Claim:
    """Whom ``frame`` (the words before or after a quote) credits it to: every person named, every
    party with a speech verb ("de SP vroeg", "vroeg de SP", "volgens de VVD") and the government
    ("de minister antwoordde"). A quote is rightly credited when any of them said it, so that
    "De SP vroeg minister Blok: …" and "Op vragen van Van Nispen antwoordde de minister: …" hold."""
    claim = _Claim()
    taken: list[tuple[int, int]] = []
    for match in _TITLED.finditer(frame):
        claim.persons.append((match.group("title"), match.group("name"), _canonical_party(match.group("party") or "")))
        taken.append(match.span("name"))
    if surnames is not None:
        for match in surnames.finditer(frame):
            if not any(s <= match.start() < e for s, e in taken):
                claim.persons.append(("", match.group("name"), ""))
    for match in _PARTY_CLAIM.finditer(frame):
        party = _canonical_party(next(g for g in match.group("party", "party2", "party3") if g))
        if party and party not in claim.parties:
            claim.parties.append(party)
    claim.government = bool(_GOVERNMENT_CLAIM.search(frame))
    return claim


def _folded_words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    return set(_NON_WORD.sub(" ", "".join(c for c in folded if not unicodedata.combining(c))).split())


def _same_party(a: str, b: str) -> bool:
    return bool(a) and _folded_words(a) == _folded_words(b)


def _is_government(source: Source) -> bool:
    role = f"{source.role} {source.speaker}".lower()
    return any(word in role for word in _GOVERNMENT_WORDS)


def _surname(source: Source) -> str:
    """The source's surname; from its printed speaker when the record has no surname field."""
    if hasattr(source, "surname"):
        return source.surname
    words = source.speaker.split()
    return words[-1] if len(words) > 1 and source.role != "fractie" and words[-1][:1].isupper() else ""


def attribution_holds(claim: _Claim, source: Source) -> bool:
    """Whether ``source``'s speaker, party or government role is one the claim names (or it names none).

    A passage whose speaker is printed without a name ("De Minister van Veiligheid en Justitie")
    cannot disprove a name: a minister or state secretary named is then checked by role only.
    """
    if not claim:
        return True
    surname = _surname(source)
    who = _folded_words(f"{source.speaker} {surname}")
    for title, name, party in claim.persons:
        if not surname and source.role != "fractie":
            if not title or _is_government(source) == (title.lower() in _GOVERNMENT_TITLES):
                return True
        elif _folded_words(name) <= who and (not party or _same_party(party, source.party)):
            return True
    if any(_same_party(party, source.party) for party in claim.parties):
        return True
    return claim.government and _is_government(source)


# ---------------------------------------------------------------------------- matching one quote


@dataclass
class _Match:
    source: Source
    status: str  # verified | repaired
    source_text: str = ""


def _repair(quote: str, source: _Words) -> str:
    """The exact source text for a quote close to it, or ''.

    A quote in one piece is either a stitch (every word verbatim, in parts of at least
    MIN_STITCH_PART words that lie apart in the source: joined with " … ") or one stretch of the
    source at REPAIR_SIMILARITY or above; a quote with ellipses needs such a stretch for each part,
    in order.
    """
    pieces = [_Words.of(piece) for piece in _ELLIPSIS.split(quote)]
    pieces = [piece for piece in pieces if piece.words]
    qwords = [w for piece in pieces for w in piece.words]
    pwords = source.words
    if len(qwords) < MIN_QUOTE_WORDS or not pwords:
        return ""
    # similarity at REPAIR_SIMILARITY needs at least 2/3 of the quote's words in the source: a quick no
    known = set(pwords)
    if sum(w in known for w in qwords) * 3 < len(qwords) * 2:
        return ""
    out, after = [], 0
    for k, piece in enumerate(pieces):
        window = _window(piece.words, pwords, after)
        if window is None:
            break
        out.append(source.shown(*window, quote if k == len(pieces) - 1 else ""))
        after = window[1]
    else:
        return " … ".join(out)
    if len(pieces) == 1:
        blocks = [b for b in SequenceMatcher(None, pwords, qwords, autojunk=False).get_matching_blocks() if b.size]
        if (
            len(blocks) > 1
            and sum(b.size for b in blocks) == len(qwords)
            and min(b.size for b in blocks) >= MIN_STITCH_PART
        ):
            shown = [source.shown(b.a, b.a + b.size) for b in blocks]
            shown[-1] = source.shown(blocks[-1].a, blocks[-1].a + blocks[-1].size, quote)
            return " … ".join(shown)
    return ""


def _window(qwords: list[str], pwords: list[str], after: int = 0) -> tuple[int, int] | None:
    """The stretch (start, end) of ``pwords`` from ``after`` on most like ``qwords``, when at
    REPAIR_SIMILARITY or above."""
    matcher = SequenceMatcher(None, pwords, qwords, autojunk=False)
    i, j, size = matcher.find_longest_match(after, len(pwords), 0, len(qwords))
    if size < min(2, len(qwords)):
        return None
    # the stretch around the longest common run, as long as the quote and a little more
    slack = max(3, len(qwords) // 4)
    lo, hi = max(after, i - j - slack), min(len(pwords), i + len(qwords) - j + slack)
    blocks = [b for b in SequenceMatcher(None, pwords[lo:hi], qwords, autojunk=False).get_matching_blocks() if b.size]
    first, last = blocks[0], blocks[-1]
    start = max(after, lo + first.a - first.b)
    end = min(len(pwords), lo + last.a + last.size + len(qwords) - last.b - last.size)
    if 2 * sum(b.size for b in blocks) / (len(qwords) + end - start) < REPAIR_SIMILARITY:
        return None
    return start, end


class _Checker:
    """Checks the quotes and sentences of one answer against its sources."""

    def __init__(self, citations: Sequence[Source], passages: Sequence[Source], chunks: Sequence[Source], lang: str):
        by_id = {p.chunk_id: p for p in passages}
        # a cited passage as retrieved (with its surname), else the citation itself
        self.by_number = {c.n: by_id.get(c.chunk_id, c) for c in citations if getattr(c, "n", None) is not None}
        cited_ids = {c.chunk_id for c in citations}
        self.sources: list[Source] = list(self.by_number.values()) + [
            p for p in passages if p.chunk_id not in cited_ids
        ]
        self.chunks = chunks
        self.facts = _facts(chunks) if chunks else None
        known = frozenset(getattr(p, "surname", "") for p in passages) | (
            self.facts.surnames if self.facts else frozenset()
        )
        self.surnames = _surname_pattern(known - {""})
        self.lang = lang
        # normalised passages, kept per index across answers (per answer without an index)
        self._padded = self.facts.padded if self.facts else {}
        self._words = self.facts.words if self.facts else {}
        self._sentences = self.facts.sentences if self.facts else {}

    def padded(self, source: Source) -> str:
        """The source's normalised text with a space at either end, for whole-word ``_holds``."""
        return _cached(self._padded, source, lambda text: f" {normalise(text)} ")

    def words(self, source: Source) -> _Words:
        return _cached(self._words, source, _Words.of)

    def whole_sentences(self, quote: str, source: Source) -> str:
        """The quote with " … " where it leaves sentences out, when it is whole sentences of the
        source in the source's order (the extractive composer's way of quoting) and some are left
        out unmarked; else ''."""
        sentences = [(raw, normalise(raw)) for raw in split_sentences(quote)]
        sentences = [(raw, norm) for raw, norm in sentences if norm]
        if len(sentences) < 2:
            return ""
        positions = _cached(self._sentences, source, _sentence_positions)
        out, previous, inserted = "", -1, False
        for raw, norm in sentences:
            later = [i for i in positions.get(norm, ()) if i > previous]
            if not later:
                return ""
            if out:
                marked = out.endswith(("…", "...")) or raw.startswith(("…", "..."))
                gap = later[0] != previous + 1 and not marked
                inserted = inserted or gap
                out += " … " if gap else " "
            out += raw
            previous = later[0]
        return out if inserted else ""

    def note(self, status: str, speaker: str = "") -> str:
        return NOTES[self.lang][status].format(speaker=speaker)

    def check(self, quote: str, kind: str, numbers: list[int], claim: _Claim) -> QuoteCheck:
        cited = [self.by_number[n] for n in numbers if n in self.by_number]
        n = numbers[0] if numbers else None
        parts = _parts(quote)
        shown = " ".join(quote.split())
        candidates = cited or self.sources
        found = next((_Match(s, "verified") for s in candidates if parts and _holds(parts, self.padded(s))), None)
        if found is None and kind == "quote":
            found = next(
                (_Match(s, "verified", marked) for s in candidates if (marked := self.whole_sentences(quote, s))), None
            )
        if found is None and parts:
            # sentence by sentence, so that whole sentences quoted with some left out are found too
            pieces = [part for sentence in split_sentences(quote) for part in _parts(sentence)] or parts
            elsewhere = self._elsewhere(pieces, candidates)
            if elsewhere:
                # word for word in another passage: of the speaker cited (or, uncited, of the one
                # credited) it verifies there; of anyone else it is misattributed
                if cited:
                    same = [s for s in elsewhere if _same_speaker(s, cited[0])]
                else:
                    same = [s for s in elsewhere if not claim or attribution_holds(claim, s)]
                if same:
                    found = _Match(same[0], "verified", self.whole_sentences(quote, same[0]))
                else:
                    credited = [s for s in elsewhere if claim and attribution_holds(claim, s)]
                    # the answer names the right speaker but cites another's passage: the citation misattributes
                    wrong = speaker_label(cited[0]) if cited and (credited or not claim) else claim.label()
                    return self._misattributed(shown, kind, n, (credited or elsewhere)[0], wrong)
        if found is None and kind == "quote":
            found = next(
                (_Match(s, "repaired", fixed) for s in candidates if (fixed := _repair(quote, self.words(s)))), None
            )
        if found is None:
            if kind == "sentence" and claim and cited and not attribution_holds(claim, cited[0]):
                return self._misattributed(shown, kind, n, cited[0], claim.label())
            return QuoteCheck(
                text=shown, kind=kind, status="unverified", chunk_id=cited[0].chunk_id if cited else "", n=n
            )
        if claim and not attribution_holds(claim, found.source):
            return self._misattributed(shown, kind, n, found.source, claim.label(), found.source_text)
        return QuoteCheck(
            text=shown,
            kind=kind,
            status=found.status,
            chunk_id=found.source.chunk_id,
            n=n,
            source_text=found.source_text,
        )

    def _elsewhere(self, parts: list[str], skip: list[Source]) -> list[Source]:
        """Other retrieved passages holding the words, else other passages of the whole index."""
        found = [s for s in self.sources if all(s is not c for c in skip) and _holds(parts, self.padded(s))]
        if not found and self.facts is not None:
            found = [c for c in self.facts.corpus.find(parts) if all(c.chunk_id != s.chunk_id for s in skip)]
        return found

    def _misattributed(
        self, shown: str, kind: str, n: int | None, actual: Source, claimed: str, source_text: str = ""
    ) -> QuoteCheck:
        return QuoteCheck(
            text=shown,
            kind=kind,
            status="misattributed",
            chunk_id=actual.chunk_id,
            n=n,
            source_text=source_text,
            actual_speaker=speaker_label(actual),
            claimed=claimed,
        )


_CACHE_LIMIT = 50_000


def _cached(cache: dict, source: Source, make):
    """``make(source.text)``, kept under the source's chunk id while its text stays the same."""
    hit = cache.get(source.chunk_id)
    if hit is not None and hit[0] == source.text:
        return hit[1]
    value = make(source.text)
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[source.chunk_id] = (source.text, value)
    return value


def _sentence_positions(text: str) -> dict[str, list[int]]:
    """Each normalised sentence of ``text`` (the one splitter's) and where it stands."""
    positions: dict[str, list[int]] = {}
    for i, sentence in enumerate(split_sentences(text)):
        positions.setdefault(normalise(sentence), []).append(i)
    return positions


def _same_speaker(a: Source, b: Source) -> bool:
    surname_a, surname_b = _surname(a), _surname(b)
    if surname_a and surname_b:
        return _folded_words(surname_a) == _folded_words(surname_b)
    return _folded_words(a.speaker) == _folded_words(b.speaker) and _folded_words(a.party) == _folded_words(b.party)


# ---------------------------------------------------------------------------- the stage


def verify_quotes(
    text: str,
    citations: Sequence[Source],
    passages: Sequence[Source] = (),
    chunks: Sequence[Source] = (),
) -> Verification:
    """Check every quoted span and cited sentence of an answer ``text`` with ``[n]`` markers.

    ``citations`` carry the numbers (``n``) the markers refer to; ``passages`` are what was
    retrieved (an uncited quote is looked for there); ``chunks`` are the index's chunks, where a
    quote not in its passage is looked for to name who did say it. Returns the text to show
    (repairs and notes applied, see the module docstring) and the checks in reading order.
    """
    if not text.strip():
        return Verification(text)
    checker = _Checker(citations, passages, chunks, "en" if is_english(text) else "nl")
    sentences = sentence_spans(text)
    quotes = [(s, e) for s, e in quote_spans(text) if len(normalise(text[s + 1 : e - 1]).split()) >= MIN_QUOTE_WORDS]
    checks: list[tuple[int, QuoteCheck]] = []
    edits: list[tuple[int, int, str]] = []

    covered: list[tuple[int, int]] = []  # each quote with the markers that go with it
    for k, (start, end) in enumerate(quotes):
        sentence = _containing(sentences, end - 1) or (start, end)
        head = _containing(sentences, start) or sentence
        next_start = quotes[k + 1][0] if k + 1 < len(quotes) else len(text)
        prev_end = quotes[k - 1][1] if k else 0
        trailing = _TRAILING_MARKERS.match(text, end)
        if trailing and trailing.end() <= next_start:
            # markers right after the quote (perhaps after a bracketed aside) are its own
            numbers = _numbers(trailing.group("markers"))
            covered.append((start, trailing.end()))
        else:
            in_sentence = text[end : min(next_start, max(sentence[1], end))]
            numbers = _numbers(in_sentence) or _numbers(text[sentence[0] : sentence[1]])
            covered.append((start, end))
        claim = claim_in(_MARKER_RUN.sub("", text[max(head[0], prev_end) : start]), checker.surnames)
        if not claim:
            after = text[end : max(end, min(next_start, sentence[1]))]
            claim = claim_in(_MARKER_RUN.sub("", after), checker.surnames)
        inner_start, inner_end = _inner(text, start, end)
        quote = text[inner_start:inner_end]
        check = checker.check(quote, "quote", numbers, claim)
        checks.append((start, check))
        if check.status == "unverified":
            # never shown as a quote: the quotation marks go, the note says why
            edits.append((start, end, f"{quote} {checker.note('unverified')}"))
            continue
        if check.source_text:
            edits.append((inner_start, inner_end, check.source_text))
        if check.status == "repaired":
            edits.append((end, end, f" {checker.note('repaired')}"))
        elif check.status == "misattributed":
            edits.append((end, end, f" {checker.note('misattributed', check.actual_speaker)}"))

    for s_start, s_end in sentences:
        piece = text[s_start:s_end]
        numbers = _numbers(piece)
        if not numbers or any(q_start < s_end and s_start < q_end for q_start, q_end in covered):
            continue
        plain = _MARKER_RUN.sub("", piece).strip()
        if len(normalise(plain).split()) < MIN_QUOTE_WORDS:
            continue
        check = checker.check(plain, "sentence", numbers, claim_in(plain, checker.surnames))
        checks.append((s_start, check))
        if check.status == "misattributed":
            marker = _MARKER_RUN.search(piece)
            at = s_start + (marker.start() if marker else len(piece.rstrip(".!?")))
            edits.append((at, at, f" {checker.note('misattributed', check.actual_speaker)}"))

    for at, until, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:at] + replacement + text[until:]
    return Verification(text, [check for _, check in sorted(checks, key=lambda c: c[0])])


def _containing(spans: list[tuple[int, int]], position: int) -> tuple[int, int] | None:
    for start, end in spans:
        if start <= position < end:
            return start, end
    return None


def _numbers(text: str) -> list[int]:
    return list(dict.fromkeys(int(n) for n in _MARKER.findall(text)))


def _inner(text: str, start: int, end: int) -> tuple[int, int]:
    """The quote between its quotation marks, without the spaces some styles put inside (« … »)."""
    inner_start, inner_end = start + 1, end - 1
    while inner_start < inner_end and text[inner_start].isspace():
        inner_start += 1
    while inner_end > inner_start and text[inner_end - 1].isspace():
        inner_end -= 1
    return inner_start, inner_end


def verify_answer(answer: Answer, chunks: Sequence[Source] = ()) -> Answer:
    """Check ``answer``'s quotes and cited sentences in place (its text and ``quotes``); a refusal has none."""
    if answer.refused:
        answer.quotes = []
        return answer
    result = verify_quotes(answer.answer, answer.citations, answer.retrieved, chunks)
    answer.answer, answer.quotes = result.text, result.quotes
    return answer
