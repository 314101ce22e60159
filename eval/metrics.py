"""Metric functions of the evaluation: pure, on plain values, no models.

Definitions (what the report's numbers mean):

- A retrieved passage is *relevant* to a gold quote when it comes from the same source file
  (compared by file name) and ``quote_in_text(quote, passage.text)`` holds.
- ``recall@k``: share of the item's gold quotes found in at least one of the top k passages.
- ``mrr@10``: 1 / rank of the first relevant passage in the top 10 (0 when none).
- ``ndcg@10``: binary gains; a passage gains 1 when it holds a gold quote no earlier passage held,
  so duplicates of one quote earn nothing twice; the ideal ranks min(#gold, 10) gains first.
- ``attribution``: 1 when every expected attribution is credited, else 0. The expected surname is
  credited when it appears as a whole word in the answer text or in a cited passage's speaker;
  the expected party when it appears as a whole word in the answer text or a cited passage's
  speaker, or equals a cited passage's party (case, diacritics, spaces and hyphens ignored).
- ``citation_precision``: share of the answer's citations whose passage holds a gold quote.
- ``citation_validity``: 1 when every citation's chunk_id is among the retrieved passages and
  every ``[n]`` marker in the answer text has a citation numbered n, else 0.
- refusal: a refusal is a positive; precision = correct refusals / refusals, recall = correct
  refusals / unanswerable items, ``wrongful_refusal_rate`` = refusals / answerable items.
- ``who_first_line``: for a who-question with an expected speaker, 1 when the answer's first line
  names that surname as a whole word (the person whose turn holds the evidence comes first).
- ``silent_parties_named``: for an item listing ``silent_parties``, the share of those parties that
  the answer names on a line saying the documents hold nothing from them ("niets", "nothing").
- ``fact_recall``: share of required facts of which at least one variant occurs in the normalised
  answer (see ``normalize_text``); a variant matches from the start of a word, and a variant that
  starts or ends with a digit never matches inside a longer number.
- ``quotes_verified``: share of the answer's quoted spans (``quotes`` of kind "quote", see
  rag/verify.py) that are verbatim in their source; cited sentences without quotation marks claim
  no wording and are left out. None when the answer quotes nothing.
- ``quotes_misattributed``: how many of the answer's quotes and cited sentences are credited to
  someone who did not say them. None when the answer has neither.
- ``quotes_by_backend`` (run summary): per backend, the quotes and cited sentences checked and the
  share of quotes verified over all of them (pooled, not a mean of items).

A metric that does not apply to an item (no gold quotes, no citations, nothing expected) is
``None`` and left out of the means.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

KS = (1, 5, 10)
RANK_CUTOFF = 10

# Headline metrics and their direction: True when higher is better.
HEADLINE: dict[str, bool] = {
    "recall@5": True,
    "mrr@10": True,
    "citation_precision": True,
    "citation_validity": True,
    "attribution": True,
    "fact_recall": True,
    "refusal_f1": True,
    "wrongful_refusal_rate": False,
}

# Per-item metrics that the mean-based headline metrics are built from.
ITEM_MEAN_METRICS = (
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "ndcg@10",
    "citation_precision",
    "citation_validity",
    "attribution",
    "attribution_speaker",
    "attribution_party",
    "fact_recall",
    "refusal_correct",
    "who_first_line",
    "silent_parties_named",
    "quotes_verified",
    "quotes_misattributed",
)

QuoteMatcher = Callable[[str, str], bool]


def field(obj: Any, name: str, default: Any = None) -> Any:
    """Read ``name`` from a pydantic object, a dataclass or a dict alike."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _default_matcher() -> QuoteMatcher:
    from eval.dataset import quote_in_text

    return quote_in_text


# ---------------------------------------------------------------------------
# Text normalisation


