"""The validation gate and publishing with lineage and MLflow, driven without Flower."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from federation.config import JobConfig
from federation.gate import decide
from federation.job import Job


def test_gate_decisions():
    assert decide(metric="roc_auc", candidate=0.95, parent=0.94).alias == "production"
    within = decide(metric="roc_auc", candidate=0.938, parent=0.94, tolerance=0.005)
    assert within.alias == "production" and "within tolerance" in within.reason
    worse = decide(metric="roc_auc", candidate=0.90, parent=0.94, tolerance=0.005)
    assert worse.alias == "candidate" and "production unchanged" in worse.reason
    assert decide(metric="roc_auc", candidate=None, parent=0.9).alias == "candidate"


@pytest.fixture
def seeded_home(medhive_home: Path) -> Path:
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair

    seed_baselines(open_registry("local", home=medhive_home, signer=load_or_create_keypair(medhive_home)),
                   tasks=["breast_cancer"])
    return medhive_home


def _job(home: Path, tmp_path: Path, name: str) -> Job:
    return Job(JobConfig(task="breast_cancer", num_rounds=1, medhive_home=str(home), job_dir=str(tmp_path / name),
                         job_name=name, dp=True, dp_delta=1e-5))


def _run(job: Job, parent_auc: float, candidate_auc: float) -> dict:
    arrays = job.start()
    job.evaluated(0, {"roc_auc": parent_auc, "accuracy": 0.9}, {"h-1": {"roc_auc": parent_auc, "n": 50.0}})
    job.fitted(1, {"hospitals": [{"hospital": "h-1", "n": 150, "loss": 0.3, "epsilon_round": 1.2, "epsilon_total": 1.2},
                                 {"hospital": "h-2", "n": 100, "loss": 0.4, "epsilon_round": 1.5, "epsilon_total": 1.5}],
                   "loss": 0.34, "failures": [], "rejected": []})
    job.evaluated(1, {"roc_auc": candidate_auc, "accuracy": 0.91}, {"h-1": {"roc_auc": candidate_auc, "n": 50.0}})
    job.finish([a + np.float32(0.001) for a in arrays])
    return json.loads((job.dir / "outcome.json").read_text())


def test_better_publishes_production_worse_keeps_candidate(seeded_home, tmp_path):
    from mlflow.tracking import MlflowClient

    from hub.registry import open_registry
    from hub.registry.signing import load_or_create_keypair

    registry = open_registry("local", home=seeded_home, signer=load_or_create_keypair(seeded_home))
    parent = registry.resolve("breast_cancer", "production")
    better = _run(_job(seeded_home, tmp_path, "better"), 0.95, 0.97)
    assert better["status"] == "published" and better["alias"] == "production"
    info = registry.info("breast_cancer", "production")
    assert info.version == better["published"] != parent
    lin = info.lineage
    assert (lin.parent, lin.source, lin.rounds, lin.hospitals, lin.samples, lin.strategy) == (
        parent, "federated", 1, 2, 250, "fedavg")
    assert lin.epsilon == pytest.approx(1.5) and lin.delta == 1e-5 and lin.secure_aggregation
    assert info.metrics["roc_auc"] == pytest.approx(0.97)
    card = (registry.fetch("breast_cancer", info.version) / "README.md").read_text()
    assert "1.5" in card

    worse = _run(_job(seeded_home, tmp_path, "worse"), 0.95, 0.80)
    assert worse["alias"] == "candidate"
    assert registry.resolve("breast_cancer", "production") == info.version
    assert registry.resolve("breast_cancer", "candidate") == worse["published"]

    client = MlflowClient(tracking_uri=f"sqlite:///{seeded_home.resolve() / 'mlflow.db'}")
    run = client.get_run(better["mlflow_run"])
    assert run.data.params["published_version"] == info.version and run.info.status == "FINISHED"
    history = client.get_metric_history(run.info.run_id, "federated_roc_auc")
    assert [(m.step, round(m.value, 2)) for m in history] == [(0, 0.95), (1, 0.97)]
    assert client.get_metric_history(run.info.run_id, "hospital.h-2.epsilon_total")[0].value == pytest.approx(1.5)


def test_failed_job_publishes_nothing(seeded_home, tmp_path):
    from hub.registry import open_registry
    from hub.registry.signing import load_or_create_keypair

    registry = open_registry("local", home=seeded_home, signer=load_or_create_keypair(seeded_home))
    before = registry.resolve("breast_cancer", "production")
    job = _job(seeded_home, tmp_path, "failing")
    job.start()
    job.fail("round 1: only 2 usable update(s); at least 3 hospitals needed")
    outcome = json.loads((job.dir / "outcome.json").read_text())
    assert outcome["status"] == "failed" and outcome["published"] is None
    assert registry.resolve("breast_cancer", "production") == before
    assert [v.version for v in registry.versions("breast_cancer")] == [before]


def test_gate_compares_parent_and_candidate_on_the_same_hospitals(tmp_path):
    job = Job(JobConfig(task="breast_cancer", num_rounds=2, job_dir=str(tmp_path / "j")))
    job.evaluated(0, {"roc_auc": 0.8}, {"h-1": {"roc_auc": 0.9, "n": 10.0}, "h-2": {"roc_auc": 0.7, "n": 10.0}})
    job.evaluated(2, {"roc_auc": 0.6}, {"h-1": {"roc_auc": 0.95, "n": 10.0}, "h-3": {"roc_auc": 0.2, "n": 30.0}})
    assert job._paired("roc_auc") == (pytest.approx(0.9), pytest.approx(0.95))  # h-1 only scored both


def test_enrolled_hospitals_are_credited_for_the_published_version(seeded_home, tmp_path, wdbc_csv, monkeypatch):
    """`medhive node enroll` against a real hub (uvicorn on loopback) links the node to its organization;
    its training rounds carry the organization, and publishing records the contribution in the accounts
    store (what the revenue share is computed from). A spent token is refused with one line."""
    from fastapi import FastAPI
    from typer.testing import CliRunner

    from federation.config import JobConfig as JC
    from federation.node import HospitalNode, NodeConfig
    from federation.node_state import NodeState
    from federation.training import frozen_state, get_arrays, network_config
    from hub.accounts import billing, governance, users
    from hub.accounts.db import Store, default_url
    from medhive.cli import app as cli
    from medhive.mounts.api import mount
    from medhive.settings import get_settings
    from tests.hub.accounts.gotrue_server import LocalServer

    store = Store(default_url(seeded_home))
    with store.transaction() as s:
        org = users.create_org(s, name="St. Example Hospital", kind="hospital")
        _, token = governance.create_enrollment_token(s, org_id=org.id, actor="test")
    settings = get_settings()
    hub = FastAPI()
    mount(hub, settings=settings, registry=settings.open_registry())
    state = tmp_path / "node-state"
    runner = CliRunner()
    with LocalServer(hub) as base:
        ok = runner.invoke(cli, ["node", "enroll", "--hub", base, "--token", token, "--name", "ward-7",
                                 "--state", str(state)])
        again = runner.invoke(cli, ["node", "enroll", "--hub", base, "--token", token, "--state", str(tmp_path / "x")])
    hub.state.medhive_api.store.dispose()
    assert ok.exit_code == 0, ok.output
    assert NodeState(state).enrollment()["org_id"] == str(org.id)
    assert again.exit_code == 2 and "already been used" in again.output and len(again.output.strip().splitlines()) == 1

    NodeState(state).grant("breast_cancer")
    node = HospitalNode(NodeConfig(data_path=str(wdbc_csv), state_dir=str(state)), JC(task="breast_cancer"))
    job = _job(seeded_home, tmp_path, "credited")
    arrays = job.start()
    config = {"server-round": 1, "run-name": "credited", "network-config": network_config(job.network),
              "frozen": frozen_state(job.network)}
    update, n, metrics = node.fit(get_arrays(job.network), config)
    assert metrics["org"] == str(org.id) and metrics["hospital"].startswith("h-")
    job.evaluated(0, {"roc_auc": 0.9}, {metrics["hospital"]: {"roc_auc": 0.9, "n": 50.0}})
    job.fitted(1, {"hospitals": [metrics | {"n": n}, {"hospital": "h-unenrolled", "n": 80, "loss": 0.3}],
                   "loss": 0.3, "failures": [], "rejected": []})
    job.evaluated(1, {"roc_auc": 0.95}, {metrics["hospital"]: {"roc_auc": 0.95, "n": 50.0}})
    job.finish([a + d for a, d in zip(arrays, update)])
    outcome = json.loads((job.dir / "outcome.json").read_text())
    with store.transaction() as s:
        credited = billing.contributions_of(s, org.id)
    store.dispose()
    assert [(c["task"], c["model_version"], c["samples"], c["rounds"]) for c in credited] == [
        ("breast_cancer", outcome["published"], n, 1)]
    events = [json.loads(ln) for ln in (job.dir / "events.jsonl").read_text().splitlines()]
    assert any(e["event"] == "contributions" and e["organizations"] == 1 for e in events)
    # the organization is not tied to the pseudonymous per-hospital records anywhere else
    info_dir = seeded_home / "registry" / "breast_cancer" / "versions" / outcome["published"]
    assert (info_dir / "lineage.json").is_file()
    for path in [job.dir / "outcome.json", job.dir / "events.jsonl", *info_dir.rglob("*")]:
        if path.is_file() and path.suffix != ".safetensors":
            assert str(org.id) not in path.read_text(errors="replace"), path
