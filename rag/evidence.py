"""Sentence-level evidence: which sentences of the retrieved passages answer the question.

Stage: (question, passages) -> ``Evidence``: the question's profile (what kind of question, what it
pins down) and every candidate sentence with its features and a learned score.

Each sentence of each retrieved passage (hits and the turns linked to them) is described by
features that mix meaning and words: the e5 similarity of the question to the sentence (stored at
ingest, so answering embeds nothing new), the idf-weighted share of the question's words the
sentence holds, the passage's rank and dense score, and what the question asks for crossed with
what the sentence offers (a number for "hoeveel", a Kamerlid's own turn for "wie stelde voor", a
government turn for "wat antwoordde de minister", a party or speaker the question names). A
logistic regression over those features, trained on the gold sentences of the evaluation set and
reported on held-out folds (``python -m eval train-ranker``), turns them into a probability that
the sentence answers. Its weights are a small JSON file next to this module: readable, diffable,
no pickles.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from kamerbron.errors import KamerbronError
from kamerbron.records import Passage
from kamerbron.text import (
    GOVERNMENT_RE,
    GOVERNMENT_ROLES,
    MONTHS_NL,
    STOPWORDS,
    WHO_QUESTION_RE,
    YEAR_RE,
    find_parties,
    is_english,
    split_sentences,
)
from rag.index import LoadedIndex
from rag.query_terms import expand_for_bm25

RANKER_FILE = "sentence_ranker.json"
# Texts whose analysed tokens are kept (sentences and passages); about 60 MB at the limit.
TOKEN_CACHE_SIZE = 200_000

# ---------------------------------------------------------------- the question

_QUANTITY = re.compile(
    r"\b(?:hoeveel|hoe\s+(?:groot|veel|lang|hoog)|welk\s+bedrag|welke\s+bedragen|aantal|percentage|how\s+(?:many|much|long|high)"
    r"|what\s+(?:amount|share|percentage|number))\b",
    re.I,
)
_WHEN = re.compile(
    r"\b(?:wanneer|welke\s+datum|in\s+welk\s+jaar|sinds\s+wanneer|when|what\s+date|which\s+year|what\s+year)\b", re.I
)
_ANSWERED = re.compile(r"\b(?:antwoord\w*|reageer\w*|reageerde\w*|reactie|answer\w*|repl\w*|respond\w*)\b", re.I)
_COMPARE = re.compile(
    r"\b(?:verschil\w*|vergelijk\w*|partijen|fracties|compare\w*|differ\w*|difference\w*|parties|versus|vs\.?|tegenover"
    r"|eens|oneens)\b",
    re.I,
)
# "Waarom ...", "hoe komt het dat ...": the answer gives a reason.
# "Hoe oordeelde de PvdA over ... het kabinet ...", "Vond de VVD dat minister Blok ...", "How does the SP
# view ...": a party's view is asked; the government it names is what the view is about, not who answers
_PARTY_VIEW = re.compile(
    r"^\s*(?:en\s+)?(?:hoe\s+)?(?:vond|vonden|vindt|vinden|oordeelde|oordeelden|beoordeelde|beoordeelden|dacht|dachten"
    r"|denkt|denken|keek|keken|kijkt|stond|stonden|staat)\s+(?P<who>(?:de\s+|het\s+)?\S+(?:\s+\S+)?)"
    r"|^\s*(?:and\s+)?(?:how\s+)?(?:did|does|do)\s+(?P<who_en>(?:the\s+)?\S+(?:\s+\S+)?)\s+"
    r"(?:think|feel|judge|view|see|assess|regard)\b",
    re.I,
)
_WHY = re.compile(r"\b(?:waarom|om\s+welke\s+reden|hoe\s+komt\s+het|why|for\s+what\s+reason|how\s+come)\b", re.I)
# A sentence that gives a reason or a consequence.
_CAUSAL = re.compile(
    r"\b(?:omdat|want|doordat|daarom|vanwege|aangezien|reden\w*|immers|dus|zodat|gevolg|verklaring|oorzaak|opweegt)\b",
    re.I,
)
# A question to be answered yes or no: it opens with a verb ("Klopt het dat ...", "Zijn er ...", "Can ...").
_YES_NO = re.compile(
    r"^\s*(?:klopt|is|zijn|kan|kunnen|bestaat|bestaan|komt|komen|heeft|hebben|wordt|worden|krijgt|krijgen|gaat|gaan"
    r"|moet|moeten|zal|zullen|wil|wilde|does|do|did|is|are|was|were|can|could|will|would|has|have|should)\b",
    re.I,
)
# A sentence that takes a side on a yes/no question.
_POLARITY = re.compile(r"\b(?:geen|niet|nooit|wel|inderdaad|bevestigend|ontkennend|ja|nee)\b", re.I)
# A who-question that asks for a person ("welk Kamerlid", "which MP"): a party group's written
# question is not a member's own words.
_WHO_PERSON = re.compile(
    r"^\s*(?:en\s+)?(?:welk(?:e)?\s+(?:kamerlid|kamerleden|woordvoerder|lid)\b|which\s+(?:member|members|mp|mps|politician)\b)",
    re.I,
)

# A who-question that asks for several ("welke partijen", "which members"): one line per speaker.
_WHO_PLURAL = re.compile(
    r"^\s*(?:en\s+)?(?:welke\s+(?:partijen|fracties|kamerleden|leden|woordvoerders)\b|which\s+(?:parties|members|mps|groups)\b"
    r"|wie\b[^?]*\ballemaal\b)",
    re.I,
)

# A Dutch past participle: a separable particle or none, "ge", the verb ("opgezet", "gevraagd").
_PARTICIPLE = re.compile(
    r"^(|op|af|aan|in|uit|mee|toe|voor|na|over|door|terug|bij|vast|weg|samen|tegen|om|vrij)ge([a-z]{3,})$"
)

# Words that state an amount, for "hoeveel" questions and the answers to them.
NUMBER_WORDS = re.compile(
    r"\b(?:twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|(?:der|veer|vijf|zes|zeven|acht|negen)tien"
    r"|(?:twin|der|veer|vijf|zes|zeven|tach|negen)tig|honderd\w*|duizend\w*|miljoen\w*|miljard\w*|procent"
    r"|helft|derde|kwart|verdubbel\w*|halver\w*)\b",
    re.I,
)
_NUMBER = re.compile(r"\d|" + NUMBER_WORDS.pattern, re.I)
_DATE = re.compile(
    r"\b(?:19|20)\d{2}\b|\b(?:" + "|".join(MONTHS_NL) + r")\b|\b(?:voor|na)\s+de\s+(?:zomer|begroting)\b", re.I
)
# In a government answer, a sentence that restates the party's question is not the answer: it
# names the askers or reports the asking ("De leden van de SP-fractie vragen ...", "Ook vraagt de
# SP-fractie of ...", "Mevrouw Kuiken vroeg om aandacht voor ...", "werd als suggestie gedaan").
_RESTATED = re.compile(
    r"^(?:ook\s+)?(?:de|het|deze|voornoemde)\s+(?:leden|vraag|vragen|fractie)\b"
    r"|\b(?:vra(?:ag|gen|agt)|vroeg(?:en)?|gevraagd|suggestie|verzoek)\b",
    re.I,
)
# A sentence that sends the reader elsewhere instead of answering.
REFERS_ELSEWHERE = re.compile(
    r"\b(?:reeds\s+beantwoord|al\s+beantwoord|verwijs\s+ik|verwijzen\s+(?:wij|we|ik)|zie\s+(?:het\s+)?antwoord|hierboven"
    r"|eerder\s+in\s+dit\s+verslag|in\s+de\s+eerste\s+termijn\s+uitgelegd|zoals\s+(?:eerder\s+)?aangegeven)\b",
    re.I,
)
# A speaker putting something forward: first person plus a verb of proposing or asking.
_PROPOSES = re.compile(
    r"\b(?:(?:ik|wij|we)\s+(?:stel(?:len)?|pleit(?:en)?|vra(?:ag|gen)|wil(?:len)?|roep(?:en)?|zou(?:den)?\s+graag)"
    r"|voorstel\w*|bereid\b|oproep\w*|pleidooi)\b",
    re.I,
)
# Capitalised word sequences in a question: bodies, places and programmes it pins down
# ("Eerste Kamer", "Raad van State", "gemeenteraad van Amsterdam" -> Amsterdam).
_NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][\w'-]+(?:\s+(?:van|voor|der)\s+[A-Z][\w'-]+|\s+[A-Z][\w'-]+)*)")


# A question about the asking itself ("welke vragen stelde de SP", "wat vroeg ...", "what did X ask"):
# question sentences are then the evidence, not a sign that the answer is missing.
_ABOUT_ASKING = re.compile(
    r"\b(?:vra(?:ag|gen|agt)|vroeg(?:en)?|gevraagd|stelde(?:n)?|wilde(?:n)?\b[^.?]{0,40}?\bweten|ask(?:ed|s)?"
    r"|question(?:s|ed)?)\b",
    re.I,
)

# "op de vraag hoeveel ...", "asked how many ...": the number belongs to a question the documents
# report; what is asked now is the reaction to it
_REPORTED_QUANTITY = re.compile(
    r"\b(?:vraag|vragen|vroeg\w*|gevraagd|weten|ask\w*)\s+(?:\w+\s+){0,3}?(?:hoeveel|how\s+(?:many|much))\b", re.I
)

_ANSWER_TO_QUESTIONS = re.compile(
    r"\bantwoord(?:en)?\s+op\s+(?:de\s+|die\s+|deze\s+)?vra(?:ag|gen)\b|\banswers?\s+to\s+(?:the\s+|their\s+)?questions?\b",
    re.I,
)

# The government office a question names: the minister's words are not the state secretary's.
_ROLE_NAMED = {
    "staatssecretaris": re.compile(r"\b(?:staatssecretaris\w*|state\s+secretary)\b", re.I),
    "minister": re.compile(r"\bminister(?!ie)\w*", re.I),
}

# Capitalised words that name the parliament, the country or an office, not something a question pins down.
GENERIC_NAMES = frozenset(
    "kamer kamerlid kamerleden tweede minister staatssecretaris nederland nederlandse dutch netherlands "
    "kabinet regering rijksoverheid".split()
)
# ... nor do question and function words, capitalised where a sentence starts inside a condensed or
# run-on question ("... Welk Kamerlid ...").
_NOT_NAMES = STOPWORDS | GENERIC_NAMES | frozenset("welk waarom wanneer waar hoeveel".split())


@dataclass
class QuestionProfile:
    """What a question asks and what it pins down; derived from its words alone."""

    text: str
    english: bool
    who: bool
    quantity: bool
    when: bool
    government: bool
    gov_answer: bool
    compare: bool
    parties: list[str]
    years: list[str]
    names: list[str]
    about_asking: bool = False
    roles: tuple[str, ...] = ()
    why: bool = False
    yes_no: bool = False
    who_person: bool = False
    who_plural: bool = False
    # members of parliament the question names by surname (lower case)
    speakers: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        question: str,
        *,
        known_names: frozenset[str] = frozenset(),
        ministers: dict[str, str] | None = None,
        members: frozenset[str] = frozenset(),
    ) -> QuestionProfile:
        """``ministers``: the surnames of the corpus's government speakers and their office ("harbers":
        "staatssecretaris"): "Wat antwoordde Harbers?" asks the government as "de staatssecretaris" does.
        ``members``: the surnames of its members of parliament ("van nispen"), whom a question may name."""
        parties = find_parties(question)
        lowered = question.lower()
        speakers = sorted(name for name in members if re.search(rf"\b{re.escape(name)}\b", lowered))
        named_offices = {
            role for name, role in (ministers or {}).items() if re.search(rf"\b{re.escape(name)}\b", lowered)
        }
        # "het antwoord op de vragen van de SP": the government answers the parties' questions
        government = bool(GOVERNMENT_RE.search(question) or _ANSWER_TO_QUESTIONS.search(question) or named_offices)
        view = _PARTY_VIEW.match(question)
        if view and find_parties(view.group("who") or view.group("who_en") or "") and not _ANSWERED.search(question):
            government = False
        who = bool(WHO_QUESTION_RE.search(question))
        names = [
            n
            for n in dict.fromkeys(m.group(1) for m in _NAME.finditer(question))
            if n not in parties and not find_parties(n) and not set(n.lower().split()) <= known_names | _NOT_NAMES
        ]
        return cls(
            text=question,
            english=is_english(question),
            who=who,
            # a who-question asks for a person, also when the question it reports asked for a number; a
            # why-question asks for a reason, also when it is about a number ("why had the number dropped")
            quantity=bool(_QUANTITY.search(question))
            and not who
            and not _WHY.search(question)
            and not _REPORTED_QUANTITY.search(question),
            when=bool(_WHEN.search(question)) and not who,
            government=government and not who,
            gov_answer=government and not who and (bool(parties) or bool(_ANSWERED.search(question))),
            # parties compared: not "how does that model differ, according to the minister"
            # "welke partijen wilden ..." asks who, not how parties differ
            compare=(
                (bool(_COMPARE.search(question)) and len(parties) != 1 and not (government and not parties))
                or (len(parties) >= 2 and not government)
            )
            and not who,
            parties=parties,
            years=sorted(set(YEAR_RE.findall(question))),
            names=names,
            about_asking=bool(_ABOUT_ASKING.search(question)),
            roles=tuple(
                role for role, pattern in _ROLE_NAMED.items() if pattern.search(question) or role in named_offices
            ),
            why=bool(_WHY.search(question)),
            yes_no=bool(_YES_NO.match(question)),
            who_person=bool(_WHO_PERSON.match(question)),
            who_plural=bool(_WHO_PLURAL.match(question)),
            speakers=speakers,
        )


# ---------------------------------------------------------------- candidate sentences

FEATURES = (
    "dense", "dense_gap", "dense_rank", "coverage", "coverage_gap", "coverage_rank", "passage_coverage",
    "passage_rank", "passage_dense", "linked", "length", "first", "question_mark", "has_number",
    "has_date", "want_number", "want_date", "gov_turn", "ask_gov_x_gov", "ask_gov_x_member", "who_x_member",
    "who_x_gov", "who_x_proposes", "party_match", "party_in_sentence", "surname_match", "restated",
    "refers_elsewhere", "english_x_dense", "english_x_coverage", "chair", "compare_x_member", "after_restated",
    "relative_position", "role_named_match", "role_named_other", "why_x_causal", "yes_no_x_polarity",
    "prev_dense", "next_dense", "prev_coverage", "next_coverage",
)  # fmt: skip


@dataclass
class Sentence:
    """One sentence of a retrieved passage, with its features and, once ranked, its score."""

    passage_index: int
    position: int
    text: str
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


@dataclass
class Evidence:
    profile: QuestionProfile
    passages: list[Passage]
    sentences: list[Sentence]
    # the share of the question's (idf) weight on words no document uses: what the documents cannot be about
    unseen_share: float = 0.0
    # the question's analysed terms and their idf weights (a compound never written whole: its parts)
    weights: dict = field(default_factory=dict)

    def ranked(self) -> list[Sentence]:
        return sorted(self.sentences, key=lambda s: (-s.score, s.passage_index, s.position))


class RankerMissingError(KamerbronError):
    """The sentence ranker's weights are missing or unreadable (a packaging problem)."""


