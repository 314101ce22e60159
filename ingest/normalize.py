"""Normalise the raw text of a Kamerstuk into clean paragraphs.

Two source formats are handled, detected per document:

* markdown-like text: one paragraph per line (or per run of lines), ``**bold**``/``*italic*``
  markup, ``<sup>1</sup>`` or unicode superscript (``¹``) footnote marks, footnote lines
  in between paragraphs, trailing double spaces;
* PDF-extracted text ("wrapped"): lines of ~75 characters, hyphenated line breaks
  (``Mensen-`` / ``handel``), page footers (``Tweede Kamer, vergaderjaar ...``), the
  first line of a page indented by one space, footnote lines (``1 Aanhangsel ...``) at the
  foot of a page, often in the middle of a paragraph, and paragraphs that are not
  separated by blank lines.

The result is a list of :class:`Paragraph`: one logical paragraph each, wrapped lines
joined, hyphenated line breaks resolved, markup, footers and footnote lines removed,
footnote marks moved out of the text into ``Paragraph.footnotes``, and paragraphs that a
page break split glued back together.

Rules, in the order they apply:

* Hyphen at a line end (also across a page break): kept with a space when the next word
  is ``en``/``of``/``tot`` ("land- en tuinbouw"); kept without a space when the next word
  starts with a capital or a digit ("motie-Segers"), when the part before it ends in a
  capital or digit ("PvdA-fractie", "EMPACT-project"), when the line had a space after
  the hyphen ("niet- " + "geregistreerde"), or when the hyphenated form occurs elsewhere in
  the document and the joined form does not ("train-de-trainer"); otherwise the word
  is joined ("Mensen-" + "handel" -> "Mensenhandel").
* Wrapped text: a paragraph ends at a blank line, at a line that ends a sentence and is
  clearly shorter than the text width, before a list item, and before a line that
  starts a party block ("De leden van de ...", "Voornoemde leden ...").
* Two paragraphs are glued when the second starts with a lower-case letter, or when the
  first does not end a sentence and cannot be a heading (its last line is full width, or it
  is longer than a heading can be).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUP_CHARS = "⁰¹²³⁴⁵⁶⁷⁸⁹"

FOOTER_RE = re.compile(
    r"^\s*Tweede Kamer, vergaderjaar \d{4}\s*[–-]\s*\d{4},\s*(?P<dossier>\d{2}\s?\d{3}(?: [A-Z]+)?)"
    r"(?:, nr\. ?(?P<number>\d+))?\s+\d+\s*$"
)
PAGE_HEADER_RE = re.compile(r"^\s*(?:kst-\d+-\d+|ISSN \d{4}\s*-\s*\d{4}\b.*|'s-Gravenhage \d{4})\s*$")
MD_FOOTNOTE_DEF_RE = re.compile(r"^\s*<sup>\s*(\d{1,3})\s*</sup>\s*(\S.*)$")
SUP_FOOTNOTE_DEF_RE = re.compile(rf"^\s*([{_SUP_CHARS}]+)\s+(\S.*)$")
PLAIN_FOOTNOTE_DEF_RE = re.compile(r"^(\d{1,3}) (\S.*)$")
MD_FOOTNOTE_MARK_RE = re.compile(r"<sup>\s*(\d{1,3})\s*</sup>")
SUP_FOOTNOTE_MARK_RE = re.compile(rf"(?<=\S)([{_SUP_CHARS}]+)")
MD_LINK_RE = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")
AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
HTML_TAG_RE = re.compile(r"</?[A-Za-z][^>]{0,200}>")
BULLET_RE = re.compile(r"^(?:[-*•]|–)\s+")
NUMBERED_HEADING_RE = re.compile(r"^\d{1,2}\.\s+\S")

# A sentence end: . ? ! : ; … optionally followed by closing quotes or brackets.
TERMINAL_RE = re.compile(r"[.?!:;…][\"'»”’)\]]*$")
# Abbreviations after which a paragraph cannot have ended.
CONTINUATION_ABBREV_RE = re.compile(r"\b(?:d\.d|nr|jl|o\.a|bijv|bv|art|ca|m\.b\.t|t\.a\.v|zgn)\.$", re.IGNORECASE)
# Words after a line-end hyphen that make it a real hyphen of a compound list ("land- en tuinbouw").
LIST_WORDS = frozenset({"en", "of", "tot", "t/m", "noch", "als"})
# Line starts that open a new block in a written consultation.
BLOCK_START_RE = re.compile(
    r"^(?:De leden van de |Voornoemde leden\b|Deze leden\b|De aan het woord zijnde leden\b|De [A-Z][\w-]*-leden\b)"
)


@dataclass
class Line:
    """One source line after markup removal; ``kind`` is 'text', 'blank' or 'break' (page break)."""

    text: str
    no: int
    kind: str = "text"
    refs: list[str] = field(default_factory=list)
    bold: bool = False
    bullet: bool = False
    standalone: bool = False


@dataclass
class Paragraph:
    """One logical paragraph of clean text."""

    text: str
    line_no: int
    footnotes: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    bold: bool = False
    bullet: bool = False
    standalone: bool = False
    # Internal: whether the last source line was full width (wrapped text) and how the
    # paragraph was ended, used to decide on gluing across page breaks.
    last_line_full: bool = False
    ended_by: str = ""


@dataclass
class NormalisedText:
    paragraphs: list[Paragraph]
    footnotes: dict[str, str]
    footers: list[str]
    wrapped: bool
    warnings: list[str] = field(default_factory=list)


def strip_markup(text: str) -> str:
    """Remove markdown/HTML markup from one line, keeping link texts and URLs."""

    def link(m: re.Match) -> str:
        label, url = m.group(1).strip(), m.group(2)
        if not label or label in url:
            return label or url
        return f"{label} ({url})"

    text = MD_LINK_RE.sub(link, text)
    text = AUTOLINK_RE.sub(r"\1", text)
    text = MD_FOOTNOTE_MARK_RE.sub("", text)
    text = HTML_TAG_RE.sub("", text)
    text = text.replace("**", "").replace("__", "").replace("*", "")
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!>])", r"\1", text)
    text = re.sub(r"^#{1,6}\s+", "", text)
    return text


def clean_inline(text: str) -> str:
    """Collapse whitespace and repair extraction artefacts inside one paragraph."""
    text = text.replace("\u00a0", " ").replace("\u00ad", "").replace("\ufb01", "fi").replace("\ufb02", "fl")
    text = re.sub(r"[ \t]+", " ", text).strip()
    # "niet- vrijwillige": a hyphenated compound with a stray space; "land- en" stays.
    text = re.sub(r"(?<=[a-zà-ÿ])- (?!(?:en|of|tot|t/m|noch|als)\b)(?=[a-zà-ÿ])", "-", text)
    text = re.sub(r" ([,.;:?!])(?=\s|$)", r"\1", text)
    return text


def is_terminal(text: str) -> bool:
    return bool(TERMINAL_RE.search(text.rstrip()))


def join_lines(left: str, right: str, vocabulary: set[str] | None = None, spaced_hyphen: bool = False) -> str:
    """Join two pieces of text split by a line or page break, resolving a line-end hyphen.

    ``spaced_hyphen``: the source line had whitespace after its final hyphen.
    """
    left = left.rstrip()
    right = right.lstrip()
    if not left:
        return right
    if not right:
        return left
    if left.endswith("–"):
        # En dash: a range split over lines ("2011–" "2015") or a spaced dash ("– ik").
        if left[-2:-1].isdigit() and right[:1].isdigit():
            return left + right
        return f"{left} {right}"
    if not left.endswith("-") or left.endswith(" -") or len(left) < 2:
        return f"{left} {right}"
    m = re.search(r"([\w'’()-]+)-$", left)
    head = m.group(1) if m else ""
    first_word = right.split(maxsplit=1)[0]
    bare = first_word.rstrip(".,;:?!»”’)")
    if bare.lower() in LIST_WORDS and bare.islower():
        return f"{left} {right}"
    if not head or not bare:
        return left + right
    if right[0].isupper() or right[0].isdigit() or head[-1].isupper() or head[-1].isdigit():
        return left + right
    if spaced_hyphen:
        return left + right
    if vocabulary is not None:
        h, t = head.lower().strip("()"), bare.lower().strip("()")
        if f"{h}-{t}" in vocabulary and f"{h}{t}" not in vocabulary:
            return left + right
    return left[:-1] + right


def _vocabulary(lines: list[str]) -> set[str]:
    words: set[str] = set()
    for line in lines:
        # Only words inside a line: a line-end hyphen says nothing about the spelling.
        body = re.sub(r"\S+-\s*$", "", line)
        for tok in re.findall(r"[\w'’()-]+", body.lower()):
            words.add(tok.strip("()"))
    return words


def _is_wrapped(raw_lines: list[str]) -> bool:
    """PDF text: most non-blank lines are followed by another non-blank line and none is long."""
    nonblank = [i for i, line in enumerate(raw_lines) if line.strip()]
    if len(nonblank) < 5:
        return False
    followed = sum(1 for i in nonblank if i + 1 < len(raw_lines) and raw_lines[i + 1].strip())
    lengths = sorted(len(raw_lines[i].strip()) for i in nonblank)
    p95 = lengths[int(0.95 * (len(lengths) - 1))]
    return followed / len(nonblank) > 0.6 and p95 <= 130


def _plain_mark_pattern(n: str) -> re.Pattern:
    # A footnote number glued to the word or punctuation before it: "beeld.1", "handel5", "20146".
    return re.compile(rf"(?:(?<=[^\W\d_])|(?<=[)\].»”’?!,;:])|(?<=\b(?:19|20)\d\d)){n}(?=\s|$)")


def _find_plain_mark(lines: list[Line], n: str, lookback: int = 200) -> tuple[Line, re.Match] | None:
    pattern = _plain_mark_pattern(n)
    seen = 0
    for line in reversed(lines):
        if line.kind != "text":
            continue
        seen += 1
        if seen > lookback:
            break
        matches = list(pattern.finditer(line.text))
        if matches:
            return line, matches[-1]
    return None


def extract_lines(
    raw_lines: list[str], wrapped: bool, standalone: Callable[[str], bool] | None = None
) -> tuple[list[Line], dict[str, str], list[str], list[str]]:
    """Turn raw lines into :class:`Line` objects; returns lines, footnotes, footers and warnings."""
    lines: list[Line] = []
    footnotes: dict[str, str] = {}
    footers: list[str] = []
    warnings: list[str] = []
    def_at: dict[str, int] = {}
    next_plain = 1
    i = 0
    while i < len(raw_lines):
        no = i + 1
        raw = raw_lines[i].replace("\u00a0", " ").replace("\u00ad", "").rstrip()
        stripped = raw.strip()
        i += 1
        if not stripped:
            lines.append(Line("", no, "blank"))
            continue
        if FOOTER_RE.match(stripped) or PAGE_HEADER_RE.match(stripped):
            footers.append(stripped)
            lines.append(Line("", no, "break"))
            continue
        m = MD_FOOTNOTE_DEF_RE.match(stripped) or SUP_FOOTNOTE_DEF_RE.match(stripped)
        if m:
            n = m.group(1).translate(SUPERSCRIPT_DIGITS)
            body = m.group(2)
            # A definition may run on over following lines up to a blank line.
            while i < len(raw_lines) and raw_lines[i].strip() and not wrapped:
                nxt = raw_lines[i].strip()
                if MD_FOOTNOTE_DEF_RE.match(nxt) or SUP_FOOTNOTE_DEF_RE.match(nxt):
                    break
                body = join_lines(body, nxt)
                i += 1
            footnotes[n] = clean_inline(strip_markup(body))
            def_at[n] = len(lines)
            lines.append(Line("", no, "break"))
            continue
        m = PLAIN_FOOTNOTE_DEF_RE.match(raw) if wrapped else None
        if m and m.group(1) == str(next_plain):
            prev = lines[-1] if lines else None
            if prev is None or prev.kind in ("blank", "break"):
                found = _find_plain_mark(lines, m.group(1))
                if found:
                    mark_line, mark = found
                    mark_line.text = mark_line.text[: mark.start()] + mark_line.text[mark.end() :]
                    mark_line.refs.append(m.group(1))
                    body = m.group(2).strip()
                    # Runs on while the next line is not a new page (indented) or a new note.
                    taken = 0
                    while i < len(raw_lines) and taken < 3:
                        nxt = raw_lines[i]
                        if not nxt.strip() or nxt[:1].isspace() or FOOTER_RE.match(nxt):
                            break
                        nm = PLAIN_FOOTNOTE_DEF_RE.match(nxt)
                        if nm and nm.group(1) == str(next_plain + 1):
                            break
                        if not (body.endswith("-") or nxt.lstrip()[:1].islower() or nxt.lstrip().startswith("http")):
                            break
                        body = join_lines(body, nxt.strip())
                        i += 1
                        taken += 1
                    footnotes[m.group(1)] = clean_inline(body)
                    next_plain += 1
                    lines.append(Line("", no, "break"))
                    continue
        bold = bool(re.fullmatch(r"(\*\*|__|\*)[^*].*?\1:?", stripped))
        refs = [r for r in MD_FOOTNOTE_MARK_RE.findall(stripped)]
        text = stripped
        sup_refs = SUP_FOOTNOTE_MARK_RE.findall(text)
        if sup_refs:
            refs.extend(r.translate(SUPERSCRIPT_DIGITS) for r in sup_refs)
            text = SUP_FOOTNOTE_MARK_RE.sub("", text)
        text = strip_markup(text).strip()
        bullet = False
        if BULLET_RE.match(text):
            bullet = True
            text = "– " + BULLET_RE.sub("", text)
        if not text:
            lines.append(Line("", no, "blank"))
            continue
        line = Line(text, no, "text", refs, bold, bullet)
        line.standalone = bool(standalone and standalone(clean_inline(text)))
        lines.append(line)
    for n in sorted(footnotes, key=int):
        if any(n in line.refs for line in lines):
            continue
        warnings.append(f"footnote {n} has no mark in the text; it is kept on the passage before it")
        before = [line for line in lines[: def_at.get(n, len(lines))] if line.kind == "text"]
        if before:
            before[-1].refs.append(n)
    return lines, footnotes, footers, warnings


def _short_threshold(lines: list[Line]) -> float:
    lengths = sorted(len(line.text) for line in lines if line.kind == "text" and not line.standalone)
    if not lengths:
        return 0.0
    width = lengths[int(0.9 * (len(lengths) - 1))]
    return 0.86 * width


def _group(lines: list[Line], wrapped: bool, vocabulary: set[str], raw_lines: list[str]) -> list[Paragraph]:
    paragraphs: list[Paragraph] = []
    short = _short_threshold(lines) if wrapped else 0.0
    current: list[Line] = []

    def flush(ended_by: str) -> None:
        nonlocal current
        if not current:
            return
        text = current[0].text
        for prev, line in zip(current, current[1:]):
            spaced = raw_lines[prev.no - 1].rstrip("\n").endswith((" ", "\t")) and prev.text.endswith("-")
            text = join_lines(text, line.text, vocabulary, spaced_hyphen=spaced)
        last = current[-1]
        paragraphs.append(
            Paragraph(
                text=text,
                line_no=current[0].no,
                refs=[r for line in current for r in line.refs],
                bold=all(line.bold for line in current),
                bullet=current[0].bullet,
                standalone=current[0].standalone,
                last_line_full=wrapped and len(last.text) >= short,
                ended_by=ended_by,
            )
        )
        current = []

    for line in lines:
        if line.kind in ("blank", "break"):
            flush(line.kind if line.kind == "break" else "blank")
            if line.kind == "break":
                # A page break inside a run of blanks keeps the 'break' reason.
                if paragraphs and paragraphs[-1].ended_by == "blank":
                    paragraphs[-1].ended_by = "break"
            continue
        if line.standalone:
            flush("standalone")
            current = [line]
            flush("standalone")
            continue
        if current:
            prev = current[-1]
            if wrapped and line.bullet and not is_terminal(prev.text):
                # A dash at the start of a wrapped line inside a sentence ("– en ook andere").
                line.bullet = False
            if line.bullet or prev.standalone:
                flush("bullet")
            elif not wrapped:
                if line.bold != prev.bold:
                    flush("style")
            else:
                ends = is_terminal(prev.text)
                starts_upper = bool(re.match(r"[\"'«“(]?[A-Z0-9ÀÉÈËÏÖÜ]", line.text))
                if (
                    ends
                    and starts_upper
                    and not CONTINUATION_ABBREV_RE.search(prev.text)
                    and (
                        len(prev.text) < short
                        or BLOCK_START_RE.match(line.text)
                        or NUMBERED_HEADING_RE.match(line.text)
                    )
                ):
                    flush("sentence")
        current.append(line)
    flush("end")
    return paragraphs


def _can_glue(p: Paragraph, q: Paragraph, wrapped: bool) -> bool:
    if p.standalone or q.standalone or q.bullet or p.bold or q.bold:
        return False
    if p.ended_by not in ("blank", "break"):
        return False
    if NUMBERED_HEADING_RE.match(p.text) and len(p.text) < 250:
        return False
    first = q.text.lstrip("«“\"'(")[:1]
    if first.islower():
        return True
    if CONTINUATION_ABBREV_RE.search(p.text):
        return True
    if first and not first.isalnum():
        return False
    if not is_terminal(p.text):
        return p.last_line_full if wrapped else len(p.text) >= 150
    # A full last line ending a sentence just before a page break: the paragraph goes on.
    return wrapped and p.ended_by == "break" and p.last_line_full and not BLOCK_START_RE.match(q.text)


def _glue(paragraphs: list[Paragraph], wrapped: bool, vocabulary: set[str]) -> list[Paragraph]:
    out: list[Paragraph] = []
    for q in paragraphs:
        if out and _can_glue(out[-1], q, wrapped):
            p = out[-1]
            p.text = join_lines(p.text, q.text, vocabulary)
            p.refs.extend(q.refs)
            p.last_line_full = q.last_line_full
            p.ended_by = q.ended_by
            continue
        out.append(q)
    return out


def normalise(text: str, standalone: Callable[[str], bool] | None = None) -> NormalisedText:
    """Clean paragraphs of one document; ``standalone`` marks lines that must stay on their own (speaker labels)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    raw_lines = text.split("\n")
    wrapped = _is_wrapped(raw_lines)
    vocabulary = _vocabulary(raw_lines)
    lines, footnotes, footers, warnings = extract_lines(raw_lines, wrapped, standalone)
    paragraphs = _glue(_group(lines, wrapped, vocabulary, raw_lines), wrapped, vocabulary)
    for p in paragraphs:
        p.text = clean_inline(p.text)
        seen: list[str] = []
        for ref in p.refs:
            note = footnotes.get(ref)
            if note is None:
                warnings.append(f"footnote mark {ref} near line {p.line_no} has no footnote text")
            elif note not in seen:
                seen.append(note)
        p.footnotes = seen
    paragraphs = [p for p in paragraphs if p.text]
    return NormalisedText(paragraphs, footnotes, footers, wrapped, warnings)
