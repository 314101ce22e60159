"""The hand-built evaluation set of Kamerbron: typed items, a strict loader and gold-quote validation.

One JSON object per line in ``eval/data/kamerbron_eval_v1.jsonl``. ``load_eval_set`` reads and checks the
file (every problem named with its line number); ``validate_quotes`` checks that each gold quote really
occurs in its document, preferably inside a single parsed turn; ``quote_in_text`` is what the evaluation
runner uses to decide whether a retrieved passage is a gold passage.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.formats import CORPUS_SUFFIXES
from ingest.parse import document_text, parse_document
from kamerbron.errors import KamerbronError
from kamerbron.settings import load_settings

EVAL_FILE_NAME = "kamerbron_eval_v1.jsonl"
KINDS = ("factual", "who", "gov_answer", "position", "multi", "followup", "unanswerable")
QUOTE_MIN_WORDS = 6
QUOTE_MAX_WORDS = 25

Kind = Literal["factual", "who", "gov_answer", "position", "multi", "followup", "unanswerable"]
MatchMode = Literal["auto", "turns", "raw"]


class EvalSetError(KamerbronError, ValueError):
    """The evaluation set file is unreadable or invalid; the message names each bad line and the fix."""

    exit_code = 7


class GoldPassage(BaseModel):
    """A passage that answers the item, pinned by a verbatim quote from its normalised text."""

    model_config = ConfigDict(extra="forbid")

    source_file: str = Field(min_length=1, description="Corpus file name, e.g. 002_d05e322e15ff4b92.txt.")
    quote: str = Field(min_length=1, description="6-25 words copied from one paragraph of the passage.")


class HistoryTurn(BaseModel):
    """An earlier turn of a follow-up conversation; the runner fills ``answer`` when it is empty."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1)
    answer: str = ""