# Item-level features of the answerability model: how strong the best evidence is.
ANSWER_FEATURES = (
    "top_score", "second_score", "top_dense", "top_coverage", "top_passage_coverage", "best_passage_dense",
    "best_passage_bm25", "english", "hit_confidence", "years_unseen", "unseen_share",
)  # fmt: skip


@dataclass
class LogisticModel:
    """Logistic regression over standardised features, stored as plain numbers."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def linear(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.mean) / self.scale) @ self.coef + self.intercept

    def score(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.linear(rows)))

    def to_json(self) -> dict:
        return {
            "features": list(self.features),
            "mean": [round(float(x), 6) for x in self.mean],
            "scale": [round(float(x), 6) for x in self.scale],
            "coef": [round(float(x), 6) for x in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_json(
        cls, data: dict, expected: tuple[str, ...], *, name: str = "sentence ranker", retrain: str = "eval.ranker"
    ) -> LogisticModel:
        names = tuple(data["features"])
        missing = set(expected) - set(names)
        if missing:
            raise RankerMissingError(
                f"The {name} lacks features {sorted(missing)}: retrain it with `python -m {retrain}`."
            )
        order = [names.index(f) for f in expected]
        pick = lambda key: np.asarray(data[key], dtype=np.float64)[order]  # noqa: E731
        return cls(expected, pick("mean"), pick("scale"), pick("coef"), float(data["intercept"]))


@dataclass
class SentenceRanker:
    """The two learned models of the extractive answer: a sentence ranking score (a listwise linear
    model: the softmax of a question's sentence scores is the chance that each is its gold sentence) and
    P(the question is answerable from its evidence), refused below ``threshold``."""

    sentence: LogisticModel
    answerability: LogisticModel | None = None
    threshold: float = 0.5
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "sentence": self.sentence.to_json(),
            "answerability": self.answerability.to_json() if self.answerability else None,
            "threshold": round(self.threshold, 4),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict) -> SentenceRanker:
        answerability = data.get("answerability")
        return cls(
            LogisticModel.from_json(data["sentence"], FEATURES),
            LogisticModel.from_json(answerability, ANSWER_FEATURES) if answerability else None,
            float(data.get("threshold", 0.5)),
            data.get("meta", {}),
        )


@lru_cache(maxsize=1)
def default_ranker() -> SentenceRanker:
    """The trained ranker shipped with the package (``rag/sentence_ranker.json``)."""
    try:
        data = json.loads(resources.files("rag").joinpath(RANKER_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, KeyError) as error:
        raise RankerMissingError(
            f"rag/{RANKER_FILE} is missing or damaged ({error}); reinstall the package or run `python -m eval.ranker`."
        ) from error
    return SentenceRanker.from_json(data)


def answer_features(evidence: Evidence) -> np.ndarray:
    """The answerability model's features of one question's evidence."""
    ranked = [s for s in evidence.ranked() if not evidence.passages[s.passage_index].procedural]
    hits = [p for p in evidence.passages if p.via == "hit"][:3]
    if not ranked:
        return np.zeros(len(ANSWER_FEATURES))
    top = ranked[0]
    values = {
        "top_score": top.score,
        "second_score": ranked[1].score if len(ranked) > 1 else 0.0,
        "top_dense": max(s.features["dense"] for s in ranked),
        "top_coverage": max(s.features["coverage"] for s in ranked),
        "top_passage_coverage": max(s.features["passage_coverage"] for s in ranked),
        "best_passage_dense": max((p.dense_score or 0.0) for p in hits) if hits else 0.0,
        "best_passage_bm25": math.log1p(max((p.bm25_score or 0.0) for p in hits)) if hits else 0.0,
        "english": float(evidence.profile.english),
        # the best of the top hits' word coverage blended with their dense similarity (the earlier
        # composer's calibrated confidence; e5 similarities of about 0.80 mean unrelated, 0.90 related)
        "hit_confidence": max(
            (
                0.6 * s.features["passage_coverage"]
                + 0.4 * min(max(((evidence.passages[s.passage_index].dense_score or 0.80) - 0.80) / 0.10, 0.0), 1.0)
                for s in ranked
                if evidence.passages[s.passage_index].via == "hit"
            ),
            default=0.0,
        ),
        # a year the question names that no hit mentions or is dated in
        "unseen_share": evidence.unseen_share,
        "years_unseen": float(
            any(not any(y in p.text or p.date.startswith(y) for p in hits) for y in evidence.profile.years)
        ),
    }
    return np.array([values[name] for name in ANSWER_FEATURES], dtype=np.float64)


class EvidenceFinder:
    """Builds the candidate sentences of a question's passages and scores them."""

    # Sentences shorter than this carry no answer on their own ("Dank u wel.", "Ja.").
    MIN_WORDS = 4

    def __init__(self, index: LoadedIndex, embed_query, ranker: SentenceRanker | None = None, *, embedding: str = ""):
        self.index = index
        self.embed_query = embed_query
        self.ranker = ranker
        self.embedding = embedding
        self._token_cache: dict[str, frozenset[str]] = {}
        self.known_names = frozenset({c.surname.lower() for c in index.chunks if c.surname} | GENERIC_NAMES)
        self.members = frozenset(
            c.surname.lower() for c in index.chunks if c.surname and c.role in ("kamerlid", "fractie")
        )
        self.ministers = {c.surname.lower(): c.role for c in index.chunks if c.surname and c.role in GOVERNMENT_ROLES}
        self._max_idf = float(np.log(1.0 + (len(index.chunks) + 0.5) / 0.5)) if len(index.chunks) else 1.0

    def profile(self, question: str) -> QuestionProfile:
        return QuestionProfile.of(
            question, known_names=self.known_names, ministers=self.ministers, members=self.members
        )

    def query_weights(self, question: str, *, english: bool) -> dict[str | tuple[str, ...], float]:
        """Stemmed question terms weighted by idf. A Dutch term the corpus never uses weighs as much as
        the rarest word (the documents cannot be about it); for English only known terms count."""
        analyzer = self.index.analyzer
        weights: dict[str | tuple[str, ...], float] = {}
        text = expand_for_bm25(question)
        for word, stem in zip(analyzer.words(text), analyzer.stems(text)):
            idf = self.index.idf(stem)
            # a known word stays whole (as in BM25's query_tokens); an unseen compound counts by its parts
            parts = analyzer.compound_parts(word) if analyzer.vocabulary and idf is None else []
            known_parts = [(p, self.index.idf(p)) for p in parts]
            known_parts = [(p, i) for p, i in known_parts if i is not None]
            if idf is None and not english and len(known_parts) == 2:
                # a compound the corpus never writes whole ("registratieplicht", "taaltoets"). Dutch
                # compounds are headed on the right: the modifier ("registratie", "taal") counts on its
                # own, the head ("plicht", "toets") only beside it, so "aangifteplicht" does not cover it
                (modifier, modifier_idf), (head, head_idf) = known_parts
                weights[modifier] = modifier_idf
                weights[(modifier, head)] = head_idf
                continue
            if idf is None and not english and not known_parts and (verb := self._participle(word)):
                # a past participle the documents never write ("opgezet"): the verb is known ("opzetten")
                stem, idf = verb
            weights[stem] = idf if idf is not None else (0.0 if english else self._max_idf)
            for part, part_idf in known_parts:
                weights[part] = part_idf
        return weights

    def _participle(self, word: str) -> tuple[str, float] | None:
        """The known stem and idf of the verb behind a Dutch past participle ("opgezet" -> opzet,
        "gevraagd" -> vrag), or None: without its "ge" (after a separable particle) and without its
        final t or d."""
        match = _PARTICIPLE.match(word)
        if not match:
            return None
        base = match.group(1) + match.group(2)
        for candidate in (base, base[:-1]) if base[-1] in "td" else (base,):
            stem = self.index.analyzer.stems(candidate)
            idf = self.index.idf(stem[0]) if stem else None
            if idf is not None:
                return stem[0], idf
        return None

    def coverage(self, weights: dict[str | tuple[str, ...], float], text: str) -> float:
        total = sum(weights.values())
        if not total:
            return 0.0
        present = self.tokens(text)
        held = sum(w for t, w in weights.items() if (t in present if isinstance(t, str) else present.issuperset(t)))
        return held / total

    def tokens(self, text: str) -> frozenset[str]:
        """The analysed tokens of a text, cached: the same passages and sentences recur across questions."""
        tokens = self._token_cache.get(text)
        if tokens is None:
            tokens = frozenset(self.index.analyzer.tokens(text))
            if len(self._token_cache) < TOKEN_CACHE_SIZE:
                self._token_cache[text] = tokens
        return tokens

    def find(self, question: str, passages: list[Passage], query_vector: np.ndarray | None = None) -> Evidence:
        profile = self.profile(question)
        weights = self.query_weights(question, english=profile.english)
        if query_vector is None:
            query_vector = self.embed_query(question)
        sentences: list[Sentence] = []
        for i, p in enumerate(passages):
            passage_cov = self.coverage(weights, f"{p.speaker} {p.party} {p.section} {p.text}")
            texts = split_sentences(p.text)
            # each sentence's similarity and coverage once: its neighbours' features reuse them
            similarity = [self._dense(text, query_vector) for text in texts]
            covered = [self.coverage(weights, text) for text in texts]
            last = len(texts) - 1
            for position, text in enumerate(texts):
                if len(text.split()) < self.MIN_WORDS:
                    continue
                dense = similarity[position]
                if dense is None:
                    dense = p.dense_score or 0.0
                f = _sentence_features(profile, p, text, position)
                previous = texts[position - 1] if position else ""
                f["after_restated"] = float(p.role in GOVERNMENT_ROLES and bool(previous) and _restates(previous))
                f["relative_position"] = position / max(last, 1)
                coverage = covered[position]
                f.update(dense=dense, coverage=coverage, passage_coverage=passage_cov)
                f.update(english_x_dense=profile.english * dense, english_x_coverage=profile.english * coverage)
                # the sentence window: an answer often follows (or precedes) the sentence that names its topic
                f.update(
                    prev_dense=(similarity[position - 1] or 0.0) if position else 0.0,
                    next_dense=(similarity[position + 1] or 0.0) if position < last else 0.0,
                    prev_coverage=covered[position - 1] if position else 0.0,
                    next_coverage=covered[position + 1] if position < last else 0.0,
                )
                sentences.append(Sentence(i, position, text, f))
        # a passage's similarity to the question is that of its closest sentence: defined the same way
        # for every candidate, whether dense search, BM25 or a link brought the passage
        best_in_passage: dict[int, float] = {}
        for s in sentences:
            best_in_passage[s.passage_index] = max(best_in_passage.get(s.passage_index, -1.0), s.features["dense"])
        for s in sentences:
            s.features["passage_dense"] = best_in_passage[s.passage_index]
        _add_relative_features(sentences)
        total = sum(weights.values())
        unseen = sum(w for t, w in weights.items() if isinstance(t, str) and self.index.idf(t) is None)
        evidence = Evidence(profile, passages, sentences, unseen / total if total else 0.0, weights)
        if self.ranker is not None and sentences:
            # a ranking score: differences between a question's sentences are log-odds of being the better one
            scores = self.ranker.sentence.linear(feature_matrix(sentences))
            for s, score in zip(sentences, scores):
                s.score = float(score)
        return evidence

    def _dense(self, text: str, query_vector: np.ndarray) -> float | None:
        """The question's similarity to a stored sentence; None when the sentence has no vector."""
        vector = self.index.sentence_vector(text)
        return float(vector @ query_vector) if vector is not None else None

    def answerability(self, evidence: Evidence) -> float:
        """P(the documents answer the question) from the strength of its evidence.

        The learned model reads dense similarities, whose scale belongs to the embedding model it
        was trained with; under another embedding the share of the question's (idf-weighted) words
        that the best hit holds stands in for it.
        """
        if self.ranker is not None and self.ranker.answerability is not None and self.learned_embedding:
            return float(self.ranker.answerability.score(answer_features(evidence)[None, :])[0])
        hits = [s for s in evidence.sentences if evidence.passages[s.passage_index].via == "hit"]
        return max((s.features["passage_coverage"] for s in hits), default=0.0)

    @property
    def learned_embedding(self) -> bool:
        """Whether the ranker was trained with the embedding model in use."""
        return self.ranker is not None and self.ranker.meta.get("embedding") == self.embedding


def feature_matrix(sentences: list[Sentence]) -> np.ndarray:
    return np.array([[s.features[name] for name in FEATURES] for s in sentences], dtype=np.float64)


def _sentence_features(q: QuestionProfile, p: Passage, text: str, position: int) -> dict[str, float]:
    gov = p.role in GOVERNMENT_ROLES
    member = p.role in ("kamerlid", "fractie") or (p.role == "voorzitter" and bool(p.party))
    t = _traits(text)
    has_number, has_date = t.has_number, t.has_date
    party_match = bool(p.party) and p.party in q.parties
    return {
        "passage_rank": 1.0 / p.rank if p.via == "hit" and p.rank else 0.0,
        "linked": float(p.via == "linked"),
        "length": math.log1p(len(text.split())),
        "first": float(position == 0),
        "question_mark": float(t.question_mark),
        "has_number": float(has_number),
        "has_date": float(has_date),
        "want_number": float(q.quantity and has_number),
        "want_date": float(q.when and has_date),
        "gov_turn": float(gov),
        "ask_gov_x_gov": float(q.government and gov),
        "ask_gov_x_member": float(q.government and member),
        "who_x_member": float(q.who and member),
        "who_x_gov": float(q.who and gov),
        "who_x_proposes": float(q.who and member and t.proposes),
        "party_match": float(party_match),
        "party_in_sentence": float(any(party in t.parties for party in q.parties)),
        "surname_match": float(bool(p.surname) and p.surname.lower() in q.text.lower()),
        "restated": float(gov and t.restates),
        "refers_elsewhere": float(t.refers_elsewhere),
        "chair": float(p.role == "voorzitter" or p.procedural),
        "compare_x_member": float(q.compare and member),
        # the question names an office: a turn of that office, or of another office of the government
        "role_named_match": float(gov and p.role in q.roles),
        "role_named_other": float(gov and bool(q.roles) and p.role not in q.roles),
        "why_x_causal": float(q.why and t.causal),
        "yes_no_x_polarity": float(q.yes_no and t.polarity),
    }


@dataclass(frozen=True)
class _Traits:
    """What a sentence offers whatever the question; computed once per sentence text."""

    has_number: bool
    has_date: bool
    question_mark: bool
    proposes: bool
    refers_elsewhere: bool
    restates: bool
    parties: tuple[str, ...]
    causal: bool
    polarity: bool


# A corpus has a few thousand sentences per hundred documents; the cache holds all of them at the
# bundled size and the most asked-about ones at 100x.
@lru_cache(maxsize=100_000)
def _traits(text: str) -> _Traits:
    parties = tuple(find_parties(text))
    return _Traits(
        has_number=bool(_NUMBER.search(text)),
        has_date=bool(_DATE.search(text)),
        question_mark=text.rstrip("”\"' )").endswith("?"),
        proposes=bool(_PROPOSES.search(text)),
        refers_elsewhere=bool(REFERS_ELSEWHERE.search(text)),
        restates=bool(_RESTATED.search(text)) or bool(parties),
        parties=parties,
        causal=bool(_CAUSAL.search(text)),
        polarity=bool(_POLARITY.search(text)),
    )


def is_question(text: str) -> bool:
    """Whether a sentence is a question (it ends in a question mark, before any closing quote)."""
    return _traits(text).question_mark


def _restates(text: str) -> bool:
    """A sentence that restates or reports a question rather than answering it."""
    return _traits(text).restates


def _add_relative_features(sentences: list[Sentence]) -> None:
    """Features relative to the other candidates of the same question: gaps to the best and ranks."""
    if not sentences:
        return
    for name in ("dense", "coverage"):
        values = np.array([s.features[name] for s in sentences])
        best = values.max()
        order = np.argsort(-values, kind="stable")
        ranks = np.empty(len(values))
        ranks[order] = np.arange(1, len(values) + 1)
        for s, value, rank in zip(sentences, values, ranks):
            s.features[f"{name}_gap"] = float(value - best)
            s.features[f"{name}_rank"] = 1.0 / float(rank)
