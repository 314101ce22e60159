"""PDF files with a text layer -> ``ParsedDocument``, through the text formats.

The text layer is read with pypdfium2 (PDFium: BSD-3/Apache-2.0, no GPL or AGPL part), chosen
over pdfplumber and pypdf by ``bench/pdf_libraries.py``: it keeps the reading order of
two-column Handelingen, marks hyphenation with its own character, and is 30 to 80 times faster.
Per page the text is cleaned before the text formats see it:

* a word hyphenated at a line end by the typesetter (PDFium's U+FFFE) is joined exactly;
* page furniture is removed: lines that recur at the top or bottom of at least 40% of the
  pages (digits ignored: '40-6-1', 'Pagina 1 van 2', 'Tweede Kamer ... TK 40'), and
  'Pagina N van M' wherever the text layer glued it to a sentence.

The pages are then parsed as PDF-extracted text (``ingest.parse.parse_text``: speaker labels,
footers, hyphenation, footnotes, letter signatures of ministers). A letter signed below a
closing formula ('Met vriendelijke groet,' / name / office), as the Nationaal Rapporteur signs,
is attributed to its signer, dated by its 'Datum' line and titled by its 'Onderwerp' line.

A PDF without a text layer, or whose text layer is OCR noise, raises ``DocumentParseError``
('no usable text layer; OCR is not supported') instead of being indexed as noise. A scan
whose OCR layer is clean is kept, with a warning.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from kamerbron.errors import DocumentParseError
from kamerbron.records import ParsedDocument
from kamerbron.text import DUTCH_DATE_RE, iso_date

NAME = "pdf"

MAX_BYTES = 100 * 1024 * 1024
# Fewer visible characters than this per page on average: no text layer to speak of (a scan
# without OCR has none; a born-digital page of text has 2,000 to 5,000).
MIN_CHARS_PER_PAGE = 40
# OCR noise: a token with a character that Dutch text does not use inside words (~ | \ ^ { } ¬),
# a digit between lower-case letters ('l3oktober20ll'), or a word that turns to capitals halfway
# ('conceptwetsvOOrStel', 'RetouradreS'). Measured on shared/formats/pdf (bench/pdf_libraries.py):
# the five born-digital PDFs score 0.0000 (0 of ~13,000 tokens), the scanned NRM letter
# P0121D01.pdf 0.0097. The threshold is a third of that scan's share, so a text layer three
# times cleaner is still refused, while a born-digital file would need one noise token in 330.
NOISE_TOKEN_RE = re.compile(r"[~|\\^{}¬]|[a-zà-ÿ][0-9][a-zà-ÿ]|^[a-z]+[A-Z]+[.,;:]?$|[a-z][A-Z]{2,}[a-z]")
NOISE_THRESHOLD = 0.003
# A page that is one image covering (nearly) all of it is a scan.
SCAN_COVERAGE = 0.9
# Page furniture recurs at the page edges: this many lines at the top and at the bottom.
EDGE_LINES = 4
FURNITURE_SHARE = 0.4

PDF_HEADER_RE = re.compile(rb"%PDF-\d\.\d")
SOFT_HYPHEN = "\ufffe"  # PDFium's mark for a hyphen the typesetter added at a line end
PAGE_NUMBER_RE = re.compile(r"\s*\bPagina \d+ van \d+\b\s*")
CLOSING_RE = re.compile(
    r"^(?:Met (?:vriendelijke|hartelijke) groet(?:en)?|Hoogachtend|Met (?:de meeste )?hoogachting),?$", re.IGNORECASE
)
SALUTATION_RE = re.compile(r"^(?:(?:Zeer |Hoog)?[Gg]eachte\b.{0,80}|Excellentie),$")
# Lines of the Rijkshuisstijl letterhead column and address block.
LETTERHEAD_RE = re.compile(
    r"^(?:>?\s*Retouradres\b.*|Postbus \d+.*|\d{4} ?[A-Z]{2} \S.*|www\.\S+|[TFE] [+\d(][\d ()+-]{6,}|E \S+@\S+|"
    r"Contactpersoon|Ons kenmerk|Uw kenmerk|Datum|Onderwerp|Bijlage\(n\)|Bij beantwoording\b.*|"
    r"Wilt u slechts\b.*|brief behandelen\.?|en ons kenmerk vermelden\.?|[A-Z][\w'-]+ \d{1,4}[a-z]?)$"
)
DATE_LINE_RE = re.compile(rf"^Datum\s+{DUTCH_DATE_RE}\b")
SUBJECT_LINE_RE = re.compile(r"^Onderwerp\s+(?P<subject>\S.*)$")
_PARTICLES = {"van", "der", "den", "de", "ten", "ter", "het", "in", "'t"}


def sniff(raw: bytes) -> bool:
    """True for a PDF: the '%PDF-1.7' header within the first 1024 bytes, where readers look for it."""
    return bool(PDF_HEADER_RE.search(raw[:1024]))


def parse(raw: bytes, *, doc_id: str, source_file: str, manifest_entry: dict | None = None) -> ParsedDocument:
    """Parse the text layer of a PDF; raises DocumentParseError naming ``source_file`` when there is none."""
    if len(raw) > MAX_BYTES:
        raise DocumentParseError(
            f"{source_file}: {len(raw) / 1_048_576:.0f} MB is over the {MAX_BYTES // 1_048_576} MB limit for a PDF; "
            "split the document or leave it out."
        )
    pages, scanned = read_pages(raw, source_file)
    visible = sum(len("".join(p.split())) for p in pages)
    if visible < MIN_CHARS_PER_PAGE * max(1, len(pages)):
        raise DocumentParseError(
            f"{source_file}: no usable text layer; OCR is not supported. The PDF holds "
            f"{visible} characters of text on {len(pages)} page(s); export it with its text or leave it out."
        )
    share = noise_share("\n".join(pages))
    if share >= NOISE_THRESHOLD:
        raise DocumentParseError(
            f"{source_file}: no usable text layer; OCR is not supported. {share:.1%} of its words are OCR noise "
            f"(limit {NOISE_THRESHOLD:.1%}){' on scanned pages' if scanned else ''}; get a born-digital copy or "
            "leave it out."
        )
    text, removed = _page_text(pages)
    signer = _letter_signer(text)
    # ingest.parse imports the format registry, which may import this module: import it when used.
    from ingest.parse import parse_text

    body = _letter_body(text, pages) if signer else text
    doc = parse_text(body, doc_id=doc_id, source_file=source_file, manifest_entry=manifest_entry)
    warnings = list(doc.warnings)
    if scanned:
        warnings.append("the pages are scans with an OCR text layer; check quotes against the original")
    meta = doc.meta.model_copy(update={"content_hash": hashlib.sha256(raw).hexdigest()})
    # Handelingen print the meeting date only in the page footer.
    footer_date = next((m for m in (re.fullmatch(DUTCH_DATE_RE, r.strip()) for r in removed) if m), None)
    if not meta.date and footer_date:
        meta = meta.model_copy(update={"date": iso_date(*footer_date.groups())})
    turns = doc.turns
    if signer and not any(t.speaker for t in turns):
        turns, meta = _attribute(turns, meta, signer, text, manifest_entry or {})
        # The text formats saw the body without its signature (a manifest doc_type 'brief' makes the
        # letter split look for one): the signer found here answers both warnings.
        warnings = [w for w in warnings if not w.startswith(("no speaker labels", "no signature found"))]
    return ParsedDocument(meta=meta, turns=turns, warnings=warnings)


def read_pages(raw: bytes, source_file: str) -> tuple[list[str], bool]:
    """The text of each page, and whether most pages are scans (one image covering the page)."""
    try:
        pdf = pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        raise DocumentParseError(
            f"{source_file}: not a readable PDF ({exc}); a password-protected or damaged file cannot be indexed, "
            "save an unprotected copy."
        ) from None
    pages: list[str] = []
    scans = 0
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            width, height = page.get_size()
            cover = 0.0
            for image in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=1):
                left, bottom, right, top = image.get_bounds()
                cover = max(cover, (right - left) * (top - bottom) / max(1.0, width * height))
            scans += cover >= SCAN_COVERAGE
            textpage.close()
            page.close()
    finally:
        pdf.close()
    return pages, bool(pages) and scans * 2 >= len(pages)


def noise_share(text: str) -> float:
    """Share of the text's tokens that look like OCR noise (see NOISE_TOKEN_RE)."""
    tokens = text.replace(SOFT_HYPHEN, "").split()
    return sum(1 for t in tokens if NOISE_TOKEN_RE.search(t)) / max(1, len(tokens))