class EvalItem(BaseModel):
    """One evaluation question with what a correct answer must contain and where it is found."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    kind: Kind
    lang: Literal["nl", "en"]
    question: str = Field(min_length=1)
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns; followup items only.")
    gold: list[GoldPassage] = Field(default_factory=list, description="Empty for unanswerable items.")
    facts: list[list[str]] = Field(
        default_factory=list,
        description="Facts a correct answer must contain; each inner list holds acceptable variants.",
    )
    speaker: str | None = Field(None, description="Expected speaker surname, e.g. 'Van Nispen'.")
    party: str | None = Field(None, description="Expected party, e.g. 'SP'.")
    silent_parties: list[str] = Field(
        default_factory=list,
        description="Parties named in the question that say nothing on its topic in the documents; a correct "
        "answer says so instead of giving them a position. Each must be named in the question.",
    )
    answerable: bool
    notes: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> EvalItem:
        if self.answerable and not self.gold:
            raise ValueError("answerable item without gold passages: add at least one gold quote")
        if not self.answerable and self.gold:
            raise ValueError("unanswerable item with gold passages: remove the gold or set answerable to true")
        if (self.kind == "unanswerable") == self.answerable:
            raise ValueError("kind 'unanswerable' and answerable=false must go together")
        if self.kind == "followup" and not self.history:
            raise ValueError("followup item without history: add the earlier turn(s)")
        if self.kind != "followup" and self.history:
            raise ValueError("history is only allowed on followup items")
        if self.kind == "multi" and len(self.gold) < 2:
            raise ValueError("multi item needs at least two gold passages")
        if any(not variants or not all(v.strip() for v in variants) for variants in self.facts):
            raise ValueError("every fact needs at least one non-empty variant")
        for silent in self.silent_parties:
            name = silent.strip()
            if not name:
                raise ValueError("silent_parties holds an empty party name")
            if not re.search(rf"(?<!\w){re.escape(name)}(?!\w)", self.question, re.IGNORECASE):
                raise ValueError(f"silent party {name!r} is not named in the question: name it there or remove it")
        return self


def default_eval_path(settings=None) -> Path:
    """Where the evaluation set lives: ``<paths.eval_dir>/data/kamerbron_eval_v1.jsonl``."""
    return _settings(settings).paths.eval_dir / "data" / EVAL_FILE_NAME


def load_eval_set(path: Path | None = None, *, corpus_dir: Path | None = None, settings=None) -> list[EvalItem]:
    """Read and check the evaluation set; raise ``EvalSetError`` listing every bad line.

    Checked: valid JSON objects, known fields with valid values, unique ids, source files that exist in
    the corpus folder, gold passages present exactly when the item is answerable. Blank lines are skipped.
    """
    path = Path(path) if path is not None else default_eval_path(settings)
    corpus_dir = Path(corpus_dir) if corpus_dir is not None else _settings(settings).paths.corpus_dir
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise EvalSetError(f"Cannot read the evaluation set {path}: {error}. Check the path.") from error
    known_files = {p.name for p in corpus_dir.glob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES}
    if not known_files:
        raise EvalSetError(
            f"No corpus documents ({', '.join('*' + s for s in CORPUS_SUFFIXES)}) in {corpus_dir}: "
            "set KAMERBRON_PATHS_CORPUS_DIR."
        )

    items: list[EvalItem] = []
    problems: list[str] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        item, problem = _parse_line(line)
        if problem:
            problems.append(f"line {number}: {problem}")
            continue
        if item.id in first_line_of:
            problems.append(f"line {number}: duplicate id {item.id!r} (first used on line {first_line_of[item.id]})")
            continue
        first_line_of[item.id] = number
        for gold in item.gold:
            if gold.source_file not in known_files:
                problems.append(
                    f"line {number}: unknown source_file {gold.source_file!r} in item {item.id!r}; "
                    f"expected one of the files in {corpus_dir}"
                )
        items.append(item)
    if problems:
        raise EvalSetError(f"Invalid evaluation set {path}:\n" + "\n".join(problems))
    if not items:
        raise EvalSetError(f"The evaluation set {path} holds no items.")
    return items


def _parse_line(line: str) -> tuple[EvalItem | None, str]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"invalid JSON ({error.msg} at column {error.colno})"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    try:
        return EvalItem.model_validate(data), ""
    except ValidationError as error:
        return None, "; ".join(_describe(e) for e in error.errors())


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown field {where!r}"
    if error["type"] == "missing":
        return f"missing field {where!r}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


_SUP_TAG = re.compile(r"<sup>.*?</sup>", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_AUTOLINK = re.compile(r"<https?://[^>\s]*>")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SUPERSCRIPT_DIGITS = re.compile(r"[\u00b9\u00b2\u00b3\u2070-\u2079]+")
_MARKUP = re.compile(r"\*+|`+")
_QUOTE_TABLE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u00ad": None,
    }
)  # fmt: skip
_WHITESPACE = re.compile(r"\s+")
_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\r?\n(?:[ \t]*\r?\n)*[ \t]*(?=[a-zà-ÿ])")


def normalise_for_match(text: str) -> str:
    """Text reduced for quote matching: markup and footnote markers gone, quotes/dashes unified, one space."""
    text = unicodedata.normalize("NFC", text)
    text = _SUP_TAG.sub("", text)
    text = _AUTOLINK.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _SUPERSCRIPT_DIGITS.sub("", text)
    text = _MARKUP.sub("", text)
    text = text.translate(_QUOTE_TABLE)
    return _WHITESPACE.sub(" ", text).strip()


def quote_in_text(quote: str, text: str) -> bool:
    """True when the quote occurs in the text after normalisation, ignoring case."""
    needle = normalise_for_match(quote).casefold()
    return bool(needle) and needle in normalise_for_match(text).casefold()


def raw_document_text(path: Path) -> str:
    """A corpus file as one normalised string: hyphenated line breaks joined, markup stripped.

    A text file is read as it is; a PDF or XML file as the text of its turns (``ingest.parse.document_text``).
    """
    return normalise_for_match(_HYPHEN_BREAK.sub(r"\1", document_text(path)))


def validate_quotes(
    items: list[EvalItem], corpus_dir: Path, *, mode: MatchMode = "auto", parse_document=None
) -> list[str]:
    """Check every gold quote against its document; return the problems (an empty list means valid).

    ``mode='turns'`` requires the quote inside one turn of ``parse_document(path)`` (default:
    ``ingest.parse.parse_document``); ``'raw'`` matches the whole normalised file; ``'auto'`` uses turns
    when a parser is given or can be imported, else raw. Each problem names the item, file and quote.
    """
    corpus_dir = Path(corpus_dir)
    if mode == "raw":
        parse_document = None
    elif parse_document is None:
        parse_document = _load_parser()
    if mode == "turns" and parse_document is None:
        return ["ingest.parse.parse_document cannot be imported: use mode='raw' until the parser exists"]
    turns_by_file: dict[str, list[str] | str] = {}
    raw_by_file: dict[str, str] = {}
    problems: list[str] = []
    for item in items:
        for gold in item.gold:
            where = f"{item.id} ({gold.source_file})"
            problems.extend(f"{where}: {p}" for p in _quote_shape_problems(gold.quote))
            path = corpus_dir / gold.source_file
            if not path.is_file():
                problems.append(f"{where}: document not found in {corpus_dir}")
                continue
            if gold.source_file not in raw_by_file:
                try:
                    raw_by_file[gold.source_file] = raw_document_text(path)
                except KamerbronError as error:
                    problems.append(f"{where}: {error}")
                    continue
            in_raw = quote_in_text(gold.quote, raw_by_file[gold.source_file])
            if parse_document is None:
                if not in_raw:
                    problems.append(f"{where}: quote not found in the document: {gold.quote!r}")
                continue
            if gold.source_file not in turns_by_file:
                turns_by_file[gold.source_file] = _turn_texts(parse_document, path)
            turns = turns_by_file[gold.source_file]
            if isinstance(turns, str):
                problems.append(f"{where}: parser failed ({turns})")
            elif not any(quote_in_text(gold.quote, turn) for turn in turns):
                hint = "found in the raw text but not inside one parsed turn" if in_raw else "not found at all"
                problems.append(f"{where}: quote {hint}: {gold.quote!r}")
    return problems


def _quote_shape_problems(quote: str) -> list[str]:
    problems = []
    if re.search(r"\*|<sup>|</?[a-z]+>", quote):
        problems.append("quote contains markup; copy the plain text")
    words = len(quote.split())
    if not QUOTE_MIN_WORDS <= words <= QUOTE_MAX_WORDS:
        problems.append(f"quote has {words} words; use {QUOTE_MIN_WORDS}-{QUOTE_MAX_WORDS}")
    return problems


def _load_parser():
    return parse_document


def _turn_texts(parse_document, path: Path) -> list[str] | str:
    try:
        return [turn.text for turn in parse_document(path).turns]
    except Exception as error:  # a parser bug must show up as a validation problem, not a crash
        return f"{type(error).__name__}: {error}"


def count_by(items: list[EvalItem], field: str) -> dict[str, int]:
    """How many items have each value of a field, e.g. ``count_by(items, 'kind')``."""
    return dict(sorted(Counter(str(getattr(item, field)) for item in items).items()))


def _settings(settings):
    if settings is not None:
        return settings
    return load_settings()


def main() -> int:
    """Print counts and validate the gold quotes: ``python -m eval.dataset``."""
    settings = _settings(None)
    try:
        items = load_eval_set(settings=settings)
    except EvalSetError as error:
        print(error)
        return error.exit_code
    print(f"{len(items)} items")
    for field in ("kind", "lang", "answerable"):
        print(f"  {field}: {count_by(items, field)}")
    docs = Counter(g.source_file for item in items for g in item.gold)
    print(f"  gold passages per document: {dict(sorted(docs.items()))}")
    mode = "turns" if _load_parser() else "raw"
    problems = validate_quotes(items, settings.paths.corpus_dir)
    print(f"quote validation ({mode} mode): {len(problems)} problem(s)")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
