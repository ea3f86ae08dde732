"""The aggregation service: owns a `flower-superlink` and schedules federation jobs.

    service = Aggregator(AggregatorConfig(state_dir=..., store_url=..., policies={"breast_cancer": Policy()}))
    service.serve()          # until SIGTERM / SIGINT

On start it makes (once) a private CA and a server certificate (`federation.pki`), starts the SuperLink
with TLS and SuperNode authentication on (`--insecure` only when every address is loopback), fails the
jobs a previous instance left queued or running, and announces its Fleet address and CA certificate in
the accounts store (the hub hands both to enrolling nodes). Then, every tick:

- **nodes**: keys of newly enrolled nodes are registered with the SuperLink's Control API, revoked nodes
  are unregistered (the SuperLink then refuses them), and each node's online status is recorded;
- **scheduler**: per task, a job starts when enough registered nodes are online (the policy's minimum),
  no job of the task is active and the cool-down since the last one has passed, or when an admin
  queued one (`medhive federation run TASK`). Inside the job the ServerApp asks every node whether it
  takes part (consent, validated data, budget) and waits until enough do;
- **jobs**: the job's progress (`events.jsonl`) and outcome are written to its row.

The Control and ServerAppIo APIs listen on 127.0.0.1 only (the Control API has no account auth here).
Child processes die with the service (PR_SET_PDEATHSIG) and a restart also ends a previous instance's
process group, so a killed service leaves no SuperLink that could finish a job behind its back.
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from federation import flower_cli
from federation.errors import FederationError
from federation.launcher import APP_DIR, free_port, toml_value
from federation.pki import ServicePki
from federation.processes import alive, cmdline, group_members, stop_groups, wait_gone

HEARTBEAT_S = 5.0


@dataclass
class Policy:
    """When and how a task's jobs run (settings: MEDHIVE_FEDERATION_POLICY, JSON per task)."""

    min_hospitals: int = 3
    rounds: int = 2
    strategy: str = "fedavg"
    secure_aggregation: bool = True
    epsilon: float | None = None  # DP-SGD epsilon per hospital for one job; None: no DP
    cooldown_s: float = 600.0
    local_epochs: int = 2
    eligibility_wait_s: int = 3600
    secagg_max_weight: float = 10000.0
    start_hospitals: int | None = None  # online hospitals that start a job (default: min_hospitals)

    @classmethod
    def of(cls, values: dict[str, Any]) -> Policy:
        known = set(asdict(cls()))
        unknown = set(values) - known
        if unknown:
            raise FederationError(f"unknown federation policy key(s): {', '.join(sorted(unknown))}")
        policy = cls(**values)
        if policy.min_hospitals < 2 or policy.rounds < 1:
            raise FederationError("a federation policy needs min_hospitals >= 2 and rounds >= 1")
        return policy


@dataclass
class AggregatorConfig:
    state_dir: Path
    store_url: str
    policies: dict[str, Policy]
    host: str = "127.0.0.1"
    fleet_port: int = 9092
    addresses: list[str] = field(default_factory=list)  # names hospitals dial; the first is handed out
    insecure: bool = False
    job_env: dict[str, str] = field(default_factory=dict)  # run config: medhive-home, registry, signing-key, ...
    tick_s: float = 2.0
    audit_key: bytes | None = None  # the hub's audit HMAC key: job rows join the same keyed chain


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _die_with_parent() -> None:  # runs in the child between fork and exec
    os.setsid()
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class _Run:
    job_id: uuid.UUID
    task: str
    dir: Path
    proc: subprocess.Popen
    seen: int = 0
    ended_at: float | None = None


