"""officielebekendmakingen XML: ingest.formats.officiele on real Handelingen from shared/formats/handelingen.

Kamerstukken and written questions are checked on small hand-written XML in the published
element names (no real file of those kinds is in the shared folder).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from ingest.formats import officiele, pdf, vlos
from kamerbron.errors import DocumentParseError
from tests.fakes.settings import SHARED_FORMATS  # noqa: E402

FORMATS = SHARED_FORMATS
HANDELINGEN = FORMATS / "handelingen"
ITEM = "h-tk-20172018-61-10.xml"
EMPTY = "h-tk-20172018-50-1.xml"
DAMAGED = "h-tk-20172018-70-5.xml"
DAMAGED_EMPTY = "h-tk-20172018-70-1.xml"


@pytest.fixture(scope="module")
def files() -> Path:
    if not HANDELINGEN.is_dir():
        pytest.skip(f"{HANDELINGEN} is absent: the real Handelingen live in the shared folder beside the repository")
    return HANDELINGEN


@pytest.fixture(scope="module")
def item(files):
    return officiele.parse((files / ITEM).read_bytes(), doc_id=ITEM[:-4], source_file=ITEM)


@pytest.fixture(scope="module")
def damaged(files):
    return officiele.parse((files / "damaged" / DAMAGED).read_bytes(), doc_id=DAMAGED[:-4], source_file=DAMAGED)


def _spreekbeurten(path: Path) -> list:
    return etree.parse(str(path)).xpath("//spreekbeurt")


def test_one_turn_per_spreekbeurt(files, item):
    expected = [sb.xpath("normalize-space(spreker/naam/achternaam)") for sb in _spreekbeurten(files / ITEM)]
    assert [t.surname or "voorzitter" for t in item.turns] == expected


def test_member_speaker_party_and_role(item):
    turn = next(t for t in item.turns if t.surname == "Wörsdörfer")
    assert (turn.speaker, turn.party, turn.role) == ("De heer Wörsdörfer", "VVD", "kamerlid")


def test_government_speaker(item):
    turn = next(t for t in item.turns if t.surname == "Keijzer")
    assert (turn.speaker, turn.party, turn.role) == ("Staatssecretaris Keijzer", "", "staatssecretaris")


def test_chair_turns(files, item):
    chairs = [t for t in item.turns if t.role == "voorzitter"]
    expected = [
        sb
        for sb in _spreekbeurten(files / ITEM)
        if sb.xpath("normalize-space(spreker/naam/achternaam)") == "voorzitter"
    ]
    assert len(chairs) == len(expected) and {t.speaker for t in chairs} == {"De voorzitter"}


def test_procedural_chair_turn(item):
    assert next(t for t in item.turns if t.text == "Het woord is aan de staatssecretaris.").procedural


def test_question_to_the_government_is_answered(item):
    question = next(t for t in item.turns if t.surname == "Paternotte" and t.text.startswith("In de crisistijd"))
    answer = item.turns[question.turn_index + 1]
    assert (answer.surname, answer.replies_to) == ("Keijzer", [question.turn_index])


def test_new_contribution_never_replies(files, item):
    new = [i for i, sb in enumerate(_spreekbeurten(files / ITEM)) if sb.get("nieuw") == "ja"]
    assert new and all(item.turns[i].replies_to == [] for i in new)


def test_motion_text_kept_and_chairs_note_left_out(item):
    text = "\n".join(t.text for t in item.turns)
    assert "verzoekt de regering in het voor de zomer beloofde mkb-actieplan" in text
    assert "Deze motie is voorgesteld door" not in text


def test_item_metadata(item):
    meta = item.meta
    assert meta.url == "https://zoek.officielebekendmakingen.nl/h-tk-20172018-61-10.html"
    assert meta.title == "Ondernemen en Bedrijfsfinanciering; Handelingen II 2017/18, nr. 61, item 10"
    assert (meta.doc_type, meta.dossier) == ("debat", "31 311")


def test_identifier_from_the_file_name_when_the_file_has_none(files):
    raw = re.sub(rb"<metadata>.*?</metadata>", b"", (files / ITEM).read_bytes(), flags=re.DOTALL)
    assert b"externMetadataRecord" not in raw
    named = officiele.parse(raw, doc_id="x", source_file=ITEM)
    unnamed = officiele.parse(raw, doc_id="x", source_file="download.xml")
    assert named.meta.url.endswith("/h-tk-20172018-61-10.html") and unnamed.meta.url == ""


def test_manifest_date_fills_the_gap(files):
    doc = officiele.parse(
        (files / ITEM).read_bytes(), doc_id="x", source_file=ITEM, manifest_entry={"date": "2018-03-07"}
    )
    assert doc.meta.date == "2018-03-07"


def test_item_without_speeches_raises_naming_the_file(files):
    with pytest.raises(DocumentParseError, match=rf"^{re.escape(EMPTY)}: .*without speeches") as err:
        officiele.parse((files / EMPTY).read_bytes(), doc_id="e", source_file=EMPTY)
    assert "\n" not in str(err.value)


def test_damaged_file_is_repaired_with_one_warning(damaged):
    assert len(damaged.warnings) == 1 and "pretty-printer" in damaged.warnings[0]
    assert "double-encoded UTF-8" in damaged.warnings[0]


def test_damaged_file_keeps_every_spreekbeurt(files, damaged):
    assert len(damaged.turns) == (files / "damaged" / DAMAGED).read_bytes().count(b"<spreekbeurt ")


def test_damaged_file_text_is_decoded_and_tidy(damaged):
    text = "\n".join(t.text for t in damaged.turns)
    assert "één" in text and "Ã" not in text and "Â" not in text
    assert not re.search(r" [,;:)]| \.(?!\.\.)|\( ", text)
    assert next(t for t in damaged.turns if t.surname == "Agema").party == "PVV"


def test_damaged_file_without_speeches_raises_naming_the_file(files):
    with pytest.raises(DocumentParseError, match=rf"^{re.escape(DAMAGED_EMPTY)}: .*without speeches"):
        officiele.parse((files / "damaged" / DAMAGED_EMPTY).read_bytes(), doc_id="d", source_file=DAMAGED_EMPTY)


def test_unrepairable_damage_raises_one_line_naming_the_file(files):
    raw = (files / "damaged" / DAMAGED).read_bytes()
    with pytest.raises(DocumentParseError, match=rf"^{re.escape(DAMAGED)}: not well-formed XML after repairing") as err:
        officiele.parse(raw[: len(raw) // 2], doc_id="d", source_file=DAMAGED)
    assert "\n" not in str(err.value)


def test_leftover_mojibake_is_refused(files):
    # Double-encoded 'é' next to a broken three-byte sequence ('â€' + 'x') that no repair can map back.
    raw = (files / ITEM).read_bytes().replace("Wörsdörfer".encode(), "WÃ©rsdörfer â€x".encode())
    with pytest.raises(DocumentParseError, match=rf"^{re.escape(ITEM)}: damaged text encoding"):
        officiele.parse(raw, doc_id="m", source_file=ITEM)


def test_sniff_is_true_for_publications_also_damaged_ones(files):
    paths = list(files.rglob("*.xml"))
    assert len(paths) == 4 and all(officiele.sniff(p.read_bytes()) for p in paths)


def test_sniff_is_false_for_other_formats_and_text(files):
    others = [*(FORMATS / "vlos").glob("*.xml"), *(FORMATS / "pdf").glob("*.pdf")]
    assert others and not any(officiele.sniff(p.read_bytes()) for p in others)
    assert not officiele.sniff(b"Het document officiele-publicatie is tekst, geen XML.")
    assert not any(f.sniff((files / ITEM).read_bytes()) for f in (vlos, pdf))


LETTER = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE officiele-publicatie [<!ENTITY ext SYSTEM "file:///etc/hostname">]>
<officiele-publicatie>
 <metadata><meta name="OVERHEIDop.externMetadataRecord" scheme="" content="https://zoek.officielebekendmakingen.nl/kst-28638-164/metadata.xml"/></metadata>
 <kamerstuk>
  <kamerstukkop><tekstregel inhoud="vergaderjaar">Vergaderjaar 2018–2019</tekstregel></kamerstukkop>
  <dossier><dossiernummer><dossiernr>28 638</dossiernr></dossiernummer><titel>Mensenhandel</titel></dossier>
  <stuk>
   <stuknr>Nr. <ondernummer>164</ondernummer></stuknr>
   <titel>BRIEF VAN DE STAATSSECRETARIS VAN JUSTITIE EN VEILIGHEID</titel>
   <algemeen><brief>
    <aanhef><al>Aan de Voorzitter van de Tweede Kamer der Staten-Generaal</al></aanhef>
    <dagtekening><al>Den Haag, 13 november 2018</al></dagtekening>
    <tekst>
     <al>Mensenhandel maakt een enorme inbreuk op de <nadruk type="cur">individuele</nadruk> vrijheid van mensen.<noot id="n1" type="voet"><noot.nr>1</noot.nr><noot.al>Kamerstuk 28 638, nr. 163.</noot.al></noot> Het kabinet zet daarom in op een intensievere aanpak &ext;.</al>
     <divisie><kop><nr>1.</nr><titel>Opvang van slachtoffers</titel></kop>
      <al>Het programma regelt de opvang van slachtoffers in alle regio's van het land.</al>
      <lijst type="expliciet"><li><li.nr>–</li.nr><al>meer opvangplekken;</al></li><li><li.nr>–</li.nr><al>betere zorg.</al></li></lijst>
     </divisie>
    </tekst>
    <slotformule><ondertekening><functie>De Staatssecretaris van Justitie en Veiligheid,</functie><naam><voorletters>M.G.J.</voorletters> <achternaam>Harbers</achternaam></naam></ondertekening></slotformule>
   </brief></algemeen>
  </stuk>
 </kamerstuk>
</officiele-publicatie>"""


