"""`medhive federate` on one machine through the real aggregation service: the same `Aggregator` a
deployment runs (TLS, SuperNode authentication, scheduler, job rows), plus N hospital nodes that enroll
with one-time tokens and join with `medhive node start`, exactly as real hospitals do.

    with LocalService(workdir, task="breast_cancer", policy=Policy(...), job_env={...}) as svc:
        svc.add_nodes([NodeSpec(data_path=..., state_dir=...), ...])
        outcome = svc.run(on_event=print, timeout=1800)

The demo's hospitals are organizations in the demo's own accounts database (`workdir/accounts.db`), not
in the hub's: a local demo neither pollutes the real accounts nor touches the jobs of an aggregation
service that may be running on them. Enrollment calls `hub.accounts.governance.enroll`, the service
behind `POST /v1/nodes/enroll`, with the node's public key, and stores the answer (organization,
SuperLink address, CA certificate) in the node's state folder as `medhive node enroll` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from federation.aggregator import Aggregator, AggregatorConfig, Policy, _die_with_parent
from federation.errors import RunFailedError
from federation.launcher import NodeSpec, free_port
from federation.node_state import NodeState
from federation.pki import ensure_node_keys
from federation.processes import stop_groups
from hub.accounts.audit import load_or_create_audit_key

MEDHIVE = str(Path(sys.executable).parent / "medhive")


class LocalService:
    def __init__(self, workdir: Path, *, task: str, policy: Policy, job_env: dict[str, str],
                 env: dict[str, str] | None = None) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.task = task
        self.store_url = f"sqlite:///{self.workdir / 'accounts.db'}"
        self.env = {**os.environ, **(env or {})}
        port = free_port()
        self.aggregator = Aggregator(AggregatorConfig(
            state_dir=self.workdir / "aggregator", store_url=self.store_url, policies={task: policy},
            host="127.0.0.1", fleet_port=port, addresses=[f"127.0.0.1:{port}"], job_env=job_env, tick_s=1.0,
            # the key the job's own writes use (federation.job._store), so the demo's chain is one chain
            audit_key=load_or_create_audit_key(Path(job_env["medhive-home"]).expanduser())
            if job_env.get("medhive-home") else None))
        self.nodes: list[subprocess.Popen] = []

    def __enter__(self) -> LocalService:
        try:
            self.aggregator.start()
        except BaseException:
            self.aggregator.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_nodes(self, specs: list[NodeSpec]) -> None:
        """Enroll each node with a one-time token (its key pair made in its state folder), then start it."""
        from hub.accounts import federation as fed
        from hub.accounts import governance, users

        store = self.aggregator.store
        for i, spec in enumerate(specs, start=1):
            state = Path(spec.state_dir)
            _, public_key = ensure_node_keys(state)
            with store.transaction() as s:
                org = users.create_org(s, name=f"Local hospital {i}", kind="hospital")
                _, token = governance.create_enrollment_token(s, org_id=org.id, actor="federate (local demo)")
                node = governance.enroll(s, token=token, node_name=f"local-hospital-{i}", public_key=public_key)
                svc = fed.service(s)
                assert svc is not None
            NodeState(state).save_enrollment(hub="local demo", node_id=str(node.id), org_id=str(org.id),
                                             name=node.name, superlink=svc["fleet_address"], ca_pem=svc["ca_pem"])
            logs = self.workdir / "logs"
            logs.mkdir(exist_ok=True)
            with open(logs / f"node-{i}.log", "ab") as log:
                self.nodes.append(subprocess.Popen(
                    [MEDHIVE, "node", "start", "--data", spec.data_path, "--task", self.task, "--state", str(state),
                     "--min-rows", str(spec.min_rows), "--epsilon-budget", str(spec.epsilon_budget),
                     "--clientappio-address", f"127.0.0.1:{free_port()}"],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
                    preexec_fn=_die_with_parent))

    def run(self, *, on_event: Callable[[dict[str, Any]], None] | None = None,
            timeout: float = 1800.0) -> dict[str, Any]:
        """Tick the service until the job it starts (when enough nodes are online) ends; its outcome."""
        from hub.accounts import federation as fed

        end, seen, job_id = time.monotonic() + timeout, 0, None
        while time.monotonic() < end:
            self.aggregator.tick()
            for i, proc in enumerate(self.nodes, start=1):
                if proc.poll() is not None and job_id is None:
                    log = self.workdir / "logs" / f"node-{i}.log"
                    raise RunFailedError(f"hospital node {i} exited before the job started (see {log})")
            with self.aggregator.store.transaction() as s:
                job = fed.active_job(s, self.task) if job_id is None else fed.get_job(s, job_id)
                view = fed.job_view(job) if job is not None else None
            if view is not None:
                job_id = view["id"]
                events = self.aggregator.state / "jobs" / job_id / "events.jsonl"
                lines = events.read_text().splitlines() if events.is_file() else []
                for line in lines[seen:]:
                    if on_event:
                        on_event(json.loads(line))
                seen = len(lines)
                if view["status"] not in ("queued", "running"):
                    outcome = self.aggregator.state / "jobs" / job_id / "outcome.json"
                    if outcome.is_file():
                        return {**json.loads(outcome.read_text()), "job": view}
                    return {"status": "failed", "reason": view["reason"], "job": view}
            time.sleep(1.0)
        raise RunFailedError(f"the job did not finish within {timeout:.0f}s")

    def stop(self) -> None:
        # each node leads its own group (`_die_with_parent`): the SuperNode, its superexec and app processes
        stop_groups(self.nodes, grace=15.0)  # SIGTERM: a SuperNode deregisters at once
        self.nodes = []
        self.aggregator.stop()
