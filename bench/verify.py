"""What the quote check (rag/verify.py) adds to an answer, on the bundled corpus.

    python -m bench.verify [--answers N] [--repeat R] [--seed S]

Chunks: the newest generation's ``catalogue.jsonl`` in the index folder, read as it is (the index is
never built or changed here); without one, the bundled corpus parsed and chunked in memory.
Answers, written from those chunks like the two backends write them:

- ``extractive``: the composer's form (``attribution: “…” [n]``, one to three passages, up to three
  sentences each, joined by spaces: the verifier puts " … " where sentences were left out), with
  eight retrieved passages; ``extractive, gaps marked``: such answers with " … " already there, as
  an LLM would quote; the three LLM kinds below start from these;
- ``llm, one word changed``: every quote with one word replaced (the repair path);
- ``llm, wrong passage cited``: every quote cited to another passage (the misattribution path,
  which searches the whole corpus);
- ``llm, invented``: quotes found nowhere (corpus search and a repair attempt on every cited passage).

Each answer is checked once with none of its passages normalised yet ("cold", as for passages the
verifier has not seen before) and then ``--repeat`` times more, the fastest kept ("warm": normalised
passages are kept per index). The figures are the median, 95th percentile and maximum over the
answers, in milliseconds, and what the statuses came out as. The corpus text for misattribution
search is built once per index, on first need; its cost is printed separately. A script that prints
figures, not a timed test.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from kamerbron.records import Chunk, Citation, Passage
from kamerbron.settings import Settings, load_settings
from kamerbron.text import split_sentences
from rag import verify
from rag.compose import attribution

RETRIEVED = 8
INVENTED = "Wij gaan alle vergunningen voor bordelen per direct intrekken en sluiten de ramen in elke gemeente."


def load_chunks(settings: Settings) -> tuple[list[Chunk], str]:
    """The index's chunks (newest catalogue), else the bundled corpus chunked here; and where from."""
    catalogues = sorted(Path(settings.paths.index_dir).glob("*/catalogue.jsonl"), key=lambda p: p.stat().st_mtime)
    if catalogues:
        with open(catalogues[-1], encoding="utf-8") as fh:
            return [Chunk.model_validate_json(line) for line in fh if line.strip()], str(catalogues[-1])
    from ingest.build import corpus_files  # only without an index: parsing is the slow way round
    from ingest.chunk import chunk_document
    from ingest.manifest import load_manifest
    from ingest.parse import parse_document

    corpus = Path(settings.paths.corpus_dir)
    manifest = load_manifest(corpus)
    chunks = [
        chunk
        for path in corpus_files([corpus])
        for chunk in chunk_document(parse_document(path, manifest.get(path.name, {})), settings.chunk)
    ]
    return chunks, f"{corpus} (parsed here)"


def extractive_answers(
    chunks: list[Chunk], n: int, rng: random.Random, *, mark_gaps: bool = False
) -> list[tuple[str, list[Citation], list[Passage]]]:
    """``n`` answers in the extractive composer's form, each with its citations and retrieved passages;
    sentences of one passage joined by a space, or by " … " where some were left out (``mark_gaps``)."""
    usable = [c for c in chunks if not c.procedural and len(split_sentences(c.text)) >= 2]
    answers = []
    for _ in range(n):
        cited = rng.sample(usable, rng.randint(1, 3))
        others = rng.sample(chunks, RETRIEVED - len(cited))
        lines, citations = [], []
        for number, chunk in enumerate(cited, start=1):
            sentences = split_sentences(chunk.text)
            picked = sorted(rng.sample(range(len(sentences)), min(len(sentences), rng.randint(1, 3))))
            quote = sentences[picked[0]]
            for previous, position in zip(picked, picked[1:]):
                quote += (" … " if mark_gaps and position != previous + 1 else " ") + sentences[position]
            passage = Passage.from_chunk(chunk)
            lines.append(f"{attribution(passage)}: “{quote}” [{number}]")
            citations.append(Citation.from_passage(number, passage, [sentences[i] for i in picked]))
        answers.append(("\n\n".join(lines), citations, [Passage.from_chunk(c) for c in cited + others]))
    return answers


