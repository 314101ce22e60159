"""The format registry (ingest.formats): every format has the same interface and is picked by content."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import ingest.formats
from ingest.formats import FALLBACK, FORMATS, DocumentFormat, detect
from ingest.formats.text import parse_text
from kamerbron.errors import DocumentParseError

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
LETTER = ROOT / "data" / "corpus" / "003_1ea1dffccdb504dc.txt"


def _detected(path: Path) -> str:
    return detect(path.read_bytes(), source_file=path.name).NAME


@pytest.mark.parametrize("fmt", [*FORMATS, FALLBACK], ids=lambda fmt: fmt.NAME)
def test_every_format_has_the_interface(fmt):
    assert isinstance(fmt, DocumentFormat)


def test_debate_text_is_detected_as_debate():
    assert _detected(FIXTURES / "debate_interruptions.txt") == "debate"


def test_pdf_extracted_debate_text_is_detected_as_debate():
    assert _detected(FIXTURES / "pdf_wrapped.txt") == "debate"


def test_consultation_is_detected_as_consultation():
    assert _detected(FIXTURES / "consultation.txt") == "consultation"


def test_letter_is_detected_as_letter():
    assert _detected(LETTER) == "letter"


def test_unknown_text_falls_back_to_plain():
    assert _detected(FIXTURES / "no_structure.txt") == "plain"


def test_plain_fallback_warns():
    raw = (FIXTURES / "no_structure.txt").read_bytes()
    doc = detect(raw, source_file="no_structure.txt").parse(raw, doc_id="no_structure", source_file="no_structure.txt")
    assert any("plain paragraphs" in w for w in doc.warnings)


def test_unknown_binary_raises_naming_the_file():
    with pytest.raises(DocumentParseError, match=r"^scan\.png: file is binary"):
        detect(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", source_file="scan.png")


def test_a_format_sure_of_its_bytes_wins(monkeypatch):
    sure = SimpleNamespace(NAME="sure", sniff=lambda raw: raw.startswith(b"I Vragen"), parse=None)
    monkeypatch.setattr(ingest.formats, "FORMATS", (*FORMATS, sure))
    assert _detected(FIXTURES / "consultation.txt") == "sure"


def test_decoded_text_is_not_checked_like_a_file():
    # Text a PDF or XML format extracted may hold a NUL; only files are refused as binary.
    doc = parse_text("Een notitie\x00 over uitbuiting.", doc_id="x", source_file="x.pdf")
    assert doc.turns[0].text == "Een notitie\x00 over uitbuiting."
