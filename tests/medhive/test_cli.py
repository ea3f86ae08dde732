"""The `medhive` command line as a user runs it: listing, predicting, governing versions, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hub.models import get_task
from medhive.cli import app

runner = CliRunner()
EXAMPLES = Path(get_task("breast_cancer").example_inputs()[0]).parents[1]


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip() and not ln.startswith("seeded ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def test_list_seeds_the_shipped_models_on_first_use():
    result = run("models", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["task"]: r for r in json.loads(result.stdout)}
    from hub.baselines import shipped_record

    for name, row in rows.items():
        if shipped_record(name):
            assert row["production"] == "v1.0" and row["value"] is not None
    assert "seeded" in result.stderr
    # the second run finds them and seeds nothing
    again = run("models", "list")
    assert again.exit_code == 0 and "seeded" not in again.stderr
    assert "breast_cancer" in again.stdout
    # a column per field: the production column starts at the same place on every line, the longest task too
    lines = again.stdout.splitlines()
    assert {ln.index("production") for ln in lines[:1]} == {ln.index(" v1.0 ") + 1 for ln in lines[1:]}
    assert set(rows) == {ln.split()[0] for ln in lines[1:]}


def test_predict_one_case_and_json_lines():
    path = EXAMPLES / "breast_cancer" / "malignant_case.csv"
    text = run("predict", "breast_cancer", str(path))
    assert text.exit_code == 0 and "malignant" in text.stdout and "Not a diagnosis" in text.stdout
    js = run("predict", "breast_cancer", str(path), "--json")
    records = [json.loads(line) for line in js.stdout.splitlines()]
    assert len(records) == 1
    rec = records[0]
    assert rec["model_version"] == "v1.0" and rec["label"] in ("benign", "malignant")
    assert sum(rec["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_predict_batch_csv(tmp_path):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    rows = [",".join(data.feature_names)] + [",".join(map(str, r)) for r in data.data[:7]]
    path = tmp_path / "batch.csv"
    path.write_text("\n".join(rows))
    result = run("predict", "breast_cancer", str(path), "--json")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == [f"row {i}" for i in range(1, 8)]
    predicted_malignant = np.array([r["label"] == "malignant" for r in records])
    assert (predicted_malignant == (data.target[:7] == 0)).mean() >= 5 / 7


def test_unknown_task_and_version():
    path = EXAMPLES / "breast_cancer" / "benign_case.csv"
    one_line_error(run("predict", "cardiology", str(path)), "unknown task")
    one_line_error(run("predict", "breast_cancer", str(path), "--version", "v9.9"), "v9.9")
    one_line_error(run("models", "show", "breast_cancer", "--version", "v7.0"), "v7.0")


def test_bad_input_for_every_task(tmp_path):
    csv = tmp_path / "ids.csv"
    names = [f.name for f in get_task("breast_cancer").input_fields]
    csv.write_text("patient_name," + ",".join(names) + "\nJane," + ",".join(["1"] * 30) + "\n")
    one_line_error(run("predict", "breast_cancer", str(csv)), "identifier column")
    broken = tmp_path / "xray.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    one_line_error(run("predict", "pneumonia", str(broken)), "xray.png")
    one_line_error(run("predict", "glaucoma", str(broken)), "xray.png")
    short = tmp_path / "short.csv"
    short.write_text("# fs=360\nMLII\n" + "\n".join(str(np.sin(i / 10)) for i in range(720)) + "\n")
    one_line_error(run("predict", "ecg", str(short)), "short")
    one_line_error(run("predict", "breast_cancer", str(tmp_path / "missing.csv")), "missing.csv")


def test_train_baseline_names_the_missing_data_folder(tmp_path):
    one_line_error(run("models", "train-baseline", "glaucoma", "--data", str(tmp_path)), str(tmp_path))
    one_line_error(run("models", "train-baseline", "--data", str(tmp_path)), "data folder not found")


def test_train_baseline_writes_weights_and_can_publish_a_candidate(tmp_path):
    result = run("models", "train-baseline", "breast_cancer", "--out", str(tmp_path), "--publish")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "breast_cancer" / "model.safetensors").is_file()
    assert "roc_auc" in result.stdout and "published v1.1 as candidate" in result.stdout
    listed = {r["task"]: r for r in json.loads(run("models", "list", "--json").stdout)}
    assert listed["breast_cancer"]["candidate"] == "v1.1" and listed["breast_cancer"]["production"] == "v1.0"


def test_promote_rollback_history_and_pinned_prediction(tmp_path):
    assert run("models", "train-baseline", "breast_cancer", "--out", str(tmp_path), "--publish", "--seed", "3").exit_code == 0
    path = str(EXAMPLES / "breast_cancer" / "benign_case.csv")
    promoted = run("models", "promote", "breast_cancer", "v1.1")
    assert promoted.exit_code == 0 and "production -> v1.1 (was v1.0)" in promoted.stdout
    assert json.loads(run("predict", "breast_cancer", path, "--json").stdout)["model_version"] == "v1.1"
    pinned = json.loads(run("predict", "breast_cancer", path, "--json", "--version", "v1.0").stdout)
    assert pinned["model_version"] == "v1.0"
    back = run("models", "rollback", "breast_cancer")
    assert back.exit_code == 0 and "production -> v1.0" in back.stdout
    history = json.loads(run("models", "history", "breast_cancer", "--json").stdout)
    actions = [e["action"] for e in history]
    assert actions[0] == "publish" and actions[-1] == "rollback"
    assert "promote" in actions and actions.index("promote") < len(actions) - 1
    shown = json.loads(run("models", "show", "breast_cancer", "--json").stdout)
    assert shown["version"] == "v1.0" and "production" in shown["aliases"]
    # governance from the command line lands in the accounts audit trail too, and the chain still verifies
    refused = run("models", "promote", "breast_cancer", "v9.9")
    assert refused.exit_code != 0
    from hub.accounts import audit
    from medhive.mounts.api import open_store
    from medhive.settings import get_settings

    store = open_store(get_settings())
    with store.transaction() as session:
        rows = [(e.action, e.target) for e in audit.entries(session, limit=50)]
    store.dispose()
    assert ("model.promote", "breast_cancer@v1.1") in rows and ("model.rollback", "breast_cancer@v1.0") in rows
    assert not any(t == "breast_cancer@v9.9" for _, t in rows)  # a refused promotion is not recorded
    assert run("audit", "verify").exit_code == 0


def test_console_script_prints_one_line_without_traceback(tmp_path):
    exe = Path(sys.executable).parent / "medhive"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1\n")
    proc = subprocess.run([str(exe), "predict", "breast_cancer", str(bad)], capture_output=True, text=True,
                          env={**os.environ}, timeout=120)
    assert proc.returncode == 2
    err = [ln for ln in proc.stderr.splitlines() if not ln.startswith("seeded ")]
    assert len(err) == 1 and err[0].startswith("error: malformed CSV"), proc.stderr


def test_out_of_distribution_case_is_refused_with_one_line_and_batches_go_on(tmp_path):
    """The breast-cancer form's default (every field 0) gets no label; in a batch it is marked."""
    fields = [f.name for f in get_task("breast_cancer").input_fields]
    zeros = tmp_path / "zeros.csv"
    zeros.write_text(",".join(fields) + "\n" + ",".join("0" for _ in fields) + "\n")
    one_line_error(run("predict", "breast_cancer", str(zeros)), "out of distribution")
    real = (EXAMPLES / "breast_cancer" / "benign_case.csv").read_text().splitlines()
    batch = tmp_path / "batch.csv"
    batch.write_text("\n".join([real[0], real[1], ",".join("0" for _ in fields)]) + "\n")
    js = run("predict", "breast_cancer", str(batch), "--json")
    assert js.exit_code == 0, js.output
    first, second = [json.loads(line) for line in js.stdout.splitlines()]
    assert first["out_of_distribution"] is False and first["label"] == "benign" and first["ood_score"] <= 1
    assert second["out_of_distribution"] is True and second["label"] is None
    assert "outside the range seen in training" in second["ood_reason"]
    text = run("predict", "breast_cancer", str(batch))
    assert "refused" in text.stdout and "1 case(s) refused as out of distribution" in text.stdout


def test_predict_a_new_task_from_the_data_sets_own_columns_and_a_bad_value(tmp_path):
    # heart disease as the UCI file writes it: its column names, codes, '?' for not recorded
    header = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num"
    path = tmp_path / "uci.csv"
    path.write_text(f"{header}\n63,1,4,140,260,0,1,112,1,3,2,?,?,2\n")
    out = run("predict", "heart_disease", str(path), "--json")
    assert out.exit_code == 0, out.output
    case = json.loads(out.stdout.splitlines()[0])
    assert case["label"] in get_task("heart_disease").labels and case["model_version"] == "v1.0"
    path.write_text(f"{header}\n63,1,9,140,260,0,1,112,1,3,2,?,?,2\n")
    one_line_error(run("predict", "heart_disease", str(path)), "'chest pain type' must be one of typical angina")
