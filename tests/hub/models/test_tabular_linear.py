"""The exact linear head of tabular baselines (hub.models._tabular_linear): folds keep persons apart, the
network computes the fitted logit, and the validation split plays no part in fitting or choosing."""

from __future__ import annotations

import numpy as np
import pytest

from hub.models._tabular_linear import fit_linear_head, folds, load_into
from hub.models._tabular_task import Table, TabularTask
from hub.models.base import InputField


class PersonsToy(TabularTask):
    name = "persons_toy"
    title = "Persons toy"
    summary = "test task with several recordings per person"
    labels = ("healthy", "ill")
    input_fields = tuple(InputField(f"m{i}", "", -50, 50) for i in range(5))
    baseline_head = "linear"
    linear_penalties = (0.01, 0.1, 1.0)

    def __init__(self, flip_validation: bool = False):
        self.flip_validation = flip_validation

    def load_table(self, data_root):
        rng = np.random.default_rng(0)
        persons = np.repeat(np.arange(30), 6)
        ill = (persons % 3 != 0).astype(np.int64)
        x = rng.normal(size=(len(persons), 5)) + ill[:, None] * np.array([1.0, 0.5, 0, 0, 0]) \
            + rng.normal(size=(30, 5))[persons]  # a per-person offset: recordings of one person are alike
        return Table(x=x.astype(np.float32), y=ill, groups=persons, description={"dataset": "synthetic"})

    def load_training_data(self, data_root, *, seed=0):
        splits = super().load_training_data(data_root, seed=seed)
        if self.flip_validation:
            splits.y_val = 1 - splits.y_val
        return splits


def test_grouped_folds_never_split_a_person():
    y = np.tile([0, 1], 40)
    groups = np.repeat(np.arange(20), 4)
    for repeat in folds(y, groups, repeats=3):
        assert len(repeat) == 4
        for a, b in repeat:
            assert not set(groups[a]) & set(groups[b])


def test_the_network_computes_the_fitted_platt_scaled_logit():
    import torch

    task = PersonsToy()
    splits = task.load_training_data(None)
    net = task.build_network(hidden=())
    net.set_standardization(splits.x_train)
    head = fit_linear_head(splits.x_train, splits.y_train, splits.groups_train, mean=net.mean.numpy(),
                           std=net.std.numpy(), penalties=task.linear_penalties, repeats=2)
    load_into(net, head)
    assert set(head.cv_by_penalty) == {"0.01", "0.1", "1"} and head.penalty in task.linear_penalties
    assert head.scale > 0
    z = (splits.x_val.astype(np.float64) - net.mean.numpy()) / net.std.numpy()
    expected = 1 / (1 + np.exp(-(head.scale * (z @ head.coef + head.intercept) + head.offset)))
    with torch.no_grad():
        got = torch.softmax(net(torch.as_tensor(splits.x_val)), dim=1)[:, 1].numpy()
    assert got == pytest.approx(expected, abs=1e-5)
    with pytest.raises(ValueError, match="no hidden layer"):
        load_into(task.build_network(hidden=(4,)), head)


def test_the_linear_baseline_never_looks_at_the_validation_labels():
    from hub.training import predict_proba

    plain, flipped = PersonsToy().train_baseline(None), PersonsToy(flip_validation=True).train_baseline(None)
    x_val = PersonsToy().load_training_data(None).x_val
    # the same network and choices whatever the validation labels say; only the reported metrics move
    assert predict_proba(plain.network, x_val) == pytest.approx(predict_proba(flipped.network, x_val))
    assert plain.hyperparameters["C"] == flipped.hyperparameters["C"]
    assert plain.metrics["roc_auc"] > 0.75 and flipped.metrics["roc_auc"] == pytest.approx(1 - plain.metrics["roc_auc"])
    assert "grouped by person" in plain.hyperparameters["selection"]
