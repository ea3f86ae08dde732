"""A character n-gram reading of "is this an emergency?", beside the router's sentence embeddings.

Why a second reader: the sentence embedding (MiniLM) places a message by its topic, and most messages to MedHive
are about MedHive, so "counted them out again. 42. should be enough with the vodka" lands near questions about
counts and models. Character n-grams of the words ("vodka", "enough", "counted") read the wording itself, survive
typos and slang ("didnt", "wat happens if u"), and learn from every emergency and near miss the seen sets hold.
Out of fold over the seen question and emergency sets' first-contact verdicts, it recognised far more of the
emergencies the rules and the embedding fit had missed than the nearest-neighbour vote alone, for a few more false
alarms (`python -m benchmarks.router_lexical`, benchmarks/results/router_lexical.md).

The model is scikit-learn's `TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, min_df=MIN_DF,
sublinear_tf=True)` followed by `LogisticRegression(C=C, class_weight="balanced")`, fitted with scikit-learn on a
cache miss (`fit`). Scoring is written here in plain Python (`CharGrams.probability`) because importing
scikit-learn costs about a second of a cold `medhive ask` (measured 0.94-1.0 s here, against 0.54 s for the whole
cold answer); tests/assistant/test_lexical.py checks it against scikit-learn's own `predict_proba`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: the character n-gram lengths and the fewest messages an n-gram must appear in to be kept
NGRAMS, MIN_DF = (2, 5), 2
#: the inverse L2 strength of the fit (scikit-learn's `C`) and the probability at which an emergency is flagged,
#: chosen out of fold (`python -m benchmarks.router_lexical`)
C, THRESHOLD = 30.0, 0.6
_WHITE_SPACES = re.compile(r"\s\s+")


def char_wb_ngrams(text: str, ngrams: tuple[int, int] = NGRAMS) -> list[str]:
    """The n-grams scikit-learn's `char_wb` analyzer gives for `text` (lower-cased, each word padded with one
    space on either side, a word shorter than n counted once)."""
    low, high = ngrams
    grams: list[str] = []
    for word in _WHITE_SPACES.sub(" ", text.lower()).split():
        word = f" {word} "
        length = len(word)
        for n in range(low, high + 1):
            offset = 0
            grams.append(word[offset:offset + n])
            while offset + n < length:
                offset += 1
                grams.append(word[offset:offset + n])
            if offset == 0:
                break
    return grams


@dataclass(frozen=True)
class CharGrams:
    """A fitted model: the kept n-grams, their inverse document frequencies, one weight each and an intercept."""

    vocabulary: np.ndarray  # (n,) str
    idf: np.ndarray  # (n,) float64
    coef: np.ndarray  # (n,) float64
    intercept: float
    threshold: float = THRESHOLD
    ngrams: tuple[int, int] = NGRAMS
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self._index:
            self._index.update((str(g), i) for i, g in enumerate(self.vocabulary.tolist()))

    def probability(self, text: str) -> float:
        """The fitted probability that `text` describes an emergency happening now."""
        counts = Counter(i for i in map(self._index.get, char_wb_ngrams(text, self.ngrams)) if i is not None)
        if not counts:
            return float(1.0 / (1.0 + math.exp(-self.intercept)))
        index = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        value = tf * self.idf[index]
        value /= np.linalg.norm(value)
        z = float(value @ self.coef[index]) + self.intercept
        return float(np.exp(-np.logaddexp(0.0, -z)))

    def says_emergency(self, text: str) -> bool:
        return self.probability(text) >= self.threshold

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """What `from_arrays` reads back (plain arrays: saved as .npy without pickle)."""
        return self.vocabulary, self.idf, self.coef, np.array([self.intercept])

    @classmethod
    def from_arrays(cls, arrays: tuple[np.ndarray, ...], *, threshold: float = THRESHOLD) -> CharGrams:
        vocabulary, idf, coef, intercept = arrays
        return cls(vocabulary=vocabulary, idf=idf, coef=coef, intercept=float(intercept[0]), threshold=threshold)


def fit(texts: list[str], emergency: list[bool] | np.ndarray, *, c: float = C, threshold: float = THRESHOLD,
        ngrams: tuple[int, int] = NGRAMS, min_df: int = MIN_DF) -> CharGrams:
    """Fitted with scikit-learn (imported here only: a cache miss, not a cold answer)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = sklearn_vectorizer(TfidfVectorizer, ngrams=ngrams, min_df=min_df)
    x = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, np.asarray(emergency, dtype=bool))
    vocabulary = vectorizer.get_feature_names_out()
    return CharGrams(vocabulary=np.asarray(vocabulary, dtype=str), idf=np.asarray(vectorizer.idf_, dtype=np.float64),
                     coef=np.asarray(model.coef_[0], dtype=np.float64), intercept=float(model.intercept_[0]),
                     threshold=threshold, ngrams=ngrams)


def sklearn_vectorizer(vectorizer_class: Any, *, ngrams: tuple[int, int] = NGRAMS, min_df: int = MIN_DF) -> Any:
    """The scikit-learn vectorizer `fit` uses (also what the tests check `CharGrams` against)."""
    return vectorizer_class(analyzer="char_wb", ngram_range=ngrams, min_df=min_df, sublinear_tf=True)
