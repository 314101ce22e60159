"""The extractive answer: composed from the best sentences of the top passages, each quoted,
attributed to its speaker (party, role, date) and cited. No model is involved, so it works offline
and cannot say anything the documents do not say.

Sentences are scored by how much of the question's (idf-weighted, stemmed) content they cover,
weighted by the rank of their passage. The answer refuses when the evidence is weak: the
confidence is the best passage's coverage blended with its dense similarity, and the threshold
(``answer.refusal_threshold``) is calibrated on the evaluation set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kamerbron.analyzer import Analyzer
from kamerbron.records import Citation, Passage
from kamerbron.text import GOVERNMENT_ROLES, MONTHS_NL, format_date, is_english, split_sentences
from rag.prompts import REFUSAL_SENTENCE
from rag.retrieve import expand_for_bm25

_QUANTITY_QUESTION = re.compile(r"\b(hoeveel|hoe groot|hoe veel|welk bedrag|welke bedragen|aantal|percentage|how many|how much|what amount|what share|what percentage)\b", re.I)
_DATE_QUESTION = re.compile(r"\b(wanneer|welke datum|in welk jaar|sinds wanneer|when|what date|which year|what year)\b", re.I)
_NUMBER = re.compile(r"\d|\b(een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|twintig|dertig|honderd|duizend|miljoen|miljard|procent|helft|derde|kwart)\b", re.I)
_DATE = re.compile(r"\b(19|20)\d{2}\b|\b(" + "|".join(MONTHS_NL) + r")\b", re.I)
# In a government answer, a sentence that restates the party's question is not the answer.
_RESTATED_QUESTION = re.compile(r"^(ook )?(de|het) (leden|vraag|vragen|fractie)\b|\bvragen (of|naar|wat|hoe|waarom)\b", re.I)
_COMPARE_HINTS = re.compile(r"\b(verschil\w*|vergelijk\w*|partijen|fracties|compare\w*|differ\w*|parties|versus|vs\.?|tegenover)\b", re.I)


def attribution(p: Passage, english: bool = False) -> str:
    """'Minister Blok antwoordde op 16 februari 2017' / 'De heer Van Nispen (SP) zei op ...'."""
    who = p.speaker or ("the document" if english else "Het document")
    if p.role == "fractie":
        who = f"De {who}" if not english else f"The members of the {p.party} group"
    elif p.party and p.role != "fractie":
        who = f"{who} ({p.party})"
    if english:
        verb = {"fractie": "asked", "minister": "replied" if p.replies_to else "said"}.get(p.role, "said")
        if p.role == "staatssecretaris":
            verb = "replied" if p.replies_to else "said"
        if p.doc_type == "brief":
            verb = "wrote"
    else:
        verb = "zei"
        if p.role == "fractie":
            verb = "schreven"
        elif p.role in GOVERNMENT_ROLES and p.replies_to:
            verb = "antwoordde"
        elif p.doc_type in ("brief", "schriftelijk_overleg"):
            verb = "schreef"
    date = format_date(p.date, english)
    if date:
        return f"{who} {verb} {'on' if english else 'op'} {date}"
    return f"{who} {verb}"


@dataclass
class ScoredSentence:
    passage_index: int
    text: str
    score: float
    coverage: float


class ExtractiveComposer:
    """Scores sentences of retrieved passages against a question and writes the cited answer."""

    def __init__(
        self, analyzer: Analyzer, idf, max_idf: float, *, max_sentences: int = 4, refusal_threshold: float = 0.3
    ):
        self.analyzer = analyzer
        self.idf = idf
        self.max_idf = max_idf
        self.max_sentences = max_sentences
        self.refusal_threshold = refusal_threshold

    def query_weights(self, question: str, *, unseen_weight: float = 0.0) -> dict[str, float]:
        """Stemmed question terms weighted by idf; terms the corpus never uses get ``unseen_weight``."""
        weights = {}
        for token in self.analyzer.tokens(expand_for_bm25(question)):
            idf = self.idf(token)
            weights[token] = unseen_weight if idf is None else idf
        return weights

    def coverage(self, weights: dict[str, float], text: str) -> float:
        total = sum(weights.values())
        if not total:
            return 0.0
        present = set(self.analyzer.tokens(text))
        return sum(w for t, w in weights.items() if t in present) / total

    def confidence(self, question: str, passages: list[Passage]) -> float:
        """Evidence strength in [0, 1]: best of the top hits' term coverage blended with dense similarity.

        A Dutch question's words that the corpus never uses weigh as much as its rarest words: the
        documents cannot be about them. English words are mostly unseen by nature, so there only
        the words the corpus knows (and their Dutch equivalents) count.
        """
        unseen = 0.0 if is_english(question) else self.max_idf
        weights = self.query_weights(question, unseen_weight=unseen)
        best = 0.0
        for p in [p for p in passages if p.via == "hit"][:3]:
            cov = self.coverage(weights, f"{p.speaker} {p.party} {p.section} {p.text}")
            # e5 similarities: unrelated Dutch texts score about 0.80, a passage that answers about 0.88+
            dense = min(max(((p.dense_score or 0.80) - 0.80) / 0.10, 0.0), 1.0)
            best = max(best, 0.6 * cov + 0.4 * dense)
        return best

    def select(self, question: str, passages: list[Passage]) -> list[ScoredSentence]:
        weights = self.query_weights(question)
        compare = bool(_COMPARE_HINTS.search(question))
        # a question for a number or a date is answered by a sentence that holds one
        wants = _NUMBER if _QUANTITY_QUESTION.search(question) else _DATE if _DATE_QUESTION.search(question) else None
        candidates: list[ScoredSentence] = []
        for i, p in enumerate(passages):
            if p.procedural:
                continue
            prior = 1.0 / (1.0 + 0.35 * (p.rank - 1)) if p.via == "hit" else 0.55
            for sentence in split_sentences(p.text):
                words = len(sentence.split())
                if words < 4:
                    continue
                cov = self.coverage(weights, sentence)
                # very long sentences are costly to read; very short ones rarely carry an answer
                length = 1.0 if words <= 45 else 45 / words
                boost = 1.6 if wants is not None and wants.search(sentence) else 1.0
                if p.role in GOVERNMENT_ROLES and _RESTATED_QUESTION.search(sentence):
                    boost *= 0.5
                candidates.append(ScoredSentence(i, sentence, prior * (0.15 + cov) * length * boost, cov))
        candidates.sort(key=lambda s: -s.score)
        chosen: list[ScoredSentence] = []
        per_passage: dict[int, int] = {}
        speakers: set[str] = set()
        for s in candidates:
            if len(chosen) >= self.max_sentences:
                break
            p = passages[s.passage_index]
            if per_passage.get(s.passage_index, 0) >= 2:
                continue
            if chosen and s.score < 0.35 * chosen[0].score:
                break
            if compare and p.speaker in speakers and len(chosen) >= 2 and any(
                passages[c.passage_index].speaker != p.speaker for c in candidates[:20]
            ):
                # comparisons need more than one voice: skip a third sentence of a voice already heard
                if sum(passages[c.passage_index].speaker == p.speaker for c in chosen) >= 2:
                    continue
            chosen.append(s)
            per_passage[s.passage_index] = per_passage.get(s.passage_index, 0) + 1
            speakers.add(p.speaker)
        return chosen

    def compose(self, question: str, passages: list[Passage]) -> tuple[str, list[Citation], bool]:
        """(answer text with [n] markers, citations, refused)."""
        english = is_english(question)
        if not passages or self.confidence(question, passages) < self.refusal_threshold:
            return REFUSAL_SENTENCE, [], True
        chosen = self.select(question, passages)
        if not chosen:
            return REFUSAL_SENTENCE, [], True
        # group by passage, in order of each passage's best sentence; sentences in text order
        order: list[int] = []
        for s in chosen:
            if s.passage_index not in order:
                order.append(s.passage_index)
        citations: list[Citation] = []
        lines: list[str] = []
        for n, index in enumerate(order, start=1):
            p = passages[index]
            sentences = [s.text for s in sorted(
                (c for c in chosen if c.passage_index == index), key=lambda c: p.text.find(c.text[:40])
            )]
            quote = " ".join(sentences)
            lines.append(f"{attribution(p, english)}: “{quote}” [{n}]")
            citations.append(
                Citation.from_passage(n, p, sentences)
            )
        return "\n\n".join(lines), citations, False
