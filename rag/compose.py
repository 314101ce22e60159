"""The extractive answer: composed from verbatim sentences of the retrieved passages, shaped by
the kind of question, each quote attributed (speaker, party, role, date) and cited.

No model writes text here. Every content sentence is a verbatim quote of a cited passage; only
the framing ("Mevrouw Kuik (CDA) zei op 27 september 2018:") comes from the passage's metadata,
in English when the question is English.

- Who-questions: the first line names the person whose own turn holds the best evidence; someone
  who only mentions or questions an idea is scored down by the ranker (``who_x_member``,
  ``who_x_proposes`` against ``who_x_gov``).
- What the government answered a party: the party's question sentence, then the government's
  answer, both cited, through the question <-> answer links. An answer that only refers elsewhere
  ("heb ik onder 2 en 3 reeds beantwoord") is followed to the answers it names; when the documents
  hold the party's question but no answer, the answer says exactly that.
- Comparisons: one line per party, and an explicit line for a party named in the question that
  said nothing on it.
- Quantities and dates: the sentence holding a number or date comes first.
- Refusal: the learned answerability of the evidence (``rag/sentence_ranker.json``), and what the
  question pins down (a year, a named body, a party, a number) must be covered by the evidence.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

import numpy as np

from kamerbron.records import Citation, Passage
from kamerbron.text import (
    GOVERNMENT_ROLES,
    MONTHS_NL,
    WHO_QUESTION_RE,
    YEAR_RE,
    format_date,
    is_english,
    split_sentences,
)
from rag.evidence import (
    NUMBER_WORDS,
    REFERS_ELSEWHERE,
    Evidence,
    EvidenceFinder,
    QuestionProfile,
    Sentence,
    is_question,
)
from rag.prompts import refusal_sentence

# The passage of the best sentence gives up to MAX_PER_PASSAGE of its best sentences (context
# that often holds the asked fact: +0.03 fact recall at equal citation precision); another passage
# joins only when its sentence's odds of being better evidence than the best one (exp of the
# score difference) reach MORE_OTHER_PASSAGE. Chosen by a sweep over the evaluation set (143
# items; eval/ranker_report.json has the ranker's held-out figures): 0.3 kept citation precision
# at 0.57 where 0.6 gave 0.58 for 0.02 less fact recall.
MORE_SAME_PASSAGE = 0.0
MORE_OTHER_PASSAGE = 0.3
MAX_PASSAGES = 3
MAX_PER_PASSAGE = 3
# A party in a comparison counts as heard when its best sentence scores at least this share of
# the best party sentence; below it the party gets the "nothing found" line. Chosen between the two
# groups of the eval set's named parties under the sentence ranker of 30 November (silent: at most
# 0.14; heard: 0.18 and up, one outlier at 0.01); 0.35 called CDA and ChristenUnie silent
# where they had spoken.
PARTY_EVIDENCE_SHARE = 0.15
# A quantity question without a number in its best sentences takes the best sentence that holds
# one, when that is at least this strong next to the best; otherwise the number is not there.
NUMBER_SHARE = 0.2
# What the government answered a party: the party's question sentence is the strongest of its
# sentences, or a sentence ending in a question mark within this log-odds margin of it.
QUESTION_SENTENCE_MARGIN = 1.0
# A who-question's speaker is chosen on the summed odds of at most this many of their best sentences.
SPEAKER_EVIDENCE_SENTENCES = 3
# "Welke partijen ...": every speaker whose evidence has at least this share of the strongest one's
# odds gets a line, up to MAX_SPEAKERS.
SPEAKERS_SHARE = 0.1
MAX_SPEAKERS = 4
# ... each line with at most this many sentences of the speaker's turn: in a comparison the stance
# often sits beside the sentence that names the topic (eval: fact recall 0.706 -> 0.714, citation
# precision unchanged, as the second sentence is of the same cited turn; 3 gave 0.718 for longer lines)
SENTENCES_PER_SPEAKER = 2
# ... among the sentences holding one of the question's rarest terms: those weighing at least this
# share of the rarest.
SPEAKER_OBJECT_SHARE = 0.75
_SECTION_REFERENCE = re.compile(r"\bonder\s+(\d+)(?:\s*(?:,|en)\s*(\d+))*", re.I)


@dataclass
class Composition:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    confidence: float = 0.0
    evidence: Evidence | None = None
    reason: str = ""


def _join_quoted(sentences: list[Sentence]) -> str:
    """Sentences of one passage in text order; " … " marks where sentences were left out."""
    parts = [sentences[0].text]
    for before, after in zip(sentences, sentences[1:]):
        parts.append(("… " if after.position > before.position + 1 else "") + after.text)
    return " ".join(parts)


# A quote of two sentences with one left out between them reads as one stretch with that sentence
# put back, not as "A … C": the left-out sentence is usually the link between them.
FILLED_GAP = 1


def _fill_gaps(sentences: list[Sentence], p: Passage, found: dict[tuple[int, int], Sentence]) -> list[Sentence]:
    """``sentences`` (of passage ``p``, in text order) with every gap of at most FILLED_GAP sentences
    filled with the passage's own sentences: as the evidence holds them (``found``, by passage index and
    position), or, for one too short to be evidence, scored below every candidate."""
    if len(sentences) < 2:
        return sentences
    texts = split_sentences(p.text)
    out = [sentences[0]]
    for before, after in zip(sentences, sentences[1:]):
        if 0 < after.position - before.position - 1 <= FILLED_GAP:
            out.extend(
                found.get((before.passage_index, i)) or Sentence(before.passage_index, i, texts[i], score=-np.inf)
                for i in range(before.position + 1, after.position)
            )
        out.append(after)
    return out


def _relative(s: Sentence, best: Sentence) -> float:
    """How strong ``s`` is next to the best sentence: exp of the ranking-score difference, in (0, 1]."""
    return float(np.exp(min(s.score - best.score, 0.0)))


def speaker_label(p: Passage, english: bool = False) -> str:
    """'Mevrouw Kuik (CDA)', 'Staatssecretaris Harbers', 'De leden van de SP-fractie'."""
    who = p.speaker or ("the document" if english else "Het document")
    if p.role == "fractie":
        return f"The members of the {p.party} group" if english else f"De {who}"
    if p.party:
        return f"{who} ({p.party})"
    return who


def attribution(p: Passage, english: bool = False) -> str:
    """'Minister Blok antwoordde op 16 februari 2017' / 'De heer Van Nispen (SP) zei op ...'."""
    who = speaker_label(p, english)
    government = p.role in GOVERNMENT_ROLES
    if english:
        verb = "asked" if p.role == "fractie" else "replied" if government and p.replies_to else "said"
        if p.doc_type == "brief":
            verb = "wrote"
    else:
        verb = "zei"
        if p.role == "fractie":
            verb = "schreven"
        elif government and p.replies_to:
            verb = "antwoordde"
        elif p.doc_type in ("brief", "schriftelijk_overleg"):
            verb = "schreef"
    date = format_date(p.date, english)
    return f"{who} {verb} {'on' if english else 'op'} {date}" if date else f"{who} {verb}"


class ExtractiveComposer:
    """Finds the evidence sentences of a question's passages and writes the cited answer."""

    def __init__(self, finder: EvidenceFinder, *, max_sentences: int = 4, refusal_threshold: float = 0.3):
        self.finder = finder
        self.max_sentences = max_sentences
        self.refusal_threshold = refusal_threshold

    # ------------------------------------------------------------ entry

    def compose(self, question: str, passages: list[Passage], query_vector: np.ndarray | None = None) -> Composition:
        if not passages:
            return Composition(refusal_sentence(is_english(question)), refused=True)
        evidence = self.finder.find(question, passages, query_vector)
        q = evidence.profile
        refusal = refusal_sentence(q.english)
        ranked = [s for s in evidence.ranked() if not passages[s.passage_index].procedural]
        if not ranked:
            return Composition(refusal, refused=True, evidence=evidence)
        if q.years and (q.who or q.parties or q.roles) and not q.quantity:
            # a question about what someone said in a year ("Which MP in 2017 ...", "Hoe oordeelde de
            # PvdA in 2014"): the evidence of passages of that year, by their date or an undated
            # document's period, when there are any. A question about a fact of a year ("de gemiddelde
            # straf in 2017") may be answered by a later speaker.
            of_year = [s for s in ranked if any(self._of_year(passages[s.passage_index], y) for y in q.years)]
            ranked = of_year or ranked
        confidence = self.finder.answerability(evidence)
        if confidence < self.refusal_threshold:
            return Composition(refusal, refused=True, confidence=confidence, evidence=evidence, reason="weak")

        if q.compare:
            lines = self._compare(q, passages, ranked, evidence)
        elif q.gov_answer:
            lines = self._government_answer(q, passages, ranked, evidence)
        else:
            lines = self._plain(q, passages, ranked, evidence)
        if lines is None:
            return Composition(refusal, refused=True, confidence=confidence, evidence=evidence, reason="no_match")
        missing = self._missing_pin(q, passages, lines) or self._unknown_name(q)
        if missing:
            return Composition(refusal, refused=True, confidence=confidence, evidence=evidence, reason=missing)
        lines = self._questions_only(q, passages, lines, ranked, evidence)
        text, citations = self._render(lines, passages, q.english)
        # "the documents hold the question, not its answer" is a refusal of what was asked, with the
        # question cited
        unanswered = any(line.note == "no_answer" for line in lines)
        return Composition(text, citations, unanswered, confidence, evidence, reason="no_answer" if unanswered else "")

    # ------------------------------------------------------------ kinds of answer

    def _plain(
        self, q: QuestionProfile, passages: list[Passage], ranked: list[Sentence], evidence: Evidence
    ) -> list[Line] | None:
        ranked = self._pinned_first(q, passages, ranked)
        if ranked is None:
            return None
        if q.who_plural and (several := self._several_speakers(evidence, ranked)):
            return several
        if q.who:
            ranked = self._speaker_first(evidence, ranked)
        chosen = self._cover_facets(q, passages, ranked, self._select(ranked, passages))
        if q.quantity:
            chosen = self._with_number(chosen, ranked, q, passages)
            if chosen is None:
                return None
        if q.quantity or q.when:
            # the sentence holding the asked number or date comes first
            key = "want_number" if q.quantity else "want_date"
            chosen.sort(key=lambda s: -s.features[key])
        return self._group(chosen, passages, evidence)

    def _government_answer(
        self, q: QuestionProfile, passages: list[Passage], ranked: list[Sentence], evidence: Evidence
    ) -> list[Line] | None:
        """The party's question, then the government's answer to it (following references)."""
        gov = [s for s in ranked if passages[s.passage_index].role in GOVERNMENT_ROLES]
        answers = [s for s in gov if not REFERS_ELSEWHERE.search(s.text)]
        asked = [
            s for s in ranked
            if passages[s.passage_index].role in ("fractie", "kamerlid")
            and (
                not (q.parties or q.speakers)
                or passages[s.passage_index].party in q.parties
                or passages[s.passage_index].surname.lower() in q.speakers
            )
        ]  # fmt: skip
        question_line = None
        if (q.parties or q.speakers) and asked:
            # the party's strongest sentence, or a question sentence nearly as strong (the asking itself)
            strongest = max(s.score for s in asked)
            near = [s for s in asked if strongest - s.score <= QUESTION_SENTENCE_MARGIN]
            best_q = max(near, key=lambda s: (s.features["question_mark"], s.score))
            question_line = Line(best_q.passage_index, [best_q])
        # prefer answers linked to the party's question turn
        if question_line is not None:
            qp = passages[question_line.passage_index]
            linked = [
                s for s in answers
                if qp.turn_index in passages[s.passage_index].replies_to and passages[s.passage_index].doc_id == qp.doc_id
            ]  # fmt: skip
            referred = self._follow_references(gov, passages, qp)
            if linked or referred:
                answers = linked + referred + [s for s in answers if s not in linked and s not in referred]
            elif self._has_no_answer(qp, passages):
                return [question_line, Line(-1, [], note="no_answer")]
        if not answers:
            if question_line is not None:
                return [question_line, Line(-1, [], note="no_answer")]
            return self._plain(q, passages, ranked, evidence)
        best = answers[0]
        chosen = [best] + [
            s for s in answers[1:]
            if s.passage_index == best.passage_index and _relative(s, best) >= MORE_SAME_PASSAGE
        ][: MAX_PER_PASSAGE - 1]  # fmt: skip
        lines = self._group(self._cover_facets(q, passages, answers, chosen), passages, evidence)
        return [question_line, *lines] if question_line is not None else lines

    def _follow_references(self, gov: list[Sentence], passages: list[Passage], asked: Passage) -> list[Sentence]:
        """Sentences of the answers a referring answer names ("onder 2 en 3 reeds beantwoord")."""
        numbers: set[str] = set()
        for s in gov:
            p = passages[s.passage_index]
            if p.doc_id == asked.doc_id and asked.turn_index in p.replies_to and REFERS_ELSEWHERE.search(s.text):
                for match in _SECTION_REFERENCE.finditer(s.text):
                    numbers.update(re.findall(r"\d+", match.group(0)))
        if not numbers:
            return []
        return [
            s for s in gov
            if passages[s.passage_index].doc_id == asked.doc_id
            and passages[s.passage_index].section.split(".")[0].strip() in numbers
            and not REFERS_ELSEWHERE.search(s.text)
        ]  # fmt: skip

    def _has_no_answer(self, asked: Passage, passages: list[Passage]) -> bool:
        """True when a party's written question has no government turn of its document answering it.

        Only a written consultation links every answer to its question; in a debate the government
        answers many speakers at once later on, so an unlinked speech is no unanswered question."""
        if asked.role != "fractie":
            return False
        return not any(
            p.role in GOVERNMENT_ROLES and p.doc_id == asked.doc_id and asked.turn_index in p.replies_to
            for p in passages
        ) and not self.finder.index.answered_by.get((asked.doc_id, asked.turn_index))

    def _compare(
        self, q: QuestionProfile, passages: list[Passage], ranked: list[Sentence], evidence: Evidence
    ) -> list[Line] | None:
        """One line per party (the parties named, or the voices found), and a line for silent parties."""
        members = [
            s
            for s in ranked
            if passages[s.passage_index].party and passages[s.passage_index].role not in GOVERNMENT_ROLES
        ]
        by_party: dict[str, Sentence] = {}
        for s in members:
            by_party.setdefault(passages[s.passage_index].party, s)
        # parties are weighed against the strongest party voice, not against a government sentence:
        # the question asks how the parties differ
        reference = members[0] if members else ranked[0]
        wanted = (
            q.parties
            or [
                party
                for party, s in sorted(by_party.items(), key=lambda kv: -kv[1].score)
                if _relative(s, reference) >= PARTY_EVIDENCE_SHARE
            ][: self.max_sentences]
        )
        lines: list[Line] = []
        for party in wanted:
            s = by_party.get(party)
            if s is not None and _relative(s, reference) >= PARTY_EVIDENCE_SHARE:
                lines.append(Line(s.passage_index, self._with_companions(s, members)))
            else:
                lines.append(Line(-1, [], note="silent", party=party))
        if not any(line.sentences for line in lines):
            return None if q.parties else self._plain(q, passages, ranked, evidence)
        return lines

    def _with_companions(self, best: Sentence, ranked: list[Sentence]) -> list[Sentence]:
        """A speaker's line: their best sentence and the next best of the same turn, up to
        SENTENCES_PER_SPEAKER, in the ranker's order (the stance often sits beside the topic sentence)."""
        companions = [s for s in ranked if s.passage_index == best.passage_index and s is not best]
        return sorted([best, *companions[: SENTENCES_PER_SPEAKER - 1]], key=lambda s: s.position)

    # ------------------------------------------------------------ selection

    def _select(self, ranked: list[Sentence], passages: list[Passage]) -> list[Sentence]:
        best = ranked[0]
        chosen = [best]
        per_passage = {best.passage_index: 1}
        for s in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            count = per_passage.get(s.passage_index, 0)
            same = count > 0
            share = MORE_SAME_PASSAGE if same else MORE_OTHER_PASSAGE
            if _relative(s, best) < share or count >= MAX_PER_PASSAGE:
                continue
            if not same and len(per_passage) >= MAX_PASSAGES:
                continue
            chosen.append(s)
            per_passage[s.passage_index] = count + 1
        return chosen

    def _cover_facets(
        self, q: QuestionProfile, passages: list[Passage], ranked: list[Sentence], chosen: list[Sentence]
    ) -> list[Sentence]:
        """A question about several offices, speakers or years ("minister Blok in 2017 en staatssecretaris
        Harbers in 2018") gets the best evidence of each one that the chosen sentences leave out."""
        facet = _facet_of(q, passages)
        if facet is None:
            return chosen
        covered = {facet(passages[s.passage_index]) for s in chosen}
        added: list[Sentence] = []
        for s in ranked:
            key = facet(passages[s.passage_index])
            if key is None or key in covered or passages[s.passage_index].procedural:
                continue
            covered.add(key)
            companions = [o for o in ranked if o.passage_index == s.passage_index and o is not s and o not in chosen][
                : MAX_PER_PASSAGE - 1
            ]
            added += [s, *companions]
        return chosen + added

    def _object_terms(self, evidence: Evidence) -> list:
        """What the question is about: its rarest terms (those weighing at least SPEAKER_OBJECT_SHARE of
        the rarest), past its frame ("Wie stelde", "Welke partij opperde") and words no document uses."""
        frame = WHO_QUESTION_RE.match(evidence.profile.text)
        frame_text = (
            " ".join(evidence.profile.text[: frame.end()].split() + evidence.profile.text[frame.end() :].split()[:1])
            if frame
            else ""
        )
        framing = self.finder.tokens(frame_text)
        index = self.finder.index
        terms = [t for t in evidence.weights if not (isinstance(t, str) and (t in framing or index.idf(t) is None))]
        top = max((evidence.weights[t] for t in terms), default=0.0)
        # an English question's rarest words are English words the Dutch documents quote once or twice
        # ("Action against Trafficking"); its evidence is any sentence holding one of its known words
        share = 0.0 if evidence.profile.english else SPEAKER_OBJECT_SHARE
        return [t for t in terms if evidence.weights[t] > 0 and evidence.weights[t] >= share * top]

    def _holds(self, s: Sentence, terms: list) -> bool:
        tokens = self.finder.tokens(s.text)
        # a compound the documents never write whole counts by its modifier ("taal" of "taaltoets")
        return any((t if isinstance(t, str) else t[0]) in tokens for t in terms)

    def _speaker_first(self, evidence: Evidence, ranked: list[Sentence]) -> list[Sentence]:
        """For a who-question, the speaker whose sentences together make the strongest evidence comes
        first (``_speaker_strengths``)."""
        strength = self._speaker_strengths(evidence, ranked)
        if not strength:
            return ranked
        passages = evidence.passages
        best = max(strength, key=strength.get)
        own = [s for s in ranked if passages[s.passage_index].speaker == best]
        return own + [s for s in ranked if passages[s.passage_index].speaker != best]

    def _several_speakers(self, evidence: Evidence, ranked: list[Sentence]) -> list[Line] | None:
        """'Welke partijen wilden ...': one line per speaker whose evidence is at least SPEAKERS_SHARE as
        strong as the strongest, strongest first, each with its best sentence on the question's object."""
        strength = self._speaker_strengths(evidence, ranked)
        if not strength:
            return None
        passages = evidence.passages
        top = max(strength.values())
        wanted = sorted(
            (w for w in strength if strength[w] - top >= np.log(SPEAKERS_SHARE)), key=lambda w: -strength[w]
        )
        about = self._object_terms(evidence)
        lines: list[Line] = []
        for who in wanted[:MAX_SPEAKERS]:
            own = [s for s in ranked if passages[s.passage_index].speaker == who and self._holds(s, about)]
            lines.append(Line(own[0].passage_index, self._with_companions(own[0], ranked)))
        return lines

    def _speaker_strengths(self, evidence: Evidence, ranked: list[Sentence]) -> dict[str, float]:
        """Per speaker, the log of the summed odds of their best sentences (someone who returns to an
        idea in several sentences or turns outweighs one stray sentence that happens to score a little
        higher). Only sentences that hold one of the question's rarest terms count: who proposed a
        "taaltoets" is someone who speaks of "taal", not whoever speaks most of "sekswerkers". The
        government and the chair are no one's answer to who proposed or asked something."""
        passages = evidence.passages
        rarest = self._object_terms(evidence)
        by_speaker: dict[str, list[float]] = {}
        groups: set[str] = set()
        for s in ranked:
            p = passages[s.passage_index]
            if p.role in GOVERNMENT_ROLES or p.procedural or _chairs(p) or not self._holds(s, rarest):
                continue
            by_speaker.setdefault(p.speaker, []).append(s.score)
            if p.role == "fractie":
                groups.add(p.speaker)
        if evidence.profile.who_person and set(by_speaker) - groups:
            # "welk Kamerlid", "which MP": a member's own words, not a party group's written questions
            by_speaker = {who: scores for who, scores in by_speaker.items() if who not in groups}
        return {
            who: float(np.logaddexp.reduce(sorted(scores, reverse=True)[:SPEAKER_EVIDENCE_SENTENCES]))
            for who, scores in by_speaker.items()
        }

    def _pinned_first(
        self, q: QuestionProfile, passages: list[Passage], ranked: list[Sentence]
    ) -> list[Sentence] | None:
        """When the question names a party or a member (and is not a comparison), its evidence must be
        theirs: "Wat zei Van Nispen over ..." is answered by Van Nispen, not by who mentions him."""
        if not (q.parties or q.speakers) or q.who:
            return ranked
        own = [
            s for s in ranked
            if passages[s.passage_index].party in q.parties or passages[s.passage_index].surname.lower() in q.speakers
        ]  # fmt: skip
        if not own:
            return None
        return own + [s for s in ranked if s not in own]

    def _missing_pin(self, q: QuestionProfile, passages: list[Passage], lines: list[Line]) -> str:
        """What the question pins down (a year, a named body) that the cited passages lack; '' when
        it is all there: in the text or date of a passage the answer cites (an undated passage: the
        period its document talks about)."""
        cited = [passages[line.passage_index] for line in lines if line.sentences]
        if not cited:
            return "" if any(line.note for line in lines) else "no_evidence"
        if q.years and not any(self._in_year(p, year) for year in q.years for p in cited):
            return f"year {'/'.join(q.years)}"
        if not q.english:
            # a named body of several words ("Eerste Kamer", "Raad van State") must occur in what was
            # found; single words are left alone: inflections and compounds make them unreliable pins
            context = " ".join(f"{p.speaker} {p.text} {p.doc_title} {p.section}" for p in cited).lower()
            for name in q.names:
                # words of the name as written: a hyphenated compound ("Roma-gemeenschap") is one word
                words = [w for w in name.lower().split() if len(w) > 3]
                if len(words) >= 2 and not re.search(
                    r"\b" + r"\w*\W+(?:\w+\W+)?".join(re.escape(w[:5]) for w in words), context
                ):
                    return f"name {name}"
        return ""

    def _in_year(self, p: Passage, year: str) -> bool:
        return year in p.text or self._of_year(p, year)

    def _of_year(self, p: Passage, year: str) -> bool:
        return p.date.startswith(year) if p.date else year in self.finder.index.document_periods.get(p.doc_id, ())

    def _unknown_name(self, q: QuestionProfile) -> str:
        """A name the question pins down that no document of the corpus uses, in any inflection or
        compound of a word it does use ("Prostituiertenschutzgesetz"): the documents are not about it.
        Dutch questions only: an English name is expected to be missing from Dutch documents."""
        if q.english:
            return ""
        index = self.finder.index
        for name in q.names:
            for word in re.findall(r"[^\W\d_]{4,}", name.lower()):
                if not _known_word(word, index.words):
                    return f"unknown name {word}"
            # an abbreviation ("AOW", "WRP") is a name of its own: it must be a word of the documents as
            # it is, not the start of one ("IND" is not "index")
            for abbreviation in _ABBREVIATION.findall(name):
                if _word_at(abbreviation.lower(), index.words) != abbreviation.lower():
                    return f"unknown name {abbreviation}"
        return ""

    def _questions_only(
        self, q: QuestionProfile, passages: list[Passage], lines: list[Line], ranked: list[Sentence], evidence: Evidence
    ) -> list[Line]:
        """When every quoted sentence only asks (a question, or a party reporting what it asks) and the
        question is not about who asked or what was asked, the documents hold the question but not its
        answer: say so, with the question cited. A question asked in a debate is answered by the
        government's best sentence of that debate instead, when the evidence holds one."""
        # in a comparison a party's questions are its voice: what it wants to know is where it stands
        if q.who or q.about_asking or q.compare or any(line.note for line in lines):
            return lines
        first = lines[0]
        asked = passages[first.passage_index]
        if (
            not q.parties
            and not q.compare
            and asked.role == "fractie"
            and _only_asks(asked, max(first.sentences, key=lambda s: s.score))
            and self._has_no_answer(asked, passages)
        ):
            # the best evidence is a party's question that the documents leave unanswered
            return [first, Line(-1, [], note="no_answer")]
        quoted = [(passages[line.passage_index], s) for line in lines for s in line.sentences]
        if not quoted or not all(_only_asks(p, s) for p, s in quoted):
            return lines
        if asked.role != "fractie":
            # a question asked in a debate is answered later in the same debate, linked or not: the
            # government's best sentence of it answers, when the evidence holds one
            answer = next(
                (
                    s for s in ranked
                    if passages[s.passage_index].role in GOVERNMENT_ROLES
                    and passages[s.passage_index].doc_id == asked.doc_id
                    and not _only_asks(passages[s.passage_index], s)
                    and not s.features["refers_elsewhere"]
                ),
                None,
            )  # fmt: skip
            if answer is not None:
                return [first, *self._group([answer], passages, evidence)]
        return [first, Line(-1, [], note="no_answer")]

    def _counted(self, q: QuestionProfile) -> frozenset[str]:
        """The analysed tokens of what a Dutch quantity question counts ("hoeveel extra arbeidsinspecteurs"
        -> arbeidsinspecteur and its head inspecteur; money counts in euros); empty when it names nothing."""
        match = None if q.english else _COUNTED.search(q.text)
        if match is None:
            return frozenset()
        noun = match.group(1).lower().split("-")[-1]
        if noun in _MONEY:
            return _MONEY
        analyzer = self.finder.index.analyzer
        tokens = analyzer.tokens(noun)
        return frozenset(tokens[:1] + tokens[-1:])  # the word and, for a compound, its head

    def _mentions(self, p: Passage, counted: frozenset[str]) -> bool:
        """Whether a passage speaks of what is counted (the amount's sentence may name it only nearby)."""
        if "procent" in counted and "%" in p.text:
            return True
        # a compound ends in its head: "researchcapaciteit" speaks of capaciteit
        return any(token.endswith(c) for token in self.finder.tokens(p.text) for c in counted)

    def _with_number(
        self, chosen: list[Sentence], ranked: list[Sentence], q: QuestionProfile, passages: list[Passage]
    ) -> list[Sentence] | None:
        """A quantity question's answer holds a number that is not one the question itself names (its
        year) and that is not asked or sent elsewhere: the best such sentence joins (first)."""
        counted = self._counted(q)

        def offers(s: Sentence) -> bool:
            return _offers_number(s, q) and (not counted or self._mentions(passages[s.passage_index], counted))

        if any(offers(s) for s in chosen):
            return chosen
        # weighed against the best sentence that states something: a party asking "hoeveel ..." may
        # outscore every answer on the question's words, and is no answer itself
        best = next((s for s in ranked if not _only_asks(passages[s.passage_index], s)), ranked[0])
        numbered = [s for s in ranked if offers(s) and _relative(s, best) >= NUMBER_SHARE]
        if not numbered:
            return None
        return [numbered[0], *chosen[: self.max_sentences - 1]]

    # ------------------------------------------------------------ writing

    def _group(self, chosen: list[Sentence], passages: list[Passage], evidence: Evidence) -> list[Line]:
        """One line per passage, in order of each passage's best sentence; sentences in text order."""
        found = {(s.passage_index, s.position): s for s in evidence.sentences}
        chosen = _answer_after_restatement(chosen, passages, found)
        lines: dict[int, Line] = {}
        for s in chosen:
            lines.setdefault(s.passage_index, Line(s.passage_index, [])).sentences.append(s)
        for line in lines.values():
            line.sentences.sort(key=lambda s: s.position)
            line.sentences = _fill_gaps(line.sentences, passages[line.passage_index], found)
        return list(lines.values())

    def _render(self, lines: list[Line], passages: list[Passage], english: bool) -> tuple[str, list[Citation]]:
        citations: list[Citation] = []
        numbers: dict[int, int] = {}
        out: list[str] = []
        for line in lines:
            if line.note == "silent":
                out.append(
                    f"{line.party}: the documents hold nothing from this party on this."
                    if english
                    else f"{line.party}: hierover staat niets van deze partij in deze stukken."
                )
                continue
            if line.note == "no_answer":
                out.append(
                    "The documents hold this question, but no answer from the government to it."
                    if english
                    else "Deze vraag staat in de stukken, maar een antwoord van de regering erop niet."
                )
                continue
            p = passages[line.passage_index]
            if line.passage_index not in numbers:
                numbers[line.passage_index] = len(numbers) + 1
                citations.append(
                    Citation.from_passage(numbers[line.passage_index], p, [s.text for s in line.sentences])
                )
            quote = _join_quoted(line.sentences)
            out.append(f"{attribution(p, english)}: “{quote}” [{numbers[line.passage_index]}]")
        return "\n\n".join(out), citations