def _page_text(pages: list[str]) -> tuple[str, list[str]]:
    """The pages as one text, typesetter hyphens joined and page furniture removed; and the furniture."""
    pages = [_join_soft_hyphens(p) for p in pages]
    split = [[line.rstrip() for line in p.split("\n")] for p in pages]
    furniture = _furniture(split)
    out: list[str] = []
    removed: list[str] = []
    for lines in split:
        nonblank = [i for i, line in enumerate(lines) if line.strip()]
        edges = set(nonblank[:EDGE_LINES] + nonblank[-EDGE_LINES:])
        for i, line in enumerate(lines):
            if i in edges and _key(line) in furniture:
                removed.append(line)
                continue
            if nonblank and i in (nonblank[0], nonblank[-1]) and re.fullmatch(r"\s*\d{1,3}\s*", line):
                continue  # a bare page number
            line = PAGE_NUMBER_RE.sub(" ", line).rstrip() if PAGE_NUMBER_RE.search(line) else line
            if line.strip() or not PAGE_NUMBER_RE.search(lines[i]):
                out.append(line)
    text = "\n".join(out)
    # A hyphenated word split over a page break.
    return re.sub(rf"(\w){SOFT_HYPHEN}\s*\n\s*(\w)", r"\1\2", text).replace(SOFT_HYPHEN, ""), removed


