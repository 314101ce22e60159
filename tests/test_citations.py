"""Citation post-processing: chunk-id markers in LLM output become numbered citations."""

from __future__ import annotations

import pytest

from rag.citations import StreamingCitationRenderer, resolve_citations, split_answer_sentences
from rag.prompts import REFUSAL_SENTENCE, REFUSAL_SENTENCE_EN
from tests.fakes.records import make_passage

SP = "002_d05e322e15ff4b92:14:0"
VVD = "002_d05e322e15ff4b92:15:0"
MINISTER = "001_d19f5fabcea6e511:3:0"
NEVER_RETRIEVED = "003_1ea1dffccdb504dc:9:0"


PASSAGES = [
    make_passage(
        chunk_id=SP,
        text="Wij willen een vergunningplicht voor sekswerkers. Dat helpt tegen uitbuiting. De minister moet nu handelen.",
        speaker="De heer Van Nispen",
        party="SP",
        role="kamerlid",
        date="2017-02-16",
        url="https://zoek.officielebekendmakingen.nl/kst-28638-157.html",
        doc_title="Verslag van een algemeen overleg",
    ),
    make_passage(chunk_id=VVD, text="De VVD is tegen een pooierboete. Dat heb ik eerder gezegd.", party="VVD"),
    make_passage(chunk_id=MINISTER, text="Het kabinet investeert 12 miljoen euro in de aanpak van mensenhandel."),
]


def test_valid_ids_are_numbered_in_order_of_first_use():
    resolved = resolve_citations(f"De VVD is tegen [{VVD}]. De SP wil een vergunningplicht [{SP}].", PASSAGES)
    assert resolved.text == "De VVD is tegen [1]. De SP wil een vergunningplicht [2]."


def test_citations_are_listed_in_number_order():
    resolved = resolve_citations(f"De VVD is tegen [{VVD}]. De SP wil een vergunningplicht [{SP}].", PASSAGES)
    assert [(c.n, c.chunk_id) for c in resolved.citations] == [(1, VVD), (2, SP)]


def test_duplicate_id_reuses_its_number():
    resolved = resolve_citations(f"Eerst [{SP}]. Dan [{VVD}]. Weer [{SP}].", PASSAGES)
    assert resolved.text == "Eerst [1]. Dan [2]. Weer [1]."


def test_id_never_retrieved_is_removed_from_text():
    resolved = resolve_citations(f"De SP wil dat [{SP}]. Verzonnen claim [{NEVER_RETRIEVED}].", PASSAGES)
    assert NEVER_RETRIEVED not in resolved.text and resolved.text.endswith("Verzonnen claim.")


def test_id_never_retrieved_is_reported_as_dropped():
    resolved = resolve_citations(f"Verzonnen claim [{NEVER_RETRIEVED}].", PASSAGES)
    assert resolved.dropped_ids == [NEVER_RETRIEVED]


def test_id_never_retrieved_gets_no_citation():
    resolved = resolve_citations(f"Verzonnen [{NEVER_RETRIEVED}]. Waar [{SP}].", PASSAGES)
    assert [c.chunk_id for c in resolved.citations] == [SP]


def test_plain_number_marker_is_dropped():
    resolved = resolve_citations(f"De SP wil dat [{SP}]. Iets anders [7].", PASSAGES)
    assert resolved.text == "De SP wil dat [1]. Iets anders."


def test_malformed_id_marker_is_dropped():
    resolved = resolve_citations("De SP wil dat [002_d05e322e15ff4b92:14].", PASSAGES)
    assert resolved.text == "De SP wil dat."


def test_bracket_without_id_is_ordinary_text():
    resolved = resolve_citations(f"Hij zei: 'dit is [sic] onjuist' [{SP}].", PASSAGES)
    assert resolved.text == "Hij zei: 'dit is [sic] onjuist' [1]."


def test_several_ids_in_one_bracket():
    resolved = resolve_citations(f"Beide partijen spraken erover [{SP}; {VVD}, {MINISTER}].", PASSAGES)
    assert resolved.text == "Beide partijen spraken erover [1][2][3]."


def test_adjacent_duplicate_markers_collapse():
    resolved = resolve_citations(f"De SP wil dat [{SP}] [{SP}][{SP}].", PASSAGES)
    assert resolved.text == "De SP wil dat [1]."


def test_bare_id_is_numbered():
    resolved = resolve_citations(f"De SP wil dat ({SP}).", PASSAGES)
    assert resolved.text == "De SP wil dat [1]."


def test_clock_time_is_not_an_id():
    resolved = resolve_citations(f"Het debat begon om 10:02:33 [{SP}].", PASSAGES)
    assert resolved.text == "Het debat begon om 10:02:33 [1]."


def test_truncated_marker_at_end_is_dropped():
    resolved = resolve_citations(f"De SP wil dat [{SP}]. De VVD niet [002_d05e322e", PASSAGES)
    assert resolved.text == "De SP wil dat [1]. De VVD niet"


