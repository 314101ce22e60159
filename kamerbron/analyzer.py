"""BM25 text analysis: lower-case, drop stopwords, Dutch Snowball stems, Dutch compound splitting;
and the BM25 index built with it (bm25s)."""

from __future__ import annotations

import re

import bm25s
import Stemmer

from kamerbron.records import Chunk
from kamerbron.text import STOPWORDS

# Bump when tokenising, stopwords or stemming change: a stored BM25 index of another version is
# rebuilt from the catalogue at load (cheap), instead of re-embedding everything.
ANALYZER_VERSION = "6"

_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class Analyzer:
    """Lower-case, drop Dutch and English stopwords, Dutch Snowball stem, and split compounds.

    Dutch writes compounds as one word ("taaleis", "arbeidsuitbuiting"), so a question about a
    "taaltoets" shares no token with a passage about a "taaleis". Once a ``vocabulary`` of stems is
    known, a word that splits into two parts whose stems are both in it also yields those parts
    (the whole word stays too): "taaleis" -> taaleis, tal, eis. A word the corpus never uses yields
    its longest known head: "taaltoets" -> taaltoet, tal.
    """

    MIN_COMPOUND = 7
    MIN_LEFT, MIN_RIGHT = 4, 3
    LINKS = ("", "s", "e", "en")

    def __init__(self, vocabulary: set[str] | None = None):
        self._stem_many = Stemmer.Stemmer("dutch").stemWords
        self._stop = STOPWORDS
        self.vocabulary = vocabulary
        self._splits: dict[str, list[str]] = {}

    def words(self, text: str) -> list[str]:
        return [w for w in _TOKEN.findall(text.lower()) if w not in self._stop]

    def stems(self, text: str) -> list[str]:
        """Stems of the words only, without compound parts."""
        return self._stem_many(self.words(text))

    def tokens(self, text: str, *, whole_if_known: bool = False) -> list[str]:
        """Stems of ``text``, a compound's followed by the stems of its two known parts.

        ``whole_if_known``: a word the corpus uses stays whole, and only a compound it never writes
        yields its parts ("taaltoets" -> taaltoet, tal, toet). For queries: splitting a common known
        compound too ("sekswerkers" -> sekswerker, sek, werker) would count it three times against
        one rare word."""
        words = self.words(text)
        stems = self._stem_many(words)
        if not self.vocabulary:
            return stems
        out: list[str] = []
        for word, stem in zip(words, stems):
            out.append(stem)
            if not (whole_if_known and stem in self.vocabulary):
                out.extend(self.compound_parts(word))
        return out

    def query_tokens(self, text: str) -> list[str]:
        """Tokens of a query: ``tokens`` with a word the corpus uses kept whole."""
        return self.tokens(text, whole_if_known=True)

    def compound_parts(self, word: str) -> list[str]:
        """Stems of the two known parts of a compound word, or [] (cached per word)."""
        if word in self._splits:
            return self._splits[word]
        parts: list[str] = []
        if len(word) >= self.MIN_COMPOUND and word.isalpha() and self.vocabulary:
            best = 0
            for i in range(self.MIN_LEFT, len(word) - self.MIN_RIGHT + 1):
                left = word[:i]
                for link in self.LINKS:
                    if link and not word[i:].startswith(link):
                        continue
                    right = word[i + len(link) :]
                    if len(right) < self.MIN_RIGHT:
                        continue
                    left_stem, right_stem = self._stem_many([left, right])
                    if (
                        left_stem in self.vocabulary
                        and right_stem in self.vocabulary
                        and min(len(left), len(right)) > best
                    ):
                        best, parts = min(len(left), len(right)), [left_stem, right_stem]
            if not parts and self._stem_many([word])[0] not in self.vocabulary:
                # a word the corpus never uses (only in questions): its longest known head still counts
                heads = [
                    self._stem_many([word[:i]])[0] for i in range(len(word) - self.MIN_RIGHT, self.MIN_LEFT - 1, -1)
                ]
                parts = next(([h] for h in heads if h in self.vocabulary), [])
        if len(self._splits) < 200_000:
            self._splits[word] = parts
        return parts


def build_bm25(chunks: list[Chunk], analyzer: Analyzer):
    """A BM25 index of the chunks' embedded text; sets ``analyzer.vocabulary`` from the corpus first."""
    retriever = bm25s.BM25()
    analyzer.vocabulary = None
    analyzer.vocabulary = {stem for c in chunks for stem in analyzer.stems(c.embed_text)}
    corpus_tokens = [analyzer.tokens(c.embed_text) for c in chunks]
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus_tokens]
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    return retriever
