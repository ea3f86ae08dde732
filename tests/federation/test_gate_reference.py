"""The gate compares like with like: parent and candidate on the hub's fixed public reference split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.federation.test_gate_publish import _job, _run


@pytest.fixture
def bc_home(medhive_home: Path) -> Path:
    from hub.registry.seed import seed_baselines

    seed_baselines(_registry(medhive_home), tasks=["breast_cancer"])
    return medhive_home


def _registry(home):
    from hub.registry import open_registry
    from hub.registry.signing import load_or_create_keypair

    return open_registry("local", home=home, signer=load_or_create_keypair(home))


def test_worse_on_the_reference_split_keeps_production(bc_home, tmp_path):
    """The hospitals report an improvement (0.95 -> 0.97), but the published weights are deliberately worse
    (the output layer's sign flipped: the ranking reverses); the reference split catches it."""
    registry = _registry(bc_home)
    parent = registry.resolve("breast_cancer", "production")
    job = _job(bc_home, tmp_path, "flipped")
    arrays = job.start()
    job.evaluated(0, {"roc_auc": 0.95, "n": 50.0}, {"h-1": {"roc_auc": 0.95, "n": 50.0}})
    job.fitted(1, {"hospitals": [{"hospital": "h-1", "n": 150, "loss": 0.3}], "loss": 0.3, "failures": [], "rejected": []})
    job.evaluated(1, {"roc_auc": 0.97, "n": 50.0}, {"h-1": {"roc_auc": 0.97, "n": 50.0}})
    from federation.training import exchange_keys

    last = f"mlp.{len(job.network.mlp) - 1}."
    flipped = [-a if name.startswith(last) else a for name, a in zip(exchange_keys(job.network), arrays)]
    assert sum(name.startswith(last) for name in exchange_keys(job.network)) == 2  # weight and bias
    decision = job.finish(flipped)
    assert decision.alias == "candidate" and "production unchanged" in decision.reason
    assert decision.reference_candidate < decision.reference_parent - 0.01
    assert registry.resolve("breast_cancer", "production") == parent
    candidate = registry.info("breast_cancer", "candidate")
    ref = candidate.trust["reference"]
    assert ref["parent_version"] == parent and ref["value"] == round(decision.reference_candidate, 4)


def test_federated_card_shows_reference_beside_parent_and_hospitals(bc_home, tmp_path):
    registry = _registry(bc_home)
    parent = registry.info("breast_cancer", "production")
    outcome = _run(_job(bc_home, tmp_path, "small-step"), 0.95, 0.97)
    assert outcome["alias"] == "production"
    info = registry.info("breast_cancer", outcome["published"])
    ref, parent_ref = info.trust["reference"], parent.trust["reference"]
    # the same cases for both versions, and the parent's value recomputed on them equals its own record
    assert ref["n"] == parent_ref["n"] > 100 and ref["dataset"] == parent_ref["dataset"]
    assert ref["parent_value"] == parent_ref["value"] and ref["ci_low"] <= ref["value"] <= ref["ci_high"]
    card = (registry.fetch("breast_cancer", info.version) / "README.md").read_text()
    assert "## Reference evaluation (like for like)" in card
    assert f"| {ref['n']} | " in card and f"parent {parent.version} (same cases)" in card
    assert "## Hospitals' own validation (federated)" in card and "2 hospital(s)" in card
    assert f"the data of its parent {parent.version}, then 2 hospital(s) with 250 training samples" in card
    # the new weights got their own plausibility statistics and calibration, not the parent's copy
    assert info.trust["calibration"]["n"] == ref["n"]
    loaded = registry.load("breast_cancer", info.version)
    assert loaded.trust["plausibility"]["mean"] and loaded.trust["plausibility"]["validation_refused"] <= 0.01 * ref["n"]
    assert not np.isnan(loaded.trust["calibration"]["ece"])
