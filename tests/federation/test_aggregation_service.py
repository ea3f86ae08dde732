"""The aggregation service end to end, as hospitals meet it: `medhive serve` and `medhive aggregator serve`
as separate processes sharing the accounts database and registry; three hospitals file onboarding
requests, an admin approves them, and each hospital enrolls (`medhive node enroll`) and runs
`medhive node start` with its own state folder, key pair and real WDBC split, inside its own Linux
network namespace (a veth pair; the only address it can reach is the aggregator's side of that pair,
and the hub listens on loopback only, so the Fleet port is what it reaches).

One topology, assertions in order (each job costs minutes on a loaded 2-core machine):
1. TLS and SuperNode authentication on; a key nobody enrolled is refused by the SuperLink.
2. Two hospitals online: nothing starts. The third arrives: a job starts by itself, v1.1 is published and
   the three organizations are credited with their samples (the revenue share follows them).
3. A hospital withdraws consent, an admin triggers a job: it waits with 2 of 3 taking part.
4. Consent is back, the job runs; the aggregator is SIGKILLed mid-job and restarted: the job is failed,
   production unchanged, no new version; the next job publishes.
5. A canary planted in one hospital's data appears in no file outside that hospital.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from federation.launcher import free_port
from federation.node_state import NodeState
from federation.partition import dirichlet_split
from federation.processes import descendants
from tests.federation.conftest import write_wdbc_csv

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MEDHIVE = str(Path(sys.executable).parent / "medhive")
PW = "correct horse battery staple"
N = 3


def _wait(what: str, check, timeout: float = 600.0, every: float = 1.0):
    """Poll `check()` until it returns something truthy (readiness, never a fixed sleep)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Namespaces:
    """One network namespace per hospital, each joined to the host by its own veth pair
    (10.213.<i>.1 on the host side, 10.213.<i>.2 inside); deleted (with the pair) on close."""

    def __init__(self, n: int) -> None:
        tag = f"{os.getpid() % 10000}"
        self.names = [f"mh11-{tag}-{i}" for i in range(1, n + 1)]
        self.hosts = [f"10.213.{i}.1" for i in range(1, n + 1)]
        self._made: list[str] = []
        for i, ns in enumerate(self.names, start=1):
            outer, inner = f"mh{tag}v{i}a", f"mh{tag}v{i}b"
            subprocess.run(["ip", "netns", "add", ns], check=True)
            self._made.append(ns)
            for cmd in (["ip", "link", "add", outer, "type", "veth", "peer", "name", inner],
                        ["ip", "link", "set", inner, "netns", ns],
                        ["ip", "addr", "add", f"10.213.{i}.1/24", "dev", outer],
                        ["ip", "link", "set", outer, "up"],
                        ["ip", "-n", ns, "addr", "add", f"10.213.{i}.2/24", "dev", inner],
                        ["ip", "-n", ns, "link", "set", inner, "up"],
                        ["ip", "-n", ns, "link", "set", "lo", "up"]):
                subprocess.run(cmd, check=True)

    def prefix(self, i: int) -> list[str]:
        return ["ip", "netns", "exec", self.names[i]]

    def close(self) -> None:
        for ns in self._made:  # deleting the namespace deletes the veth pair with it
            subprocess.run(["ip", "netns", "del", ns], check=False)


class Procs:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env, self.all = root, env, []
        (root / "logs").mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.root / "logs" / f"{name}.log", "ab")
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**self.env, **(env or {})})
        log.close()
        self.all.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        kids = descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for proc in reversed(self.all):
            self.kill(proc)

    def log(self, name: str) -> str:
        return (self.root / "logs" / f"{name}.log").read_text(errors="replace")


