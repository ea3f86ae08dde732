"""Fixtures for the registry tests: a signing key, small TabularNet networks, a local registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hub.models import get_task
from hub.registry import Lineage, LocalRegistry, SigningKey


@pytest.fixture
def signer() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def make_network():
    """A fresh breast_cancer TabularNet with seeded random weights (different per seed)."""

    def make(seed: int = 0):
        torch.manual_seed(seed)
        net = get_task("breast_cancer").build_network()
        with torch.no_grad():
            net.mean.uniform_(0, 10)
            net.std.uniform_(1, 2)
        return net

    return make


@pytest.fixture
def registry(tmp_path: Path, signer: SigningKey) -> LocalRegistry:
    return LocalRegistry(tmp_path / "registry", signer=signer)


@pytest.fixture
def publish():
    """publish(registry, net, alias=..., accuracy=..., **lineage fields) for breast_cancer."""

    def run(reg, net, *, alias="production", accuracy=0.9, **lineage):
        return reg.publish("breast_cancer", net, metrics={"accuracy": accuracy, "roc_auc": 0.95},
                           lineage=Lineage(**lineage), data={"dataset": "WDBC", "train_cases": 426}, alias=alias)

    return run
