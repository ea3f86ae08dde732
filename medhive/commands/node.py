"""`medhive node ...`: what a hospital runs on its own machine.

    medhive node validate PATH --task T        the checks a node runs before training, plus a data summary
    medhive node consent grant|revoke|list     consent records (task, scope, time) in the node's state folder
    medhive node budget                        privacy budget spent per task and contribution history
    medhive node enroll --hub URL --token T    spend the one-time token: node key pair, organization, SuperLink, CA
    medhive node start --data PATH --task T    join the federation (flower-supernode, TLS + node key)
    medhive node console                       the hospital console (Gradio, 127.0.0.1 only)

Validation refuses with one line per offending column (never a cell value) and exit status 2.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import typer

from medhive.commands._support import cli_errors
from medhive.wiring import settings as get_settings

node_app = typer.Typer(help="Hospital node: validate local data, manage consent, join a federation.",
                       no_args_is_help=True)
consent_app = typer.Typer(help="Consent records for training per task (kept in the node's state folder).",
                          no_args_is_help=True)
node_app.add_typer(consent_app, name="consent")

StateOpt = typer.Option(None, "--state", help="node state folder (default: MEDHIVE_NODE_STATE or MEDHIVE_HOME/node)")


def _state_dir(state: Optional[Path]) -> Path:
    settings = get_settings()
    return Path(state or settings.node_state or settings.home / "node").expanduser()


def _task(name: str):
    from hub.models import get_task

    return get_task(name)


@node_app.command("validate")
@cli_errors
def validate(path: Path = typer.Argument(..., help="CSV file, image folder or WFDB record folder"),
             task: str = typer.Option(..., "--task", "-t"),
             min_rows: int = typer.Option(200, "--min-rows", help="smallest acceptable dataset"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Run the node's data checks (schema, identifiers, values, size, balance) and print a summary."""
    from federation.data import validate as run_checks

    report = run_checks(_task(task), path, min_rows=min_rows)
    if as_json:
        typer.echo(json.dumps({"ok": report.ok, "problems": report.lines(), "summary": report.summary}, indent=2))
    elif report.ok:
        s = report.summary
        typer.echo(f"{path.name}: accepted for {task}: {s.get('rows', 0)} rows")
        typer.echo("classes: " + ", ".join(f"{k} {v}" for k, v in s.get("class_counts", {}).items()))
        for name, st in list(s.get("features", {}).items())[:40]:
            typer.echo(f"  {name:<28} min {st['min']:<10.4g} mean {st['mean']:<10.4g} max {st['max']:.4g}")
    else:
        typer.echo(f"{path.name}: refused for {task} ({len(report.problems)} problem(s)):", err=True)
        for line in report.lines():
            typer.echo(f"  {line}", err=True)
    if not report.ok:
        raise typer.Exit(2)


@consent_app.command("grant")
@cli_errors
def consent_grant(task: str, scope: str = typer.Option("training", "--scope"),
                  by: str = typer.Option("", "--by", help="who records the consent"),
                  state: Optional[Path] = StateOpt) -> None:
    """Record the hospital's consent to train (or only evaluate) models for TASK."""
    from federation.node_state import NodeState

    _task(task)
    rec = NodeState(_state_dir(state)).grant(task, scope=scope, by=by)
    typer.echo(f"consent recorded: {task} ({rec.scope}) at {rec.granted_at}")


@consent_app.command("revoke")
@cli_errors
def consent_revoke(task: str, scope: Optional[str] = typer.Option(None, "--scope"),
                   state: Optional[Path] = StateOpt) -> None:
    """Revoke consent for TASK; the node declines its next round."""
    from federation.node_state import NodeState

    n = NodeState(_state_dir(state)).revoke(task, scope=scope)
    typer.echo(f"revoked {n} consent record(s) for {task}")