def _join_soft_hyphens(text: str) -> str:
    # PDFium usually joins the two halves on one line ('Volks\ufffehuisvesting'); a page footer can
    # follow the first half directly ('stimu\ufffe40-6-4'): put it on its own line to be removed.
    text = re.sub(rf"([^\W\d]){SOFT_HYPHEN}(?=\d)", rf"\1{SOFT_HYPHEN}\n", text)
    # 'Volks\ufffe' + 'huisvesting (CD ...': the rest of the word moves up, the line lengths stay.
    return re.sub(rf"(\w){SOFT_HYPHEN}[ \t]*\n[ \t]*([^\s{SOFT_HYPHEN}\d][^\s{SOFT_HYPHEN}]*)[ \t]?", r"\1\2\n", text)


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).lower()


def _furniture(pages: list[list[str]]) -> set[str]:
    """Lines recurring at the top or bottom of pages; never a speaker label ('De voorzitter:')."""
    if len(pages) < 2:
        return set()
    seen: Counter[str] = Counter()
    for lines in pages:
        nonblank = [line for line in lines if line.strip()]
        seen.update({_key(line) for line in nonblank[:EDGE_LINES] + nonblank[-EDGE_LINES:]})
    need = max(2, FURNITURE_SHARE * len(pages))
    return {k for k, n in seen.items() if n >= need and not k.endswith(":")}


def _letter_signer(text: str) -> tuple[str, str] | None:
    """(name, office) below the last closing formula of a letter, or None."""
    lines = [line.strip() for line in text.split("\n")]
    closing = max((i for i, line in enumerate(lines) if CLOSING_RE.match(line)), default=None)
    if closing is None:
        return None
    after = [line for line in lines[closing + 1 :] if line][:4]
    if not after or len(after[0].split()) > 6 or after[0].endswith((".", ":")):
        return None
    office: list[str] = []
    for line in after[1:]:
        if not re.match(r"[A-Z]", line) or line.endswith((".", ":")):
            break
        office.append(line)
        if not line.endswith((" en", ",")):
            break
    return after[0], " ".join(office).rstrip(",")


def _letter_body(text: str, pages: list[str]) -> str:
    """A letter's text from its salutation to its closing formula, without the letterhead column."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if SALUTATION_RE.match(line.strip())), None)
    end = max((i for i, line in enumerate(lines) if CLOSING_RE.match(line.strip())), default=len(lines))
    body = lines[(start + 1 if start is not None and start < end else 0) : end]
    # The letterhead column (sender, address, 'Ons kenmerk') recurs on every page, between the lines.
    per_page = [{_key(line) for line in p.split("\n") if line.strip()} for p in pages]
    counts = Counter(k for page in per_page for k in page)
    recurring = {k for k, n in counts.items() if n >= 2}
    kept = []
    contact = 0
    for line in body:
        stripped = line.strip()
        short = len(line.split()) <= 4 and not re.search(r"[.,;:?!]$", stripped)
        # The contact person's name and office follow 'Contactpersoon' in the column.
        contact = 4 if stripped == "Contactpersoon" else contact - 1
        if 0 < contact < 4 and len(line.split()) <= 7 and not re.search(r"[.;:?!]$", stripped):
            continue
        if LETTERHEAD_RE.match(stripped) or re.fullmatch(DUTCH_DATE_RE, stripped):
            continue
        if short and _key(line) in recurring:
            continue
        kept.append(line)
    return "\n".join(kept)


def _attribute(turns, meta, signer: tuple[str, str], text: str, entry: dict):
    """Give every passage of a letter its signer; take date and subject from the letterhead."""
    name, office = signer
    words = [w for w in re.sub(r"^(?:mr|dr|drs|prof|ir)\.?\s+", "", name).split()]
    # 'Corinne Dettmeijer-Vermeulen' -> 'Dettmeijer-Vermeulen'; 'Frank van der Berg' -> 'van der Berg'.
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    surname = " ".join(words[start:]) if len(words) > 1 else name
    lowered = office.lower()
    role = "staatssecretaris" if "staatssecretaris" in lowered else "minister" if "minister" in lowered else "onbekend"
    speaker = f"{name} ({office})" if office else name
    turns = [t.model_copy(update={"speaker": speaker, "surname": surname, "role": role}) for t in turns]
    update: dict = {"doc_type": entry.get("doc_type") or "brief"}
    lines = [line.strip() for line in text.split("\n")]
    dated = next((m for m in map(DATE_LINE_RE.match, lines) if m), None)
    if not meta.date and dated:
        update["date"] = iso_date(*dated.groups())
    subject = next((m for m in map(SUBJECT_LINE_RE.match, lines) if m), None)
    if not meta.title and subject:
        update["title"] = subject.group("subject").strip()
    return turns, meta.model_copy(update=update)
