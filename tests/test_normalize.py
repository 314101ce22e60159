"""Text normalisation: hyphens, markup, footers, footnotes and paragraphs (ingest.normalize)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.normalize import clean_inline, join_lines, normalise, strip_markup

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def wrapped():
    return normalise((FIXTURES / "pdf_wrapped.txt").read_text(encoding="utf-8"))


def _texts(norm) -> list[str]:
    return [p.text for p in norm.paragraphs]


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("de Nationaal Rapporteur Mensen-", "handel en", "de Nationaal Rapporteur Mensenhandel en"),
        ("het Centrum tegen Kinder-", "handel en Mensenhandel", "het Centrum tegen Kinderhandel en Mensenhandel"),
        ("in de land-", "en tuinbouw", "in de land- en tuinbouw"),
        ("de migratie-", "en vluchtelingenketen", "de migratie- en vluchtelingenketen"),
        ("in reactie op motie-", "Segers c.s.", "in reactie op motie-Segers c.s."),
        ("De leden van de PvdA-", "fractie vragen", "De leden van de PvdA-fractie vragen"),
        ("het EMPACT-", "project", "het EMPACT-project"),
        ("de monitor 2011–", "2015 (Kamerstuk", "de monitor 2011–2015 (Kamerstuk"),
        ("alleenstaande minderjarige asielzoekers –", "ik denk", "alleenstaande minderjarige asielzoekers – ik denk"),
        ("een gewone", "regel", "een gewone regel"),
    ],
)
def test_join_lines(left, right, joined):
    assert join_lines(left, right) == joined


def test_join_lines_keeps_hyphen_known_from_elsewhere_in_the_document():
    assert join_lines("het train-de-", "trainer event", {"train-de-trainer"}) == "het train-de-trainer event"


def test_join_lines_keeps_hyphen_followed_by_space_in_source():
    assert (
        join_lines("over niet-", "geregistreerde prostituees", spaced_hyphen=True)
        == "over niet-geregistreerde prostituees"
    )


@pytest.mark.parametrize(
    ("line", "clean"),
    [
        ("**De heer Bouali (D66):**", "De heer Bouali (D66):"),
        ("De **voorzitter**:", "De voorzitter:"),
        ("het programma *Samen tegen mensenhandel*<sup>1</sup>.", "het programma Samen tegen mensenhandel."),
        ("Raadpleegbaar via [www.tweedekamer.nl](http://www.tweedekamer.nl).", "Raadpleegbaar via www.tweedekamer.nl."),
        ("Zie [het rapport](https://example.org/r.pdf).", "Zie het rapport (https://example.org/r.pdf)."),
        ("<https://www.hetckm.nl/rapport/>.", "https://www.hetckm.nl/rapport/."),
    ],
)
def test_strip_markup(line, clean):
    assert strip_markup(line) == clean


def test_clean_inline_repairs_stray_space_in_compound():
    assert (
        clean_inline("vrijwillige en niet- vrijwillige  prostitutie") == "vrijwillige en niet-vrijwillige prostitutie"
    )


def test_clean_inline_keeps_compound_list():
    assert clean_inline("zeden- en geweldsdelicten") == "zeden- en geweldsdelicten"


def test_pdf_text_is_detected_as_wrapped(wrapped):
    assert wrapped.wrapped


def test_page_footer_is_removed_and_kept_for_metadata(wrapped):
    assert (any("Tweede Kamer" in t for t in _texts(wrapped)), wrapped.footers) == (
        False,
        ["Tweede Kamer, vergaderjaar 2016–2017, 12 345, nr. 9 3"],
    )


def test_footnote_line_is_taken_out_of_the_text(wrapped):
    assert wrapped.footnotes == {"1": "Rapport Nationaal Rapporteur, 2016."}


def test_footnote_mark_moves_to_its_paragraph(wrapped):
    para = next(p for p in wrapped.paragraphs if p.text.endswith("zegt de rapporteur."))
    assert para.footnotes == ["Rapport Nationaal Rapporteur, 2016."]


def test_paragraph_split_by_page_break_is_glued(wrapped):
    assert any("Ik wil dat de Minister in de begroting extra geld vrijmaakt" in t for t in _texts(wrapped))


def test_short_line_ending_a_sentence_ends_the_paragraph(wrapped):
    assert "Dit is een nieuwe alinea." in _texts(wrapped)


def test_wrapped_lines_are_joined_with_hyphens_resolved(wrapped):
    para = next(p for p in _texts(wrapped) if p.startswith("Voorzitter. Het Centrum"))
    assert para.startswith(
        "Voorzitter. Het Centrum tegen Kinderhandel en Mensenhandel waarschuwt al jaren. De PvdA-fractie en de "
        "SP-fractie vragen daarom om meer inzet in de land- en tuinbouw en bij de motie-Segers. "
        "Ook de opsporing van mensenhandel moet beter"
    )


def test_label_lines_stay_on_their_own():
    norm = normalise("De heer Van Dam (SP): \nVoorzitter. Dit is een zin.\n", standalone=lambda s: s.endswith(":"))
    assert [(p.text, p.standalone) for p in norm.paragraphs] == [
        ("De heer Van Dam (SP):", True),
        ("Voorzitter. Dit is een zin.", False),
    ]


def test_dash_inside_a_wrapped_sentence_is_not_a_list_item():
    text = "\n".join(
        [
            "Het materiaal is bedoeld als een extra stimulans om dit soort trainingen",
            "verder in deze – en ook andere",
            "– organisaties te verspreiden. Het materiaal zorgt ervoor dat in de basis",
            "gebruik gemaakt wordt van een vast informatiepakket voor het herkennen",
            "van signalen van mensenhandel bij alle partners in het hele land.",
        ]
    )
    assert len(normalise(text).paragraphs) == 1


def test_markdown_superscript_footnotes_between_paragraphs():
    text = (
        "In het programma beperken wij ons tot de nieuwe initia-\n\n"
        "<sup>3</sup> Kamerstuk 29 279, nr. 427.\n\n"
        "tieven, zoals toegezegd<sup>3</sup>.\n"
    )
    norm = normalise(text)
    assert [(p.text, p.footnotes) for p in norm.paragraphs] == [
        (
            "In het programma beperken wij ons tot de nieuwe initiatieven, zoals toegezegd.",
            ["Kamerstuk 29 279, nr. 427."],
        )
    ]


def test_unicode_superscript_footnotes():
    text = (
        "De leden vragen of de Staatssecretaris het rapport kent.¹ Daaruit blijkt veel.\n\n¹ <https://example.org/r>.\n"
    )
    norm = normalise(text)
    assert [(p.text, p.footnotes) for p in norm.paragraphs] == [
        ("De leden vragen of de Staatssecretaris het rapport kent. Daaruit blijkt veel.", ["https://example.org/r."])
    ]


def test_bold_header_lines_are_marked_bold():
    norm = normalise("**28 638**\n\n**Mensenhandel**\n\nGewone tekst.\n")
    assert [p.bold for p in norm.paragraphs] == [True, True, False]


def test_trailing_double_spaces_and_line_break_inside_paragraph():
    norm = normalise("De voorzitter van de commissie,  \nVan Meenen\n")
    assert _texts(norm) == ["De voorzitter van de commissie, Van Meenen"]
