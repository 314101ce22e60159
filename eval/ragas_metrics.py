"""ragas 0.4.3 metrics for the evaluation, offline unless a judge endpoint is configured.

Always (no LLM):

- ``ragas_context_precision`` / ``ragas_context_recall``: ragas' ``NonLLMContextPrecisionWithReference``
  and ``NonLLMContextRecall`` with the gold quotes as reference contexts. Their default string
  distance (Levenshtein between a whole passage and a short quote) says little about whether the
  quote is in the passage, so the distance measure is ``quote_in_text`` (1 or 0); the source file
  is not compared here, unlike ``recall@k``.
- ``ragas_string_presence``: ragas' ``StringPresence`` per required fact (any variant present,
  case-folded, no number normalisation), averaged over the facts; answered (not refused) items only.
- ``ragas_string_similarity``: ``NonLLMStringSimilarity`` between the answer and the gold quotes;
  needs ``rapidfuzz``, recorded as skipped when it is not installed.

Only with ``settings.judge.base_url`` (OpenAI-compatible judge through ragas' LangChain wrapper):
``ragas_faithfulness``, ``ragas_answer_relevancy`` (questions embedded with the project's own
embedder, so no embedding endpoint is needed) and ``ragas_factual_correctness`` (reference: the
gold quotes). Without a judge they are recorded as skipped with the reason.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eval.dataset import quote_in_text
from kamerbron.embed import build_embedder

# ragas reads this once, on its first tracking call; it must never reach its analytics endpoint.
os.environ["RAGAS_DO_NOT_TRACK"] = "true"

JUDGE_TIMEOUT_S = 120.0
JUDGE_MAX_RETRIES = 2

NON_LLM_METRICS = (
    "ragas_context_precision",
    "ragas_context_recall",
    "ragas_string_presence",
    "ragas_string_similarity",
)
LLM_METRICS = ("ragas_faithfulness", "ragas_answer_relevancy", "ragas_factual_correctness")


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


def _ragas_embeddings(embedder_factory):
    """ragas embeddings over the project's embedder, built on first use (only answer relevancy needs it)."""
    # ragas is heavy (langchain, datasets): imported only when metrics are actually computed
    from ragas.embeddings.base import BaseRagasEmbeddings
    from ragas.run_config import RunConfig

    class ProjectEmbeddings(BaseRagasEmbeddings):
        def __init__(self):
            super().__init__()
            self.set_run_config(RunConfig())
            self._embedder = None

        def _get(self):
            if self._embedder is None:
                self._embedder = embedder_factory()
            return self._embedder

        def embed_query(self, text: str) -> list[float]:
            return self._get().embed_query(text).tolist()

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            # Both sides are questions here, so they are embedded alike.
            return [self.embed_query(t) for t in texts]

        async def aembed_query(self, text: str) -> list[float]:
            return self.embed_query(text)

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

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
            from ragas.dataset_schema import SingleTurnSample
            from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference
            from ragas.metrics._context_recall import NonLLMContextRecall
            from ragas.metrics._string import StringPresence

        matcher = matcher or quote_in_text
        self._sample = SingleTurnSample
        self.skipped: dict[str, str] = {}
        containment = _quote_containment_metric(matcher)
        self._context_precision = NonLLMContextPrecisionWithReference(distance_measure=containment)
        self._context_recall = NonLLMContextRecall(_distance_measure=containment)
        self._string_presence = StringPresence()
        self._string_similarity = None
        try:
            # optional: needs rapidfuzz, and the metric is recorded as skipped without it
            from ragas.metrics._string import NonLLMStringSimilarity

            self._string_similarity = NonLLMStringSimilarity()
        except ImportError as exc:
            self.skipped["ragas_string_similarity"] = f"not available: {exc}"

        self._judged: dict[str, Any] = {}
        reason = judge_skip_reason(settings)
        if reason:
            self.skipped.update(dict.fromkeys(LLM_METRICS, reason))
        else:
            self._judged = _judge_metrics(settings, embedder_factory)

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

        sample = self._sample
        if gold_quotes and contexts:
            s = sample(retrieved_contexts=list(contexts), reference_contexts=list(gold_quotes))
            run("ragas_context_precision", lambda: self._context_precision.single_turn_score(s))
            run("ragas_context_recall", lambda: self._context_recall.single_turn_score(s))
        elif gold_quotes:
            scores["ragas_context_precision"] = scores["ragas_context_recall"] = 0.0
        has_answer = bool(answer.strip()) and not refused
        if facts and has_answer:
            run("ragas_string_presence", lambda: self._fact_presence(answer, facts))
        if self._string_similarity is not None and gold_quotes and has_answer:
            s = sample(reference="\n".join(gold_quotes), response=answer)
            run("ragas_string_similarity", lambda: self._string_similarity.single_turn_score(s))
        if has_answer and "ragas_faithfulness" in self._judged:
            s = sample(user_input=question, response=answer, retrieved_contexts=list(contexts) or [""])
            run("ragas_faithfulness", lambda: self._judged["ragas_faithfulness"].single_turn_score(s))
        if has_answer and "ragas_answer_relevancy" in self._judged:
            s = sample(user_input=question, response=answer)
            run("ragas_answer_relevancy", lambda: self._judged["ragas_answer_relevancy"].single_turn_score(s))
        if has_answer and gold_quotes and "ragas_factual_correctness" in self._judged:
            s = sample(response=answer, reference="\n".join(gold_quotes))
            run("ragas_factual_correctness", lambda: self._judged["ragas_factual_correctness"].single_turn_score(s))
        return {"scores": scores, "errors": errors}

    def _fact_presence(self, answer: str, facts: Sequence[Sequence[str]]) -> float:
        folded = answer.casefold()
        present = [
            max(
                self._string_presence.single_turn_score(self._sample(reference=v.casefold(), response=folded))
                for v in f
            )
            for f in facts
            if f
        ]
        return sum(present) / len(present)