def one_word_changed(text: str, rng: random.Random) -> str:
    """Every quote with one of its longer words replaced."""

    def change(quote: str) -> str:
        words = quote.split(" ")
        long = [i for i, w in enumerate(words) if len(w) > 5 and w.isalpha()]
        if long:
            words[rng.choice(long)] = "gewijzigd"
        return " ".join(words)

    spans = verify.quote_spans(text)
    for start, end in reversed(spans):
        text = text[: start + 1] + change(text[start + 1 : end - 1]) + text[end - 1 :]
    return text


def cited_elsewhere(answer: tuple[str, list[Citation], list[Passage]], chunks: list[Chunk], rng: random.Random):
    """The same answer with every citation pointing at another speaker's passage."""
    text, citations, passages = answer
    moved = []
    for c in citations:
        other = rng.choice([k for k in chunks if k.speaker != c.speaker and not k.procedural])
        moved.append(Citation.from_passage(c.n, Passage.from_chunk(other), []))
    return text, moved, passages + [Passage.from_chunk(chunks[0])]


def invented(answer: tuple[str, list[Citation], list[Passage]]):
    text, citations, passages = answer
    lines = [f"{line.split(': “')[0]}: „{INVENTED}” [{c.n}]" for line, c in zip(text.split("\n\n"), citations)]
    return "\n\n".join(lines), citations, passages


def measure(answers, chunks: list[Chunk], repeat: int) -> tuple[list[float], list[float], Counter]:
    """Per answer (ms): its first check, with none of its passages normalised yet ('cold'), and the
    fastest of ``repeat`` more; and the statuses of the checks."""
    facts = verify._facts(chunks)
    cold, warm, statuses = [], [], Counter()
    for text, citations, passages in answers:
        facts.padded.clear()
        facts.words.clear()
        started = time.perf_counter()
        result = verify.verify_quotes(text, citations, passages, chunks)
        cold.append((time.perf_counter() - started) * 1000)
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            verify.verify_quotes(text, citations, passages, chunks)
            best = min(best, (time.perf_counter() - started) * 1000)
        warm.append(best)
        statuses.update(q.status for q in result.quotes)
    return cold, warm, statuses


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=200, help="answers per kind (default 200)")
    parser.add_argument("--repeat", type=int, default=5, help="checks per answer; the fastest counts (default 5)")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    chunks, origin = load_chunks(load_settings())
    print(f"chunks: {len(chunks)} from {origin}")
    started = time.perf_counter()
    verify._facts(chunks).corpus  # noqa: B018 - built once per index, on the first misattribution search
    print(
        f"corpus text for misattribution search, built once per index: {(time.perf_counter() - started) * 1000:.1f} ms"
    )

    base = extractive_answers(chunks, args.answers, rng)
    marked = extractive_answers(chunks, args.answers, random.Random(args.seed), mark_gaps=True)
    kinds = {
        "extractive": base,
        "extractive, gaps marked": marked,
        "llm, one word changed": [(one_word_changed(t, rng), c, p) for t, c, p in marked],
        "llm, wrong passage cited": [cited_elsewhere(a, chunks, rng) for a in marked],
        "llm, invented": [invented(a) for a in marked],
    }
    print(f"\n{'':<26} {'':>5} {'cold (passages new)':^26} {'warm (passages seen)':^26}")
    header = f"{'median':>8} {'p95':>8} {'max':>8}"
    print(f"{'answers':<26} {'n':>5} {header}   {header}  statuses")
    for name, answers in kinds.items():
        cold, warm, statuses = measure(answers, chunks, args.repeat)
        figures = [f"{statistics.median(t):>8.3f} {percentile(t, 95):>8.3f} {max(t):>8.3f}" for t in (cold, warm)]
        shown = ", ".join(f"{status} {count}" for status, count in statuses.most_common())
        print(f"{name:<26} {len(cold):>5} {figures[0]}   {figures[1]}  {shown}")
    print(
        "\nms per answer; 'cold': the first check, its passages not yet normalised; 'warm': the fastest of "
        f"{args.repeat} more."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
