"""`medhive federate`: a whole federation on this machine through the real aggregation service
(`federation.local_service`: the aggregator with TLS and SuperNode authentication, N nodes that enroll
with tokens and join with `medhive node start`, all on loopback).

    medhive federate --task breast_cancer --hospitals 3 --rounds 2 [--strategy fedprox] [--no-secagg]
                     [--epsilon 4] [--nodes DIR1,DIR2,DIR3]

Without --nodes the task's public data is split non-IID (Dirichlet label skew; ECG: whole records per
hospital) into hospital folders under MEDHIVE_HOME/federation/jobs/<job>/hospitals, each with its own
node state and a recorded consent (a local demo). Progress is printed per round; the outcome is the
published version (production or candidate) with its metrics, or why nothing was published (exit 2).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

import typer

from medhive.commands._support import cli_errors
from medhive.wiring import open_registry
from medhive.wiring import settings as get_settings


def _progress(event: dict[str, Any]) -> None:
    kind, r = event.get("event"), event.get("round")
    if kind == "started":
        typer.echo(f"job started: {event['task']} from {event['parent']}, {event['rounds']} round(s), "
                   f"{event['strategy']}, SecAgg+ {'on' if event['secure_aggregation'] else 'off'}, "
                   f"DP {'on' if event['dp'] else 'off'}", err=True)
    elif kind == "evaluated":
        label = "parent" if r == 0 else "candidate"
        typer.echo(f"round {r} ({label}): federated roc_auc {event.get('roc_auc', float('nan')):.4f}  "
                   f"accuracy {event.get('accuracy', float('nan')):.4f}  loss {event.get('loss', float('nan')):.4f}"
                   f"  [{event['time']:.0f}s]", err=True)
    elif kind == "round":
        typer.echo(f"round {r}: training with {event['hospitals']} hospital(s)...", err=True)
    elif kind == "fitted":
        eps = f", epsilon <= {event['epsilon_max']:.2f}" if event.get("epsilon_max") is not None else ""
        typer.echo(f"round {r}: {event['hospitals']} update(s) aggregated{eps}  [{event['time']:.0f}s]", err=True)
        for f in event.get("failures", []) + event.get("rejected", []):
            typer.echo(f"  not used: {f}", err=True)
    elif kind == "failed":
        typer.echo(f"failed: {event['reason']}", err=True)


def register(app: typer.Typer) -> None:
    @app.command("federate")
    @cli_errors
    def federate(task: str = typer.Option(..., "--task", "-t"),
                 hospitals: Optional[int] = typer.Option(
                     None, "--hospitals", "-n", min=2,
                     help="default: the task's real hospitals where its data has them (heart_disease: 4), else 3"),
                 rounds: int = typer.Option(2, "--rounds", "-r", min=1),
                 strategy: str = typer.Option("fedavg", "--strategy", help="fedavg | fedprox | trimmed_mean | median"),
                 secagg: bool = typer.Option(True, "--secagg/--no-secagg", help="SecAgg+ secure aggregation"),
                 epsilon: Optional[float] = typer.Option(None, "--epsilon", help="DP-SGD: epsilon per hospital for this job"),
                 nodes: Optional[str] = typer.Option(None, "--nodes", help="comma-separated hospital data paths"),
                 min_hospitals: Optional[int] = typer.Option(None, "--min-hospitals", help="default: min(3, hospitals)"),
                 local_epochs: int = typer.Option(2, "--local-epochs"),
                 min_rows: Optional[int] = typer.Option(None, "--min-rows",
                                                        help="nodes refuse smaller datasets (default 200)"),
                 alpha: float = typer.Option(1.0, "--alpha", help="Dirichlet label skew of the local split"),
                 per_hospital: Optional[int] = typer.Option(None, "--per-hospital", help="image tasks: images per hospital"),
                 timeout: float = typer.Option(1800, "--timeout")) -> None:
        """Run a federation job on loopback: split data, start SuperLink + SuperNodes, train, gate, publish."""
        from federation.aggregation import STRATEGIES
        from federation.aggregator import Policy
        from federation.config import load_task
        from federation.formats import node_format, split_task
        from federation.launcher import NodeSpec
        from federation.local_service import LocalService
        from federation.node_state import NodeState
        from hub.errors import InvalidInputError

        settings = get_settings()
        spec = load_task(task)
        if strategy not in STRATEGIES:
            raise InvalidInputError(f"unknown strategy {strategy!r}; strategies: {', '.join(STRATEGIES)}")
        registry = open_registry(settings)
        parent = registry.resolve(task, "production")
        name = f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
        job_dir = settings.home / "federation" / "jobs" / name
        if nodes:
            paths = [Path(p).expanduser().resolve() for p in nodes.split(",") if p.strip()]
        else:
            paths = split_task(spec, job_dir / "hospitals", hospitals, data_root=settings.data_root, alpha=alpha,
                               per_hospital=per_hospital)
            typer.echo(f"split {task} data across {len(paths)} local hospitals: {', '.join((p.parent if p.is_file() else p).name for p in paths)}"
                       + ("" if hospitals is None and len(paths) != 3 else f" (Dirichlet alpha {alpha})"), err=True)
        count = node_format(spec).count
        smallest = min(count(p) for p in paths)
        if min_rows is None:
            min_rows = 200
            if not nodes and smallest < min_rows:
                # the public data split N ways: a local demo, not a hospital's real dataset
                min_rows = max(20, smallest)
                typer.echo(f"local demo: minimum rows per hospital lowered to {min_rows} "
                           f"({task}'s public data split {len(paths)} ways)", err=True)
        specs = []
        for p in paths:
            state = (p if p.is_dir() else p.parent) / ".medhive-node"
            if not nodes:
                NodeState(state).grant(task, by="medhive federate (local demo)")
            elif not NodeState(state).has_consent(task):
                typer.echo(f"warning: {p.name}: no consent recorded in {state}; that node will decline", err=True)
            specs.append(NodeSpec(data_path=str(p), state_dir=str(state), min_rows=min_rows))
        n_min = min_hospitals if min_hospitals is not None else min(3, len(specs))
        policy = Policy(min_hospitals=n_min, rounds=rounds, strategy=strategy, secure_aggregation=secagg,
                        epsilon=epsilon, cooldown_s=0, local_epochs=local_epochs, eligibility_wait_s=0,
                        start_hospitals=len(specs),
                        secagg_max_weight=float(max(1000, max(count(p) for p in paths))))
        job_env = {"medhive-home": str(settings.home), "registry": settings.registry,
                   "signing-key": str(settings.signing_key or ""), "tracking-uri": settings.mlflow_tracking_uri,
                   # the hub's public data root: the reference split every version is scored on
                   "reference-data": str(settings.data_root or "")}
        typer.echo(f"starting the aggregation service (TLS, SuperNode authentication) and {len(specs)} hospital "
                   f"nodes enrolled with tokens on 127.0.0.1 (parent {parent}, minimum {n_min})", err=True)
        with LocalService(job_dir / "runtime", task=task, policy=policy, job_env=job_env) as service:
            service.add_nodes(specs)
            outcome = service.run(on_event=_progress, timeout=timeout)
        if outcome.get("status") != "published":
            typer.echo(f"nothing published: {outcome.get('reason')}; production stays {parent}")
            raise typer.Exit(2)
        m = outcome.get("metrics", {})
        typer.echo(f"published {task} {outcome['published']} -> {outcome['alias']}: "
                   f"roc_auc {m.get('roc_auc', float('nan')):.4f}, accuracy {m.get('accuracy', float('nan')):.4f}")
        typer.echo(f"gate: {outcome['gate']['reason']}")
        lin = outcome.get("lineage", {})
        eps = f", epsilon {lin['epsilon']:.2f} (delta {lin['delta']:g})" if lin.get("epsilon") is not None else ""
        typer.echo(f"lineage: parent {lin.get('parent')}, {lin.get('rounds')} rounds, {lin.get('hospitals')} hospitals, "
                   f"{lin.get('samples')} samples, {lin.get('strategy')}{eps}; MLflow run {outcome.get('mlflow_run')}")
