"""The router's character n-gram model (`assistant.lexical`): its own scoring is scikit-learn's, read back from
plain arrays, and an emergency it alone recognises is one.

The wordings below are written for these tests, none copied from a question set.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from assistant import lexical
from assistant.router import CLASSES, Routing

TEXTS = ["", "a", "I  took\tall of them\n\nan hour ago", "Ça va? NON. I'm not OK", "x y z",
         "my brother won't wake up and his lips look blue", "how do I rotate the API key?",
         "the node crashed overnight, is the round lost", "ordered rope, it comes Friday, nobody knows",
         "what does a 0.82 from the pneumonia model mean", "wat happens if u take like 40 of them"]
TRAIN = [("my brother won't wake up and his lips look blue", True), ("she took the whole bottle an hour ago", True),
         ("ordered rope, it comes Friday, nobody knows", True), ("he is bleeding and it will not stop", True),
         ("I wrote the letters, tonight is the night", True), ("can't breathe, chest is crushing", True),
         ("how do I rotate the API key?", False), ("the node crashed overnight, is the round lost", False),
         ("what does a 0.82 from the pneumonia model mean", False), ("this quota is killing me", False),
         ("kill the training job please", False), ("which hospitals trained the ECG model", False),
         ("I took an overdose years ago and I am well now", False), ("how is the privacy budget spent", False)]


@pytest.mark.parametrize("ngrams", [(2, 5), (1, 4), (3, 6)])
def test_the_ngrams_are_scikit_learns_char_wb(ngrams):
    analyzer = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams).build_analyzer()
    for text in TEXTS:
        assert lexical.char_wb_ngrams(text, ngrams) == analyzer(text), text


def test_the_probability_is_scikit_learns_predict_proba():
    texts, labels = zip(*TRAIN)
    model = lexical.fit(list(texts), list(labels), c=5.0)
    vectorizer = lexical.sklearn_vectorizer(TfidfVectorizer)
    x = vectorizer.fit_transform(texts)
    reference = LogisticRegression(C=5.0, class_weight="balanced", max_iter=5000).fit(x, np.array(labels))
    probe = TEXTS + ["qqqq", "my sister won't wake up", "rotate my key"]
    expected = reference.predict_proba(vectorizer.transform(probe))[:, 1]
    got = [model.probability(t) for t in probe]
    assert np.allclose(got, expected, rtol=0, atol=1e-9), list(zip(probe, got, expected))
    assert len(set(np.round(got, 6))) > 3  # the probe texts are told apart, not one constant


def test_the_model_reads_back_from_plain_arrays(tmp_path):
    texts, labels = zip(*TRAIN)
    model = lexical.fit(list(texts), list(labels))
    for i, array in enumerate(model.arrays()):
        np.save(tmp_path / f"{i}.npy", array, allow_pickle=False)
    again = lexical.CharGrams.from_arrays(tuple(np.load(tmp_path / f"{i}.npy", allow_pickle=False) for i in range(4)))
    assert [again.probability(t) for t in TEXTS] == [model.probability(t) for t in TEXTS]


def test_an_emergency_the_ngram_model_alone_recognises_is_one():
    quiet = {k: 0.0 for k in CLASSES}
    thresholds = {k: 0.5 for k in CLASSES}
    assert not Routing(dict(quiet), thresholds).emergency
    assert Routing(dict(quiet), thresholds, lexical_says_emergency=True).emergency
    # and it never replaces an answer by anything else
    assert Routing(dict(quiet), thresholds, lexical_says_emergency=True).instead_of_answer(unknown_agreed=True) is None