def _quote_containment_metric(matcher):
    """A ragas single-turn metric: 1.0 when the response (a gold quote) is in the reference (a passage)."""
    # ragas is heavy (langchain, datasets): imported only when a scorer is built
    from ragas.metrics.base import MetricType, SingleTurnMetric

    @dataclass
    class QuoteContainment(SingleTurnMetric):
        name: str = "quote_containment"
        _required_columns: dict = field(default_factory=lambda: {MetricType.SINGLE_TURN: {"reference", "response"}})

        def init(self, run_config) -> None:
            pass

        async def _single_turn_ascore(self, sample, callbacks) -> float:
            return float(bool(matcher(sample.response or "", sample.reference or "")))

        async def _ascore(self, row, callbacks) -> float:
            return float(bool(matcher(row.get("response") or "", row.get("reference") or "")))

    return QuoteContainment()


def _judge_metrics(settings: Any, embedder_factory=None) -> dict[str, Any]:
    # langchain and ragas are heavy: imported only when a judge endpoint is configured
    from langchain_openai import ChatOpenAI
    from ragas.llms.base import LangchainLLMWrapper
    from ragas.metrics._answer_relevance import ResponseRelevancy
    from ragas.metrics._factual_correctness import FactualCorrectness
    from ragas.metrics._faithfulness import Faithfulness
    from ragas.run_config import RunConfig

    judge = settings.judge
    chat = ChatOpenAI(
        model=judge.model or "judge",
        base_url=judge.base_url,
        # The openai client refuses an empty key; local endpoints ignore it.
        api_key=judge.api_key.get_secret_value() or "unused",
        temperature=0,
        timeout=JUDGE_TIMEOUT_S,
        max_retries=JUDGE_MAX_RETRIES,
    )
    run_config = RunConfig(timeout=int(JUDGE_TIMEOUT_S), max_retries=JUDGE_MAX_RETRIES, max_wait=10)
    # Many OpenAI-compatible servers ignore `n`; ask for several completions one request at a time.
    # The legacy single-turn metrics take only this wrapper, which ragas marks deprecated.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        llm = LangchainLLMWrapper(chat, run_config=run_config, bypass_n=True)
    if embedder_factory is None:

        def embedder_factory():
            return build_embedder(settings)

    return {
        "ragas_faithfulness": Faithfulness(llm=llm),
        "ragas_answer_relevancy": ResponseRelevancy(llm=llm, embeddings=_ragas_embeddings(embedder_factory)),
        "ragas_factual_correctness": FactualCorrectness(llm=llm),
    }