def fold(text: str) -> str:
    """Lower case without diacritics, punctuation as spaces, single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


_UNITS = {"een": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7, "acht": 8, "negen": 9}
_TEENS = {
    "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14,
    "vijftien": 15, "zestien": 16, "zeventien": 17, "achttien": 18, "negentien": 19,
}  # fmt: skip
_TENS = {
    "twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50,
    "zestig": 60, "zeventig": 70, "tachtig": 80, "negentig": 90,
}  # fmt: skip
_SCALES = {
    "honderd": 10**2, "hundred": 10**2,
    "duizend": 10**3, "thousand": 10**3,
    "miljoen": 10**6, "million": 10**6, "mln": 10**6,
    "miljard": 10**9, "billion": 10**9, "mld": 10**9, "mrd": 10**9,
}  # fmt: skip
_SCALE_WORDS = "|".join(sorted(_SCALES, key=len, reverse=True))


def _below_100(word: str) -> int | None:
    for table in (_UNITS, _TEENS, _TENS):
        if word in table:
            return table[word]
    for unit, value in _UNITS.items():
        rest = word.removeprefix(unit + "en")
        if rest != word and rest in _TENS:
            return value + _TENS[rest]
    return None


def _below_1000(word: str) -> int | None:
    head, sep, tail = word.partition("honderd")
    if not sep:
        return _below_100(word)
    hundreds = 1 if not head else _below_100(head)
    rest = 0 if not tail else _below_100(tail)
    if hundreds is None or rest is None:
        return None
    return hundreds * 100 + rest


def dutch_number_word(word: str) -> int | None:
    """The value of a Dutch number written as one word ("vijfhonderdduizend" -> 500000), or None."""
    head, sep, tail = word.partition("duizend")
    if not sep:
        return _below_1000(word)
    thousands = 1 if not head else _below_1000(head)
    rest = 0 if not tail else _below_1000(tail)
    if thousands is None or rest is None:
        return None
    return thousands * 1000 + rest


def _words_to_digits(text: str) -> str:
    def replace(match: re.Match) -> str:
        word = match.group(0)
        if word in _SCALES:
            return word  # left for the scale step, which multiplies the number before it
        # "een" is mostly the article; it is a number only before a scale word.
        if word == "een":
            following = re.match(r"\s+([a-z]+)", match.string[match.end() :])
            if not following or following.group(1) not in _SCALES:
                return word
        value = dutch_number_word(word)
        return word if value is None else str(value)

    return re.sub(r"[a-z]+", replace, text)


def _scaled(match: re.Match) -> str:
    value = float(match.group(1)) * _SCALES[match.group(2)]
    return str(int(round(value))) if abs(value - round(value)) < 1e-6 else match.group(0)


def normalize_text(text: str) -> str:
    """Normalise for fact matching: case, diacritics, whitespace, currency and number forms.

    "2 miljoen", "2.000.000", "2000000", "twee miljoen" all become "2000000"; "500 000" and
    "vijfhonderdduizend" become "500000"; "10%" and "10 procent" become "10 procent";
    "1,5 miljoen" becomes "1500000"; "€" and the word "euro" are dropped.
    """
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\[\d+(?:\s*[,;]\s*\d+)*\]", " ", text)  # citation markers
    text = text.replace("%", " procent ").replace("€", " ")
    text = re.sub(r"\b(?:per ?cent|pct)\b", "procent", text)
    text = re.sub(r"\beuro?s?\b", " ", text)
    text = _words_to_digits(text)
    # Thousands separators: "2.000.000", "500 000" (a group of exactly three digits each time).
    text = re.sub(
        r"(?<![\d.,])\d{1,3}(?:([. ])\d{3})(?:\1\d{3})*(?!\d|[.,]\d)",
        lambda m: re.sub(r"[. ]", "", m.group(0)),
        text,
    )
    text = re.sub(r"(?<=\d),(?=\d)", ".", text)  # Dutch decimal comma
    text = re.sub(rf"(\d+(?:\.\d+)?)\s*({_SCALE_WORDS})\b", _scaled, text)
    text = re.sub(r"\b(honderd|duizend)\b", lambda m: str(_SCALES[m.group(1)]), text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^\w.]+", " ", text)
    return " ".join(text.split())


def _variant_pattern(variant: str) -> re.Pattern | None:
    norm = normalize_text(variant)
    if not norm:
        return None
    left = r"(?<!\d)" if norm[0].isdigit() else r"(?<!\w)"
    right = r"(?!\d)" if norm[-1].isdigit() else ""
    return re.compile(left + re.escape(norm) + right)


def fact_present(variants: Sequence[str], answer: str) -> bool:
    """Whether any variant of one required fact occurs in the answer, after normalisation."""
    text = normalize_text(answer)
    return any((pattern := _variant_pattern(v)) is not None and pattern.search(text) for v in variants)


def fact_recall(facts: Sequence[Sequence[str]], answer: str) -> float | None:
    """Share of required facts present in the answer; None when the item requires none."""
    facts = [f for f in facts if f]
    if not facts:
        return None
    return sum(fact_present(f, answer) for f in facts) / len(facts)


# ---------------------------------------------------------------------------
# Retrieval


def _same_file(a: str, b: str) -> bool:
    return Path(a or "").name == Path(b or "").name


def gold_in_passage(gold: Any, passage: Any, matcher: QuoteMatcher | None = None) -> bool:
    """Whether a passage (or citation) holds one gold quote of the same source file."""
    matcher = matcher or _default_matcher()
    return _same_file(field(gold, "source_file", ""), field(passage, "source_file", "")) and bool(
        matcher(field(gold, "quote", ""), field(passage, "text", ""))
    )


def gold_hits(passages: Sequence[Any], gold: Sequence[Any], matcher: QuoteMatcher | None = None) -> list[set[int]]:
    """For each passage in rank order, the indices of the gold quotes it holds."""
    matcher = matcher or _default_matcher()
    return [{g for g, quote in enumerate(gold) if gold_in_passage(quote, p, matcher)} for p in passages]


def retrieval_metrics(
    passages: Sequence[Any], gold: Sequence[Any], matcher: QuoteMatcher | None = None
) -> dict[str, float | None]:
    """recall@1/5/10, mrr@10 and ndcg@10 of ranked passages; all None when there is no gold."""
    names = [f"recall@{k}" for k in KS] + [f"mrr@{RANK_CUTOFF}", f"ndcg@{RANK_CUTOFF}"]
    if not gold:
        return dict.fromkeys(names)
    hits = gold_hits(passages[: max(max(KS), RANK_CUTOFF)], gold, matcher)
    return {
        **{f"recall@{k}": recall_at_k(hits, len(gold), k) for k in KS},
        f"mrr@{RANK_CUTOFF}": mrr_at_k(hits, RANK_CUTOFF),
        f"ndcg@{RANK_CUTOFF}": ndcg_at_k(hits, len(gold), RANK_CUTOFF),
    }


def recall_at_k(hits: Sequence[set[int]], n_gold: int, k: int) -> float:
    """Share of gold quotes held by at least one of the top k passages."""
    found = set().union(*hits[:k]) if hits[:k] else set()
    return len(found) / n_gold if n_gold else 0.0


def mrr_at_k(hits: Sequence[set[int]], k: int) -> float:
    """Reciprocal rank of the first passage holding any gold quote, within the top k."""
    for rank, held in enumerate(hits[:k], start=1):
        if held:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(hits: Sequence[set[int]], n_gold: int, k: int) -> float:
    """nDCG with binary gains; each gold quote earns a gain once, at its first passage."""
    seen: set[int] = set()
    dcg = 0.0
    for rank, held in enumerate(hits[:k], start=1):
        if held - seen:
            dcg += 1.0 / math.log2(rank + 1)
        seen |= held
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, k) + 1))
    return dcg / ideal if ideal else 0.0


# ---------------------------------------------------------------------------
# Answer: attribution, citations


def _has_word(needle: str, haystack: str) -> bool:
    needle, haystack = fold(needle), fold(haystack)
    return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def _compact(text: str) -> str:
    return fold(text).replace(" ", "")


def attribution(
    speaker: str | None, party: str | None, answer_text: str, citations: Sequence[Any]
) -> dict[str, bool | float | None]:
    """Whether the answer credits the expected surname and party (see the module docstring).

    Returns ``speaker`` and ``party`` (bool, or None when not expected) and ``score``
    (1.0 when all expected are credited, 0.0 otherwise, None when nothing is expected).
    """
    speakers = [field(c, "speaker", "") or "" for c in citations]
    parties = [field(c, "party", "") or "" for c in citations]
    speaker_ok = None
    if speaker:
        speaker_ok = _has_word(speaker, answer_text) or any(_has_word(speaker, s) for s in speakers)
    party_ok = None
    if party:
        party_ok = (
            _has_word(party, answer_text)
            or any(_has_word(party, s) for s in speakers)
            or any(_compact(p) == _compact(party) for p in parties if p)
        )
    expected = [ok for ok in (speaker_ok, party_ok) if ok is not None]
    return {"speaker": speaker_ok, "party": party_ok, "score": float(all(expected)) if expected else None}


CITATION_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


def who_first_line(speaker: str | None, answer_text: str) -> float | None:
    """1.0 when the answer's first line names the expected speaker (see the module docstring)."""
    if not speaker:
        return None
    first = next((line for line in answer_text.splitlines() if line.strip()), "")
    return float(_has_word(speaker, first))