class Aggregator:
    def __init__(self, config: AggregatorConfig) -> None:
        from hub.accounts.db import Store

        self.config = config
        self.fleet = config.addresses[0] if config.addresses else f"{config.host}:{config.fleet_port}"
        hosts = [a.rsplit(":", 1)[0] for a in config.addresses] or [config.host]
        if config.insecure and not all(is_loopback(h) for h in [config.host, *hosts]):
            raise FederationError("--insecure is accepted only when every address is loopback")
        self.hosts = hosts
        self.state = Path(config.state_dir)
        self.state.mkdir(parents=True, exist_ok=True)
        self.instance = uuid.uuid4().hex[:16]
        self.store = Store(config.store_url, audit_key=config.audit_key)
        self.pki = ServicePki(self.state / "pki")
        self.superlink: subprocess.Popen | None = None
        self.control = None
        self.runs: dict[str, _Run] = {}
        self.ports: dict[str, int] = {}
        self._last_beat = 0.0
        self._stopping = False

    # ----- start / stop ------------------------------------------------------------------------------
    def start(self) -> Aggregator:
        from hub.accounts import federation as fed

        self._end_previous_instance()
        tls = None
        if not self.config.insecure:
            names = [h for h in self.hosts if h not in ("0.0.0.0", "::")] + ["127.0.0.1", "localhost"]
            self.pki.ensure(names)
            tls = flower_cli.Tls(self.pki.ca_cert, self.pki.server_cert, self.pki.server_key)
        self.ports = {"control": free_port(), "serverappio": free_port()}
        control = f"127.0.0.1:{self.ports['control']}"
        flwr_home = self.state / "flwr-home"
        flwr_home.mkdir(exist_ok=True)
        (flwr_home / "config.toml").write_text(flower_cli.flwr_config_toml(
            control=control, root_certificates=None if tls is None else self.pki.ca_cert))
        self.env = flower_cli.process_env(dict(os.environ), flwr_home=flwr_home)
        args = flower_cli.superlink_args(database=self.state / "superlink.db",
                                         fleet=f"{self.config.host}:{self.config.fleet_port}", control=control,
                                         serverappio=f"127.0.0.1:{self.ports['serverappio']}", tls=tls,
                                         node_auth=tls is not None)
        self.superlink = self._spawn("superlink", args)
        (self.state / "superlink.pid").write_text(str(self.superlink.pid))
        self._wait_port(self.ports["control"])
        self._wait_port(self.config.fleet_port, host="127.0.0.1" if self.config.host in ("0.0.0.0", "::")
                        else self.config.host)
        self.control = flower_cli.ControlClient(control, root_certificates=None if tls is None else self.pki.ca_cert)
        with self.store.transaction() as s:
            for job in fed.fail_orphans(s, aggregator=self.instance):
                self._log(f"job {job.id} ({job.task}) failed: the previous service stopped during it")
            fed.announce_service(s, instance=self.instance, fleet_address=self.fleet,
                                 ca_pem="" if tls is None else self.pki.ca_pem())
        self._log(f"SuperLink up: Fleet API {self.fleet} (TLS {'off' if tls is None else 'on'}, "
                  f"SuperNode authentication {'off' if tls is None else 'on'})")
        return self

    def _end_previous_instance(self) -> None:
        """A previous instance killed without a stop may have left its SuperLink, or (the SuperLink gone
        with its service) its superexec and a `flwr-serverapp` in the SuperLink's process group: end them."""
        pid_file = self.state / "superlink.pid"
        if not pid_file.is_file():
            return
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            return
        database = str(self.state / "superlink.db").encode()
        if alive(pid) and not (b"flower-superlink" in cmdline(pid) and database in cmdline(pid)):
            return  # the pid is someone else's now
        # the SuperLink leads its own group (setsid in the child); while any member is left the group id
        # cannot be reused, so with the leader gone every member is a leftover of ours
        leftovers = [m for m in group_members(pid) if b"flwr" in cmdline(m) or b"flower" in cmdline(m)]
        for member in leftovers:
            try:
                os.kill(member, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_gone(leftovers, 10.0)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        logs = self.state / "logs"
        logs.mkdir(exist_ok=True)
        with open(logs / f"{name}.log", "ab") as log:
            return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.env, cwd=self.state, preexec_fn=_die_with_parent)

    def _wait_port(self, port: int, host: str = "127.0.0.1", timeout: float = 120.0) -> None:
        import socket

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.superlink is not None and self.superlink.poll() is not None:
                raise FederationError(f"the SuperLink exited at start (see {self.state / 'logs' / 'superlink.log'})")
            with socket.socket() as sock:
                if sock.connect_ex((host, port)) == 0:
                    return
            time.sleep(0.3)
        raise FederationError(f"the SuperLink did not open port {port} within {timeout:.0f}s")

    def stop(self) -> None:
        self._stopping = True
        for run in self.runs.values():
            if run.proc.poll() is None:
                run.proc.terminate()
        if self.control is not None:
            self.control.close()
        if self.superlink is not None:
            # the whole group: the SuperLink, its superexec and any `flwr-serverapp` still in a run, each
            # waited for (SIGKILL after 15 s), so none outlives the service
            stop_groups([self.superlink], grace=15.0)
        self.store.dispose()

    def serve(self) -> None:
        """Start, then tick until SIGTERM / SIGINT."""
        def _stop(*_: object) -> None:
            self._stopping = True

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        self.start()
        try:
            while not self._stopping:
                self.tick()
                time.sleep(self.config.tick_s)
        finally:
            self.stop()

    def _log(self, message: str) -> None:
        print(f"medhive aggregator: {message}", file=sys.stderr, flush=True)

    # ----- one tick ----------------------------------------------------------------------------------
    def tick(self) -> None:
        if self.superlink is not None and self.superlink.poll() is not None:
            raise FederationError("the SuperLink exited; see its log")
        online = self.sync_nodes()
        self.follow_runs()
        self.schedule(online)
        if time.monotonic() - self._last_beat > HEARTBEAT_S:
            from hub.accounts import federation as fed

            with self.store.transaction() as s:
                fed.heartbeat(s, instance=self.instance)
            self._last_beat = time.monotonic()

    def sync_nodes(self) -> int:
        """Register new keys, unregister revoked ones, record statuses; the number of enrolled nodes online."""
        from hub.accounts import federation as fed

        assert self.control is not None
        with self.store.transaction() as s:
            for node in fed.nodes_to_register(s):
                try:
                    node.flower_node_id = str(self.control.register(node.public_key or ""))
                except Exception as exc:  # noqa: BLE001 - e.g. the key is already registered (SuperLink db kept)
                    known = {n.public_key: n.node_id for n in self.control.nodes()}
                    if node.public_key not in known:
                        self._log(f"node {node.id}: key not registered ({type(exc).__name__})")
                        continue
                    node.flower_node_id = str(known[node.public_key])
                node.status = "registered"
                self._log(f"node {node.id} registered with the SuperLink")
            for node in fed.nodes_to_unregister(s):
                try:
                    self.control.unregister(int(node.flower_node_id or 0))
                except Exception:  # noqa: BLE001 - already gone from the SuperLink
                    pass
                node.status = "revoked"
                self._log(f"node {node.id} revoked: unregistered from the SuperLink")
            statuses = {n.node_id: n.status for n in self.control.nodes()}
            now, online = datetime.now(UTC), 0
            for node in fed.registered_nodes(s):
                status = statuses.get(int(node.flower_node_id or 0), "registered")
                status = status if status in ("online", "offline") else "registered"
                if status == "online":
                    online += 1
                    node.last_seen_at = now
                if node.status != status:
                    node.status = status
        return online

    def schedule(self, online: int) -> None:
        from hub.accounts import federation as fed

        with self.store.transaction() as s:
            for task, policy in self.config.policies.items():
                if task in self.runs:
                    continue
                job = fed.active_job(s, task)
                if job is not None and job.aggregator not in ("", self.instance):
                    continue
                if job is not None and job.cancel_requested:
                    fed.finish_job(s, job.id, status="cancelled", reason="cancelled by an admin before it started",
                                   actor=f"aggregator:{self.instance}")
                    continue
                if job is None:
                    last = fed.last_finished_at(s, task)
                    cooling = last is not None and datetime.now(UTC) - last < timedelta(seconds=policy.cooldown_s)
                    if online < (policy.start_hospitals or policy.min_hospitals) or cooling:
                        continue
                    job = fed.create_job(s, task=task, aggregator=self.instance, policy=asdict(policy),
                                         trigger=f"scheduler: {online} hospital(s) online",
                                         actor=f"aggregator:{self.instance}")
                else:  # queued by an admin: this instance takes it, with the task's policy
                    policy = Policy.of({**asdict(policy), **{k: v for k, v in json.loads(job.policy or "{}").items()
                                                               if k in asdict(policy)}})
                    job.aggregator, job.rounds, job.min_hospitals = self.instance, policy.rounds, policy.min_hospitals
                    job.policy = json.dumps(asdict(policy), sort_keys=True)
                job.reason = f"started; waiting for {policy.min_hospitals} eligible hospitals"
                s.flush()
                self.runs[task] = self._launch(job.id, task, policy)
                self._log(f"job {job.id} ({task}) started ({job.trigger})")

    def _launch(self, job_id: uuid.UUID, task: str, policy: Policy) -> _Run:
        job_dir = self.state / "jobs" / str(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "task": task, "num-rounds": policy.rounds, "min-hospitals": policy.min_hospitals,
            "strategy": policy.strategy, "secure-aggregation": policy.secure_aggregation,
            "local-epochs": policy.local_epochs, "secagg-max-weight": float(policy.secagg_max_weight),
            "dp": policy.epsilon is not None, "dp-epsilon": float(policy.epsilon or 0.0),
            "eligibility-wait": int(policy.eligibility_wait_s), "accounts-db": self.config.store_url,
            **self.config.job_env, "job-dir": str(job_dir), "job-name": f"{task}-{str(job_id)[:8]}",
            "job-id": str(job_id),
        }
        overrides = job_dir / "run-config.toml"
        overrides.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in config.items()))
        proc = self._spawn(f"job-{job_id}", flower_cli.flwr_run_args(APP_DIR, "local", overrides))
        return _Run(job_id=job_id, task=task, dir=job_dir, proc=proc)

    def follow_runs(self) -> None:
        from hub.accounts import federation as fed

        for task, run in list(self.runs.items()):
            events = run.dir / "events.jsonl"
            lines = events.read_text().splitlines() if events.is_file() else []
            updates: dict[str, Any] = {}
            for line in lines[run.seen:]:
                event = json.loads(line)
                kind = event.get("event")
                if kind == "started":
                    updates["parent_version"] = event.get("parent")
                elif kind == "waiting":
                    updates["reason"] = (f"waiting for hospitals: {event['eligible']} of {event['needed']} take part"
                                         + (f" ({'; '.join(event['declined'])})" if event.get("declined") else ""))
                elif kind == "round":
                    updates.update(status="running", hospitals=int(event["hospitals"]),
                                   reason=f"round {event['round']} training with {event['hospitals']} hospital(s)")
                elif kind == "fitted":
                    updates["rounds_done"] = int(event["round"])
            run.seen = len(lines)
            outcome_file = run.dir / "outcome.json"
            with self.store.transaction() as s:
                if updates:
                    fed.update_job(s, run.job_id, **updates)
                if outcome_file.is_file():
                    self._finish(s, run, json.loads(outcome_file.read_text()))
                    del self.runs[task]
                elif run.proc.poll() is not None:
                    # the outcome is written before the run ends; allow the file system a moment
                    run.ended_at = run.ended_at or time.monotonic()
                    if time.monotonic() - run.ended_at > 10:
                        fed.finish_job(s, run.job_id, status="failed", actor=f"aggregator:{self.instance}",
                                       reason=f"the run ended without an outcome (see {run.dir})")
                        del self.runs[task]

    def _finish(self, session, run: _Run, outcome: dict[str, Any]) -> None:
        from hub.accounts import federation as fed

        actor = f"aggregator:{self.instance}"
        job = fed.get_job(session, run.job_id)
        if outcome.get("status") == "published":
            status = "published" if outcome.get("alias") == "production" else "candidate"
            fed.finish_job(session, run.job_id, status=status, actor=actor, published_version=outcome["published"],
                           reason=str(outcome.get("gate", {}).get("reason", "")),
                           rounds_done=int(outcome.get("lineage", {}).get("rounds") or job.rounds_done),
                           hospitals=len(outcome.get("hospitals", {})),
                           unattributed_weight=int(outcome.get("unattributed_weight", 0)))
        else:
            status = "cancelled" if job.cancel_requested else "failed"
            fed.finish_job(session, run.job_id, status=status, actor=actor, reason=str(outcome.get("reason", "")))
        self._log(f"job {run.job_id} ({run.task}) {status}: {outcome.get('published') or outcome.get('reason')}")