def _cli(env: dict[str, str], *args: str) -> str:
    out = subprocess.run([MEDHIVE, *args], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (args, out.stdout, out.stderr)
    return out.stdout


def test_hospitals_onboard_enroll_and_train_through_the_aggregation_service(tmp_path, wdbc):
    from hub.accounts import Store, billing, default_url, metering, users
    from hub.registry import open_registry
    from hub.registry.signing import load_or_create_keypair

    home = tmp_path / "hub-home"
    fleet, hub_port = free_port(), free_port()
    nets = Namespaces(N)
    policy = {"breast_cancer": {"min_hospitals": 3, "rounds": 1, "local_epochs": 1, "cooldown_s": 3600,
                                "secagg_max_weight": 400.0}}
    env = {**os.environ, "MEDHIVE_HOME": str(home), "MEDHIVE_PORT": str(hub_port), "HF_HUB_OFFLINE": "1",
           "MEDHIVE_FEDERATION_TASKS": "breast_cancer", "MEDHIVE_FEDERATION_POLICY": json.dumps(policy)}
    procs = Procs(tmp_path, env)
    hub = f"http://127.0.0.1:{hub_port}"
    aggregator_args = [MEDHIVE, "aggregator", "serve", "--host", "0.0.0.0", "--fleet-port", str(fleet),
                       "--tick", "1", *[a for h in nets.hosts for a in ("--address", f"{h}:{fleet}")]]
    store = None
    try:
        # ----- the hub, an admin, the aggregation service ------------------------------------------
        procs.start("hub", [MEDHIVE, "serve"])
        _wait("the hub", lambda: _get(f"{hub}/health"), timeout=600)
        store = Store(default_url(home))
        with store.transaction() as s:
            ops = users.create_org(s, name="Operators", kind="platform")
            users.create_user(s, email="admin@ops.example", password=PW, role="admin", org_id=ops.id)
        admin = {"Authorization": "Bearer " + httpx.post(f"{hub}/v1/auth/login", json={
            "email": "admin@ops.example", "password": PW}).json()["access_token"]}
        aggregator = procs.start("aggregator", aggregator_args)
        service = _wait("the aggregation service", lambda: _json(f"{hub}/v1/federation/nodes", admin)["service"])
        assert service["fleet_address"] == f"{nets.hosts[0]}:{fleet}"
        state_dir = home / "aggregator"
        assert "--enable-supernode-auth" in Path(f"/proc/{_superlink_pid(state_dir)}/cmdline").read_text()

        # ----- three onboarding requests, approved --------------------------------------------------
        for i in range(N):
            r = httpx.post(f"{hub}/v1/onboarding/requests", json={
                "organization": f"Hospital {i + 1}", "contact_email": f"it@h{i + 1}.example", "tasks": ["breast_cancer"]})
            assert r.status_code == 201, r.text
        pending = json.loads(_cli(env, "accounts", "requests", "--status", "pending", "--json"))
        assert len(pending) == N
        approvals = [json.loads(_cli(env, "accounts", "approve", p["id"], "--json")) for p in pending]
        orgs = {a["org_id"]: a["organization"] for a in approvals}

        # ----- each hospital: its data, consent, enrollment (key pair, address, CA) -----------------
        x, y = wdbc
        x = x.copy()
        canary_value = 7351.29  # a "worst area" (valid range 0..10000) no real case has (max 4254)
        x[np.flatnonzero(y == 1)[0], 23] = canary_value
        hospitals = []
        for i, idx in enumerate(dirichlet_split(y, N, alpha=2.0, seed=3)):
            folder = tmp_path / f"hospital-{i + 1}"
            data = write_wdbc_csv(folder / "data.csv", x[idx], y[idx])
            state = folder / "node-state"
            node_env = {**env, "MEDHIVE_HOME": str(folder / "home")}
            _cli(node_env, "node", "consent", "grant", "breast_cancer", "--state", str(state))
            out = _cli(node_env, "node", "enroll", "--hub", hub, "--token", approvals[i]["token"],
                       "--name", f"h{i + 1}-node", "--state", str(state))
            assert f"SuperLink {nets.hosts[0]}:{fleet}" in out
            assert NodeState(state).enrollment()["org_id"] == approvals[i]["org_id"]
            assert NodeState(state).superlink_ca().read_text() == service_ca(store)
            hospitals.append({"folder": folder, "data": data, "state": state, "env": node_env,
                              "org": approvals[i]["org_id"]})
        planted = [h for h in hospitals if f"{canary_value:.6g}" in h["data"].read_text()]
        assert len(planted) == 1
        _wait("the keys registered with the SuperLink", lambda: all(
            n["status"] == "registered" for n in _nodes(hub, admin)) and len(_nodes(hub, admin)) == N)

        # ----- a key nobody enrolled is refused ------------------------------------------------------
        from federation import flower_cli
        from federation.pki import ensure_node_keys

        stranger_key, _ = ensure_node_keys(tmp_path / "stranger")
        stranger = procs.start("stranger", flower_cli.supernode_args(
            superlink=f"127.0.0.1:{fleet}", clientappio=f"127.0.0.1:{free_port()}", node_config='data-path="/none"',
            root_certificates=state_dir / "pki" / "ca.pem", private_key=stranger_key),
            env=flower_cli.process_env(env))
        _wait("the SuperLink to refuse the stranger", lambda: stranger.poll() is not None, timeout=300)
        assert stranger.returncode != 0 and "No SuperNode found with the given public key" in procs.log("stranger")
        assert len(_nodes(hub, admin)) == N

        def start_node(i: int) -> subprocess.Popen:
            h = hospitals[i]
            return procs.start(f"node-{i + 1}", nets.prefix(i) + [
                MEDHIVE, "node", "start", "--data", str(h["data"]), "--task", "breast_cancer", "--state", str(h["state"]),
                "--min-rows", "60", "--superlink", f"{nets.hosts[i]}:{fleet}"], env=h["env"])

        # the hub is on loopback: a hospital's namespace cannot reach it (only the Fleet port)
        probe = subprocess.run(nets.prefix(0) + [sys.executable, "-c", (
            "import socket,sys; s=socket.socket(); s.settimeout(5); "
            f"sys.exit(0 if s.connect_ex(('{nets.hosts[0]}', {hub_port})) else 1)")], timeout=60)
        assert probe.returncode == 0, "the hub port must not be reachable from a hospital's namespace"

        # ----- two hospitals online: nothing starts; the third: a job starts by itself -----------------
        nodes = [start_node(0), start_node(1)]
        _wait("two hospitals online", lambda: _online(hub, admin) == 2, timeout=600)
        beat = _heartbeat(store)
        _wait("a scheduler pass after that", lambda: _heartbeat(store) > beat, timeout=120)
        assert json.loads(_cli(env, "federation", "jobs", "--json")) == []
        nodes.append(start_node(2))
        job = _wait("a job started by the scheduler", lambda: (_jobs(store) or [None])[0], timeout=600, every=2)
        assert job["trigger"].startswith("scheduler: 3 hospital(s) online")
        job = _wait("the job to finish", lambda: _finished(store, job["id"]), timeout=1200, every=3)
        assert job["status"] in ("published", "candidate"), job
        assert json.loads(_cli(env, "federation", "jobs", "--json"))[0]["id"] == job["id"]
        assert job["published_version"] == "v1.1" and job["rounds_done"] == 1 and job["hospitals"] == N
        registry = open_registry("local", home=home, signer=load_or_create_keypair(home))
        production = registry.resolve("breast_cancer", "production")
        assert production == ("v1.1" if job["status"] == "published" else "v1.0")
        assert registry.info("breast_cancer", "v1.1").lineage.secure_aggregation

        # ----- credit: each organization's samples, and a revenue share in proportion ---------------
        credited = {c["org_id"]: c for c in _json(f"{hub}/v1/contributions", admin) if c["model_version"] == "v1.1"}
        assert set(credited) == set(orgs)
        for h in hospitals:
            trained = [c["samples"] for c in NodeState(h["state"]).contributions()]
            assert len(trained) == 1 and credited[h["org"]]["samples"] == trained[0] and credited[h["org"]]["rounds"] == 1
        with store.transaction() as s:
            buyer = users.sign_up(s, email="buyer@corp.example", password=PW, account_type="enterprise",
                                  organization="Corp")
            users.set_tier(s, buyer.org_id, "enterprise", actor="test")
            r = metering.reserve(s, buyer.org_id, 500)
            metering.record(s, r, org_id=buyer.org_id, user_id=buyer.id, api_key_id=None, task="breast_cancer",
                            model_version="v1.1", units=500)
            period = metering.period_of(datetime.now(UTC))
            share = billing.revenue_share(s, period)
        paid = {uuid.UUID(x["org_id"]): x["amount_micros"] for x in share["hospitals"]}
        total = sum(c["samples"] for c in credited.values())
        pool = sum(paid.values())
        for org_id, c in credited.items():
            assert abs(paid[uuid.UUID(org_id)] - pool * c["samples"] / total) < 1

        # ----- a hospital without consent is not counted: the admin's job waits ---------------------
        _cli(hospitals[2]["env"], "node", "consent", "revoke", "breast_cancer", "--state", str(hospitals[2]["state"]))
        _cli(env, "federation", "run", "breast_cancer")
        waiting = _wait("the job to wait for hospitals", lambda: _job_where(
            store, lambda j: j["status"] == "queued" and "2 of 3 take part" in j["reason"]), timeout=900, every=3)
        assert "no training consent" in waiting["reason"] or "declines" in waiting["reason"]

        # ----- consent back: it runs; the aggregator is SIGKILLed mid-job and restarted ---------------
        _cli(hospitals[2]["env"], "node", "consent", "grant", "breast_cancer", "--state", str(hospitals[2]["state"]))
        _wait("the job to run", lambda: _job_where(store, lambda j: j["id"] == waiting["id"] and j["status"] == "running"),
              timeout=900, every=2)
        old_superlink = _superlink_pid(state_dir)
        aggregator.kill()  # SIGKILL the service alone: its SuperLink must not outlive it
        aggregator.wait(timeout=30)
        _wait("the old SuperLink to die with its service", lambda: not _alive(old_superlink), timeout=60, every=0.5)
        aggregator = procs.start("aggregator-restarted", aggregator_args)
        failed = _wait("the killed job marked failed", lambda: _job_where(
            store, lambda j: j["id"] == waiting["id"] and j["status"] == "failed"), timeout=300)
        assert "stopped during this job" in failed["reason"]
        assert registry.resolve("breast_cancer", "production") == production
        assert [v.version for v in registry.versions("breast_cancer")] == ["v1.0", "v1.1"]
        _wait("the hospitals back online", lambda: _online(hub, admin) == N, timeout=600)
        _cli(env, "federation", "run", "breast_cancer")
        after = _wait("the next job to finish", lambda: _job_where(
            store, lambda j: j["id"] not in (job["id"], waiting["id"]) and j["status"] in (
                "published", "candidate", "failed", "cancelled")), timeout=1200, every=3)
        assert after["status"] in ("published", "candidate") and after["published_version"] == "v1.2", after

        # ----- the canary appears in no file outside the hospital that holds it ----------------------
        procs.close()
        needles = [f"{canary_value:.6g}".encode(), np.float32(canary_value).tobytes(),
                   np.float64(canary_value).tobytes()]
        outside = [p for p in home.rglob("*") if p.is_file()]
        outside += [p for p in (tmp_path / "logs").iterdir() if p.name != f"node-{hospitals.index(planted[0]) + 1}.log"]
        for h in hospitals:
            if h is not planted[0]:
                outside += [p for p in h["folder"].rglob("*") if p.is_file() and p != h["data"]]
        assert len(outside) > 30
        for path in outside:
            blob = path.read_bytes()
            for needle in needles:
                assert needle not in blob, f"canary found in {path}"
    finally:
        procs.close()
        nets.close()
        if store is not None:
            store.dispose()


# ----- small helpers -----------------------------------------------------------------------------------
def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def _json(url: str, headers: dict[str, str]):
    r = httpx.get(url, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _nodes(hub: str, admin: dict[str, str]) -> list[dict]:
    return _json(f"{hub}/v1/federation/nodes", admin)["nodes"]


def _online(hub: str, admin: dict[str, str]) -> int:
    return sum(1 for n in _nodes(hub, admin) if n["status"] == "online")


def _alive(pid: int) -> bool:
    try:
        return b"flower-superlink" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _superlink_pid(state_dir: Path) -> int:
    return int((state_dir / "superlink.pid").read_text())


def service_ca(store) -> str:
    from hub.accounts import federation

    with store.transaction() as s:
        return federation.service(s)["ca_pem"]


def _heartbeat(store):
    from hub.accounts import federation

    with store.transaction() as s:
        return federation.service(s)["heartbeat_at"]


def _jobs(store) -> list[dict]:
    from hub.accounts import federation

    with store.transaction() as s:
        return federation.list_jobs(s)


def _finished(store, job_id: str):
    return _job_where(store, lambda j: j["id"] == job_id and j["status"] not in ("queued", "running"))


def _job_where(store, pred):
    for j in _jobs(store):
        if pred(j):
            return j
    return None
