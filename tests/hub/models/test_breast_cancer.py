"""breast_cancer task: CSV and form input, validation errors, training, the shipped baseline."""

from __future__ import annotations

import numpy as np
import pytest

from hub.baselines import SHIPPED, sha256_file, shipped_record
from hub.errors import InvalidInputError
from hub.models import get_task
from hub.training import predict_proba

TASK = get_task("breast_cancer")
NAMES = [f.name for f in TASK.input_fields]


def _row(values=None) -> dict:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    vals = data.data[0] if values is None else values
    return dict(zip(data.feature_names, vals))


def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def test_schema_has_30_fields_with_units_and_ranges():
    assert len(TASK.input_fields) == 30
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    assert NAMES == list(data.feature_names)
    # every real case lies inside the declared valid ranges
    for k, f in enumerate(TASK.input_fields):
        assert f.minimum <= data.data[:, k].min() and data.data[:, k].max() <= f.maximum, f.name


def test_read_examples_and_form_input_agree():
    for path in TASK.example_inputs():
        cases = TASK.read_input(path)
        assert cases.x.shape == (1, 30) and cases.x.dtype == np.float32
    row = _row()
    assert np.allclose(TASK.prepare(row).x[0], np.array(list(row.values()), dtype=np.float32))


def test_original_wdbc_column_spelling_and_label_column(tmp_path):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    header = ["diagnosis"] + [
        f"{n.replace('mean ', '').replace('worst ', '').replace(' error', '').replace(' ', '_')}_"
        + ("mean" if n.startswith("mean") else "worst" if n.startswith("worst") else "se")
        for n in data.feature_names
    ]
    path = _write_csv(tmp_path / "wdbc.csv", header, [["M", *data.data[3]], ["B", *data.data[19]]])
    cases = TASK.read_input(path)
    assert np.allclose(cases.x, data.data[[3, 19]].astype(np.float32))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda h, r: (["patient_name"] + h, [["x"] + r]), "identifier column"),
        (lambda h, r: (["id"] + h, [["8423"] + r]), "identifier column"),
        (lambda h, r: (h[:-1], [r[:-1]]), "missing column"),
        (lambda h, r: (h + ["colour"], [r + ["red"]]), "unexpected column"),
        (lambda h, r: (h, [["abc"] + r[1:]]), "must be a number"),
        (lambda h, r: (h, [["nan"] + r[1:]]), "finite"),
        (lambda h, r: (h, [["-3"] + r[1:]]), "outside the valid range"),
        (lambda h, r: (h, [[""] + r[1:]]), "missing value"),
    ],
)
def test_bad_csv_is_refused_with_a_clear_message(tmp_path, mutate, message):
    header, row = list(NAMES), [str(v) for v in _row().values()]
    h, rows = mutate(header, row)
    with pytest.raises(InvalidInputError, match=message) as info:
        TASK.read_input(_write_csv(tmp_path / "case.csv", h, rows))
    assert "\n" not in str(info.value)


def test_malformed_and_wrong_files(tmp_path):
    bad = tmp_path / "ragged.csv"
    bad.write_text(",".join(NAMES) + "\n1,2,3\n")
    with pytest.raises(InvalidInputError, match="malformed CSV"):
        TASK.read_input(bad)
    with pytest.raises(InvalidInputError, match="file not found"):
        TASK.read_input(tmp_path / "nope.csv")
    img = tmp_path / "x.png"
    img.write_bytes(b"\x89PNG")
    with pytest.raises(InvalidInputError, match="CSV"):
        TASK.read_input(img)
    empty = tmp_path / "empty.csv"
    empty.write_text(",".join(NAMES) + "\n")
    with pytest.raises(InvalidInputError, match="no rows"):
        TASK.read_input(empty)


def test_training_reaches_a_useful_model_on_the_validation_split():
    result = TASK.train_baseline(None, seed=1)
    assert result.metrics["roc_auc"] > 0.97
    assert result.data["train_cases"] + result.data["validation_cases"] == 569


def test_shipped_baseline_loads_strictly_and_ranks_the_examples():
    record = shipped_record("breast_cancer")
    assert record is not None, "no shipped breast_cancer weights"
    folder = SHIPPED / "breast_cancer"
    assert sha256_file(folder / "model.safetensors") == record["sha256"]["model.safetensors"]
    net = TASK.network_class.from_pretrained(folder, strict=True)
    splits = TASK.load_training_data(None, seed=record["seed"])
    auc = TASK.metrics(splits.y_val, predict_proba(net, splits.x_val))["roc_auc"]
    assert auc == pytest.approx(record["metrics"]["roc_auc"], abs=1e-6)
    mal = predict_proba(net, TASK.read_input(folder.parents[1] / "examples/breast_cancer/malignant_case.csv").x)
    ben = predict_proba(net, TASK.read_input(folder.parents[1] / "examples/breast_cancer/benign_case.csv").x)
    assert mal[0, 1] > 0.5 > ben[0, 1]
