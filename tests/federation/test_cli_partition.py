"""Node commands (consent, budget), the non-IID split and the launcher's config helpers (no processes)."""

from __future__ import annotations

import tomllib

import numpy as np
from typer.testing import CliRunner

from federation.launcher import NodeSpec, free_port, toml_value
from federation.partition import dirichlet_split, split_tabular
from hub.models import get_task
from medhive.cli import app


def test_dirichlet_split_is_skewed_covers_everything_and_keeps_a_floor():
    y = np.array([0] * 300 + [1] * 200)
    parts = dirichlet_split(y, 4, alpha=0.3, seed=1, min_per_class=5)
    together = np.sort(np.concatenate(parts))
    assert np.array_equal(together, np.arange(len(y)))
    fractions = [y[p].mean() for p in parts]
    assert max(fractions) - min(fractions) > 0.2  # label skew
    assert all(np.bincount(y[p], minlength=2).min() >= 5 for p in parts)


def test_split_tabular_writes_valid_hospital_files(tmp_path):
    from federation.data import validate

    task = get_task("breast_cancer")
    paths = split_tabular(task, tmp_path, 3, alpha=2.0)
    reports = [validate(task, p, min_rows=60) for p in paths]
    assert all(r.ok for r in reports), [r.lines() for r in reports]
    assert sum(r.summary["rows"] for r in reports) == 569


def test_node_and_run_config_are_valid_toml(tmp_path):
    spec = NodeSpec(data_path=str(tmp_path / 'a "quoted" dir' / "d.csv"), state_dir="/s", min_rows=50,
                    extra={"require-dp": True})
    values = tomllib.loads("\n".join(f"{k} = {toml_value(v)}" for k, v in
                                     {"a": 1, "b": 0.5, "c": True, "d": 'x "y" \\ z'}.items()))
    assert values == {"a": 1, "b": 0.5, "c": True, "d": 'x "y" \\ z'}
    assert "require-dp=true" in spec.node_config() and "min-rows=50" in spec.node_config()
    assert 1024 < free_port() < 65536


def test_consent_and_budget_commands(tmp_path):
    runner = CliRunner()
    state = str(tmp_path / "node")
    out = runner.invoke(app, ["node", "consent", "grant", "breast_cancer", "--by", "steward", "--state", state])
    assert out.exit_code == 0 and "consent recorded: breast_cancer (training)" in out.output
    listed = runner.invoke(app, ["node", "consent", "list", "--state", state])
    assert "breast_cancer" in listed.output and "active" in listed.output
    assert runner.invoke(app, ["node", "consent", "grant", "no_such_task", "--state", state]).exit_code == 2
    revoked = runner.invoke(app, ["node", "consent", "revoke", "breast_cancer", "--state", state])
    assert "revoked 1" in revoked.output
    assert "revoked" in runner.invoke(app, ["node", "consent", "list", "--state", state]).output
    assert "no contributions yet" in runner.invoke(app, ["node", "budget", "--state", state]).output


def test_node_start_refuses_without_consent_or_tls(tmp_path, wdbc_csv):
    runner = CliRunner()
    state = str(tmp_path / "node")
    args = ["node", "start", "--superlink", "127.0.0.1:1", "--data", str(wdbc_csv), "--task", "breast_cancer",
            "--state", state]
    no_consent = runner.invoke(app, args)
    assert no_consent.exit_code == 2 and "no training consent" in no_consent.output
    runner.invoke(app, ["node", "consent", "grant", "breast_cancer", "--state", state])
    no_tls = runner.invoke(app, args)
    assert no_tls.exit_code == 2 and "--root-certificates" in no_tls.output


def test_federate_rejects_unknown_strategy():
    out = CliRunner().invoke(app, ["federate", "--task", "breast_cancer", "--strategy", "krum"])
    assert out.exit_code == 2 and "unknown strategy" in out.output


def test_pneumonia_arrays_become_valid_hospital_image_folders(shared_data, tmp_path):
    from federation.data import validate
    from federation.partition import split_task

    task = get_task("pneumonia")
    folders = split_task(task, tmp_path, 3, data_root=shared_data, per_hospital=40)
    for folder in folders:
        report = validate(task, folder, min_rows=40)
        assert report.ok, report.lines()
        assert report.summary["rows"] == 40


def test_hospital_console_functions_and_blocks(tmp_path, wdbc_csv):
    from federation.console import budget_text, build_console, consent_rows, contribution_rows, validation_text
    from federation.node_state import NodeState

    state = NodeState(tmp_path / "node")
    assert validation_text("breast_cancer", str(wdbc_csv)).startswith("**Accepted** for breast_cancer: 569 rows")
    assert "Refused" in validation_text("breast_cancer", str(wdbc_csv), min_rows=1000)
    state.grant("breast_cancer", by="steward")
    assert consent_rows(state)[0][:2] == ["breast_cancer", "training"]
    assert budget_text(state) == "No contributions yet."
    state.record_contribution("breast_cancer", run="j", round_=1, samples=120, epsilon_round=0.8)
    assert contribution_rows(state)[0][3:] == [1, 120, 0.8]
    demo = build_console(state.folder, tasks=["breast_cancer", "glaucoma"])
    assert type(demo).__name__ == "Blocks"


def test_heart_disease_default_split_is_one_hospital_per_real_centre(tmp_path, shared_data):
    from federation.data import validate
    from federation.partition import split_task

    task = get_task("heart_disease")
    paths = split_task(task, tmp_path, None, data_root=shared_data)
    assert [p.parent.name for p in paths] == ["hospital-1-cleveland", "hospital-2-hungarian", "hospital-3-switzerland",
                                       "hospital-4-va"]
    reports = [validate(task, p, min_rows=50) for p in paths]
    assert all(r.ok for r in reports), [r.lines() for r in reports]
    parts = task.natural_partitions(shared_data)
    assert [r.summary["rows"] for r in reports] == [len(y) for _, y in parts.values()]
    # the centres' missing values stay missing at the hospital (imputed by the network), not zeros
    swiss = reports[2].summary["features"]
    assert "serum cholesterol" not in swiss  # Switzerland recorded no cholesterol at all
    # asking for another number of hospitals falls back to the Dirichlet split of the pooled data
    assert len(split_task(task, tmp_path / "three", 3, data_root=shared_data)) == 3
