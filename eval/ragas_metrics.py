"""ragas 0.4.3 metrics for the evaluation, through its current metric API (``ragas.metrics.collections``),
offline unless a judge endpoint is configured.

Always (no LLM):

- ``ragas_quoted_spans``: ragas' ``QuotedSpansAlignment``, the share of the answer's quoted spans of
  three words or more found verbatim (case and whitespace aside) in the retrieved passages. It fits
  extractive answers, which quote; an answer without such a quote scores 1, as ragas defines it. An
  ellipsis inside a quote marks words left out (as in ``rag/verify.py``), so each part is handed to
  ragas as a quote of its own; otherwise it is stricter than ``rag/verify.py`` (punctuation and
  hyphenation count). Answered items only.
- ``ragas_context_precision`` / ``ragas_context_recall``: ragas keeps its non-LLM context precision and
  recall only under the deprecated ``ragas.metrics`` names, so they are defined here on the collections'
  ``BaseMetric`` with the same formulas, the gold quotes as reference contexts and ``quote_in_text`` (1 or 0)
  as the match: precision is the average precision of the retrieved passages holding a gold quote,
  recall the share of gold quotes held by a retrieved passage. The source file is not compared here,
  unlike ``recall@k``.
- ``ragas_string_presence``: ragas' ``StringPresence`` per required fact (any variant present,
  case-folded, no number normalisation), averaged over the facts; answered (not refused) items only.
- ``ragas_string_similarity``: ``NonLLMStringSimilarity`` (Levenshtein) between the answer and the gold
  quotes; needs ``rapidfuzz``, recorded as skipped when it is not installed.

Only with ``settings.judge.base_url`` (an OpenAI-compatible judge, through ragas' ``llm_factory``):
``ragas_faithfulness``, ``ragas_answer_relevancy`` (questions embedded with the project's own
embedder, so no embedding endpoint is needed) and ``ragas_factual_correctness`` (reference: the
gold quotes). Without a judge they are recorded as skipped with the reason.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from eval.dataset import quote_in_text
from kamerbron.embed import build_embedder
from rag.verify import quote_spans

# ragas reads this once, on its first tracking call; it must never reach its analytics endpoint.
os.environ["RAGAS_DO_NOT_TRACK"] = "true"

JUDGE_TIMEOUT_S = 120.0
JUDGE_MAX_RETRIES = 2

NON_LLM_METRICS = (
    "ragas_context_precision",
    "ragas_context_recall",
    "ragas_quoted_spans",
    "ragas_string_presence",
    "ragas_string_similarity",
)
LLM_METRICS = ("ragas_faithfulness", "ragas_answer_relevancy", "ragas_factual_correctness")
# An ellipsis, bare or bracketed, inside a quote.
_ELLIPSIS_IN_QUOTE = re.compile(r"\s*\[?…\]?\s*")


def judge_skip_reason(settings: Any) -> str | None:
    """Why the LLM-judged metrics cannot run, or None when they can."""
    if not settings.judge.base_url:
        return "no judge endpoint: set KAMERBRON_JUDGE_BASE_URL (and KAMERBRON_JUDGE_MODEL) to run it"
    return None


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    # ragas adds 1e-10 to denominators; six decimals hide that noise.
    return None if math.isnan(value) else round(value, 6)


def quotes_split_at_ellipses(answer: str) -> str:
    """``answer`` with each quote that leaves words out (“A … B”) written as one quote per part (“A” “B”)."""
    out, last = [], 0
    for start, end in quote_spans(answer):
        out += [answer[last:start], _ELLIPSIS_IN_QUOTE.sub("” “", answer[start:end])]
        last = end
    return "".join(out) + answer[last:]


def _average_precision(verdicts: list[int]) -> float:
    """ragas' average precision over ranked 0/1 verdicts (0 when none is relevant)."""
    hits = sum(verdicts)
    if not hits:
        return 0.0
    return sum(sum(verdicts[: i + 1]) / (i + 1) for i, v in enumerate(verdicts) if v) / hits


