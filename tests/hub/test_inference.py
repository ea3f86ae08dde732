"""Inference: alias resolution on every call, one verified load per version, promotion and rollback
picked up without a restart, batches of rows, images and beats, timing and the version that answered."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from hub.errors import SignatureError, UnknownTaskError, VersionNotFoundError
from hub.inference import Predictor
from hub.models import get_task
from hub.registry import Lineage, LocalRegistry, SigningKey
from hub.registry.seed import seed_baselines

TASK = "breast_cancer"


def constant_net(malignant: bool):
    """A breast_cancer network that answers one class for every input (bias only)."""
    net = get_task(TASK).build_network(hidden=[])
    with torch.no_grad():
        net.mlp[-1].weight.zero_()
        net.mlp[-1].bias.copy_(torch.tensor([0.0, 5.0] if malignant else [5.0, 0.0]))
    return net


@pytest.fixture
def registry(tmp_path: Path) -> LocalRegistry:
    reg = LocalRegistry(tmp_path / "registry", signer=SigningKey.generate())
    reg.publish(TASK, constant_net(False), metrics={"roc_auc": 0.5}, lineage=Lineage(), alias="production")
    return reg


def one_case():
    return get_task(TASK).read_input(get_task(TASK).example_inputs()[0])


class CountingRegistry:
    """Wraps a registry and counts `load` calls."""

    def __init__(self, inner):
        self.inner, self.loads = inner, 0

    def load(self, task, ref="production", **options):
        self.loads += 1
        return self.inner.load(task, ref, **options)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_prediction_reports_label_probabilities_version_and_timing(registry):
    batch = Predictor(registry).predict_cases(TASK, one_case())
    p = batch.predictions[0]
    assert (batch.version, p.label) == ("v1.0", "benign")
    assert set(p.probabilities) == {"benign", "malignant"} and abs(sum(p.probabilities.values()) - 1) < 1e-5
    assert p.confidence == p.probabilities["benign"] > 0.99
    timing = batch.timing()
    assert timing["total_ms"] >= timing["predict_ms"] >= 0 and timing["load_ms"] > 0
    record = batch.to_dict()
    assert record["model_version"] == "v1.0" and record["predictions"][0]["label"] == "benign"


def test_loads_each_version_once_and_caches_it(registry):
    counting = CountingRegistry(registry)
    predictor = Predictor(counting)
    first = predictor.predict_cases(TASK, one_case())
    second = predictor.predict_cases(TASK, one_case())
    assert counting.loads == 1 and predictor.loads == 1
    assert (first.cached, second.cached) == (False, True)
    assert predictor.cached_versions() == [(TASK, "v1.0")]


def test_concurrent_cold_requests_load_once(registry):
    counting = CountingRegistry(registry)
    predictor = Predictor(counting)
    threads = [threading.Thread(target=predictor.model, args=(TASK,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counting.loads == 1


def test_promotion_and_rollback_are_picked_up_without_a_restart(registry):
    predictor = Predictor(registry)
    assert predictor.predict_cases(TASK, one_case()).predictions[0].label == "benign"
    registry.publish(TASK, constant_net(True), metrics={"roc_auc": 0.5}, lineage=Lineage(parent="v1.0"),
                     alias="candidate")
    assert predictor.predict_cases(TASK, one_case()).version == "v1.0"  # a candidate does not serve
    registry.promote(TASK, "v1.1")
    after = predictor.predict_cases(TASK, one_case())
    assert (after.version, after.predictions[0].label) == ("v1.1", "malignant")
    registry.rollback(TASK)
    back = predictor.predict_cases(TASK, one_case())
    assert (back.version, back.predictions[0].label, back.cached) == ("v1.0", "benign", True)
    pinned = predictor.predict_cases(TASK, one_case(), ref="v1.1")
    assert (pinned.version, pinned.predictions[0].label) == ("v1.1", "malignant")


def test_cache_is_bounded_least_recently_used(registry):
    for _ in range(3):
        registry.publish(TASK, constant_net(True), metrics={}, lineage=Lineage(), alias=None)
    predictor = Predictor(registry, cache_size=2)
    for v in ("v1.0", "v1.1", "v1.0", "v1.2"):
        predictor.model(TASK, v)
    assert predictor.cached_versions() == [(TASK, "v1.0"), (TASK, "v1.2")]


def test_unknown_task_version_and_tampered_weights_fail_clearly(registry):
    predictor = Predictor(registry)
    with pytest.raises(UnknownTaskError):
        predictor.predict_cases("cardiology", one_case())
    with pytest.raises(VersionNotFoundError, match="v9.9"):
        predictor.predict_cases(TASK, one_case(), ref="v9.9")
    weights = registry.fetch(TASK, "v1.0") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(SignatureError):
        Predictor(registry).predict_cases(TASK, one_case())


def test_batch_of_rows_matches_single_predictions(medhive_home):
    reg = LocalRegistry(medhive_home / "registry", signer=SigningKey.generate())
    seed_baselines(reg, tasks=[TASK])
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = [f.name for f in get_task(TASK).input_fields]
    rows = [dict(zip(names, map(float, r))) for r in data.data[:40]]
    predictor = Predictor(reg, batch_size=7)  # several chunks
    batch = predictor.predict_raw(TASK, rows)
    assert len(batch.predictions) == 40 and batch.proba.shape == (40, 2)
    single = [predictor.predict_raw(TASK, r).proba[0] for r in rows[:5]]
    np.testing.assert_allclose(batch.proba[:5], np.array(single), atol=1e-5)
    truth = np.where(data.target[:40] == 0, "malignant", "benign")
    assert (np.array([p.label for p in batch.predictions]) == truth).mean() > 0.85


def test_predict_many_images_and_an_ecg_record(medhive_home):
    reg = LocalRegistry(medhive_home / "registry", signer=SigningKey.generate())
    seed_baselines(reg, tasks=["pneumonia", "ecg"])
    predictor = Predictor(reg)
    examples = get_task("pneumonia").example_inputs()
    batch = predictor.predict_many("pneumonia", examples)
    assert [p.id for p in batch.predictions] == [p.name for p in examples]
    assert batch.version == "v1.0" and batch.proba.shape == (len(examples), 2)
    record = next(p for p in get_task("ecg").example_inputs() if p.suffix == ".hea")
    beats = predictor.predict_file("ecg", record)
    assert len(beats.predictions) > 20 and beats.summary["beats"] == len(beats.predictions)
    assert all("time_s" in p.meta for p in beats.predictions)
    assert beats.timing()["per_case_ms"] < beats.timing()["predict_ms"]
