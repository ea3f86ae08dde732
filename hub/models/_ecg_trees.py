"""Gradient-boosted trees on the ECG beat's scalar features, stored as tensors (safetensors, no pickle).

Leave-records-out cross-validation on MIT-BIH DS1 (`benchmarks/ecg_interpatient.py`) found that a
class-balanced histogram gradient-boosting model on the RR and template features generalises to unseen
patients far better than the network for the S class. scikit-learn fits it (`fit_trees`); its trees are
then copied into plain arrays (feature, threshold, children, leaf values) that `TreeEnsemble` evaluates
in torch, so the model ships inside the network's signed safetensors file and loads without pickle.

Trees are piecewise constant, so their gradient is zero almost everywhere. For gradient explanations
(SHAP's GradientExplainer) the forward pass returns the exact tree output but, when the input requires
a gradient, carries the gradient of the same trees with each split softened into a sigmoid (width: 5%
of the feature's standard deviation): a straight-through estimator whose attributions say which
features moved the trees' vote.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SOFT_WIDTH = 0.05


def fit_trees(x: np.ndarray, y: np.ndarray, *, n_classes: int, seed: int, max_iter: int = 100,
              learning_rate: float = 0.1, max_leaf_nodes: int = 15, classes: tuple[int, ...] = (0, 1, 2)
              ) -> dict[str, np.ndarray]:
    """Fit class-balanced gradient boosting on `x` (beats x features) for the beats whose label is in
    `classes` (N, S, V: F and Q are too rare in DS1 to learn trees for) and return its arrays."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    keep = np.isin(y, classes)
    xs, ys = x[keep], y[keep]
    counts = np.bincount(ys, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, len(ys) / np.maximum(counts, 1), 0.0)[ys]
    model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=learning_rate,
                                           max_leaf_nodes=max_leaf_nodes, l2_regularization=1.0,
                                           early_stopping=False, random_state=seed)
    model.fit(xs, ys, sample_weight=w / w.mean())
    return export(model, n_classes=n_classes)


def export(model, *, n_classes: int) -> dict[str, np.ndarray]:
    """The arrays of a fitted multi-class HistGradientBoostingClassifier (numeric features, no NaN)."""
    trees = [(k, p.nodes) for it in model._predictors for k, p in enumerate(it)]
    m = max(len(nodes) for _, nodes in trees)
    t = len(trees)
    out = {"feature": np.zeros((t, m), np.int64), "threshold": np.zeros((t, m), np.float32),
           "left": np.zeros((t, m), np.int64), "right": np.zeros((t, m), np.int64),
           "leaf": np.ones((t, m), np.bool_), "value": np.zeros((t, m), np.float32),
           "tree_class": np.zeros(t, np.int64), "baseline": np.full(n_classes, -30.0, np.float32)}
    for i, (k, nodes) in enumerate(trees):
        n = len(nodes)
        out["feature"][i, :n] = nodes["feature_idx"]
        out["threshold"][i, :n] = nodes["num_threshold"]
        out["left"][i, :n] = nodes["left"]
        out["right"][i, :n] = nodes["right"]
        out["leaf"][i, :n] = nodes["is_leaf"]
        out["value"][i, :n] = nodes["value"]
        out["tree_class"][i] = int(model.classes_[k])
    base = np.asarray(model._baseline_prediction, dtype=np.float32).ravel()
    out["baseline"][np.asarray(model.classes_)] = base
    out["leaf"] = out["leaf"].astype(np.float32)
    out["depth"] = np.array(max(int(nodes["depth"].max()) for _, nodes in trees) + 1)
    return out


class TreeEnsemble(nn.Module):
    """Raw class scores (logits) of exported boosted trees; all arrays are buffers (never trained)."""

    def __init__(self, n_trees: int, n_nodes: int, n_features: int, n_classes: int, depth: int):
        super().__init__()
        self.depth = depth
        self.register_buffer("feature", torch.zeros(n_trees, n_nodes, dtype=torch.int64))
        self.register_buffer("threshold", torch.zeros(n_trees, n_nodes))
        self.register_buffer("left", torch.zeros(n_trees, n_nodes, dtype=torch.int64))
        self.register_buffer("right", torch.zeros(n_trees, n_nodes, dtype=torch.int64))
        self.register_buffer("leaf", torch.ones(n_trees, n_nodes))
        self.register_buffer("value", torch.zeros(n_trees, n_nodes))
        self.register_buffer("tree_class", torch.zeros(n_trees, dtype=torch.int64))
        self.register_buffer("baseline", torch.zeros(n_classes))
        self.register_buffer("feature_scale", torch.ones(n_features))

    def load_arrays(self, arrays: dict[str, np.ndarray], feature_scale: np.ndarray) -> None:
        for name, value in arrays.items():
            if name == "depth":
                continue
            getattr(self, name).copy_(torch.as_tensor(value))
        self.feature_scale.copy_(torch.as_tensor(np.maximum(feature_scale, 1e-3), dtype=torch.float32))

    def _scores(self, leaf_values: torch.Tensor) -> torch.Tensor:
        """(batch, n_classes) from per-tree outputs (batch, n_trees)."""
        out = self.baseline.expand(len(leaf_values), -1).clone()
        return out.index_add(1, self.tree_class, leaf_values)

    def hard(self, x: torch.Tensor) -> torch.Tensor:
        b, (t, m) = len(x), self.feature.shape
        # flat node arrays in which a leaf points to itself: one gather per array and level, no branches
        node = torch.arange(t * m).reshape(t, m)
        offset = (torch.arange(t) * m).unsqueeze(1)
        is_leaf = self.leaf > 0.5
        left = torch.where(is_leaf, node, self.left + offset).reshape(-1)
        right = torch.where(is_leaf, node, self.right + offset).reshape(-1)
        feature, threshold = self.feature.reshape(-1), self.threshold.reshape(-1)
        idx = offset.T.expand(b, t)
        for _ in range(self.depth):
            go_left = x.gather(1, feature[idx]) <= threshold[idx]
            idx = torch.where(go_left, left[idx], right[idx])
        return self._scores(self.value.reshape(-1)[idx])

    def soft(self, x: torch.Tensor) -> torch.Tensor:
        b, (t, m) = len(x), self.feature.shape
        reach = torch.zeros(b, t, m + 1, dtype=x.dtype)
        reach[:, :, 0] = 1.0
        sink = torch.full_like(self.left, m)
        for j in range(m):
            internal = self.leaf[:, j] < 0.5
            if not bool(internal.any()):
                continue
            f = self.feature[:, j]
            s = torch.sigmoid((self.threshold[:, j] - x[:, f]) / (SOFT_WIDTH * self.feature_scale[f]))
            here = reach[:, :, j] * internal
            to_left = torch.where(internal, self.left[:, j], sink[:, j]).expand(b, -1).unsqueeze(2)
            to_right = torch.where(internal, self.right[:, j], sink[:, j]).expand(b, -1).unsqueeze(2)
            reach = reach.scatter_add(2, to_left, (here * s).unsqueeze(2))
            reach = reach.scatter_add(2, to_right, (here * (1 - s)).unsqueeze(2))
        leaves = reach[:, :, :m] * self.leaf
        return self._scores((leaves * self.value).sum(dim=2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hard = self.hard(x.detach())
        if not (torch.is_grad_enabled() and x.requires_grad):
            return hard
        soft = self.soft(x)
        return hard + soft - soft.detach()