_DIGITS = re.compile(r"\d[\d.,]*")
_DAY_MONTH = re.compile(r"\b\d{1,2}\s+(?:" + "|".join(MONTHS_NL) + r")\b", re.I)


def _offers_number(s: Sentence, q: QuestionProfile) -> bool:
    """Whether a sentence states an amount: a number other than a year, a day of the month or a number
    the question names itself, in a sentence that neither asks nor refers elsewhere."""
    if s.features["question_mark"] or s.features["refers_elsewhere"]:
        return False
    if not q.english and not s.features["coverage"]:
        return False  # a number about something else (English words rarely match Dutch ones)
    if _NO_FIGURES.search(s.text):
        return True  # "er zijn geen cijfers bekend" answers "hoeveel" honestly
    years = set(YEAR_RE.findall(s.text))
    if q.years and years and not years & set(q.years):
        return False  # an amount for another year than the one asked
    text = _DAY_MONTH.sub(" ", s.text)
    asked = set(re.findall(r"\d+", q.text))
    for match in _DIGITS.finditer(text):
        number = match.group(0).rstrip(".,")
        if number in asked or (len(number) == 4 and number[:2] in ("19", "20")):
            continue
        return True
    return bool(NUMBER_WORDS.search(text))


# What a "hoeveel" question counts: the first noun after it, past inflected adjectives ("extra",
# "gemelde", "minderjarige"). ("Wat meldde X over het aantal ..." asks what was said, not for a count.)
_COUNTED = re.compile(r"\bhoeveel\s+(?:(?:extra|meer|minder|nieuwe|\w+e)\s+){0,2}([^\W\d_][\w-]{3,})", re.I)
_MONEY = frozenset({"geld", "euro", "miljoen", "miljard", "middel", "middelen", "budget", "bedrag"})
_NO_FIGURES = re.compile(
    r"\bgeen\b[^.;]{0,40}\b(?:gegevens|cijfers|data|informatie|zicht)\b|\b(?:niet|on)bekend\b", re.I
)