def _context_metrics(matcher: Callable[[str, str], bool]) -> tuple[Any, Any]:
    """Non-LLM context precision and recall as ragas collections metrics, matching with ``matcher``."""
    # ragas is heavy (langchain, datasets): imported only when a scorer is built
    from ragas.metrics import MetricResult
    from ragas.metrics.collections import BaseMetric

    def held(quote: str, passages: list[str]) -> int:
        return int(any(matcher(quote, p) for p in passages))

    class QuoteContextPrecision(BaseMetric):
        """Average precision of the retrieved contexts, a context relevant when it holds a reference quote."""

        async def ascore(self, retrieved_contexts: list[str], reference_contexts: list[str]) -> MetricResult:
            verdicts = [max(held(q, [c]) for q in reference_contexts) for c in retrieved_contexts]
            return MetricResult(value=_average_precision(verdicts))

    class QuoteContextRecall(BaseMetric):
        """Share of the reference quotes that some retrieved context holds."""

        async def ascore(self, retrieved_contexts: list[str], reference_contexts: list[str]) -> MetricResult:
            found = [held(q, retrieved_contexts) for q in reference_contexts]
            return MetricResult(value=sum(found) / len(found))

    return (
        QuoteContextPrecision(name="quote_context_precision"),
        QuoteContextRecall(name="quote_context_recall"),
    )


def _ragas_embeddings(embedder_factory):
    """ragas embeddings over the project's embedder, built on first use (only answer relevancy needs it)."""
    # ragas is heavy (langchain, datasets): imported only when a judge is configured
    from ragas.embeddings import BaseRagasEmbedding

    class ProjectEmbeddings(BaseRagasEmbedding):
        def __init__(self):
            super().__init__()
            self._embedder = None

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            if self._embedder is None:
                self._embedder = embedder_factory()
            # Both sides are questions here (the asked one and those the judge derives), embedded alike.
            return self._embedder.embed_query(text).tolist()

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return self.embed_text(text)

    return ProjectEmbeddings()