@pytest.fixture(scope="module")
def letter():
    return officiele.parse(LETTER.encode(), doc_id="kst-28638-164", source_file="kst-28638-164.xml")


def test_letter_goes_to_its_signer(letter):
    assert {(t.speaker, t.role) for t in letter.turns} == {("Staatssecretaris Harbers", "staatssecretaris")}


def test_letter_metadata_from_the_file(letter):
    meta = letter.meta
    assert (meta.doc_type, meta.dossier, meta.number, meta.date) == ("brief", "28 638", "164", "2018-11-13")
    assert meta.url == "https://zoek.officielebekendmakingen.nl/kst-28638-164.html"


def test_letter_footnote_and_headings(letter):
    first = next(t for t in letter.turns if t.text.startswith("Mensenhandel maakt"))
    assert first.footnotes == ["Kamerstuk 28 638, nr. 163."] and "<sup>" not in first.text
    assert any(t.section == "1. Opvang van slachtoffers" for t in letter.turns)


def test_letter_external_entity_is_not_read(letter):
    first = next(t for t in letter.turns if t.text.startswith("Mensenhandel maakt"))
    assert first.text.endswith("intensievere aanpak.") and "&" not in first.text


QUESTIONS = """<?xml version="1.0" encoding="utf-8"?>
<officiele-publicatie><kamervragen>
 <kamervraagkop><tekstregel inhoud="vergaderjaar">Vergaderjaar 2018-2019</tekstregel></kamervraagkop>
 <kamervraagomschrijving type="vraag">Vragen van het lid <naam><achternaam>Van Nispen</achternaam></naam> (SP) aan de Minister van Justitie en Veiligheid over <kamervraagonderwerp>uitbuiting in de seksbranche</kamervraagonderwerp> (ingezonden 1 maart 2019).</kamervraagomschrijving>
 <kamervraagomschrijving type="antwoord">Antwoord van Minister Grapperhaus (Justitie en Veiligheid) (ontvangen <datum isodatum="2019-03-20">20 maart 2019</datum>).</kamervraagomschrijving>
 <vraag><nr>Vraag 1</nr><al>Kent u het bericht over uitbuiting in de seksbranche?</al></vraag>
 <vraag><nr>Vraag 2</nr><al>Hoeveel meldingen zijn er gedaan?</al></vraag>
 <antwoord><nr>Antwoord 1</nr><al>Ja.</al></antwoord>
 <antwoord><nr>Antwoord 2</nr><al>Er zijn 42 meldingen gedaan.</al></antwoord>
</kamervragen></officiele-publicatie>"""


def test_answers_reply_to_their_numbered_question():
    doc = officiele.parse(QUESTIONS.encode(), doc_id="ah", source_file="ah-tk-20182019-1234.xml")
    questions = [t for t in doc.turns if t.section.startswith("Vraag")]
    answer = next(t for t in doc.turns if t.section == "Antwoord 2")
    assert answer.replies_to == [questions[1].turn_index]
    assert (questions[0].speaker, questions[0].party, questions[0].role) == ("Het lid Van Nispen", "SP", "kamerlid")
    assert (answer.speaker, answer.role) == ("Minister Grapperhaus", "minister")
    assert doc.meta.url == "https://zoek.officielebekendmakingen.nl/ah-tk-20182019-1234.html"
