"""VLOS verslagen (Tweede Kamer Open Data XML): ingest.formats.vlos on real files from shared/formats/vlos.

Expected counts are computed from the XML itself with XPath, never copied from the parser.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from lxml import etree

from ingest.formats import officiele, pdf, vlos
from kamerbron.errors import DocumentParseError
from tests.fakes.settings import SHARED_FORMATS  # noqa: E402

FORMATS = SHARED_FORMATS
VLOS = FORMATS / "vlos"
NS = {"v": "http://www.tweedekamer.nl/ggm/vergaderverslag/v1.0"}
PLENARY = "sample_vlos_dc665b38-00f1-4efe-a39a-1245ddd7e2ef_1378fd61-cf82-4208-a700-021382f839b0.xml"
COMMITTEE = "sample_vlos_0c43e57f-962a-449c-8157-62dbf7e539eb_2a27783d-3d6b-4e26-9fcf-52c17a41f6bf.xml"
FOREIGN = "sample_vlos_16a72e1d-7a35-4b4d-ad6a-c2e7622c573e_7fcd2ba9-3e41-4930-a4fe-af3088f11c50.xml"
VOTES = "sample_vlos_e2903f19-34e9-4c37-b1dc-f985d071fc97_d5130a6f-0400-4b03-b8d3-8daed02dc4af.xml"
CASCO = "sample_vlos_be33e3cf-31ba-42ad-803b-a7d6404d3b0c_b5130467-a6c2-4f83-99c3-65ec778e5a24.xml"
OLD = "03686ab6.xml"
WITH_TURNS = [OLD, PLENARY, COMMITTEE, FOREIGN, VOTES]
# A printed speaker label as VLOS prints it at the start of a turn's text.
LABEL_RE = re.compile(
    r"(?:(?:De heer|Mevrouw) [^.:()]{1,60} \([^()]{1,40}\)|De voorzitter|(?:Minister|Staatssecretaris) [A-Z][^.:]{0,40}):"
)


@pytest.fixture(scope="module")
def files() -> Path:
    if not VLOS.is_dir():
        pytest.skip(f"{VLOS} is absent: the real VLOS files live in the shared folder beside the repository")
    return VLOS


@pytest.fixture(scope="module")
def parsed(files):
    return {name: vlos.parse((files / name).read_bytes(), doc_id=name[:-4], source_file=name) for name in WITH_TURNS}


def _turn_elements(path: Path) -> list:
    """woordvoerder and interrumpant elements with text, in document order."""
    tree = etree.parse(str(path))
    return tree.xpath("//v:woordvoerder[normalize-space(v:tekst)] | //v:interrumpant[normalize-space(v:tekst)]",
                      namespaces=NS)  # fmt: skip


def _name(el) -> str:
    return el.xpath("string(v:spreker/v:verslagnaam)", namespaces=NS)


@pytest.mark.parametrize("name", WITH_TURNS)
def test_turn_counts_per_speaker_match_the_xml(files, parsed, name):
    expected = Counter(_name(el) for el in _turn_elements(files / name))
    assert Counter(t.surname for t in parsed[name].turns) == expected


@pytest.mark.parametrize("name", [OLD, PLENARY, COMMITTEE])
def test_turns_follow_document_order(files, parsed, name):
    assert [t.surname for t in parsed[name].turns] == [_name(el) for el in _turn_elements(files / name)]


def test_member_speaker_party_and_role(parsed):
    turn = next(t for t in parsed[PLENARY].turns if t.surname == "Soepboer")
    assert (turn.speaker, turn.party, turn.role) == ("De heer Soepboer", "NSC", "kamerlid")


def test_chair_turns_are_the_chairs(files, parsed):
    chair_elements = [
        el for el in _turn_elements(files / PLENARY) if el.xpath("string(v:isvoorzitter)", namespaces=NS) == "true"
    ]
    chair_turns = [t for t in parsed[PLENARY].turns if t.role == "voorzitter"]
    assert len(chair_turns) == len(chair_elements)
    assert {(t.speaker, t.party, t.surname) for t in chair_turns} == {("De voorzitter", "", "Nijhof-Leeuw")}


def test_staatssecretaris_has_role_and_no_party(files, parsed):
    el = next(
        el
        for el in _turn_elements(files / PLENARY)
        if el.xpath("string(v:spreker/@soort)", namespaces=NS) == "Staatssecretaris"
    )
    turn = next(t for t in parsed[PLENARY].turns if t.surname == _name(el))
    assert (turn.speaker, turn.role, turn.party) == (f"Staatssecretaris {_name(el)}", "staatssecretaris", "")


def test_minister_has_role(parsed):
    ministers = [t for t in parsed[FOREIGN].turns if t.role == "minister"]
    assert ministers and all(t.speaker.startswith("Minister ") and not t.party for t in ministers)


def test_interruption_replies_to_the_interrupted_turn_and_back(parsed):
    turns = parsed[PLENARY].turns
    first = next(t for t in turns if t.surname == "Westerveld")
    interrupted = turns[first.replies_to[0]]
    answer = next(t for t in turns[first.turn_index + 1 :] if t.surname == "Soepboer")
    assert (interrupted.surname, answer.replies_to) == ("Soepboer", [first.turn_index])


def test_follow_up_replies_to_the_answer(parsed):
    turns = parsed[PLENARY].turns
    westerveld = [t for t in turns if t.surname == "Westerveld"]
    assert turns[westerveld[1].replies_to[0]].surname == "Soepboer"
    assert westerveld[1].replies_to[0] > westerveld[0].turn_index


def test_old_generation_links_interruptions(parsed):
    turns = parsed[OLD].turns
    verheijen = next(t for t in turns if t.surname == "Verheijen")
    assert turns[verheijen.replies_to[0]].surname == "Pechtold"


def test_procedural_chair_turn_is_marked_and_not_linked(parsed):
    turn = next(t for t in parsed[PLENARY].turns if t.text == "Een korte verduidelijkende vraag.")
    assert turn.procedural and turn.replies_to == []


def test_section_is_the_activity_title(parsed):
    assert next(t for t in parsed[PLENARY].turns if t.surname == "Soepboer").section == "Passend onderwijs"


@pytest.mark.parametrize("name", WITH_TURNS)
def test_text_has_no_markup_or_printed_labels(parsed, name):
    for t in parsed[name].turns:
        assert not re.search(r"</?[a-z]|type=\"", t.text), t.text[:80]
        assert not LABEL_RE.match(t.text), t.text[:80]
        assert t.text == t.text.strip() and "  " not in t.text


def test_motion_text_stays_with_its_mover_without_the_chairs_note(parsed):
    turn = next(t for t in parsed[PLENARY].turns if t.surname == "Soepboer")
    assert "verzoekt de regering" in turn.text and "Deze motie is voorgesteld" not in turn.text


def test_plenary_metadata(parsed):
    meta = parsed[PLENARY].meta
    assert (meta.doc_type, meta.date, meta.dossier, meta.chair) == ("debat", "2025-07-02", "31 497", "Nijhof-Leeuw")
    assert meta.url == "https://www.tweedekamer.nl/kamerstukken/plenaire_verslagen/detail/2024-2025/103"


def test_committee_metadata(parsed):
    meta = parsed[COMMITTEE].meta
    assert meta.committee == "vaste commissie voor Financiën"
    assert meta.url == "https://www.tweedekamer.nl/debat_en_vergadering/commissievergaderingen/details?id=2025A02948"


@pytest.mark.parametrize("name", WITH_TURNS)
def test_uncorrected_status_is_kept(parsed, name):
    assert parsed[name].meta.status == "Ongecorrigeerd (Tussenpublicatie)"


def test_casco_skeleton_gives_no_turns_and_one_warning(files):
    doc = vlos.parse((files / CASCO).read_bytes(), doc_id="casco", source_file=CASCO)
    assert doc.turns == [] and doc.meta.status == "Casco (Voorpublicatie)"
    assert len(doc.warnings) == 1 and "Casco" in doc.warnings[0]


def test_bom_is_optional(files):
    raw = (files / VOTES).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with_bom = vlos.parse(raw, doc_id="a", source_file=VOTES)
    without = vlos.parse(raw[3:], doc_id="a", source_file=VOTES)
    assert [t.text for t in with_bom.turns] == [t.text for t in without.turns]


def test_manifest_fills_what_the_file_lacks(files):
    doc = vlos.parse((files / COMMITTEE).read_bytes(), doc_id="c", source_file=COMMITTEE,
                     manifest_entry={"title": "Eigen titel", "number": "12"})  # fmt: skip
    assert (doc.meta.title, doc.meta.number) == ("Eigen titel", "12")


def test_truncated_file_raises_one_line_naming_it(files):
    raw = (files / PLENARY).read_bytes()
    with pytest.raises(DocumentParseError, match=re.escape(PLENARY)) as err:
        vlos.parse(raw[: len(raw) // 2], doc_id="t", source_file=PLENARY)
    assert "\n" not in str(err.value)


def test_file_over_the_size_limit_raises(monkeypatch):
    monkeypatch.setattr(vlos, "MAX_BYTES", 100)
    with pytest.raises(DocumentParseError, match="big.xml: .*limit"):
        vlos.parse(b"<vlosCoreDocument>" + b" " * 200 + b"</vlosCoreDocument>", doc_id="b", source_file="big.xml")


SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE vlosCoreDocument [<!ENTITY inner "EXPANDED"><!ENTITY outer SYSTEM "file:///etc/hostname">]>
<vlosCoreDocument soort="Tussenpublicatie" status="Ongecorrigeerd" xmlns="http://www.tweedekamer.nl/ggm/vergaderverslag/v1.0">
<vergadering soort="Plenair"><titel>1e vergadering</titel><vergaderjaar>2024-2025</vergaderjaar>
<vergaderingnummer>1</vergaderingnummer><datum>2025-01-01T00:00:00</datum>
<activiteit soort="Debat"><titel>Test</titel><activiteithoofd><activiteitdeel><activiteititem>
<woordvoerder><spreker soort="Tweede Kamerlid"><fractie>SP</fractie><aanhef>De heer</aanhef><verslagnaam>Van Nispen</verslagnaam></spreker>
<isvoorzitter>false</isvoorzitter><tekst><alinea><alineaitem>Voorzitter. Dit is &inner; en &outer; tekst.</alineaitem></alinea></tekst>
</woordvoerder></activiteititem></activiteitdeel></activiteithoofd></activiteit></vergadering></vlosCoreDocument>"""


def test_entities_are_not_expanded():
    doc = vlos.parse(SMALL.encode(), doc_id="s", source_file="s.xml")
    assert len(doc.turns) == 1 and "EXPANDED" not in doc.turns[0].text
    assert doc.turns[0].text == "Voorzitter. Dit is en tekst."


def test_sniff_is_true_for_vlos_only(files):
    for path in files.glob("*.xml"):
        assert vlos.sniff(path.read_bytes()), path.name
        assert not officiele.sniff(path.read_bytes()) and not pdf.sniff(path.read_bytes())


def test_sniff_is_false_for_other_formats_and_text(files):
    others = [*(FORMATS / "handelingen").rglob("*.xml"), *(FORMATS / "pdf").glob("*.pdf")]
    assert others and not any(vlos.sniff(p.read_bytes()) for p in others)
    assert not vlos.sniff(b"De heer Van Nispen (SP):\nVoorzitter. Over vlosCoreDocument gesproken.")
