"""`hub.metrics` is numpy (no scikit-learn import in a Flower message): every number is checked against
scikit-learn here, on binary and multi-class data, with ties, absent and never-predicted classes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from hub.metrics import classification_metrics, roc_auc


def _proba(rng: np.random.Generator, n: int, k: int, *, round_to: int | None = None) -> np.ndarray:
    p = rng.dirichlet(np.ones(k), size=n)
    return np.round(p, round_to) if round_to is not None else p


@pytest.mark.parametrize("round_to", [None, 1])  # 1 decimal: many tied scores
def test_roc_auc_matches_scikit_learn(round_to):
    rng = np.random.default_rng(0)
    for n in (5, 40, 500):
        y = rng.integers(0, 2, size=n)
        y[:2] = [0, 1]
        score = _proba(rng, n, 2, round_to=round_to)[:, 1]
        assert roc_auc(y == 1, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    with pytest.raises(ValueError):
        roc_auc(np.ones(3, dtype=bool), np.arange(3.0))


@pytest.mark.parametrize(("k", "positive"), [(2, 1), (5, None)])
def test_classification_metrics_match_scikit_learn(k, positive):
    rng = np.random.default_rng(k)
    labels = [f"c{i}" for i in range(k)]
    y = rng.integers(0, k - 1 if k > 2 else k, size=300)  # multi-class: the last class never occurs
    proba = _proba(rng, 300, k, round_to=2)
    proba[:, 0] += 0.3 * (k > 2)  # and some class is rarely predicted
    m = classification_metrics(y, proba, labels=labels, positive_index=positive)
    pred = proba.argmax(axis=1)
    assert m["accuracy"] == pytest.approx(np.mean(pred == y))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro", labels=range(k), zero_division=0))
    if positive is not None:
        assert m["roc_auc"] == pytest.approx(roc_auc_score(y == positive, proba[:, positive]))
    else:
        present = np.unique(y)
        expected = np.mean([roc_auc_score(y == c, proba[:, c]) for c in present])
        assert m["roc_auc"] == pytest.approx(expected)
    prec, rec, _, support = precision_recall_fscore_support(y, pred, labels=range(k), zero_division=0)
    for i, label in enumerate(labels):
        assert (f"sensitivity_{label}" in m) == (support[i] > 0)
        if support[i] > 0:
            assert m[f"sensitivity_{label}"] == pytest.approx(rec[i])
        if (pred == i).any():
            assert m[f"precision_{label}"] == pytest.approx(prec[i])