class RagasScorer:
    """Scores one answered item with the ragas metrics that can run here.

    ``skipped`` maps metric name to the reason it does not run; ``score`` returns, per item,
    ``{"scores": {name: float | None}, "errors": {name: message}}``.
    """

    def __init__(self, settings: Any, *, matcher=None, embedder_factory=None):
        os.environ["RAGAS_DO_NOT_TRACK"] = "true"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # ragas is heavy (langchain, datasets): loaded by the eval run only, never by the app
            from ragas.metrics.collections import QuotedSpansAlignment, StringPresence

        self.skipped: dict[str, str] = {}
        self._context_precision, self._context_recall = _context_metrics(matcher or quote_in_text)
        self._quoted_spans = QuotedSpansAlignment()
        self._string_presence = StringPresence()
        self._string_similarity = None
        try:
            # optional: needs rapidfuzz, and the metric is recorded as skipped without it
            from ragas.metrics.collections import NonLLMStringSimilarity

            self._string_similarity = NonLLMStringSimilarity()
        except ImportError as exc:
            self.skipped["ragas_string_similarity"] = f"not available: {exc}"

        self._judged: dict[str, Any] = {}
        reason = judge_skip_reason(settings)
        if reason:
            self.skipped.update(dict.fromkeys(LLM_METRICS, reason))
        else:
            self._judged = _judge_metrics(settings, embedder_factory)
        # The metrics are async; one loop for all of them, so the judge's HTTP connections are reused.
        self._loop = asyncio.new_event_loop()
        weakref.finalize(self, self._loop.close)

    def _value(self, metric: Any, **inputs: Any) -> float:
        return self._loop.run_until_complete(metric.ascore(**inputs)).value

    def score(
        self,
        *,
        question: str,
        answer: str,
        refused: bool,
        contexts: Sequence[str],
        gold_quotes: Sequence[str],
        facts: Sequence[Sequence[str]],
    ) -> dict[str, dict]:
        scores: dict[str, float | None] = {}
        errors: dict[str, str] = {}

        def run(name: str, compute) -> None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores[name] = _clean(compute())
            except Exception as exc:  # a judge or metric failure costs one score, not the run
                scores[name] = None
                errors[name] = f"{type(exc).__name__}: {exc}"[:300]

        value = self._value
        contexts, gold_quotes = list(contexts), list(gold_quotes)
        if gold_quotes and contexts:
            both = {"retrieved_contexts": contexts, "reference_contexts": gold_quotes}
            run("ragas_context_precision", lambda: value(self._context_precision, **both))
            run("ragas_context_recall", lambda: value(self._context_recall, **both))
        elif gold_quotes:
            scores["ragas_context_precision"] = scores["ragas_context_recall"] = 0.0
        has_answer = bool(answer.strip()) and not refused
        if has_answer:
            run(
                "ragas_quoted_spans",
                lambda: value(
                    self._quoted_spans, response=quotes_split_at_ellipses(answer), retrieved_contexts=contexts
                ),
            )
        if facts and has_answer:
            run("ragas_string_presence", lambda: self._fact_presence(answer, facts))
        if self._string_similarity is not None and gold_quotes and has_answer:
            reference = "\n".join(gold_quotes)
            run(
                "ragas_string_similarity",
                lambda: value(self._string_similarity, reference=reference, response=answer),
            )
        judged = self._judged
        if has_answer and "ragas_faithfulness" in judged:
            inputs = {"user_input": question, "response": answer, "retrieved_contexts": contexts or [""]}
            run("ragas_faithfulness", lambda: value(judged["ragas_faithfulness"], **inputs))
        if has_answer and "ragas_answer_relevancy" in judged:
            inputs = {"user_input": question, "response": answer}
            run("ragas_answer_relevancy", lambda: value(judged["ragas_answer_relevancy"], **inputs))
        if has_answer and gold_quotes and "ragas_factual_correctness" in judged:
            inputs = {"response": answer, "reference": "\n".join(gold_quotes)}
            run("ragas_factual_correctness", lambda: value(judged["ragas_factual_correctness"], **inputs))
        return {"scores": scores, "errors": errors}

    def _fact_presence(self, answer: str, facts: Sequence[Sequence[str]]) -> float:
        folded = answer.casefold()
        present = [
            max(self._value(self._string_presence, reference=v.casefold(), response=folded) for v in f)
            for f in facts
            if f
        ]
        return sum(present) / len(present)


def _judge_metrics(settings: Any, embedder_factory=None) -> dict[str, Any]:
    """The LLM-judged collections metrics, asking the judge in ``settings.judge``."""
    # openai's async client and ragas are heavy: imported only when a judge endpoint is configured
    from openai import AsyncOpenAI
    from ragas.llms import llm_factory
    from ragas.metrics.collections import AnswerRelevancy, FactualCorrectness, Faithfulness

    judge = settings.judge
    client = AsyncOpenAI(
        base_url=judge.base_url,
        # The openai client refuses an empty key; local endpoints ignore it.
        api_key=judge.api_key.get_secret_value() or "unused",
        timeout=JUDGE_TIMEOUT_S,
        max_retries=JUDGE_MAX_RETRIES,
    )
    # JSON mode through instructor; answer relevancy asks for its questions one request at a time.
    llm = llm_factory(judge.model or "judge", provider="openai", client=client, temperature=0)
    if embedder_factory is None:

        def embedder_factory():
            return build_embedder(settings)

    return {
        "ragas_faithfulness": Faithfulness(llm=llm),
        "ragas_answer_relevancy": AnswerRelevancy(llm=llm, embeddings=_ragas_embeddings(embedder_factory)),
        "ragas_factual_correctness": FactualCorrectness(llm=llm),
    }
