"""Parsing of corpus files into turns: ingest.parse, ingest.manifest and the ``python -m ingest`` CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ingest.__main__ import TURN_FIELDS, main
from ingest.manifest import load_manifest
from ingest.parse import parse_document, parse_text, read_text
from kamerbron.errors import DocumentParseError

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "data" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOCS = [
    "000_528fd6ff245c8aa8",
    "001_d19f5fabcea6e511",
    "002_d05e322e15ff4b92",
    "003_1ea1dffccdb504dc",
    "004_430d2c4d9ca5dc61",
]


@pytest.fixture(scope="module")
def corpus():
    return {name: parse_document(CORPUS / f"{name}.txt") for name in DOCS}


@pytest.fixture(scope="module")
def debate():
    return parse_document(FIXTURES / "debate_interruptions.txt")


def _speaker_counts(doc) -> dict[str, int]:
    return dict(Counter(t.speaker for t in doc.turns if t.speaker))


def _answers_001(doc):
    return [t for t in doc.turns if t.role == "minister" and re.match(r"\d+\.", t.section)]


def _parties_named(text: str) -> set[str]:
    named = set(re.findall(r"\b([A-Z][\w]*(?:-[A-Z][\w]*)*)-(?:fracties?|leden)\b", text))
    return named | set(re.findall(r"\b([A-Z][\w]*)-(?=,| en | of )", text))


# ---------------------------------------------------------------- turn counts, counted by hand


def test_000_turns_per_speaker_match_hand_count(corpus):
    # Counted with: sed -E 's/\*//g; s/[[:space:]]+$//' 000_….txt | grep -E '^(De heer .*\(.*\)|Mevrouw .*\(.*\)|
    #   De voorzitter|Staatssecretaris [A-Z][a-z]+|Minister [A-Z][a-z]+):$' | sort | uniq -c
    # and checked by reading the file: every label line, in all its markup variants, is one turn.
    expected = {
        "De voorzitter": 46,
        "Staatssecretaris Harbers": 41,
        "De heer Segers": 16,
        "Mevrouw Buitenweg": 15,
        "De heer Van Oosten": 10,
        "De heer Bouali": 7,
        "Mevrouw Kuik": 7,
        "De heer Van der Staaij": 7,
        "De heer Van Nispen": 7,
        "Mevrouw Kuiken": 3,
    }
    assert _speaker_counts(corpus["000_528fd6ff245c8aa8"]) == expected


def test_002_turns_per_speaker_match_hand_count(corpus):
    # Counted with the same grep on 002 (leading spaces stripped instead of '*'); 'Voorzitter: X'
    # lines are chair changes, not turns.
    expected = {
        "De voorzitter": 33,
        "Minister Blok": 26,
        "De heer Van Laar": 18,
        "De heer Van Nispen": 14,
        "Mevrouw Van Toorenburg": 10,
        "De heer Van Oosten": 3,
    }
    assert _speaker_counts(corpus["002_d05e322e15ff4b92"]) == expected


# ---------------------------------------------------------------- clean text in every document


@pytest.mark.parametrize("name", DOCS)
def test_no_page_footer_in_turn_text(corpus, name):
    assert [t.turn_index for t in corpus[name].turns if "Tweede Kamer, vergaderjaar" in t.text] == []


@pytest.mark.parametrize("name", DOCS)
def test_no_markup_in_turn_text(corpus, name):
    assert [t.turn_index for t in corpus[name].turns if "**" in t.text or "<sup>" in t.text or "</" in t.text] == []


@pytest.mark.parametrize("name", DOCS)
def test_no_line_break_hyphen_in_turn_text(corpus, name):
    pattern = re.compile(r"[a-zà-ÿ]-\s*\n\s*[a-zà-ÿ]|\b\w+- (?!(?:en|of|tot|als)\b)[a-zà-ÿ]")
    assert [m.group() for t in corpus[name].turns for m in pattern.finditer(t.text)] == []


@pytest.mark.parametrize("name", DOCS)
def test_footnote_text_is_not_inline(corpus, name):
    doc = corpus[name]
    notes = {n for t in doc.turns for n in t.footnotes}
    assert [n for n in notes for t in doc.turns if n in t.text] == []


@pytest.mark.parametrize("name", DOCS)
def test_paragraphs_do_not_start_lower_case(corpus, name):
    # A lower-case paragraph start is a page break that was not glued.
    starts = [p[:30] for t in corpus[name].turns for p in t.text.split("\n\n") if p[:1].islower()]
    assert starts == []


def test_footnotes_are_kept_on_their_turn(corpus):
    turn = next(t for t in corpus["001_d19f5fabcea6e511"].turns if "Jadnanansing (PvdA)." in t.text)
    assert turn.footnotes == ["Aanhangsel Handelingen II 2013/14, nr. 2336"]


def test_footnote_mark_glued_to_a_year_is_removed(corpus):
    # Raw text: "d.d. 23 juni 20146 is het om ..." where 6 is the footnote mark.
    assert any("23 juni 2014 is het om" in t.text for t in corpus["001_d19f5fabcea6e511"].turns)


# ---------------------------------------------------------------- quotes land with the right speaker

QUOTES = [
    # hyphenated line break in the raw text ("Mensen-" / "handel")
    ("002_d05e322e15ff4b92", "Aan de orde is het algemeen overleg Mensenhandel.", "De voorzitter", ""),
    # crosses a page footer in the raw text
    ("002_d05e322e15ff4b92", "Dat is ook neergelegd in de laatste begroting. Maar volgens mij staan we", "Minister Blok", ""),
    ("002_d05e322e15ff4b92", "Het Centrum tegen Kinderhandel en Mensenhandel (CKM) zegt zelfs", "De heer Van Nispen", "SP"),
    ("002_d05e322e15ff4b92", "In mijn hoedanigheid van woordvoerder van de VVD zou ik u een vraag", "De voorzitter", "VVD"),
    # crosses a page break (blank lines) in the markdown text
    ("000_528fd6ff245c8aa8", "dat je een keer uit een ander vaatje moet tappen", "De heer Segers", "ChristenUnie"),
    ("000_528fd6ff245c8aa8", "Daarom ook ons voorstel: kom tot een ombudsman.", "Mevrouw Kuiken", "PvdA"),
    ("000_528fd6ff245c8aa8", "Ik heb even een vraag. Wanneer komt dat onderzoek van de inspectie?", "De voorzitter", ""),
    ("000_528fd6ff245c8aa8", "seks hebben ergens op een hotelkamer in Zuid-Limburg", "De heer Van Oosten", "VVD"),
    # a footnote line and a page footer sit inside this sentence in the raw text
    ("001_d19f5fabcea6e511", "Rijksbrede Aanpak loverboyproblematiek begin 2015 aan uw Kamer worden toegezonden.",
     "De Minister van Veiligheid en Justitie", ""),
    ("001_d19f5fabcea6e511", "bijvoorbeeld in de land- en tuinbouw, de binnen- en scheepvaart", "leden van de D66-fractie", "D66"),
    ("001_d19f5fabcea6e511", "Nationaal Rapporteur Mensenhandel en Seksueel Geweld tegen Kinderen. Deze leden",
     "leden van de PvdA-fractie", "PvdA"),
    # hyphen ("initia-"), two footnote lines and a page break in between
    ("003_1ea1dffccdb504dc", "de nieuwe initiatieven, dit laat onverlet dat het bestaande beleid", "Staatssecretaris Harbers", ""),
    ("004_430d2c4d9ca5dc61", "om dit specifieke probleem aan te pakken?", "leden van de GroenLinks-PvdA-fractie", "GroenLinks-PvdA"),
    ("004_430d2c4d9ca5dc61", "Deze leden hopen dat dit meegenomen kan worden", "leden van de BBB-fractie", "BBB"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "quote", "speaker", "party"), QUOTES)
def test_quote_is_in_one_turn_of_the_right_speaker(corpus, name, quote, speaker, party):
    hits = [(t.speaker, t.party) for t in corpus[name].turns if quote in t.text]
    assert hits == [(speaker, party)]


# ---------------------------------------------------------------- debates: chair, interruptions


def test_interruption_replies_to_the_interrupted_turn(debate):
    assert debate.turns[4].replies_to == [2]


def test_answer_to_interruption_replies_to_it(debate):
    assert debate.turns[5].replies_to == [4]


def test_follow_up_interruption_replies_to_the_answer(debate):
    assert debate.turns[6].replies_to == [5]


def test_turn_after_chair_gives_the_floor_is_not_a_reply(debate):
    assert debate.turns[9].replies_to == []


def test_chair_turn_gets_chair_surname_from_header(debate):
    assert (debate.turns[1].speaker, debate.turns[1].surname) == ("De voorzitter", "De Vries")


def test_procedural_chair_turn_is_flagged(debate):
    assert [t.turn_index for t in debate.turns if t.procedural] == [1, 3, 8]


def test_minister_label_has_role_and_no_party(debate):
    t = debate.turns[9]
    assert (t.speaker, t.surname, t.party, t.role) == ("Minister Jansen", "Jansen", "", "minister")


def test_label_like_sentence_inside_text_does_not_start_a_turn(debate):
    assert "De heer Visser vroeg eerder ook naar die plekken: dat is terecht" in debate.turns[2].text


def test_preamble_becomes_introduction_passage(debate):
    t = debate.turns[0]
    assert (t.speaker, t.role, t.section) == ("", "onbekend", "Inleiding")


def test_stage_directions_are_not_turn_text(debate):
    assert [t.turn_index for t in debate.turns if "Aanvang" in t.text or "Sluiting" in t.text] == []


def test_chair_change_sets_surname_of_later_chair_turns(corpus):
    chairs = [t.surname for t in corpus["000_528fd6ff245c8aa8"].turns if t.role == "voorzitter"]
    assert Counter(chairs) == {"Kuiken": 43, "Bouali": 3}


def test_chair_speaking_as_member_is_not_procedural(corpus):
    turn = next(
        t for t in corpus["002_d05e322e15ff4b92"].turns if t.text.startswith("Als woordvoerder interrumpeer ik")
    )
    assert (turn.procedural, turn.party, turn.replies_to) == (False, "VVD", [turn.turn_index - 1])


def test_chair_giving_the_floor_is_procedural(corpus):
    turn = next(
        t for t in corpus["000_528fd6ff245c8aa8"].turns if t.text == "Heel hartelijk dank. Mevrouw Kuik van het CDA."
    )
    assert turn.procedural


# ---------------------------------------------------------------- written consultations


def test_party_block_speaker_party_and_role(corpus):
    t = corpus["001_d19f5fabcea6e511"].turns[1]
    assert (t.speaker, t.party, t.role, t.section) == ("leden van de SP-fractie", "SP", "fractie", "1. Inleiding")


def test_001_every_answer_links_a_question_of_its_section(corpus):
    turns = corpus["001_d19f5fabcea6e511"].turns
    number = lambda section: section.split(".")[0]  # noqa: E731
    unlinked = [
        a.turn_index
        for a in _answers_001(corpus["001_d19f5fabcea6e511"])
        if not any(turns[q].role == "fractie" and number(turns[q].section) == number(a.section) for q in a.replies_to)
    ]
    assert unlinked == []


def test_001_linked_question_party_is_named_in_the_answer(corpus):
    turns = corpus["001_d19f5fabcea6e511"].turns
    wrong = [
        (a.turn_index, q)
        for a in _answers_001(corpus["001_d19f5fabcea6e511"])
        if _parties_named(a.text)
        for q in a.replies_to
        if turns[q].party not in _parties_named(a.text)
    ]
    assert wrong == []


def test_001_part_two_is_split_into_one_turn_per_answer(corpus):
    assert len(_answers_001(corpus["001_d19f5fabcea6e511"])) == 43


def test_answer_naming_no_party_after_new_heading_links_within_section():
    doc = parse_document(FIXTURES / "consultation.txt")
    assert [t.replies_to for t in doc.turns if t.role == "staatssecretaris"] == [[0], [1], [2]]


def test_004_missing_reply_is_reported_not_invented(corpus):
    doc = corpus["004_430d2c4d9ca5dc61"]
    assert ({t.role for t in doc.turns}, any("part II" in w for w in doc.warnings)) == ({"onbekend", "fractie"}, True)


def test_004_subheading_is_part_of_section(corpus):
    t = next(t for t in corpus["004_430d2c4d9ca5dc61"].turns if "landelijke actiedag" in t.text)
    assert (
        t.section
        == "Vragen en opmerkingen van de leden van de CDA-fractie – Versterkt Actieplan programma Samen tegen mensenhandel; bijlage 2"
    )


# ---------------------------------------------------------------- letters


def test_letter_speaker_is_first_signer(corpus):
    assert {(t.speaker, t.surname, t.role) for t in corpus["003_1ea1dffccdb504dc"].turns} == {
        ("Staatssecretaris Harbers", "Harbers", "staatssecretaris")
    }


def test_letter_keeps_all_signers_in_last_passage(corpus):
    last = corpus["003_1ea1dffccdb504dc"].turns[-1]
    assert (last.section, last.text.count("\n\n") + 1, "T. van Ark" in last.text) == ("Ondertekening", 6, True)


# ---------------------------------------------------------------- metadata and manifest


def test_meta_from_header_of_000():
    meta = parse_document(CORPUS / "000_528fd6ff245c8aa8.txt", {}).meta
    assert (meta.doc_type, meta.dossier, meta.number, meta.date, meta.chair) == (
        "debat",
        "28 638",
        "163",
        "2018-09-27",
        "Kuiken",
    )


def test_meta_number_from_page_footer_when_there_is_no_header():
    meta = parse_document(CORPUS / "001_d19f5fabcea6e511.txt", {}).meta
    assert meta.url == "https://zoek.officielebekendmakingen.nl/kst-28638-123.html"


def test_meta_004_has_no_number_or_url(corpus):
    meta = corpus["004_430d2c4d9ca5dc61"].meta
    assert (meta.dossier, meta.number, meta.url) == ("28 638", "", "")


def test_doc_id_and_hash_of_raw_bytes(corpus):
    import hashlib

    meta = corpus["002_d05e322e15ff4b92"].meta
    digest = hashlib.sha256((CORPUS / "002_d05e322e15ff4b92.txt").read_bytes()).hexdigest()
    assert (meta.doc_id, meta.source_file, meta.content_hash) == (
        "002_d05e322e15ff4b92",
        "002_d05e322e15ff4b92.txt",
        digest,
    )


def test_manifest_fills_gaps_and_builds_url():
    doc = parse_text(
        "Een notitie.", doc_id="x", source_file="x.txt", manifest_entry={"dossier": "28 638", "number": "9"}
    )
    assert doc.meta.url == "https://zoek.officielebekendmakingen.nl/kst-28638-9.html"


def test_manifest_disagreeing_with_text_is_a_warning():
    text = (FIXTURES / "debate_interruptions.txt").read_text(encoding="utf-8")
    doc = parse_text(text, doc_id="d", source_file="d.txt", manifest_entry={"number": "8"})
    assert (doc.meta.number, any("number" in w for w in doc.warnings)) == ("7", True)


def test_corpus_manifest_has_an_entry_per_file():
    assert sorted(load_manifest(CORPUS)) == sorted(f"{name}.txt" for name in DOCS)


def test_missing_manifest_is_empty(tmp_path):
    assert load_manifest(tmp_path) == {}


def test_malformed_manifest_raises_with_file_name(tmp_path):
    (tmp_path / "manifest.toml").write_text('["a.txt"\ndossier = ', encoding="utf-8")
    with pytest.raises(DocumentParseError, match="manifest.toml"):
        load_manifest(tmp_path)


def test_manifest_unknown_field_raises(tmp_path):
    (tmp_path / "manifest.toml").write_text('["a.txt"]\nspeaker = "x"\n', encoding="utf-8")
    with pytest.raises(DocumentParseError, match="unknown field"):
        load_manifest(tmp_path)


def test_manifest_bad_date_raises(tmp_path):
    (tmp_path / "manifest.toml").write_text('["a.txt"]\ndate = "13 november 2018"\n', encoding="utf-8")
    with pytest.raises(DocumentParseError, match="ISO date"):
        load_manifest(tmp_path)


# ---------------------------------------------------------------- reading bad input


def test_empty_file_raises():
    with pytest.raises(DocumentParseError, match="empty"):
        parse_document(FIXTURES / "empty.txt")


def test_binary_file_raises():
    with pytest.raises(DocumentParseError, match="binary"):
        read_text(FIXTURES / "binary.txt")


def test_control_characters_without_nul_count_as_binary(tmp_path):
    path = tmp_path / "noise.txt"
    path.write_bytes(bytes(range(1, 9)) * 50)
    with pytest.raises(DocumentParseError, match="binary"):
        read_text(path)


def test_file_over_20_mb_raises(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(20 * 1024 * 1024 + 1)
    with pytest.raises(DocumentParseError, match="20 MB"):
        read_text(path)


def test_cp1252_file_is_parsed():
    doc = parse_document(FIXTURES / "cp1252_debate.txt")
    assert doc.turns[0].text == "Voorzitter. Het café en de coöperatie – zo’n plek – verdienen steun."


def test_utf8_bom_is_dropped(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffEen notitie.".encode())
    assert read_text(path) == "Een notitie."


def test_text_without_structure_falls_back_to_paragraphs():
    doc = parse_document(FIXTURES / "no_structure.txt")
    assert [(t.speaker, t.role) for t in doc.turns] == [("", "onbekend"), ("", "onbekend")]


def test_text_without_structure_gives_a_warning():
    assert parse_document(FIXTURES / "no_structure.txt").warnings != []


def test_error_names_the_file():
    with pytest.raises(DocumentParseError, match="empty.txt"):
        parse_document(FIXTURES / "empty.txt")


# ---------------------------------------------------------------- command line


def test_cli_parse_json_lines_have_the_turn_fields():
    out = subprocess.run(
        [sys.executable, "-m", "ingest", "parse", str(FIXTURES / "debate_interruptions.txt"), "--json"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert [list(json.loads(line)) for line in out.splitlines()] == [list(TURN_FIELDS)] * 10


def test_cli_parse_missing_file_exits_with_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["parse", str(FIXTURES / "missing.txt")])
    assert exc.value.code == 2


def test_cli_domain_error_is_one_stderr_line_and_exit_code(capsys):
    code = main(["parse", str(FIXTURES / "empty.txt")])
    assert (code, len(capsys.readouterr().err.strip().splitlines())) == (DocumentParseError.exit_code, 1)


def test_cli_stats_json_counts_turns_per_document(capsys):
    assert (
        main(["stats", "--json", str(FIXTURES / "debate_interruptions.txt"), str(FIXTURES / "consultation.txt")]) == 0
    )
    stats = json.loads(capsys.readouterr().out)
    assert [(d["doc_id"], d["turns"]) for d in stats["documents"]] == [
        ("debate_interruptions", 10),
        ("consultation", 6),
    ]


def test_cli_stats_counts_words_per_party(capsys):
    main(["stats", "--json", str(FIXTURES / "cp1252_debate.txt")])
    parties = {p["party"]: p["words"] for p in json.loads(capsys.readouterr().out)["parties"]}
    # whitespace-separated tokens, dashes included: 12 in the member's turn, 15 in the minister's
    assert parties == {"CDA": 12, "": 15}


def test_cli_build_exits_non_zero_when_a_file_failed(monkeypatch, tmp_path):
    # the real build, on a throw-away index with the hash embedding: one good file, one empty one
    monkeypatch.setenv("KAMERBRON_PATHS_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("KAMERBRON_EMBEDDING_BACKEND", "hash")
    code = main(["build", "--no-progress", str(FIXTURES / "empty.txt"), str(FIXTURES / "debate_interruptions.txt")])
    assert code == DocumentParseError.exit_code
