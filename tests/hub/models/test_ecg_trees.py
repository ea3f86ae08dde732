"""The ECG network's boosted trees: exported from scikit-learn into tensors, evaluated in torch exactly as
scikit-learn evaluates them, with a usable gradient for explanations, and shipped inside the signed
safetensors weights of the ECG baseline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hub.models import _ecg_signal as sig
from hub.models._ecg_trees import TreeEnsemble, export, fit_trees
from hub.models.ecg import LABELS, TASK, TREE_FEATURES

WEIGHTS = Path(__file__).resolve().parents[3] / "hub" / "models" / "weights" / "ecg"


def _data(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    # N unless feature 0 is low (S) or feature 1 is high (V): features 2-4 are noise
    y = np.where(x[:, 1] > 1.0, 2, np.where(x[:, 0] < -0.8, 1, 0))
    return x, y


def _ensemble(arrays: dict[str, np.ndarray], x: np.ndarray) -> TreeEnsemble:
    trees = TreeEnsemble(*arrays["feature"].shape, x.shape[1], len(LABELS), int(arrays["depth"]))
    trees.load_arrays(arrays, x.std(axis=0))
    return trees


def test_torch_trees_reproduce_scikit_learn_probabilities():
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y = _data()
    model = HistGradientBoostingClassifier(max_iter=25, max_leaf_nodes=15, early_stopping=False, random_state=0)
    model.fit(x, y)
    trees = _ensemble(export(model, n_classes=len(LABELS)), x)
    xt, _ = _data(500, seed=1)
    with torch.no_grad():
        proba = torch.softmax(trees(torch.as_tensor(xt)), dim=1).numpy()
    assert np.abs(proba[:, :3] - model.predict_proba(xt)).max() < 1e-5
    assert proba[:, 3:].max() < 1e-6  # F and Q get no trees: never called by them


def test_fit_trees_learns_the_classes_and_its_gradient_points_at_the_deciding_feature():
    x, y = _data()
    trees = _ensemble(fit_trees(x, y, n_classes=len(LABELS), seed=0, max_iter=30), x)
    with torch.no_grad():
        pred = trees(torch.as_tensor(x)).argmax(dim=1).numpy()
    assert (pred == y).mean() > 0.95
    beat = torch.tensor([[-0.8, 0.0, 0.0, 0.0, 0.0]], requires_grad=True)  # on the N / S border
    out = trees(beat)
    with torch.no_grad():
        assert torch.allclose(out, trees(beat.detach()))  # the value is the trees' exact output
    out[0, 1].backward()
    grad = beat.grad.abs()[0]
    assert grad[0] > 0 and grad[0] > 10 * grad[2:].max()


@pytest.mark.skipif(not (WEIGHTS / "model.safetensors").is_file(), reason="no shipped ECG weights")
def test_the_shipped_network_carries_its_trees_in_safetensors():
    import json

    from hub.registry.base import load_network

    config = json.loads((WEIGHTS / "config.json").read_text())
    assert config["n_trees"] > 0 and 0 < config["tree_weight"] <= 1
    assert [sig.SCALARS[c] for c in config["tree_columns"]] == list(TREE_FEATURES)
    net = load_network(TASK.network_class, WEIGHTS, label="shipped ecg")
    assert net.trees is not None and float(net.trees.value.abs().sum()) > 0
    cases = TASK.read_input(next(p for p in TASK.example_inputs() if p.suffix == ".hea"))
    with torch.no_grad():
        proba = torch.exp(net(torch.as_tensor(cases.x))).numpy()
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)
