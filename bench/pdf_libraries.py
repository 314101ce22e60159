"""Compare PDF text libraries on the official PDFs in shared/formats/pdf: speed and text quality.

    python -m bench.pdf_libraries [FOLDER]      # default: ../shared/formats/pdf beside the repository

Prints, per library and file, the seconds (best of three), seconds per MB, and four quality
figures, then the totals:

- ``hyph``: words split at a line end with a plain '-' left in the text ('Volks-' / 'huisvesting');
  PDFium marks the typesetter's hyphens with U+FFFE instead, so they can be joined exactly;
- ``glued``: speaker labels ('De voorzitter:', 'De heer X (SP):') that are not at the start of a
  line, i.e. two columns read across: the label is glued to text of the other column;
- ``noise``: share of tokens that look like OCR noise (``ingest.formats.pdf.noise_share``);
- ``chars``: characters extracted.

pdfplumber and pypdf are only needed here (``pip install -e .[pdfbench]``); a library that is
not installed is skipped.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from ingest.formats.pdf import SOFT_HYPHEN, noise_share

LABEL_RE = re.compile(r"(?:De voorzitter|(?:De heer|Mevrouw) [A-Z][\w'’ -]{1,40} \([^()\n]{1,40}\)):")
HYPHEN_RE = re.compile(r"[a-zà-ÿ]-\s*\n\s*[a-zà-ÿ]")


def _pypdfium2(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return "\f".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _pdfplumber(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\f".join(page.extract_text() or "" for page in pdf.pages)


def _pypdf(path: Path) -> str:
    import pypdf

    return "\f".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages)


LIBRARIES = {
    "pypdfium2": (_pypdfium2, "Apache-2.0 / BSD-3 (PDFium: BSD-3)"),
    "pdfplumber": (_pdfplumber, "MIT (pdfminer.six: MIT)"),
    "pypdf": (_pypdf, "BSD-3"),
}


def quality(text: str) -> dict[str, float]:
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    glued = sum(1 for line in lines for m in LABEL_RE.finditer(line) if line[: m.start()].strip())
    return {
        "hyph": len(HYPHEN_RE.findall(text)),
        "soft": text.count(SOFT_HYPHEN),
        "glued": glued,
        "noise": noise_share(text),
        "chars": len(text),
    }


def main(folder: Path) -> None:
    files = sorted(folder.glob("*.pdf"))
    if not files:
        sys.exit(f"no PDF files in {folder}; pass the folder with the PDFs to compare")
    print(
        f"{'library':<11} {'file':<24} {'MB':>5} {'s':>7} {'s/MB':>7} {'hyph':>5} {'soft':>5} {'glued':>5} {'noise':>6} {'chars':>7}"
    )
    totals: dict[str, list[float]] = {}
    for name, (extract, licence) in LIBRARIES.items():
        try:
            extract(files[0])
        except ImportError:
            print(f"{name:<11} not installed: skipped ({licence})")
            continue
        seconds = mb = hyph = glued = 0.0
        for path in files:
            size = path.stat().st_size / 1_048_576
            best, text = float("inf"), ""
            for _ in range(3):
                start = time.perf_counter()
                text = extract(path)
                best = min(best, time.perf_counter() - start)
            q = quality(text)
            seconds, mb, hyph, glued = seconds + best, mb + size, hyph + q["hyph"], glued + q["glued"]
            print(f"{name:<11} {path.name[:24]:<24} {size:5.2f} {best:7.3f} {best / size:7.2f} {q['hyph']:5.0f} "
                  f"{q['soft']:5.0f} {q['glued']:5.0f} {q['noise']:6.3%} {q['chars']:7.0f}")  # fmt: skip
        totals[name] = [seconds, mb, hyph, glued]
        print(f"{name:<11} {'TOTAL':<24} {mb:5.2f} {seconds:7.3f} {seconds / mb:7.2f} {hyph:5.0f} {'':>5} {glued:5.0f}"
              f"   licence: {licence}")  # fmt: skip
    print()
    print("Note: 'hyph' counts line-end hyphens left as '-': a later step must guess whether to join them")
    print("('Volks-huisvesting' vs 'Staten-Generaal'); pypdfium2 marks them ('soft') so they are joined exactly.")
    print("'glued' > 0 means the two columns of the Handelingen were read across (wrong reading order).")
    print(
        "The OCR-noise share separates the scanned letter (P0121D01) from the born-digital files whatever the library."
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "formats" / "pdf")
