"""Like-for-like evaluation: every version of a task scored on the same fixed, public reference split.

The reference split is the validation split of the task's public data set with a fixed seed (0), held by
the hub, never a hospital's data. The headline metric comes with its case count and a 95% interval from
a stratified percentile bootstrap (Efron & Tibshirani 1993); scikit-learn computes the metric itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

REFERENCE_SEED = 0
BOOTSTRAP = 1000
#: resamples where the metric has no fast path (each one runs the task's full metrics)
BOOTSTRAP_SLOW = 200


def rank_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half): the same number as sklearn's
    `roc_auc_score` (cross-checked in the tests) at a fraction of its cost, which a 1000-resample
    bootstrap needs."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_interval(y: np.ndarray, proba: np.ndarray, metric: Callable[[np.ndarray, np.ndarray], float], *,
                       resamples: int = BOOTSTRAP, seed: int = 0, level: float = 0.95,
                       groups: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval of `metric(y, proba)`, resampling within each class; with `groups`
    (the patient / record of each case) whole groups are resampled, since cases of one patient are not
    independent (a cluster bootstrap)."""
    y = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    if groups is not None:
        members = [np.flatnonzero(np.asarray(groups) == g) for g in np.unique(groups)]
    by_class = [np.flatnonzero(y == k) for k in np.unique(y)]
    values = []
    for _ in range(resamples):
        if groups is not None:
            idx = np.concatenate([members[i] for i in rng.integers(0, len(members), size=len(members))])
        else:
            idx = np.concatenate([rng.choice(ix, size=len(ix), replace=True) for ix in by_class])
        v = metric(y[idx], proba[idx])
        if np.isfinite(v):
            values.append(v)
    if not values:
        return float("nan"), float("nan")
    lo, hi = np.quantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def evaluate(task: Any, proba: np.ndarray, y: np.ndarray, *, description: dict[str, Any] | None = None,
             resamples: int = BOOTSTRAP, groups: np.ndarray | None = None) -> dict[str, Any]:
    """The task's primary metric on the reference split with n and a 95% bootstrap interval."""
    name = task.primary_metric
    k = task.positive_index

    def metric(yy: np.ndarray, pp: np.ndarray) -> float:
        if name == "roc_auc" and k is not None and pp.shape[1] == 2:
            return rank_auc(yy == k, pp[:, k])
        return float(task.metrics(yy, pp).get(name, float("nan")))

    if not (name == "roc_auc" and k is not None):
        resamples = min(resamples, BOOTSTRAP_SLOW)

    value = metric(y, proba)
    lo, hi = bootstrap_interval(y, proba, metric, resamples=resamples, groups=groups)
    desc = description or {}
    groups_n = len(np.unique(groups)) if groups is not None else 0
    return {
        "metric": name, "value": round(value, 4), "n": int(len(y)), "ci_low": round(lo, 4), "ci_high": round(hi, 4),
        "interval": (f"95% percentile bootstrap over the {groups_n} patients / records, {resamples} resamples"
                     if groups is not None else f"95% stratified percentile bootstrap, {resamples} resamples"),
        "dataset": str(desc.get("dataset") or task.name),
        "split": f"validation split of the public data, seed {REFERENCE_SEED}"
                 + (f": {desc['split']}" if desc.get("split") else ""),
    }