def test_citation_carries_passage_metadata():
    citation = resolve_citations(f"De SP wil dat [{SP}].", PASSAGES).citations[0]
    assert (citation.speaker, citation.party, citation.date, citation.url) == (
        "De heer Van Nispen",
        "SP",
        "2017-02-16",
        "https://zoek.officielebekendmakingen.nl/kst-28638-157.html",
    )


def test_citation_sentences_are_the_best_supporting_ones():
    resolved = resolve_citations(f"Van Nispen vindt dat de minister moet handelen [{SP}].", PASSAGES)
    assert resolved.citations[0].sentences == ["De minister moet nu handelen."]


def test_sentence_without_citation_is_flagged():
    resolved = resolve_citations(f"De SP wil een vergunningplicht [{SP}]. De VVD steunt dat ook.", PASSAGES)
    assert resolved.unsupported_sentences == ["De VVD steunt dat ook."]


def test_sentence_citing_only_a_dropped_id_is_flagged():
    resolved = resolve_citations(f"Verzonnen claim [{NEVER_RETRIEVED}]. Waar [{SP}].", PASSAGES)
    assert resolved.unsupported_sentences == ["Verzonnen claim."]


def test_citation_after_full_stop_belongs_to_its_sentence():
    resolved = resolve_citations(f"De SP wil een vergunningplicht. [{SP}] De VVD is tegen. [{VVD}]", PASSAGES)
    assert resolved.unsupported_sentences == []


def test_refusal_without_citation_is_refused():
    assert resolve_citations(REFUSAL_SENTENCE, PASSAGES).refused


def test_refusal_with_extra_uncited_text_shows_only_the_refusal():
    resolved = resolve_citations(f"Helaas. {REFUSAL_SENTENCE} Misschien later.", PASSAGES)
    assert (resolved.refused, resolved.text) == (True, REFUSAL_SENTENCE)


def test_english_refusal_is_recognised_and_kept_in_english():
    resolved = resolve_citations(f"Sorry. {REFUSAL_SENTENCE_EN}", PASSAGES)
    assert (resolved.refused, resolved.text) == (True, REFUSAL_SENTENCE_EN)


def test_english_refusal_sentence_is_not_flagged_as_unsupported():
    resolved = resolve_citations(f"The SP wants this [{SP}]. {REFUSAL_SENTENCE_EN}", PASSAGES)
    assert not resolved.refused and resolved.unsupported_sentences == []


def test_refusal_next_to_a_valid_citation_is_not_refused():
    assert not resolve_citations(f"De SP wil dat [{SP}]. {REFUSAL_SENTENCE}", PASSAGES).refused


def test_refusal_sentence_is_not_flagged_as_unsupported():
    resolved = resolve_citations(f"De SP wil dat [{SP}]. {REFUSAL_SENTENCE}", PASSAGES)
    assert resolved.unsupported_sentences == []


def test_refusal_citing_only_unknown_ids_is_refused():
    assert resolve_citations(f"{REFUSAL_SENTENCE} [{NEVER_RETRIEVED}]", PASSAGES).refused


def test_raw_output_is_kept():
    raw = f"De SP wil dat [{SP}]."
    assert resolve_citations(raw, PASSAGES).raw == raw


def test_split_sentences_keeps_abbreviations_together():
    assert split_answer_sentences("Dat zei o.a. de minister. Daarna 3.5 procent.") == [
        "Dat zei o.a. de minister.",
        "Daarna 3.5 procent.",
    ]


STREAMED = (
    f"Van Nispen (SP) wil een vergunningplicht [{SP}]. De VVD is tegen [{VVD}; {SP}]. "
    f"Verzonnen [{NEVER_RETRIEVED}] en [3]. Het kabinet investeert 12 miljoen euro {MINISTER}."
)


def _stream(raw: str, size: int) -> list[str]:
    renderer = StreamingCitationRenderer(PASSAGES)
    return [renderer.feed(raw[i : i + size]) for i in range(0, len(raw), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 40])
def test_streamed_text_ends_equal_to_final_text(size):
    assert _stream(STREAMED, size)[-1] == resolve_citations(STREAMED, PASSAGES).text


@pytest.mark.parametrize("size", [1, 3, 7])
def test_streamed_text_never_shows_a_raw_id(size):
    assert not [shown for shown in _stream(STREAMED, size) if "d05e" in shown or "1ea1" in shown]


def test_streamed_text_is_held_back_while_a_marker_is_open():
    renderer = StreamingCitationRenderer(PASSAGES)
    renderer.feed("De SP wil dat [002_d05e3")
    assert renderer.feed("22e15ff4b92:14:0] en") == "De SP wil dat [1] en"


def test_streaming_finish_equals_final_text_after_truncated_marker():
    renderer = StreamingCitationRenderer(PASSAGES)
    renderer.feed(f"De SP wil dat [{SP}]. De VVD niet [002_d0")
    assert renderer.finish() == resolve_citations(renderer.raw, PASSAGES).text
