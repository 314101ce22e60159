"""Answering: validate -> condense follow-ups -> retrieve -> answer (LLM or extractive) -> Answer.

``Answerer`` loads the index and models once; ``answer()`` is the one-shot convenience.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator, Sequence

from kamerbron.errors import LLMEndpointError, QuestionInvalidError
from kamerbron.fingerprint import index_shape, settings_hash
from kamerbron.records import Answer, AnswerUpdate, Filters, Passage
from kamerbron.settings import Settings
from rag.commitment_answers import commitment_answer
from rag.compose import ExtractiveComposer
from rag.evidence import EvidenceFinder, default_ranker
from rag.retrieve import Retriever
from rag.verify import verify_answer

LLM_FALLBACK_NOTICE = (
    "Het taalmodel gaf geen antwoord ({reason}); hieronder staat het antwoord dat rechtstreeks uit de "
    "gevonden passages is samengesteld."
)
# Refusal threshold on the best hit's share of the question's words, used when the learned
# answerability does not fit the embedding in use (tests' hash embedding): the calibrated value of
# the earlier, coverage-based composer (`python -m eval calibrate`, November 2026).
COVERAGE_REFUSAL_THRESHOLD = 0.3
# Latin letters (incl. accents) must dominate a question; Kamerbron reads Dutch and English.
_MIN_LATIN_SHARE = 0.6


def validate_question(question: str, settings: Settings) -> str:
    """The cleaned question, or QuestionInvalidError with a Dutch message for the user."""
    if not isinstance(question, str):
        raise QuestionInvalidError("De vraag moet tekst zijn.")
    controls = [c for c in question if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\r\t"]
    if controls:
        raise QuestionInvalidError(
            "De vraag bevat onzichtbare stuurtekens. Typ de vraag opnieuw of plak haar als platte tekst."
        )
    cleaned = " ".join(question.split())
    if not cleaned:
        raise QuestionInvalidError(
            "De vraag is leeg. Stel een vraag over de Kamerstukken, bijvoorbeeld over mensenhandel."
        )
    limit = settings.answer.max_question_chars
    if len(cleaned) > limit:
        raise QuestionInvalidError(
            f"De vraag is te lang ({len(cleaned)} tekens; maximaal {limit}). Maak haar korter en specifieker."
        )
    letters = [c for c in cleaned if c.isalpha()]
    if not letters:
        raise QuestionInvalidError("De vraag bevat geen woorden. Stel een vraag in het Nederlands of Engels.")
    latin = sum("LATIN" in unicodedata.name(c, "") for c in letters)
    if latin / len(letters) < _MIN_LATIN_SHARE:
        raise QuestionInvalidError(
            "Kamerbron beantwoordt vragen in het Nederlands of Engels. Stel de vraag in een van die talen."
        )
    return cleaned


class Answerer:
    """Holds the retriever (index, embedder) and the LLM client; answers many questions."""

    def __init__(self, settings: Settings | None = None, *, retriever: Retriever | None = None, llm=None):
        self.settings = settings or (retriever.settings if retriever else Settings())
        self.retriever = retriever or Retriever(self.settings)
        if llm is None and self.use_llm:
            from rag.llm import build_llm

            llm = build_llm(self.settings)
        self.llm = llm
        self._composer: ExtractiveComposer | None = None
        self.settings_hash = settings_hash(self.settings)

    @property
    def composer(self) -> ExtractiveComposer:
        """The extractive composer; its learned ranker is read on first use (training runs without it)."""
        if self._composer is None:
            ranker = default_ranker()
            threshold = self.settings.answer.refusal_threshold
            embedding = index_shape(self.settings)["embedding_model"]
            finder = EvidenceFinder(
                self.retriever.index,
                lambda text: self.retriever.embedder.embed_query(text),
                ranker,
                embedding=embedding,
            )
            if threshold is None:
                threshold = ranker.threshold if finder.learned_embedding else COVERAGE_REFUSAL_THRESHOLD
            self._composer = ExtractiveComposer(
                finder, max_sentences=self.settings.answer.max_sentences, refusal_threshold=threshold
            )
        return self._composer

    @property
    def use_llm(self) -> bool:
        backend = self.settings.answer.backend
        return backend == "llm" or (backend == "auto" and bool(self.settings.llm.base_url))

    def facets(self) -> dict:
        return self.retriever.facets()

    def condense(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        if not history:
            return question
        from rag.condense import condense_question

        return condense_question(question, list(history), self.llm if self.use_llm else None)

    def retrieve(self, question: str, filters: Filters | None = None) -> list[Passage]:
        return self.retriever.retrieve(question, filters=filters)

    def answer(
        self, question: str, *, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None
    ) -> Answer:
        final = None
        for update in self.stream(question, history=history, filters=filters):
            final = update.final or final
        assert final is not None
        return final

    def stream(
        self, question: str, *, history: Sequence[tuple[str, str]] = (), filters: Filters | None = None
    ) -> Iterator[AnswerUpdate]:
        """Yield the answer text as it grows; the last update carries the final Answer."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = validate_question(question, self.settings)
        from rag.condense import condense_question
        from rag.llm import user_reason, with_deadline

        # One deadline for every LLM call of this answer (condensing, generating, retries): the configured timeout.
        llm = with_deadline(self.llm, self.settings.llm.timeout_s) if self.use_llm else None
        t0 = time.perf_counter()
        standalone = condense_question(question, list(history), llm) if history else question
        timings["condense_ms"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        passages = self.retrieve(standalone, filters)
        timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        timings.update(self.retriever.last_timings_ms)

        answer = Answer(
            question=question,
            standalone_question=standalone,
            answer="",
            retrieved=passages,
            settings_hash=self.settings_hash,
        )
        t0 = time.perf_counter()
        if llm is not None:
            try:
                yield from self._stream_llm(standalone, passages, history, answer, llm)
            except LLMEndpointError as exc:
                # Dutch, without the endpoint URL or setting names: rag.llm has logged those.
                answer.notice = LLM_FALLBACK_NOTICE.format(reason=user_reason(exc))
                self._extractive(standalone, passages, answer)
        else:
            self._extractive(standalone, passages, answer)
        timings["generate_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        verify_answer(answer, self.retriever.index.chunks)  # every quote checked against its source
        timings["verify_ms"] = (time.perf_counter() - t0) * 1000
        timings["total_ms"] = (time.perf_counter() - started) * 1000
        answer.timings_ms = {k: round(v, 2) for k, v in timings.items()}
        yield AnswerUpdate(text=answer.answer, final=answer)

    def _extractive(self, question: str, passages: list[Passage], answer: Answer) -> None:
        # A question about toezeggingen is answered from the commitment records (rag/commitment_answers.py).
        if (listed := commitment_answer(question, self.retriever.index, self.settings)) is not None:
            answer.answer, answer.citations, answer.refused = listed.answer, listed.citations, listed.refused
            cited = {p.chunk_id for p in listed.retrieved}
            answer.retrieved = listed.retrieved + [p for p in answer.retrieved if p.chunk_id not in cited]
            answer.backend = listed.backend
            return
        composition = self.composer.compose(question, passages, self.retriever.last_query_vector)
        answer.answer, answer.citations = composition.text, composition.citations
        answer.refused, answer.backend = composition.refused, "extractive"

    def _stream_llm(
        self, question: str, passages: list[Passage], history, answer: Answer, llm=None
    ) -> Iterator[AnswerUpdate]:
        from rag.generate import stream_generate

        resolved = None
        for item in stream_generate(question, passages, llm or self.llm, history=list(history)):
            if isinstance(item, str):
                yield AnswerUpdate(text=item)
            else:
                resolved = item
        if resolved is None:
            raise LLMEndpointError("The LLM stream ended without an answer. Check KAMERBRON_LLM_BASE_URL.")
        answer.answer = resolved.text
        answer.citations = resolved.citations
        answer.refused = resolved.refused
        answer.unsupported_sentences = resolved.unsupported_sentences
        answer.backend = "llm"


def _short_reason(exc: Exception) -> str:
    text = str(exc).split(". ")[0]
    return text if len(text) < 160 else text[:157] + "..."


def answer(
    question: str,
    *,
    history: Sequence[tuple[str, str]] = (),
    filters: Filters | None = None,
    retriever: Retriever | None = None,
    llm=None,
    settings: Settings | None = None,
) -> Answer:
    """Answer one question; builds an ``Answerer`` from settings unless parts are injected."""
    return Answerer(settings, retriever=retriever, llm=llm).answer(question, history=history, filters=filters)