_NOTHING = re.compile(r"\b(?:niets|nothing|geen uitspraak|no statement)\b", re.I)


def silent_parties_named(silent: Sequence[str], answer_text: str) -> float | None:
    """Share of the silent parties that the answer names on a 'nothing found' line."""
    if not silent:
        return None
    lines = [line for line in answer_text.splitlines() if _NOTHING.search(line)]
    return sum(any(_has_word(party, line) for line in lines) for party in silent) / len(silent)


def citation_markers(answer_text: str) -> set[int]:
    """The numbers of all ``[n]`` (or ``[n, m]``) markers in an answer text."""
    return {int(n) for group in CITATION_MARKER.findall(answer_text) for n in re.split(r"\s*[,;]\s*", group)}


def citation_precision(
    citations: Sequence[Any], gold: Sequence[Any], matcher: QuoteMatcher | None = None
) -> float | None:
    """Share of citations whose passage holds a gold quote; None without citations or gold."""
    if not citations or not gold:
        return None
    matcher = matcher or _default_matcher()
    good = sum(any(gold_in_passage(g, c, matcher) for g in gold) for c in citations)
    return good / len(citations)


def citation_validity(answer_text: str, citations: Sequence[Any], retrieved: Sequence[Any]) -> float | None:
    """1.0 when every citation is a retrieved passage and every marker has a citation, else 0.0.

    None when the answer neither cites nor carries markers.
    """
    markers = citation_markers(answer_text)
    if not citations and not markers:
        return None
    retrieved_ids = {field(p, "chunk_id") for p in retrieved}
    numbers = {field(c, "n") for c in citations}
    valid = all(field(c, "chunk_id") in retrieved_ids for c in citations) and markers <= numbers
    return float(valid)