@consent_app.command("list")
@cli_errors
def consent_list(state: Optional[Path] = StateOpt, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every consent record, active or revoked."""
    from dataclasses import asdict

    from federation.node_state import NodeState

    records = NodeState(_state_dir(state)).consents()
    if as_json:
        typer.echo(json.dumps([asdict(r) for r in records], indent=2))
        return
    for r in records:
        status = "active" if r.active else f"revoked {r.revoked_at}"
        typer.echo(f"{r.task:<16} {r.scope:<11} granted {r.granted_at}  {status}")
    if not records:
        typer.echo("no consent recorded")


@node_app.command("budget")
@cli_errors
def budget(state: Optional[Path] = StateOpt, delta: float = typer.Option(1e-5, "--delta")) -> None:
    """Privacy budget spent per task (cumulative epsilon at DELTA) and the contribution history."""
    from federation.node_state import NodeState

    ns = NodeState(_state_dir(state))
    tasks = sorted({h["task"] for h in ns.history()} | {c["task"] for c in ns.contributions()})
    for t in tasks:
        typer.echo(f"{t}: epsilon spent {ns.spent_epsilon(t, delta):.3f} (delta {delta:g})")
    for c in ns.contributions():
        eps = "no DP" if c["epsilon_round"] is None else f"epsilon {c['epsilon_round']:.3f}"
        typer.echo(f"  {c['time']}  {c['task']}  run {c['run'] or '-'} round {c['round']}  {c['samples']} samples  {eps}")
    if not tasks:
        typer.echo("no contributions yet")


@node_app.command("enroll")
@cli_errors
def enroll(hub: str = typer.Option(..., "--hub", help="the MedHive hub's URL, e.g. https://hub.example.org"),
           token: str = typer.Option(..., "--token", envvar="MEDHIVE_ENROLLMENT_TOKEN",
                                     help="the one-time enrollment token (or MEDHIVE_ENROLLMENT_TOKEN)"),
           name: str = typer.Option("node-1", "--name", help="a name for this node, e.g. its host name"),
           state: Optional[Path] = StateOpt) -> None:
    """Enroll this node with the hub: makes the node's key pair (kept in its state folder), sends the public
    key with the one-time token; the hub answers with the organization, the SuperLink address and its CA."""
    import httpx

    from federation.node_state import NodeState
    from federation.pki import ensure_node_keys

    folder = _state_dir(state)
    folder.mkdir(parents=True, exist_ok=True)
    _, public_key = ensure_node_keys(folder)
    url = hub.rstrip("/") + "/v1/nodes/enroll"
    try:
        resp = httpx.post(url, json={"token": token, "node_name": name, "public_key": public_key}, timeout=30)
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {hub}: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    if resp.status_code != 201:
        try:
            detail = resp.json().get("detail") or resp.json().get("title")
        except ValueError:
            detail = resp.text[:200]
        typer.echo(f"error: enrollment refused ({resp.status_code}): {detail}", err=True)
        raise typer.Exit(2)
    body = resp.json()
    NodeState(folder).save_enrollment(hub=hub, node_id=body["node_id"], org_id=body["org_id"], name=body["name"],
                                      superlink=body.get("superlink"), ca_pem=body.get("ca_pem"))
    where = f"; SuperLink {body['superlink']}" if body.get("superlink") else "; no aggregation service announced yet"
    typer.echo(f"enrolled node {body['name']} ({body['node_id']}) for organization {body['org_id']}{where}; "
               f"state in {folder}")


@node_app.command("start")
@cli_errors
def start(data: Path = typer.Option(..., "--data", help="the hospital's data (CSV, image folder, WFDB folder)"),
          task: str = typer.Option(..., "--task", "-t"),
          state: Optional[Path] = StateOpt,
          superlink: Optional[str] = typer.Option(None, "--superlink",
                                                  help="HOST:PORT of the Fleet API (default: from enrollment)"),
          min_rows: int = typer.Option(200, "--min-rows"),
          epsilon_budget: float = typer.Option(10.0, "--epsilon-budget", help="privacy budget per task"),
          require_dp: bool = typer.Option(False, "--require-dp", help="decline rounds without DP"),
          insecure: bool = typer.Option(False, "--insecure", help="no TLS, no node key (loopback tests only)"),
          root_certificates: Optional[Path] = typer.Option(None, "--root-certificates",
                                                           help="CA of the SuperLink (default: from enrollment)"),
          auth_key: Optional[Path] = typer.Option(None, "--auth-private-key",
                                                  help="SuperNode key (default: the one made at enrollment)"),
          clientappio: str = typer.Option("127.0.0.1:9094", "--clientappio-address"),
          poll: Optional[float] = typer.Option(None, "--poll", min=0.05,
                                               help="seconds between the node's polls during a job (default 0.5; "
                                                    "Flower's own: 3 s)"),
          fork_server: bool = typer.Option(True, "--fork-server/--no-fork-server",
                                           help="fork each message's app process from a server that has imported "
                                                "Flower (default), or start a fresh interpreter per message")) -> None:
    """Validate the data, check consent, then run a Flower SuperNode that joins the federation.

    After `medhive node enroll` nothing else is needed: the SuperLink address, its CA certificate and the
    node's key come from the enrollment in the state folder."""
    from federation import flower_cli
    from federation.data import validate as run_checks
    from federation.launcher import toml_value
    from federation.node_state import NodeState
    from federation.pki import node_key_paths

    report = run_checks(_task(task), data, min_rows=min_rows)
    if not report.ok:
        for line in report.lines():
            typer.echo(f"  {line}", err=True)
        typer.echo(f"error: {data.name} refused for {task}; fix the data before joining", err=True)
        raise typer.Exit(2)
    folder = _state_dir(state)
    ns = NodeState(folder)
    if not ns.has_consent(task):
        typer.echo(f"error: no training consent for {task}; record it with `medhive node consent grant {task}`", err=True)
        raise typer.Exit(2)
    enrolled = ns.enrollment() or {}
    superlink = superlink or enrolled.get("superlink")
    if not superlink:
        typer.echo("error: no SuperLink address: enroll first (`medhive node enroll --hub URL --token T`) "
                   "or give --superlink", err=True)
        raise typer.Exit(2)
    if not insecure:
        root_certificates = root_certificates or ns.superlink_ca()
        key = auth_key or node_key_paths(folder)[0]
        if root_certificates is None or not key.is_file():
            typer.echo("error: no CA certificate or node key: enroll first (`medhive node enroll --hub URL "
                       "--token T`) or give --root-certificates and --auth-private-key", err=True)
            raise typer.Exit(2)
    config = {"data-path": str(data.resolve()), "state-dir": str(folder.resolve()), "min-rows": min_rows,
              "epsilon-budget": float(epsilon_budget), "require-dp": require_dp}
    args = flower_cli.supernode_args(superlink=superlink, clientappio=clientappio,
                                     node_config=" ".join(f"{k}={toml_value(v)}" for k, v in config.items()),
                                     root_certificates=None if insecure else root_certificates,
                                     private_key=None if insecure else key, poll=poll, fork=fork_server)
    typer.echo(f"node for {task}: {report.summary.get('rows', 0)} rows validated; joining {superlink}", err=True)
    # Flower's SuperNode through `federation.flower_runtime` (shorter polls, lighter message processes); it
    # starts `flower-superexec` / `flwr-clientapp` by name otherwise: this environment's bin goes first
    os.execve(args[0], args, flower_cli.process_env(dict(os.environ)))


@node_app.command("console")
@cli_errors
def console(state: Optional[Path] = StateOpt, task: Optional[str] = typer.Option(None, "--task", "-t"),
            port: int = typer.Option(7861, "--port")) -> None:
    """The hospital console (Gradio) on http://127.0.0.1:PORT: data checks, consent, contributions, budget."""
    from federation.console import build_console
    from hub.models import task_names

    demo = build_console(_state_dir(state), tasks=task_names(), default_task=task)
    typer.echo(f"hospital console on http://127.0.0.1:{port}", err=True)
    demo.launch(server_name="127.0.0.1", server_port=port, share=False)


def register(app: typer.Typer) -> None:
    app.add_typer(node_app, name="node")
