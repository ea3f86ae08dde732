"""End to end on Flower's Deployment Engine: real `flower-superlink` / `flower-supernode` processes on
loopback, started by the launcher, with `flwr run` submitting the app.

Each federation costs minutes on a 2-core machine, so each test combines its assertions:
1. SecAgg+ and DP on, 3 hospitals (a 4th declines: over its privacy budget), 2 rounds: published with
   lineage and MLflow metrics; the server
   never holds an individual update in the clear and its aggregate equals FedAvg of the (probed) client
   updates within quantization error; a canary planted in a node's data appears nowhere.
2. 4 hospitals, minimum 3: a SuperNode killed mid-round still lets the round complete; a second kill
   (3 left of a minimum of 3) fails the job cleanly, production unchanged, no process left behind.
3. An image task (glaucoma, small folders) with DP-SGD (BatchNorm frozen), driven by `medhive federate`.
4. Secure aggregation off, 5 hospitals: a node sending NaN and one sending an extra array are rejected by
   pseudonym; the round completes with the 3 honest ones and the aggregate is their FedAvg.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from federation.launcher import LocalFederation, NodeSpec
from federation.node_state import NodeState
from federation.partition import dirichlet_split
from federation.processes import descendants
from tests.federation.conftest import write_wdbc_csv

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _registry(home: Path):
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair

    registry = open_registry("local", home=home, signer=load_or_create_keypair(home))
    seed_baselines(registry, tasks=["breast_cancer"])
    return registry


def _mlflow(home: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home.resolve() / 'mlflow.db'}")


def _hospitals(root: Path, x, y, n: int, *, task: str = "breast_cancer", seed: int = 0) -> list[NodeSpec]:
    specs = []
    for h, idx in enumerate(dirichlet_split(y, n, alpha=2.0, seed=seed)):
        folder = root / f"hospital-{h + 1}"
        write_wdbc_csv(folder / "data.csv", x[idx], y[idx])
        state = folder / ".medhive-node"
        NodeState(state).grant(task, by="test")
        specs.append(NodeSpec(data_path=str(folder / "data.csv"), state_dir=str(state), min_rows=60))
    return specs


def _files(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in r.rglob("*") if p.is_file()]


def test_secagg_dp_run_publishes_and_leaks_nothing(tmp_path, medhive_home, wdbc):
    registry = _registry(medhive_home)
    parent = registry.resolve("breast_cancer", "production")
    x, y = wdbc
    x = x.copy()
    canary_value = 7351.29  # a "worst area" (valid range 0..10000) no real case has (max 4254)
    canary_text = f"CANARY-{uuid.uuid4().hex}"
    x[np.flatnonzero(y == 1)[0], 23] = canary_value
    specs = _hospitals(tmp_path / "hospitals", x, y, 4)
    # the 4th hospital's budget is below one round's cost: it must decline every round, and say so
    specs[3].epsilon_budget = 1.0
    # the canary row lands in exactly one hospital; a note beside its data carries the canary string
    planted = [s for s in specs if f"{canary_value:.6g}" in Path(s.data_path).read_text()]
    assert len(planted) == 1
    (Path(planted[0].data_path).parent / "notes.txt").write_text(f"{canary_text} Jane Roe, MRN 4471\n")
    probe = tmp_path / "probe"
    config = {"task": "breast_cancer", "num-rounds": 2, "min-hospitals": 3, "secure-aggregation": True,
              "dp": True, "dp-epsilon": 4.0, "medhive-home": str(medhive_home), "job-name": "e2e",
              "secagg-max-weight": 400.0, "probe-dir": str(probe), "job-dir": str(tmp_path / "job")}
    events: list[dict] = []
    with LocalFederation(tmp_path / "runtime", specs) as fed:
        outcome = fed.run(config, on_event=events.append, timeout=700)

    # ----- published through the gate, with lineage ----------------------------------------------
    assert outcome["status"] == "published", outcome
    gate = outcome["gate"]
    hospitals_ok = gate["candidate"] >= gate["parent"] - gate["tolerance"]
    # and like for like on the hub's reference split (breast_cancer's ships with scikit-learn)
    reference_ok = gate["reference_candidate"] >= gate["reference_parent"] - gate["reference_tolerance"]
    expected_alias = "production" if hospitals_ok and reference_ok else "candidate"
    assert outcome["alias"] == expected_alias
    info = registry.info("breast_cancer", outcome["published"])
    lin = info.lineage
    assert (lin.parent, lin.source, lin.rounds, lin.hospitals, lin.strategy, lin.secure_aggregation) == (
        parent, "federated", 2, 3, "fedavg", True)
    ledgers = [NodeState(Path(s.state_dir)) for s in specs[:3]]
    decliner = NodeState(Path(specs[3].state_dir))
    assert decliner.history("breast_cancer") == [] and decliner.contributions() == []
    rounds = [e for e in events if e["event"] == "round"]
    assert [e["hospitals"] for e in rounds] == [3, 3]
    for e in rounds:
        assert len(e["declined"]) == 1 and f"hospital {decliner.pseudonym()} declines: privacy budget exceeded" \
            in e["declined"][0] and "> budget 1" in e["declined"][0]
    assert "declining: privacy budget" in (tmp_path / "runtime" / "logs" / "supernode-3.log").read_text()
    spent = [st.spent_epsilon("breast_cancer", 1e-5) for st in ledgers]
    assert all(0.5 < e <= 4.0 + 1e-6 for e in spent), spent
    assert lin.epsilon == pytest.approx(max(spent)) and lin.delta == 1e-5
    assert lin.samples == sum(st.contributions()[0]["samples"] for st in ledgers)
    assert all(len(st.history("breast_cancer")) == 2 for st in ledgers)
    fitted = [e for e in events if e["event"] == "fitted"]
    assert [e["hospitals"] for e in fitted] == [3, 3] and fitted[1]["epsilon_max"] >= fitted[0]["epsilon_max"]
    # 4 SecAgg+ exchanges per fit round
    assert sum(1 for e in events if e["event"] == "exchange" and e["kind"] == "train" and e["round"] == 1) == 4

    # ----- MLflow: one run, per-round federated and per-hospital metrics ---------------------------
    client = _mlflow(medhive_home)
    run = client.get_run(outcome["mlflow_run"])
    assert run.info.status == "FINISHED" and run.data.params["published_version"] == info.version
    assert run.data.params["secure_aggregation"] == "True" and run.data.params["parent_version"] == parent
    auc = client.get_metric_history(run.info.run_id, "federated_roc_auc")
    assert sorted(m.step for m in auc) == [0, 1, 2]
    pseudonyms = {st.pseudonym() for st in ledgers}
    per_hospital = {k.split(".")[1] for k in run.data.metrics if k.startswith("hospital.")}
    assert per_hospital == pseudonyms
    assert client.get_metric_history(run.info.run_id, "epsilon_max")[-1].value == pytest.approx(max(spent))

    # ----- the server never holds an individual update in the clear ---------------------------------
    received = probe / "server-received"
    for r in (1, 2):
        updates = {}
        for folder in (probe / "client-updates").glob(f"*-r{r}"):
            n = int((folder / "n.txt").read_text())
            updates[folder.name] = (n, [np.load(f, allow_pickle=False) for f in sorted(folder.glob("*.npy"))])
        assert len(updates) == 3
        total = sum(n for n, _ in updates.values())
        count = len(next(iter(updates.values()))[1])
        fedavg = [sum(n * arrs[i] for n, arrs in updates.values()) / total for i in range(count)]
        aggregate = [np.load(f, allow_pickle=False) for f in sorted((probe / "aggregates").glob(f"r{r}-*.npy"))]
        diff = max(float(np.abs(a - b).max()) for a, b in zip(aggregate, fedavg))
        assert diff < 1e-3, f"round {r}: SecAgg+ result differs from FedAvg by {diff}"
        for _, arrs in updates.values():  # the aggregate is not any one hospital's update
            assert max(float(np.abs(a - b).max()) for a, b in zip(aggregate, arrs)) > 1e-3
    # every array in every message the server received: none is a hospital's update
    clear = [a for _, arrs in updates.values() for a in arrs]
    got = [np.load(f, allow_pickle=False) for f in received.glob("*.npy")]
    for rec in received.glob("*-records.json"):
        for record in json.loads(rec.read_text())["configs"].values():
            for value in record.values():
                items = value if isinstance(value, list) else [value]
                for item in items:
                    if isinstance(item, dict) and "bytes" in item:
                        raw = base64.b64decode(item["bytes"])
                        if raw[:6] == b"\x93NUMPY":
                            from flwr.common import bytes_to_ndarray

                            got.append(bytes_to_ndarray(raw))
    assert got, "the probe recorded nothing"
    for arr in got:
        for c in clear:
            if arr.shape == c.shape:
                assert not np.allclose(arr.astype(np.float64), c, atol=1e-4)

    # ----- the canary appears nowhere ---------------------------------------------------------------
    needles = [canary_text.encode(), f"{canary_value:.6g}".encode(), b"Jane Roe",
               np.float32(canary_value).tobytes(), np.float64(canary_value).tobytes()]
    scanned = _files(tmp_path / "runtime", tmp_path / "job", received, medhive_home / "registry",
                     medhive_home / "mlruns") + [medhive_home / "mlflow.db"]
    assert len(scanned) > 20
    for path in scanned:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"canary found in {path}"


def test_dropouts_tolerated_until_below_minimum(tmp_path, medhive_home, wdbc):
    registry = _registry(medhive_home)
    before = [v.version for v in registry.versions("breast_cancer")]
    production = registry.resolve("breast_cancer", "production")
    x, y = wdbc
    specs = _hospitals(tmp_path / "hospitals", x, y, 4, seed=1)
    config = {"task": "breast_cancer", "num-rounds": 2, "min-hospitals": 3, "medhive-home": str(medhive_home),
              "job-name": "dropouts", "secagg-max-weight": 400.0, "wait-timeout": 20,
              "job-dir": str(tmp_path / "job")}
    events: list[dict] = []
    killed: list[int] = []
    fed = LocalFederation(tmp_path / "runtime", specs)
    with fed:
        # readiness first: the 20 s wait-timeout is for the hospitals left after the kills, not for four
        # SuperNodes starting on a loaded machine (which once took longer and failed the run before training)
        fed.wait_online(4)
        trains: dict[int, int] = {}

        def during(event: dict) -> None:
            # round 1: kill a node after SecAgg+ key sharing, while the nodes train (SecAgg+ recovers);
            # round 2: kill one after key set-up, before key sharing (SecAgg+ halts; the ServerApp retries
            # the round, but only 2 of a minimum of 3 are left)
            if event["event"] != "exchange" or event["kind"] != "train" or event["round"] not in (1, 2):
                return
            trains[event["round"]] = trains.get(event["round"], 0) + 1
            if trains[event["round"]] == (2 if event["round"] == 1 else 1):
                victim = 4 - event["round"]
                killed.append(victim)
                fed.kill_node(victim)

        outcome = fed.run(config, on_event=events.append, during=during, timeout=900)
        procs = [p for p in [*fed.supernodes, fed.superlink] if p is not None]
        children = {c for p in procs for c in descendants(p.pid)}
    assert killed == [3, 2]
    fitted = [e for e in events if e["event"] == "fitted"]
    assert fitted and fitted[0]["round"] == 1 and fitted[0]["hospitals"] == 3  # round 1 completed without node 4
    assert not any(e["event"] == "retry" and e["round"] == 1 for e in events)  # SecAgg+ itself recovered
    assert any(e["event"] == "evaluated" and e["round"] == 0 for e in events)
    assert any(e["event"] == "retry" and e["round"] == 2 for e in events)
    assert outcome["status"] == "failed" and outcome["published"] is None
    assert outcome["reason"].startswith("round 2") and "at least 3" in outcome["reason"]
    assert registry.resolve("breast_cancer", "production") == production
    assert [v.version for v in registry.versions("breast_cancer")] == before
    assert _mlflow(medhive_home).get_run(outcome["mlflow_run"]).info.status == "FAILED"
    for pid in children:  # flower-superexec and app processes were ended with their parents
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_image_task_through_the_federate_command(tmp_path, medhive_home, shared_data, monkeypatch):
    """`medhive federate` end to end for an image task: non-IID split, consent, progress, outcome."""
    from typer.testing import CliRunner

    from hub.registry import open_registry
    from hub.registry.signing import load_or_create_keypair
    from medhive.cli import app

    monkeypatch.setenv("MEDHIVE_DATA_ROOT", str(shared_data))
    result = CliRunner().invoke(app, ["federate", "--task", "glaucoma", "--hospitals", "3", "--rounds", "1",
                                      "--per-hospital", "48", "--min-rows", "30", "--local-epochs", "1",
                                      "--alpha", "5", "--epsilon", "8"])
    assert result.exit_code == 0, result.output
    assert "split glaucoma data across 3 local hospitals" in result.stderr
    assert "round 1: 3 update(s) aggregated" in result.stderr
    assert "round 0 (parent): federated roc_auc" in result.stderr
    published = [ln for ln in result.stdout.splitlines() if ln.startswith("published glaucoma ")]
    assert len(published) == 1 and ("-> production" in published[0] or "-> candidate" in published[0])
    version = published[0].split()[2]
    assert "lineage: parent v1.0, 1 rounds, 3 hospitals" in result.stdout
    registry = open_registry("local", home=medhive_home, signer=load_or_create_keypair(medhive_home))
    info = registry.info("glaucoma", version)
    assert info.lineage.secure_aggregation and info.lineage.samples > 90
    assert 0 < info.lineage.epsilon <= 8 and info.lineage.delta == pytest.approx(1e-5)  # DP-SGD on a CNN
    loaded = registry.load("glaucoma", version)  # signed, verifiable, loadable
    assert type(loaded.network).__name__ == "ImageNet"
    # under DP the BatchNorm layers were frozen: running statistics exactly as the parent shipped them
    parent = registry.load("glaucoma", "v1.0").network.state_dict()
    stats = {k: v for k, v in loaded.network.state_dict().items() if k.endswith(("running_mean", "running_var"))}
    assert stats and all(np.allclose(v.numpy(), parent[k].numpy(), atol=1e-4) for k, v in stats.items())
    jobs = list((medhive_home / "federation" / "jobs").glob("glaucoma-*"))
    assert len(jobs) == 1
    hospitals = sorted((jobs[0] / "hospitals").glob("hospital-*"))
    assert len(hospitals) == 3 and all(NodeState(h / ".medhive-node").has_consent("glaucoma") for h in hospitals)
    assert all(len(NodeState(h / ".medhive-node").contributions()) == 1 for h in hospitals)



def test_malformed_updates_are_rejected_and_do_not_poison_the_model(tmp_path, medhive_home, wdbc):
    """5 hospitals, minimum 3, secure aggregation off (so the server sees each update): one node sends NaN
    weights, one an extra array (tests/federation/poison). Both are rejected by pseudonym, the round goes on
    with the 3 honest nodes, and the published model is finite and equals FedAvg of the honest updates."""
    import shutil

    registry = _registry(medhive_home)
    x, y = wdbc
    specs = _hospitals(tmp_path / "hospitals", x, y, 5, seed=4)  # every split passes validation
    specs[0].extra["test-poison"] = "nan"
    specs[1].extra["test-poison"] = "shape"
    app = tmp_path / "poison-app"
    app.mkdir()
    shutil.copy(Path(__file__).parent / "poison" / "poison_client.py", app / "poison_client.py")
    toml = (Path(__file__).parents[2] / "federation" / "app" / "pyproject.toml").read_text()
    (app / "pyproject.toml").write_text(toml.replace('clientapp = "federation.client_app:app"',
                                                     'clientapp = "poison_client:app"'))
    config = {"task": "breast_cancer", "num-rounds": 1, "min-hospitals": 3, "secure-aggregation": False,
              "medhive-home": str(medhive_home), "job-name": "poison", "wait-timeout": 30,
              "job-dir": str(tmp_path / "job"), "probe-dir": str(tmp_path / "probe")}
    events: list[dict] = []
    with LocalFederation(tmp_path / "runtime", specs) as fed:
        outcome = fed.run(config, app_dir=app, on_event=events.append, timeout=900)
    fitted = [e for e in events if e["event"] == "fitted"]
    assert len(fitted) == 1 and fitted[0]["hospitals"] == 3, fitted
    rejected = fitted[0]["rejected"]
    assert len(rejected) == 2
    assert any("non-finite" in r for r in rejected) and any("arrays instead of" in r for r in rejected)
    assert all(r.startswith("h-") for r in rejected)  # named by pseudonym, never by path or site name
    assert outcome["status"] == "published", outcome
    # the aggregate is FedAvg of the three honest updates (the probe records each node's real update
    # before the poisoned ones are swapped in), and it is finite
    probe = tmp_path / "probe"
    bad = {r.split(":")[0] for r in rejected}
    updates = {}
    for folder in (probe / "client-updates").glob("*-r1"):
        hospital = folder.name.rsplit("-r", 1)[0]
        if hospital not in bad:
            updates[hospital] = (int((folder / "n.txt").read_text()),
                                 [np.load(f, allow_pickle=False) for f in sorted(folder.glob("*.npy"))])
    assert len(updates) == 3, sorted(updates)
    total = sum(n for n, _ in updates.values())
    count = len(next(iter(updates.values()))[1])
    fedavg = [sum(n * arrs[i] for n, arrs in updates.values()) / total for i in range(count)]
    aggregate = [np.load(f, allow_pickle=False) for f in sorted((probe / "aggregates").glob("r1-*.npy"))]
    assert len(aggregate) == count and all(np.all(np.isfinite(a)) for a in aggregate)
    assert max(float(np.abs(a - b).max()) for a, b in zip(aggregate, fedavg)) < 1e-5
    info = registry.info("breast_cancer", outcome["published"])
    assert (info.lineage.hospitals, info.lineage.secure_aggregation) == (3, False)