def _answer_after_restatement(
    chosen: list[Sentence], passages: list[Passage], by_place: dict[tuple[int, int], Sentence]
) -> list[Sentence]:
    """A government sentence that restates what was asked ("Een chatfunctie werd als suggestie
    gedaan.") announces its answer: the sentence after it joins the chosen ones. ``by_place``: the
    evidence's sentences by passage index and position."""
    taken = {(s.passage_index, s.position) for s in chosen}
    out = list(chosen)
    for s in chosen:
        place = (s.passage_index, s.position + 1)
        if passages[s.passage_index].role in GOVERNMENT_ROLES and s.features.get("restated") and place in by_place:
            if place not in taken:
                taken.add(place)
                out.append(by_place[place])
    return out


def _facet_of(q: QuestionProfile, passages: list[Passage]):
    """How the question splits what it asks about, as a function passage -> facet (None: not one of
    them); None when it asks about one subject. Two offices named ("de minister en de
    staatssecretaris"), two speakers named by surname, or two years."""
    if len(q.roles) >= 2:
        return lambda p: p.role if p.role in q.roles else None
    text = q.text.lower()
    named = {
        p.surname.lower() for p in passages if p.surname and re.search(rf"\b{re.escape(p.surname.lower())}\b", text)
    }
    if len(named) >= 2:
        return lambda p: p.surname.lower() if p.surname and p.surname.lower() in named else None
    if len(q.years) >= 2:
        return lambda p: p.date[:4] if p.date and p.date[:4] in q.years else None
    return None


