"""The hand-built evaluation set: it loads, is balanced, its gold quotes exist, and bad files fail clearly."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from eval.dataset import (
    KINDS,
    EvalItem,
    EvalSetError,
    default_eval_path,
    load_eval_set,
    normalise_for_match,
    quote_in_text,
    raw_document_text,
    validate_quotes,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "data" / "corpus"
EVAL_PATH = ROOT / "eval" / "data" / "kamerbron_eval_v1.jsonl"
SOURCE = "002_d05e322e15ff4b92.txt"
QUOTE = "Dat project is gericht op de opsporing van uitgebuite kinderen uit Oost-Europa."


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_eval_set(EVAL_PATH, corpus_dir=CORPUS_DIR)


def _item(**overrides) -> dict:
    item = {
        "id": "q001",
        "kind": "factual",
        "lang": "nl",
        "question": "Waar was 13 Oceans op gericht?",
        "gold": [{"source_file": SOURCE, "quote": QUOTE}],
        "facts": [["Oost-Europa"]],
        "speaker": None,
        "party": None,
        "answerable": True,
    }
    return item | overrides


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------- the real set


def test_the_default_path_is_the_committed_set(items):
    assert len(load_eval_set()) == len(items)


def test_the_default_path_follows_the_eval_dir_setting(tmp_path):
    from kamerbron.settings import Settings

    settings = Settings(_env_file=None, paths={"eval_dir": tmp_path})
    assert default_eval_path(settings) == tmp_path / "data" / "kamerbron_eval_v1.jsonl"


def test_the_set_has_at_least_140_items(items):
    assert len(items) >= 140


def test_at_least_ten_percent_is_unanswerable(items):
    assert sum(not item.answerable for item in items) >= 0.10 * len(items)


def test_every_kind_is_present(items):
    assert {item.kind for item in items} == set(KINDS)


def test_at_least_ten_percent_is_english(items):
    assert sum(item.lang == "en" for item in items) >= 0.10 * len(items)


def test_every_corpus_document_has_gold_passages(items):
    used = {gold.source_file for item in items for gold in item.gold}
    assert used == {path.name for path in CORPUS_DIR.glob("*.txt")}


def test_every_gold_quote_validates_against_the_corpus(items):
    assert validate_quotes(items, CORPUS_DIR) == []


HELDOUT_PATH = ROOT / "eval" / "data" / "kamerbron_heldout_v1.jsonl"


def test_the_held_out_set_loads_validates_and_shares_nothing_with_the_dev_set(items):
    held_out = load_eval_set(HELDOUT_PATH, corpus_dir=CORPUS_DIR)
    assert len(held_out) >= 40 and {item.kind for item in held_out} == set(KINDS)
    assert validate_quotes(held_out, CORPUS_DIR) == []
    assert not {i.id for i in held_out} & {i.id for i in items}
    assert not {i.question for i in held_out} & {i.question for i in items}


def test_who_items_name_a_speaker_or_party(items):
    assert all(item.speaker or item.party for item in items if item.kind == "who")


def test_answerable_items_have_facts_or_a_speaker(items):
    assert all(item.facts or item.speaker or item.party for item in items if item.answerable)


def test_some_party_comparisons_name_a_silent_party(items):
    silent = [item for item in items if item.silent_parties]
    assert len(silent) >= 3
    assert all(item.answerable and item.kind in ("position", "multi") for item in silent)


# ---------------------------------------------------------------- loader errors


def test_a_valid_line_loads(tmp_path):
    path = _write(tmp_path, [json.dumps(_item())])
    assert [item.id for item in load_eval_set(path, corpus_dir=CORPUS_DIR)] == ["q001"]


def test_blank_lines_are_skipped(tmp_path):
    path = _write(tmp_path, ["", json.dumps(_item()), "   "])
    assert len(load_eval_set(path, corpus_dir=CORPUS_DIR)) == 1


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"id": "q002", "kind": ', "line 2: invalid JSON"),
        (json.dumps(_item(id="q002", score=3)), "line 2: unknown field 'score'"),
        (json.dumps(_item()), "line 2: duplicate id 'q001' (first used on line 1)"),
        (
            json.dumps(_item(id="q002", gold=[{"source_file": "999_x.txt", "quote": QUOTE}])),
            "line 2: unknown source_file",
        ),
        (json.dumps(_item(id="q002", gold=[])), "line 2: answerable item without gold"),
        (json.dumps(_item(id="q002", kind="unanswerable", answerable=False)), "line 2: unanswerable item with gold"),
        (json.dumps(_item(id="q002", kind="followup")), "line 2: followup item without history"),
        (json.dumps(_item(id="q002", kind="multi")), "line 2: multi item needs at least two gold"),
        (json.dumps(_item(id="q002", kind="riddle")), "line 2: kind"),
        (json.dumps(_item(id="q002", lang="de")), "line 2: lang"),
        (
            json.dumps(_item(id="q002", silent_parties=["VVD"])),
            "line 2: silent party 'VVD' is not named in the question",
        ),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_a_bad_line_is_reported_with_its_line_number(tmp_path, bad_line, expected):
    path = _write(tmp_path, [json.dumps(_item()), bad_line])
    with pytest.raises(EvalSetError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_eval_set(path, corpus_dir=CORPUS_DIR)


def test_a_silent_party_named_in_the_question_is_accepted():
    item = EvalItem.model_validate(
        _item(kind="position", question="Hoe verschilden CDA en sp over 13 Oceans?", silent_parties=["SP"])
    )
    assert item.silent_parties == ["SP"]


def test_silent_parties_default_to_empty():
    assert EvalItem.model_validate(_item()).silent_parties == []


@pytest.mark.parametrize(
    ("question", "silent"),
    [
        ("Wat vond het CDA van 13 Oceans?", "SP"),
        ("Wat vond de SPD van 13 Oceans?", "SP"),
        ("Wat vond het CDA van 13 Oceans?", " "),
    ],
)
def test_a_silent_party_not_named_in_the_question_is_rejected(question, silent):
    with pytest.raises(ValidationError, match="silent"):
        EvalItem.model_validate(_item(kind="position", question=question, silent_parties=[silent]))


def test_every_bad_line_is_listed_not_only_the_first(tmp_path):
    path = _write(tmp_path, ["not json", json.dumps(_item()), json.dumps(_item(extra=1))])
    with pytest.raises(EvalSetError) as raised:
        load_eval_set(path, corpus_dir=CORPUS_DIR)
    assert "line 1:" in str(raised.value) and "line 3:" in str(raised.value)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(EvalSetError, match="Cannot read the evaluation set"):
        load_eval_set(tmp_path / "absent.jsonl", corpus_dir=CORPUS_DIR)


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(EvalSetError, match="holds no items"):
        load_eval_set(_write(tmp_path, [""]), corpus_dir=CORPUS_DIR)


def test_the_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        load_eval_set(_write(tmp_path, ["{"]), corpus_dir=CORPUS_DIR)


# ---------------------------------------------------------------- normalisation and matching


def test_normalise_unifies_quotes_and_dashes():
    assert normalise_for_match("zo’n «test» – 2008–2012") == 'zo\'n "test" - 2008-2012'


def test_normalise_strips_markup_and_footnote_markers():
    assert normalise_for_match("Mevrouw **Kuik** via *Samen*<sup>1</sup> en ver¹") == "Mevrouw Kuik via Samen en ver"


def test_normalise_collapses_whitespace():
    assert normalise_for_match("  een \n  regel\t\tmeer ") == "een regel meer"


def test_quote_in_text_ignores_case_and_line_wraps():
    assert quote_in_text("DE RAAD van europa", "in de Raad\nvan  Europa gezegd")


def test_quote_in_text_rejects_a_missing_quote():
    assert not quote_in_text("de Raad van State", "de Raad van Europa")


def test_quote_in_text_rejects_an_empty_quote():
    assert not quote_in_text("  ", "tekst")


def test_raw_text_joins_hyphenated_line_breaks(tmp_path):
    path = tmp_path / "doc.txt"
    path.write_text("de Nationaal Rapporteur Mensen-\nhandel en de EU-\nLidstaten", encoding="utf-8")
    assert raw_document_text(path) == "de Nationaal Rapporteur Mensenhandel en de EU- Lidstaten"


# ---------------------------------------------------------------- quote validation


def _corpus(tmp_path: Path, text: str) -> Path:
    (tmp_path / SOURCE).write_text(text, encoding="utf-8")
    return tmp_path


def _gold_item(quote: str) -> EvalItem:
    return EvalItem.model_validate(_item(gold=[{"source_file": SOURCE, "quote": quote}]))


def test_raw_mode_accepts_a_quote_across_a_hyphenated_break(tmp_path):
    corpus = _corpus(tmp_path, "De politie en de Nationaal Rapporteur Mensen-\nhandel spraken over de aanpak.")
    item = _gold_item("de Nationaal Rapporteur Mensenhandel spraken over de aanpak")
    assert validate_quotes([item], corpus, mode="raw") == []


def test_raw_mode_reports_a_quote_that_is_not_there(tmp_path):
    corpus = _corpus(tmp_path, "Een heel andere tekst over iets anders dan dit.")
    problems = validate_quotes([_gold_item(QUOTE)], corpus, mode="raw")
    assert len(problems) == 1 and "quote not found" in problems[0]


def test_a_too_short_quote_is_reported(tmp_path):
    corpus = _corpus(tmp_path, "Dat project is gestopt.")
    problems = validate_quotes([_gold_item("project is gestopt")], corpus, mode="raw")
    assert problems == [f"q001 ({SOURCE}): quote has 3 words; use 6-25"]


def test_a_quote_with_markup_is_reported(tmp_path):
    corpus = _corpus(tmp_path, "De heer Segers sprak namens de ChristenUnie over het regeerakkoord.")
    problems = validate_quotes([_gold_item("De heer **Segers** sprak namens de ChristenUnie")], corpus, mode="raw")
    assert any("markup" in problem for problem in problems)


def _fake_parser(*turn_texts: str):
    def parse_document(path):
        return SimpleNamespace(turns=[SimpleNamespace(text=text) for text in turn_texts])

    return parse_document


def test_turn_mode_accepts_a_quote_inside_one_turn(tmp_path):
    corpus = _corpus(tmp_path, "ruw")
    parser = _fake_parser(
        "Voorzitter.", "Dat project is gericht op de opsporing van uitgebuite kinderen uit Oost-Europa."
    )
    assert validate_quotes([_gold_item(QUOTE)], corpus, mode="turns", parse_document=parser) == []


def test_turn_mode_rejects_a_quote_split_over_two_turns(tmp_path):
    corpus = _corpus(tmp_path, "Dat project is gericht op de opsporing\n\nvan uitgebuite kinderen uit Oost-Europa.")
    parser = _fake_parser("Dat project is gericht op de opsporing", "van uitgebuite kinderen uit Oost-Europa.")
    problems = validate_quotes([_gold_item(QUOTE)], corpus, mode="turns", parse_document=parser)
    assert len(problems) == 1 and "found in the raw text but not inside one parsed turn" in problems[0]


def test_a_failing_parser_is_reported_not_raised(tmp_path):
    def broken(path):
        raise RuntimeError("boom")

    problems = validate_quotes([_gold_item(QUOTE)], _corpus(tmp_path, QUOTE), mode="turns", parse_document=broken)
    assert problems == [f"q001 ({SOURCE}): parser failed (RuntimeError: boom)"]
