"""Classification metrics shared by baselines, federated evaluation and the validation gate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support, roc_auc_score


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
    out: dict[str, float] = {
        "n": float(len(y_true)),
        "accuracy": float(accuracy_score(y_true, pred)),
        "macro_f1": float(f1_score(y_true, pred, average="macro", labels=range(len(labels)), zero_division=0)),
    }
    present = np.unique(y_true)
    if len(present) >= 2:
        if positive_index is not None and len(labels) == 2:
            out["roc_auc"] = float(roc_auc_score(y_true == positive_index, proba[:, positive_index]))
        else:
            aucs = [roc_auc_score(y_true == k, proba[:, k]) for k in present]
            out["roc_auc"] = float(np.mean(aucs))
    prec, rec, _, support = precision_recall_fscore_support(
        y_true, pred, labels=range(len(labels)), zero_division=0
    )
    for k, label in enumerate(labels):
        if support[k] > 0:
            out[f"sensitivity_{label}"] = float(rec[k])
        if (pred == k).any():
            out[f"precision_{label}"] = float(prec[k])
    return out
