"""Seeding a registry with shipped baselines: sha256 checked, published as signed v1.0, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hub.baselines import sha256_file
from hub.errors import RegistryError
from hub.registry.seed import seed_baselines

TASK = "breast_cancer"


@pytest.fixture
def weights_root(tmp_path: Path, make_network) -> Path:
    """A tiny shipped-weights tree, written the way hub.baselines writes it."""
    root = tmp_path / "weights"
    folder = root / TASK
    net = make_network(7)
    net.save_pretrained(folder)
    (folder / "README.md").unlink()
    record = {
        "task": TASK,
        "metrics": {"accuracy": 0.96, "roc_auc": 0.99},
        "data": {"dataset": "Wisconsin Diagnostic Breast Cancer", "train_cases": 426, "validation_cases": 143},
        "hyperparameters": {"hidden": [32]},
        "seed": 0,
        "sha256": {"model.safetensors": sha256_file(folder / "model.safetensors")},
    }
    (folder / "baseline.json").write_text(json.dumps(record))
    return root


def test_seed_publishes_v1_0_and_is_idempotent(registry, weights_root, make_network):
    done = seed_baselines(registry, weights_root)
    assert [(i.task, i.version, i.aliases) for i in done] == [(TASK, "v1.0", ["production"])]
    info = done[0]
    assert info.metrics == {"accuracy": 0.96, "roc_auc": 0.99}
    assert info.lineage.source == "baseline" and info.lineage.samples == 426 and info.lineage.parent is None
    assert info.data["dataset"] == "Wisconsin Diagnostic Breast Cancer"
    assert info.digest == sha256_file(weights_root / TASK / "model.safetensors")  # the shipped bytes, unchanged
    loaded = registry.load(TASK)
    for key, value in make_network(7).state_dict().items():
        assert torch.equal(loaded.network.state_dict()[key], value)
    assert [e.action for e in registry.history(TASK)] == ["publish"]

    assert seed_baselines(registry, weights_root) == []  # second run: nothing to do
    assert [v.version for v in registry.versions(TASK)] == ["v1.0"]


def test_seed_skips_tasks_without_shipped_weights(registry, tmp_path):
    assert seed_baselines(registry, tmp_path / "empty") == []
    assert registry.tasks() == []


def test_seed_refuses_weights_that_do_not_match_their_sha256(registry, weights_root):
    path = weights_root / TASK / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match="does not match the sha256 in baseline.json"):
        seed_baselines(registry, weights_root, tasks=[TASK])
    assert registry.versions(TASK) == []


def test_seed_refuses_a_pickle_beside_the_weights(registry, weights_root):
    (weights_root / TASK / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(RegistryError, match="refusing to load a folder containing pytorch_model.bin"):
        seed_baselines(registry, weights_root, tasks=[TASK])