def quote_metrics(quotes: Sequence[Any]) -> dict[str, float | None]:
    """``quotes_verified`` and ``quotes_misattributed`` of one answer's quote checks (see the module docstring)."""
    spans = [q for q in quotes if field(q, "kind", "quote") == "quote"]
    verified = sum(field(q, "status") == "verified" for q in spans)
    return {
        "quotes_verified": verified / len(spans) if spans else None,
        "quotes_misattributed": float(sum(field(q, "status") == "misattributed" for q in quotes)) if quotes else None,
    }


def quote_summary(records: Sequence[dict]) -> dict[str, dict]:
    """Per backend: items, quotes and cited sentences checked, the share of quotes verified (pooled) and
    the counts of each status. Records without ``quotes`` (runs from before quote checks) are left out."""
    out: dict[str, dict] = {}
    for record in records:
        if "quotes" not in record or record.get("error"):
            continue
        entry = out.setdefault(
            record.get("backend") or "unknown",
            {
                "items": 0,
                "quotes": 0,
                "sentences": 0,
                "verified": 0,
                "repaired": 0,
                "misattributed": 0,
                "unverified": 0,
            },
        )
        entry["items"] += 1
        for q in record["quotes"]:
            kind = field(q, "kind", "quote")
            entry["quotes" if kind == "quote" else "sentences"] += 1
            status = field(q, "status")
            if status in entry and (kind == "quote" or status == "misattributed"):
                entry[status] += 1
    for entry in out.values():
        entry["quotes_verified"] = entry["verified"] / entry["quotes"] if entry["quotes"] else None
    return out


# ---------------------------------------------------------------------------
# Refusal


def refusal_metrics(outcomes: Iterable[tuple[bool, bool]]) -> dict[str, float | None]:
    """Refusal precision, recall, F1 and wrongful refusal rate from (answerable, refused) pairs."""
    outcomes = list(outcomes)
    refused = sum(r for _, r in outcomes)
    correct = sum(r and not a for a, r in outcomes)
    unanswerable = sum(not a for a, _ in outcomes)
    answerable = len(outcomes) - unanswerable
    precision = correct / refused if refused else None
    recall = correct / unanswerable if unanswerable else None
    if recall is None:
        f1 = None
    elif not correct:
        f1 = 0.0
    else:
        f1 = 2 * precision * recall / (precision + recall)
    wrongful = (refused - correct) / answerable if answerable else None
    return {
        "refusal_precision": precision,
        "refusal_recall": recall,
        "refusal_f1": f1,
        "wrongful_refusal_rate": wrongful,
    }


# ---------------------------------------------------------------------------
# Aggregation


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation); None for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    return {
        "n": len(latencies_ms),
        "p50": percentile(latencies_ms, 50),
        "p95": percentile(latencies_ms, 95),
        "mean": mean(latencies_ms),
        "max": max(latencies_ms) if latencies_ms else None,
    }


def aggregate(records: Sequence[dict]) -> dict[str, float | int | None]:
    """Means of per-item metrics plus refusal figures over item records.

    A record has ``answerable``, ``refused`` and ``metrics`` (a dict of per-item metrics).
    """
    out: dict[str, float | int | None] = {"n": len(records)}
    for name in ITEM_MEAN_METRICS:
        out[name] = mean(r["metrics"].get(name) for r in records)
    out["refusal_accuracy"] = out.pop("refusal_correct")
    out.update(refusal_metrics((bool(r["answerable"]), bool(r["refused"])) for r in records))
    return out


def headline(metrics: dict) -> dict[str, float | None]:
    """The gated headline metrics out of an aggregate."""
    return {name: metrics.get(name) for name in HEADLINE}


def item_score(metrics: dict) -> float:
    """One number per item to rank the worst items: the mean of its key metrics (1.0 if none apply)."""
    keys = ("recall@5", "fact_recall", "citation_precision", "citation_validity", "attribution", "refusal_correct")
    score = mean(metrics.get(k) for k in keys)
    return 1.0 if score is None else score
