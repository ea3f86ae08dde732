"""SHAP explanations: faithful (a feature or region that alone decides the output gets the largest
attribution), complete (values add up), deterministic, JSON-safe, with a figure, for every task."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from hub.errors import InvalidInputError
from hub.explain import explain
from hub.models import Cases, get_task
from hub.models import _ecg_signal as sig
from hub.registry.base import load_network

WEIGHTS = Path(get_task("ecg").example_inputs()[0]).parents[2] / "weights"


def shipped(task: str) -> nn.Module:
    return load_network(get_task(task).network_class, WEIGHTS / task, label=task).eval()


# ----- tabular ---------------------------------------------------------------------------------------
def tabular_net_deciding_on(feature: int) -> nn.Module:
    """A breast_cancer MLP whose first layer reads only `feature`: nothing else can change the output."""
    torch.manual_seed(feature)
    net = get_task("breast_cancer").build_network(hidden=[16], dropout=0.0)
    with torch.no_grad():
        net.mean.uniform_(0.1, 1.0)
        net.std.fill_(0.5)
        first = net.mlp[0].weight
        keep = first[:, feature].clone()
        first.zero_()
        first[:, feature] = keep.abs() + 0.5
        net.mlp[-1].weight.copy_(torch.tensor([[-1.0] * 16, [1.0] * 16]) * 0.5)
    return net.eval()


@pytest.mark.parametrize("feature", [3, 27])
def test_tabular_the_deciding_feature_gets_the_largest_attribution(feature):
    net = tabular_net_deciding_on(feature)
    rng = np.random.default_rng(feature)
    x = net.mean.numpy()[None, :] + rng.normal(0, 1.0, size=(1, 30)).astype(np.float32)  # every feature moves
    x[0, feature] = net.mean[feature].item() + 2.0
    e = explain("breast_cancer", net, Cases(x=np.abs(x), ids=["row 1"]))
    values = np.abs(e.values)
    assert int(np.argmax(values)) == feature
    assert values.sum() - values[feature] < 1e-3 * values[feature]
    assert e.top_factors[0]["feature"] == get_task("breast_cancer").input_fields[feature].name
    # additivity: SHAP values sum to the explained probability minus the reference probability
    assert abs(e.values.sum() - (e.target_probability - e.base_value)) < 1e-3


def test_tabular_explanation_of_the_shipped_model_in_words():
    task = get_task("breast_cancer")
    cases = task.read_input(next(p for p in task.example_inputs() if "malignant" in p.name))
    e = explain("breast_cancer", shipped("breast_cancer"), cases)
    assert e.label == "malignant" and e.text.startswith("Malignant, ")
    assert "key factors:" in e.text and e.top_factors[0]["feature"] in e.text
    assert all(f["effect"] in ("raises risk", "lowers risk") for f in e.top_factors)
    assert abs(e.values.sum() - (e.target_probability - e.base_value)) < 0.02
    d = json.loads(json.dumps(e.to_dict()))
    assert d["method"] == "shap.KernelExplainer" and len(d["features"]) == 30
    again = explain("breast_cancer", shipped("breast_cancer"), cases)
    np.testing.assert_allclose(again.values, e.values)


# ----- images ----------------------------------------------------------------------------------------
class RegionNet(nn.Module):
    """An image 'classifier' whose positive logit is the mean brightness of one rectangle, nothing else."""

    def __init__(self, channels: int, size: int, rows: slice, cols: slice):
        super().__init__()
        self.rows, self.cols = rows, cols
        self.register_buffer("mean_image", torch.full((channels, size, size), 0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        region = x[:, :, self.rows, self.cols].mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(region), 12.0 * (region - 0.5)], dim=1)


@pytest.mark.parametrize("task_name, rows, cols, where", [
    ("pneumonia", slice(2, 8), slice(19, 26), "upper right"),
    ("glaucoma", slice(70, 90), slice(5, 25), "lower left"),
])
def test_image_the_deciding_region_holds_the_attribution(task_name, rows, cols, where):
    task = get_task(task_name)
    net = RegionNet(task.channels, task.image_size, rows, cols).eval()
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(1, task.channels, task.image_size, task.image_size)).astype(np.float32)
    x[:, :, rows, cols] = 0.9
    e = explain(task_name, net, Cases(x=x, ids=["image 1"]))
    heat = np.abs(e.values).sum(axis=0)
    inside = heat[rows, cols].sum()
    assert inside > 0.99 * heat.sum()
    peak = e.to_dict()["heatmap"]["peak_pixel"]
    assert rows.start <= peak["row"] < rows.stop and cols.start <= peak["col"] < cols.stop
    assert e.to_dict()["heatmap"]["strongest_region"] == where and where in e.text


@pytest.mark.parametrize("task_name", ["pneumonia", "glaucoma"])
def test_image_explanation_of_the_shipped_model_has_a_heatmap_figure(task_name):
    task = get_task(task_name)
    cases = task.read_input(task.example_inputs()[0])
    e = explain(task_name, shipped(task_name), cases)
    assert e.values.shape == cases.x.shape[1:] and np.abs(e.values).sum() > 0
    # complete on the shipped network too (test-time views, the colour/texture head): the heatmap adds up to
    # the explained probability minus the reference's (expected gradients, 32 samples: measured within 0.002)
    assert abs(e.values.sum() - (e.target_probability - e.base_value)) < 0.01
    d = json.loads(json.dumps(e.to_dict()))
    assert d["heatmap"]["shape"] == [task.image_size] * 2 and len(d["heatmap"]["grid"]) == 7
    assert e.text.startswith(e.label.capitalize())
    png = Image.open(io.BytesIO(e.figure_png()))
    assert png.format == "PNG" and png.size[0] > 400


# ----- ECG -------------------------------------------------------------------------------------------
N_WAVE = sig.N_CHANNELS * sig.WINDOW


class ScalarNet(nn.Module):
    """An ECG 'classifier' that calls a beat V exactly when scalar feature `k` departs from 1."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(x), 5)
        logits[:, 2] = 8.0 * (1.0 - x[:, N_WAVE + self.k]) - 2.0
        return logits


