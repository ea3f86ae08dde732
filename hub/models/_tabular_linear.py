"""A linear head fitted exactly, for tabular baselines on very few people.

L2-penalised logistic regression on the standardised fields (balanced class weights), its penalty chosen
by cross-validation on the training split alone, whole persons per fold where persons repeat
(`StratifiedGroupKFold`), never on the validation split that is then reported. Its scale is set by Platt
scaling on the out-of-fold scores, so a strongly penalised model still gives usable probabilities. The
result is written into a `TabularNet` without hidden layers: the same signed network, NaN imputation and
Kernel SHAP explanations as every tabular task; only the solver differs from `hub.training.fit`.

Why: with 24 training persons (Parkinson's voice recordings) an MLP whose size and epoch are chosen on a
held-out split of 8 persons fits that split; a penalised linear model ranks new persons better (see
`benchmarks/parkinsons_heads.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def folds(y: np.ndarray, groups: np.ndarray | None, *, n_splits: int = 4, repeats: int = 5, seed: int = 0
          ) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Repeated stratified folds (by group where `groups` is set): one list of (train, test) per repeat."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    out = []
    for r in range(repeats):
        if groups is not None:
            cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed + 100 + r)
            out.append(list(cv.split(np.zeros(len(y)), y, groups)))
        else:
            cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed + 100 + r)
            out.append(list(cv.split(np.zeros(len(y)), y)))
    return out


def cv_auc(fit_predict: FitPredict, x: np.ndarray, y: np.ndarray,
           splits: list[list[tuple[np.ndarray, np.ndarray]]]) -> tuple[float, float, np.ndarray]:
    """Mean and spread over repeats of the out-of-fold ROC AUC of `fit_predict(x_a, y_a, x_b) -> p(y=1)`,
    and the first repeat's out-of-fold scores."""
    from sklearn.metrics import roc_auc_score

    aucs, first = [], None
    for repeat in splits:
        p = np.zeros(len(y))
        for a, b in repeat:
            p[b] = fit_predict(x[a], y[a], x[b])
        aucs.append(roc_auc_score(y, p))
        first = p if first is None else first
    return float(np.mean(aucs)), float(np.std(aucs)), first


def _impute(x: np.ndarray, mean: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isnan(x), mean[None, :], x)


def logistic(penalty: float) -> FitPredict:
    """Fit-and-score with L2 logistic regression (C = `penalty`) on standardised, mean-imputed fields."""
    from sklearn.linear_model import LogisticRegression

    def fit_predict(xa: np.ndarray, ya: np.ndarray, xb: np.ndarray) -> np.ndarray:
        mean = np.nanmean(np.asarray(xa, dtype=np.float64), axis=0)
        za = _impute(xa, mean)
        std = np.maximum(za.std(axis=0), 1e-6)
        lr = LogisticRegression(C=penalty, class_weight="balanced", max_iter=10_000)
        lr.fit((za - mean) / std, ya)
        return lr.decision_function((_impute(xb, mean) - mean) / std)

    return fit_predict


@dataclass
class LinearHead:
    """The fitted head: logit(p(class 1)) = scale * (coef . z + intercept) + offset, z the standardised row."""

    coef: np.ndarray
    intercept: float
    penalty: float
    scale: float
    offset: float
    cv_by_penalty: dict[str, tuple[float, float]] = field(default_factory=dict)

    def facts(self) -> dict[str, Any]:
        return {"head": "L2 logistic regression (exact), Platt-scaled", "C": self.penalty,
                "platt_scale": round(self.scale, 4), "platt_offset": round(self.offset, 4),
                "cv_roc_auc_by_C": {k: [round(m, 4), round(s, 4)] for k, (m, s) in self.cv_by_penalty.items()}}


def fit_linear_head(x: np.ndarray, y: np.ndarray, groups: np.ndarray | None, *, mean: np.ndarray, std: np.ndarray,
                    penalties: Sequence[float], seed: int = 0, n_splits: int = 4, repeats: int = 5,
                    progress: Callable[[str], None] = lambda _: None) -> LinearHead:
    """Choose C by repeated (grouped) CV on (x, y), refit on all of it with the network's own `mean` / `std`."""
    from sklearn.linear_model import LogisticRegression

    splits = folds(y, groups, n_splits=n_splits, repeats=repeats, seed=seed)
    table, oof = {}, {}
    for c in penalties:
        m, s, scores = cv_auc(logistic(c), x, y, splits)
        table[f"{c:g}"], oof[c] = (m, s), scores
        progress(f"C={c:g}: {'grouped ' if groups is not None else ''}CV ROC AUC {m:.3f} +- {s:.3f}")
    best = max(penalties, key=lambda c: (table[f"{c:g}"][0], -c))  # ties: the stronger penalty
    # Platt scaling on out-of-fold scores (balanced, as the fit): the probabilities of a heavily penalised
    # model are squeezed towards 1/2; this stretches them back without moving the ranking
    platt = LogisticRegression(C=1e6, class_weight="balanced", max_iter=10_000).fit(oof[best][:, None], y)
    scale, offset = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    if not scale > 0:  # a degenerate fold set: keep the raw scores
        scale, offset = 1.0, 0.0
    z = (_impute(x, np.asarray(mean, dtype=np.float64)) - mean) / std
    lr = LogisticRegression(C=best, class_weight="balanced", max_iter=10_000).fit(z, y)
    return LinearHead(coef=lr.coef_[0].astype(np.float64), intercept=float(lr.intercept_[0]), penalty=best,
                      scale=scale, offset=offset, cv_by_penalty=table)


def load_into(network: Any, head: LinearHead) -> None:
    """Write `head` into a `TabularNet` without hidden layers (two logits: 0 and the head's logit)."""
    import torch

    layer = network.mlp[-1]
    if len(network.mlp) != 1 or layer.out_features != 2:
        raise ValueError("a linear head goes into a TabularNet with no hidden layer and two classes")
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.zero_()
        layer.weight[1] = torch.as_tensor(head.scale * head.coef, dtype=torch.float32)
        layer.bias[1] = float(head.scale * head.intercept + head.offset)
