"""The torch-free forward of the tabular networks (`NumpyTabularNet`) computes what `TabularNet` does.

For every tabular task's shipped weights: the numpy twin, loaded from the same files as the registry loads
them for inference, gives the torch module's probabilities on the validation-like inputs a user sends
(real rows, rows with blanks, extreme values), its weights are checked as strictly as torch's
`load_state_dict(strict=True)`, and predictions and explanations run on it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from hub.baselines import SHIPPED
from hub.errors import ModelIntegrityError
from hub.models import get_task
from hub.models._tabular_numpy import NumpyTabularNet
from hub.models.catalog import tabular_tasks
from hub.registry.base import load_inference_network, load_network
from hub.training import predict_proba

TABULAR = sorted(tabular_tasks())


def _inputs(task, n: int = 64) -> np.ndarray:
    """Rows spread over each field's valid range (integers for categories), some fields left blank."""
    rng = np.random.default_rng(0)
    lo = np.array([f.minimum for f in task.input_fields])
    hi = np.array([f.maximum for f in task.input_fields])
    x = lo + rng.random((n, len(lo))) * (hi - lo)
    for j, f in enumerate(task.input_fields):
        if f.choices:
            x[:, j] = rng.choice([c for _, c in f.choices], size=n)
    x[rng.random(x.shape) < 0.1] = np.nan  # blanks: imputed with the training mean inside the network
    examples = [task.read_input(p).x for p in task.example_inputs()]
    return np.concatenate([x.astype(np.float32), *examples])


def test_every_tabular_task_has_a_numpy_twin():
    assert len(TABULAR) >= 5
    for name in TABULAR:
        assert get_task(name).numpy_network is NumpyTabularNet


@pytest.mark.parametrize("name", TABULAR)
def test_numpy_forward_equals_torch_forward_on_the_shipped_weights(name):
    task = get_task(name)
    folder = SHIPPED / name
    torch_net = load_network(task.network_class, folder, label=name)
    numpy_net = load_inference_network(task, folder, label=name)
    assert isinstance(numpy_net, NumpyTabularNet)
    x = _inputs(task)
    expected = predict_proba(torch_net, x)
    got = numpy_net.predict_proba(x)
    assert got.shape == expected.shape and np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert (got.argmax(1) == expected.argmax(1)).all()
    # the stored statistics are the same numbers (the plausibility check and SHAP reference read them)
    np.testing.assert_array_equal(numpy_net.mean, torch_net.mean.numpy())
    np.testing.assert_array_equal(numpy_net.std, torch_net.std.numpy())


def test_numpy_twin_of_an_in_memory_network_matches_it():
    task = get_task("heart_disease")
    torch.manual_seed(3)
    net = task.build_network(hidden=[8, 4]).eval()  # two hidden layers: the layer indices 0, 3, 6
    net.set_standardization(_inputs(task)[:40])
    x = _inputs(task)
    np.testing.assert_allclose(NumpyTabularNet.from_torch(net).predict_proba(x), predict_proba(net, x),
                               rtol=1e-5, atol=1e-6)


def _copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(SHIPPED / name, folder)
    return folder


@pytest.mark.parametrize("change", ["config", "drop_key", "extra_key", "shape"])
def test_weights_that_do_not_fit_are_refused_like_torch_refuses_them(tmp_path, change):
    from safetensors.numpy import load_file, save_file

    name = "breast_cancer"
    folder = _copy(tmp_path, name)
    tensors = load_file(str(folder / "model.safetensors"))
    if change == "config":
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "hidden": [7]}))
    elif change == "drop_key":
        tensors.pop("std")
    elif change == "extra_key":
        tensors["mlp.9.weight"] = np.zeros((2, 2), dtype=np.float32)
    else:
        tensors["mlp.0.bias"] = np.zeros(5, dtype=np.float32)
    if change != "config":
        save_file(tensors, str(folder / "model.safetensors"))
    task = get_task(name)
    with pytest.raises(ModelIntegrityError, match="weights do not fit"):
        load_network(task.network_class, folder, label=name)
    with pytest.raises(ModelIntegrityError, match="weights do not fit"):
        load_inference_network(task, folder, label=name)


def test_a_pickle_beside_the_weights_is_refused_by_the_numpy_loader_too(tmp_path):
    folder = _copy(tmp_path, "diabetes")
    (folder / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ModelIntegrityError, match="refusing"):
        load_inference_network(get_task("diabetes"), folder, label="diabetes")


def test_the_predictor_and_the_explanation_run_on_the_numpy_twin(medhive_home):
    from hub.explain import explain
    from hub.inference import Predictor
    from medhive.wiring import open_registry

    predictor = Predictor(open_registry(say=lambda _: None))
    task = get_task("heart_disease")
    cases = task.read_input(task.example_inputs()[0])
    batch = predictor.predict_cases(task.name, cases)
    loaded = predictor.model(task.name)
    assert isinstance(loaded.network, NumpyTabularNet)
    torch_net = load_network(task.network_class, loaded.path, label=task.name)
    from hub.trust import calibrate

    expected = calibrate(loaded.trust, predict_proba(torch_net, cases.x))
    np.testing.assert_allclose(batch.proba, expected, rtol=1e-5, atol=1e-6)
    e = explain(task.name, loaded.network, cases, 0)
    # Kernel SHAP's values add up to the explained probability minus the reference case's
    assert abs(e.values.sum() - (e.target_probability - e.base_value)) < 1e-4
    assert e.top_factors
