"""Local launcher: one `flower-superlink` and N `flower-supernode` processes on 127.0.0.1, then `flwr run`.

    with LocalFederation(workdir, [NodeSpec(data_path=..., state_dir=...), ...]) as fed:
        outcome = fed.run(run_config={"task": "breast_cancer", "num-rounds": 2}, on_event=print)

Every process gets its own free loopback port(s), leads its own process group and writes its log under
`workdir/logs`. Stopping sends SIGTERM to each group (a SuperNode deregisters at once), SIGKILL after
10 s, and returns once every group is empty: the `flower-superexec` / `flwr-serverapp` / `flwr-clientapp`
processes they started included, which could otherwise outlive their parent (`federation.processes`). The outcome comes from the
ServerApp's `outcome.json`, because `flwr run --stream` exits 0 even when the ServerApp failed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from federation import flower_cli
from federation.errors import RunFailedError
from federation.processes import stop_groups, wait_gone

APP_DIR = Path(__file__).parent / "app"
BIN = flower_cli.BIN


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class NodeSpec:
    data_path: str
    state_dir: str
    min_rows: int = 200
    epsilon_budget: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)

    def node_config(self) -> str:
        values = {"data-path": self.data_path, "state-dir": self.state_dir, "min-rows": self.min_rows,
                  "epsilon-budget": float(self.epsilon_budget), **self.extra}
        return " ".join(f"{k}={toml_value(v)}" for k, v in values.items())


class LocalFederation:
    def __init__(self, workdir: Path, nodes: list[NodeSpec], *, env: dict[str, str] | None = None,
                 poll: float | None = None, fork: bool = True) -> None:
        self.workdir = Path(workdir)
        self.poll = poll  # the SuperNodes' idle poll (`federation.flower_runtime`; None: its default)
        self.fork = fork  # app processes forked from a server that has imported Flower (`ForkServer`)
        # N nodes on one host share its cores: each trains with its share of torch threads (at least one),
        # as N processes with a thread per core each would oversubscribe the CPUs
        share = max(1, (os.cpu_count() or 1) // max(1, len(nodes)))
        self.nodes = [n if "threads" in n.extra else replace(n, extra={**n.extra, "threads": share}) for n in nodes]
        self.threads = share
        self.logs = self.workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.flwr_home = self.workdir / "flwr-home"
        self.env = flower_cli.process_env({**os.environ, **(env or {})}, flwr_home=self.flwr_home)
        self.superlink: subprocess.Popen | None = None
        self.supernodes: list[subprocess.Popen | None] = []
        self._procs: list[subprocess.Popen] = []  # every process started here, each its own group's leader
        self.ports: dict[str, int] = {}

    # ----- processes ---------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")
        # each process leads its own group: after it is gone the group still names what it started
        # (`flower-superexec`, `flwr-serverapp`, `flwr-clientapp`), which `stop` then waits for
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**self.env, **(env or {})},
                                cwd=self.workdir, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._procs.append(proc)
        return proc

    def start(self, *, wait: float = 90.0) -> LocalFederation:
        self.ports = {"serverappio": free_port(), "fleet": free_port(), "control": free_port()}
        self.flwr_home.mkdir(parents=True, exist_ok=True)
        (self.flwr_home / "config.toml").write_text(
            flower_cli.flwr_config_toml(control=f"127.0.0.1:{self.ports['control']}", root_certificates=None))
        self.superlink = self._spawn("superlink", flower_cli.superlink_args(
            database=self.workdir / "superlink.db", fleet=f"127.0.0.1:{self.ports['fleet']}",
            control=f"127.0.0.1:{self.ports['control']}", serverappio=f"127.0.0.1:{self.ports['serverappio']}",
            tls=None, node_auth=False))
        self._wait_port(self.ports["control"], wait, "SuperLink")
        for i in range(len(self.nodes)):
            self.supernodes.append(self._start_node(i))
        return self

    def _start_node(self, i: int) -> subprocess.Popen:
        return self._spawn(f"supernode-{i}", flower_cli.supernode_args(
            superlink=f"127.0.0.1:{self.ports['fleet']}", clientappio=f"127.0.0.1:{free_port()}",
            node_config=self.nodes[i].node_config(), root_certificates=None, private_key=None, poll=self.poll,
            fork=self.fork),
            # the node's app processes inherit it: OpenMP / BLAS pools sized to the node's share from the start
            env={"OMP_NUM_THREADS": str(self.nodes[i].extra.get("threads", self.threads))})

    def wait_online(self, n: int, *, timeout: float = 600.0) -> None:
        """Wait until `n` SuperNodes are online at the SuperLink (readiness, not a fixed sleep: a loaded
        machine may take minutes to start them)."""
        client = flower_cli.ControlClient(f"127.0.0.1:{self.ports['control']}", root_certificates=None)
        try:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                online = sum(1 for node in client.nodes() if node.status == "online")
                if online >= n:
                    return
                time.sleep(0.5)
        finally:
            client.close()
        raise RunFailedError(f"{n} SuperNode(s) were not online within {timeout:.0f}s")

    def _wait_port(self, port: int, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.superlink is not None and self.superlink.poll() is not None:
                raise RunFailedError(f"{what} exited at start (see {self.logs / 'superlink.log'})")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.3)
        raise RunFailedError(f"{what} did not start within {timeout:.0f}s")

    def kill_node(self, i: int, sig: int = signal.SIGKILL) -> None:
        """Kill SuperNode `i` (SIGKILL: an abrupt dropout); its app processes are killed with it."""
        proc = self.supernodes[i]
        if proc is None:
            return
        _signal([proc.pid], sig)
        wait_gone([proc.pid], 30.0)
        stop_groups([proc], grace=0.0, first=signal.SIGKILL)  # its superexec and app processes (its group)
        self.supernodes[i] = None

    def stop(self) -> None:
        """SIGTERM every process this launcher started together with its process group, wait for all of
        them (SuperLink, SuperNodes, `flwr run`, and what they started: superexecs, server and client apps),
        SIGKILL what is still there after 10 s, and return only when nothing of it is left."""
        # Flower starts its children without a session of their own, so each group holds all of them
        stop_groups(self._procs, grace=10.0)
        self._procs = [p for p in self._procs if p.returncode is None]
        self.supernodes, self.superlink = [], None

    def __enter__(self) -> LocalFederation:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- a run ---------------------------------------------------------------------------------------
    def run(self, run_config: dict[str, Any], *, app_dir: Path = APP_DIR, timeout: float = 900.0,
            on_event: Callable[[dict[str, Any]], None] | None = None,
            during: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Submit a run and follow it to its outcome (`outcome.json`); `during(event)` may act on events."""
        job_dir = Path(run_config.get("job-dir") or self.workdir / "job")
        job_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("events.jsonl", "outcome.json"):
            (job_dir / stale).unlink(missing_ok=True)
        config = {**run_config, "job-dir": str(job_dir)}
        overrides = self.workdir / "run-config.toml"
        overrides.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in config.items()))
        flwr = self._spawn("flwr-run", flower_cli.flwr_run_args(app_dir, "local", overrides))
        events, seen = job_dir / "events.jsonl", 0
        end = time.monotonic() + timeout
        try:
            while time.monotonic() < end:
                if events.is_file():
                    lines = events.read_text().splitlines()
                    for line in lines[seen:]:
                        event = json.loads(line)
                        if on_event:
                            on_event(event)
                        if during:
                            during(event)
                    seen = len(lines)
                if (job_dir / "outcome.json").is_file():
                    return json.loads((job_dir / "outcome.json").read_text())
                if flwr.poll() is not None and not (job_dir / "outcome.json").is_file():
                    time.sleep(2)  # the outcome is written before the run ends; allow the file system a moment
                    if not (job_dir / "outcome.json").is_file():
                        raise RunFailedError(f"the run ended without an outcome (see {self.logs})")
                time.sleep(0.5)
            raise RunFailedError(f"the run did not finish within {timeout:.0f}s")
        finally:
            if flwr.poll() is None:
                try:
                    flwr.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    flwr.kill()
                    flwr.wait(timeout=10)