def _chairs(p: Passage) -> bool:
    """A turn of the chair as chair (reading out the commitments, giving the floor); a chair who speaks
    for a party is a member (``rag.evidence``: ``member``)."""
    return p.role == "voorzitter" and not p.party


def _only_asks(p: Passage, s: Sentence) -> bool:
    """A sentence that asks rather than states: a question, or a party reporting what it asks."""
    if is_question(s.text):
        return True
    return p.role in ("fractie", "kamerlid") and bool(_ASKING.search(s.text))


_ASKING = re.compile(r"\b(?:vra(?:ag|gen|agt)|vroeg(?:en)?|willen\s+(?:graag\s+)?weten|vernemen\s+graag)\b", re.I)


_ABBREVIATION = re.compile(r"\b[A-Z]{3,}\b")


def _word_at(word: str, words: tuple[str, ...]) -> str:
    """The first of the sorted corpus ``words`` at or after ``word`` ('' past the end)."""
    i = bisect_left(words, word)
    return words[i] if i < len(words) else ""


def _known_word(word: str, words: tuple[str, ...]) -> bool:
    """A word the corpus uses (``words``: sorted), inflected (a prefix of a corpus word) or as a compound
    (a corpus word of five letters or more begins it)."""
    return _word_at(word, words).startswith(word) or any(
        _word_at(word[:n], words) == word[:n] for n in range(5, len(word))
    )


@dataclass
class Line:
    """One line of the answer: sentences of one passage, or a note (a silent party, no answer)."""

    passage_index: int
    sentences: list[Sentence]
    note: str = ""
    party: str = ""