class WaveNet(nn.Module):
    """An ECG 'classifier' whose V logit reads only the beat window between `lo` and `hi`."""

    def __init__(self, lo: int, hi: int):
        super().__init__()
        self.lo, self.hi = lo, hi

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(len(x), 5)
        logits[:, 2] = 6.0 * x[:, self.lo : self.hi].sum(dim=1) - 1.0
        return logits


def ecg_cases() -> Cases:
    task = get_task("ecg")
    return task.read_input(next(p for p in task.example_inputs() if p.suffix == ".hea"))


def test_ecg_the_deciding_rhythm_feature_gets_the_largest_attribution():
    cases = ecg_cases()
    k = sig.SCALARS.index("pre_rr/median")
    x = cases.x.copy()
    x[:, N_WAVE + k] = 0.6  # a premature beat everywhere
    e = explain("ecg", ScalarNet(k), Cases(x=x, ids=cases.ids, meta=cases.meta, context=cases.context), 3)
    values = np.abs(e.values)
    assert int(np.argmax(values)) == N_WAVE + k and values.sum() - values[N_WAVE + k] < 1e-3
    assert e.label == "V" and e.top_factors[0]["key"] == "pre_rr/median"
    assert "RR interval before the beat" in e.text and "points to V" in e.text


def test_ecg_the_deciding_part_of_the_beat_gets_the_attribution_along_the_trace():
    cases = ecg_cases()
    qrs = np.flatnonzero(np.abs(np.arange(sig.WINDOW) * sig.STEP - sig.BEFORE) <= 18)  # +-50 ms around R
    e = explain("ecg", WaveNet(int(qrs[0]), int(qrs[-1]) + 1), cases, 2)
    along = np.abs(np.asarray(e.to_dict()["beat_attribution"]["values"]))
    assert along[qrs].sum() > 0.99 * along.sum() and qrs[0] <= int(np.argmax(along)) <= qrs[-1]
    assert e.top_factors[0]["key"] == "QRS complex"


def test_ecg_explanation_of_the_shipped_model_is_drawn_on_the_trace():
    cases = ecg_cases()
    e = explain("ecg", shipped("ecg"), cases, 5, target="V")
    assert e.target == "V" and e.case_id == cases.ids[5]
    d = json.loads(json.dumps(e.to_dict()))
    assert len(d["beat_attribution"]["values"]) == sig.WINDOW and set(d["features"]) == set(sig.SCALARS)
    assert d["beat"]["time_s"] == cases.meta[5]["time_s"]
    assert Image.open(io.BytesIO(e.figure_png())).format == "PNG"


def test_bad_index_and_label_are_refused():
    cases = ecg_cases()
    with pytest.raises(InvalidInputError, match="out of range"):
        explain("ecg", shipped("ecg"), cases, len(cases))
    with pytest.raises(InvalidInputError, match="unknown label"):
        explain("ecg", shipped("ecg"), cases, 0, target="X")
