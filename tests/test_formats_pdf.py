"""PDF text layers: ingest.formats.pdf on real PDFs from shared/formats/pdf."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from ingest.formats import officiele, pdf, vlos
from kamerbron.errors import DocumentParseError
from tests.fakes.settings import SHARED_FORMATS  # noqa: E402

FORMATS = SHARED_FORMATS
PDFS = FORMATS / "pdf"
HANDELINGEN = "40993d1c-f887-482d-89f7-33e41f6f7ed9.pdf"
LETTER = "P0103D01.pdf"
LETTER_EK = "P0038D01.pdf"
SCANNED = "P0121D01.pdf"


@pytest.fixture(scope="module")
def files() -> Path:
    if not PDFS.is_dir():
        pytest.skip(f"{PDFS} is absent: the real PDFs live in the shared folder beside the repository")
    return PDFS


def _parse(files: Path, name: str):
    return pdf.parse((files / name).read_bytes(), doc_id=name[:-4], source_file=name)


@pytest.fixture(scope="module")
def debate(files):
    return _parse(files, HANDELINGEN)


@pytest.fixture(scope="module")
def letter(files):
    return _parse(files, LETTER)


def test_debate_speaker_labels_become_turns(debate):
    turn = next(t for t in debate.turns if t.surname == "De Hoop")
    assert (turn.speaker, turn.party, turn.role) == ("De heer De Hoop", "GroenLinks-PvdA", "kamerlid")


def test_debate_chair_and_its_name(debate):
    chairs = [t for t in debate.turns if t.role == "voorzitter"]
    assert chairs and {t.speaker for t in chairs} == {"De voorzitter"} and debate.meta.chair == "Martin Bosma"


def test_debate_answer_to_an_interruption_is_linked(debate):
    question = next(t for t in debate.turns if t.surname == "Beckerman")
    answer = debate.turns[question.turn_index + 1]
    assert (answer.surname, answer.replies_to) == ("De Hoop", [question.turn_index])


def test_debate_has_no_page_footers(debate):
    text = "\n".join(t.text for t in debate.turns)
    assert not re.search(r"Tweede Kamer Staat van de Volkshuisvesting TK|\b40-6-\d+\b|\bTK 40\b", text)


def test_debate_hyphenation_is_joined(debate):
    text = "\n".join(t.text for t in debate.turns)
    assert "\ufffe" not in text and "tweeminutendebat Staat van de Volkshuisvesting" in text
    assert not re.search(r"Volks-\s*huisvesting|tweeminu-\s*tendebat|stimu\d", text)


def test_debate_date_from_the_page_footer(debate):
    assert debate.meta.date == "2024-02-08"


def test_two_columns_are_read_in_order(debate):
    # Read across the columns, the chair's label would land inside the first speaker's sentence.
    first = next(t for t in debate.turns if t.surname == "De Hoop")
    assert first.text.startswith("Dank, voorzitter. Ik heb vier moties")


def test_letter_is_attributed_to_its_signer(letter):
    assert {(t.speaker, t.surname) for t in letter.turns} == {
        ("Corinne Dettmeijer-Vermeulen (Nationaal Rapporteur Mensenhandel)", "Dettmeijer-Vermeulen")
    }


def test_letter_metadata_from_the_letterhead(letter):
    assert (letter.meta.doc_type, letter.meta.date, letter.meta.title) == (
        "brief", "2013-01-21", "Landelijk kader voor prostitutiebeleid")  # fmt: skip


def test_letter_text_has_no_letterhead_or_page_numbers(files, letter):
    text = "\n".join(t.text for t in letter.turns)
    assert not re.search(r"Pagina \d|Postbus|Retouradres|Ons kenmerk|www\.|Met vriendelijke groet", text)
    assert letter.turns[0].text.startswith("Met de aanhouding van het wetsvoorstel")
    assert any(
        "het al aanwezige waterbedeffect en onderstreept" in t.text for t in letter.turns
    )  # across the page break


def test_letter_with_multi_line_office(files):
    doc = _parse(files, LETTER_EK)
    assert {t.speaker for t in doc.turns} == {
        "Corinne Dettmeijer-Vermeulen (Nationaal Rapporteur Mensenhandel en Seksueel Geweld tegen Kinderen)"
    }


def test_scanned_letter_raises_naming_the_file(files):
    with pytest.raises(
        DocumentParseError, match=rf"^{re.escape(SCANNED)}: no usable text layer; OCR is not supported"
    ) as err:
        _parse(files, SCANNED)
    assert "\n" not in str(err.value)


def test_noise_share_separates_the_scan_from_born_digital_files(files):
    shares = {
        p.name: pdf.noise_share("\n".join(pdf.read_pages(p.read_bytes(), p.name)[0])) for p in files.glob("*.pdf")
    }
    assert shares[SCANNED] >= pdf.NOISE_THRESHOLD
    assert all(share < pdf.NOISE_THRESHOLD for name, share in shares.items() if name != SCANNED)


def test_pdf_without_text_layer_raises():
    doc = pdfium.PdfDocument.new()
    doc.new_page(595, 842)
    buffer = io.BytesIO()
    doc.save(buffer)
    with pytest.raises(DocumentParseError, match=r"^blank\.pdf: no usable text layer; OCR is not supported"):
        pdf.parse(buffer.getvalue(), doc_id="blank", source_file="blank.pdf")


def test_damaged_pdf_raises_naming_the_file():
    with pytest.raises(DocumentParseError, match=r"^kapot\.pdf: not a readable PDF"):
        pdf.parse(b"%PDF-1.7\n" + b"\x00garbage" * 50, doc_id="kapot", source_file="kapot.pdf")


def test_every_readable_pdf_parses(files):
    for path in files.glob("*.pdf"):
        if path.name != SCANNED:
            doc = pdf.parse(path.read_bytes(), doc_id=path.stem, source_file=path.name)
            assert doc.turns and doc.meta.content_hash, path.name


def test_sniff_is_true_for_pdfs_only(files):
    paths = list(files.glob("*.pdf"))
    assert paths and all(pdf.sniff(p.read_bytes()) for p in paths)
    assert not any(f.sniff((files / LETTER).read_bytes()) for f in (vlos, officiele))


def test_sniff_is_false_for_xml_and_text(files):
    xml = [*(FORMATS / "vlos").glob("*.xml"), *(FORMATS / "handelingen").rglob("*.xml")]
    assert xml and not any(pdf.sniff(p.read_bytes()) for p in xml)
    assert not pdf.sniff(b"De voorzitter:\nHet woord is aan de heer Van Nispen over %PDF-bestanden.")
