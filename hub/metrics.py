"""Classification metrics shared by baselines, federated evaluation and the validation gate.

Written with numpy rather than taken from `sklearn.metrics`: importing scikit-learn's metrics costs about
1.8 s of CPU, paid by every Flower message process that scores a model (ten nodes on two cores: seconds per
round), and each metric here is a few lines of counting. ROC AUC is the Mann-Whitney statistic with average
ranks for ties, which is what `sklearn.metrics.roc_auc_score` computes; tests/hub/test_metrics.py checks every
number against scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of `x`, ties sharing their average rank (as scipy.stats.rankdata's default)."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # start of each run of equal values, and the average rank of the run
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], len(x)]
    avg = (starts + ends + 1) / 2.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve of `score` for the boolean labels `positive` (both classes must occur)."""
    positive = np.asarray(positive, dtype=bool)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both classes")
    ranks = _average_ranks(np.asarray(score, dtype=np.float64))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(
    y_true: np.ndarray,
    proba: np.ndarray,
    *,
    labels: Sequence[str],
    positive_index: int | None = None,
) -> dict[str, float]:
    """Accuracy, macro F1, ROC AUC and per-class sensitivity / precision.

    Binary tasks report `roc_auc` of the positive class; multi-class tasks report the macro one-vs-rest
    AUC over the classes present. Per-class entries are `sensitivity_<label>` and `precision_<label>`.
    """
    y_true = np.asarray(y_true).astype(int)
    proba = np.asarray(proba, dtype=np.float64)
    pred = proba.argmax(axis=1)
    k_all = np.arange(len(labels))
    tp = np.array([np.sum((pred == k) & (y_true == k)) for k in k_all], dtype=np.float64)
    support = np.array([np.sum(y_true == k) for k in k_all], dtype=np.float64)
    predicted = np.array([np.sum(pred == k) for k in k_all], dtype=np.float64)
    # zero_division=0 as in scikit-learn: a class never predicted (or never present) scores 0
    prec = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    rec = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * tp, predicted + support, out=np.zeros_like(tp), where=(predicted + support) > 0)
    out: dict[str, float] = {
        "n": float(len(y_true)),
        "accuracy": float(np.mean(pred == y_true)) if len(y_true) else 0.0,
        "macro_f1": float(f1.mean()),
    }
    present = np.unique(y_true)
    if len(present) >= 2:
        if positive_index is not None and len(labels) == 2:
            out["roc_auc"] = roc_auc(y_true == positive_index, proba[:, positive_index])
        else:
            out["roc_auc"] = float(np.mean([roc_auc(y_true == k, proba[:, k]) for k in present]))
    for k, label in enumerate(labels):
        if support[k] > 0:
            out[f"sensitivity_{label}"] = float(rec[k])
        if (pred == k).any():
            out[f"precision_{label}"] = float(prec[k])
    return out
