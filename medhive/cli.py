"""The `medhive` command line: models, predictions, the server.

Every expected failure (bad input, unknown task or version, missing data, refused signature) ends with a
one-line `error: ...` on stderr and exit status 2; an unexpected one prints one line and exit status 1
(set MEDHIVE_DEBUG=1 for the traceback). Progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import typer

from medhive.commands._lazy import LazyGroup
from medhive.commands._support import cli_errors
from medhive.commands._support import err as _err
from medhive.wiring import open_registry

__all__ = ["app", "cli_errors", "main", "open_registry"]

# Command modules in medhive/commands/, imported only when one of their commands runs (so `medhive --help`
# and `medhive models list` load neither torch nor the web stack). Each entry: command -> (module, help);
# the help is the command's own first line (a test keeps them equal). Listed in the order `--help` shows.
COMMANDS: dict[str, tuple[str, str]] = {
    "accounts": ("accounts", "Accounts, roles, tiers and enrollment tokens."),
    "audit": ("accounts", "The keyed, checkpointed audit trail."),
    "billing": ("accounts", "Usage per account and the hospitals' revenue share."),
    "ask": ("ask", "Ask the MedHive assistant (documentation with sources, predictions, onboarding, usage)."),
    "chat": ("chat", "Talk with the MedHive assistant: a conversation with history (onboarding, predictions, "
                     "follow-ups)."),
    "aggregator": ("aggregator", "The aggregation service (SuperLink owner and job scheduler)."),
    "federation": ("aggregator", "Federation jobs and nodes in the accounts database."),
    "federate": ("federation", "Run a federation job on loopback: split data, start SuperLink + SuperNodes, "
                               "train, gate, publish."),
    "node": ("node", "Hospital node: validate local data, manage consent, join a federation."),
    "spaces": ("spaces", "Generate the Hugging Face Space folders (spaces/<task>/) from the task catalog."),
    "knowledge": ("knowledge", "Generate the assistant's knowledge pages from the task catalog."),
}


class _Commands(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(cls=_Commands, help="MedHive: federated model hub for healthcare.", no_args_is_help=True,
                  rich_markup_mode=None,
                  pretty_exceptions_enable=False, add_completion=False)
models_app = typer.Typer(help="List, inspect, promote and roll back model versions; train baselines.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")


def _fmt_metric(metrics: dict[str, float], name: str) -> str:
    return f"{metrics[name]:.3f}" if name in metrics else "-"


# ----- models -------------------------------------------------------------------------------------
@models_app.command("list")
@cli_errors
def models_list(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every task with its production and candidate versions and validation metric."""
    from hub.models import all_tasks

    registry = open_registry()
    rows = []
    for name, task in all_tasks().items():
        versions = registry.versions(name) if name in registry.tasks() else []
        prod = _try_resolve(registry, name, "production")
        cand = _try_resolve(registry, name, "candidate")
        metrics = next((v.metrics for v in versions if v.version == prod), {})
        rows.append({"task": name, "title": task.title, "production": prod, "candidate": cand,
                     "versions": [v.version for v in versions], "metric": task.primary_metric,
                     "value": metrics.get(task.primary_metric)})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    width = _task_width(r["task"] for r in rows)
    typer.echo(f"{'task':<{width}}{'production':<12}{'candidate':<11}{'versions':<10}metric")
    for r in rows:
        value = f"{r['metric']} {r['value']:.3f}" if r["value"] is not None else "-"
        typer.echo(f"{r['task']:<{width}}{r['production'] or '-':<12}{r['candidate'] or '-':<11}"
                   f"{len(r['versions']):<10}{value}")


def _task_width(names: Any) -> int:
    """The task column's width: the longest task name ("chronic_kidney_disease") and two spaces."""
    return max((len(n) for n in names), default=4) + 2


def _try_resolve(registry: Any, task: str, ref: str) -> str | None:
    from hub.errors import VersionNotFoundError

    try:
        return registry.resolve(task, ref)
    except VersionNotFoundError:
        return None


@models_app.command("show")
@cli_errors
def models_show(task: str, version: str = typer.Option("production", "--version", "-v"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """One version's metrics, lineage and training data."""
    from dataclasses import asdict

    from hub.models import get_task

    get_task(task)
    info = open_registry().info(task, version)
    if as_json:
        typer.echo(json.dumps(asdict(info), indent=2, default=str))
        return
    typer.echo(f"{task} {info.version}  aliases: {', '.join(info.aliases) or '-'}  created {info.created_at}")
    typer.echo(f"signed by {info.signed_by}  sha256 {info.digest[:16]}...")
    typer.echo("metrics: " + ", ".join(f"{k} {v:.3f}" for k, v in info.metrics.items() if k != "n"))
    lin = info.lineage
    eps = f"{lin.epsilon:g}" if lin.epsilon is not None else "n/a (no DP)"
    typer.echo(f"lineage: source {lin.source}, parent {lin.parent or '-'}, rounds {lin.rounds}, "
               f"hospitals {lin.hospitals}, samples {lin.samples}, strategy {lin.strategy or '-'}, epsilon {eps}")
    if info.data.get("dataset"):
        typer.echo(f"data: {info.data['dataset']}")


@models_app.command("verify")
@cli_errors
def models_verify(task: Optional[str] = typer.Argument(None, help="one task (default: every task)"),
                  as_json: bool = typer.Option(False, "--json")) -> None:
    """Verify every stored version (signature, every file's digest, a strict load); exit 1 if any fails."""
    from hub.models import get_task, task_names

    registry = open_registry(seed=False)  # report what is there, never add to it
    rows = []
    for name in [get_task(task).name] if task else task_names():
        if name in registry.tasks():
            aliases: dict[str, list[str]] = {}
            for alias, version in registry.aliases(name).items():
                aliases.setdefault(version, []).append(alias)
            for version in registry.version_names(name):
                reason = registry.problem(name, version, deep=True)
                rows.append({"task": name, "version": version, "ok": reason is None, "reason": reason,
                             "aliases": ",".join(sorted(aliases.get(version, [])))})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        width = _task_width(r["task"] for r in rows)
        for r in rows:
            state = "ok" if r["ok"] else f"BROKEN: {r['reason']}"
            typer.echo(f"{r['task']:<{width}}{r['version']:<9}{r['aliases'] or '-':<22}{state}")
    broken = [r for r in rows if not r["ok"]]
    if broken:
        _err(f"{len(broken)} of {len(rows)} version(s) fail verification; other tasks are unaffected")
        raise typer.Exit(1)


@models_app.command("history")
@cli_errors
def models_history(task: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Publications, promotions and rollbacks of a task, oldest first."""
    from dataclasses import asdict

    from hub.models import get_task

    get_task(task)
    events = open_registry().history(task)
    if as_json:
        typer.echo(json.dumps([asdict(e) for e in events], indent=2))
        return
    for e in events:
        extra = f" (was {e.previous})" if e.previous else ""
        alias = f" -> {e.alias}" if e.alias else ""
        typer.echo(f"{e.time}  {e.action:<9}{e.version}{alias}{extra}  {e.actor or ''} {e.note}".rstrip())


@contextmanager
def _audit(action: str):
    """Record a governance action from the command line in the accounts audit trail, in the same database
    transaction as the change is confirmed (as the admin API does): if the registry refuses, nothing is
    recorded. The actor is `cli:<login name>`."""
    import getpass

    from hub.accounts import audit
    from medhive.wiring import open_store, settings

    store = open_store(settings())
    try:
        with store.transaction() as session:
            actor = f"cli:{getpass.getuser()}"

            def record(target: str, details: dict) -> None:
                audit.append(session, actor=actor, action=action, target=target, details=details)

            record.actor = actor  # type: ignore[attr-defined]
            yield record
    finally:
        store.dispose()


@models_app.command("promote")
@cli_errors
def models_promote(task: str, version: str, alias: str = typer.Option("production", "--alias")) -> None:
    """Point an alias (production by default) at a version."""
    from hub.models import get_task

    get_task(task)
    with _audit("model.promote") as record:
        event = open_registry().promote(task, version, alias=alias, actor=record.actor)
        record(f"{task}@{event.version}", {"alias": alias, "previous": event.previous})
    typer.echo(f"{task}: {alias} -> {event.version}" + (f" (was {event.previous})" if event.previous else ""))


@models_app.command("rollback")
@cli_errors
def models_rollback(task: str) -> None:
    """Move production back to the version that was production before the current one."""
    from hub.models import get_task

    get_task(task)
    with _audit("model.rollback") as record:
        event = open_registry().rollback(task, actor=record.actor)
        record(f"{task}@{event.version}", {"previous": event.previous})
    typer.echo(f"{task}: production -> {event.version} (was {event.previous})")


@models_app.command("train-baseline")
@cli_errors
def models_train_baseline(
    task: Optional[str] = typer.Argument(None, help="one task; all tasks when omitted"),
    data: Optional[Path] = typer.Option(None, "--data", help="folder holding the public data sets (../shared/data)"),
    out: Optional[Path] = typer.Option(None, "--out", help="where to write weights (default: the package's shipped weights)"),
    seed: int = typer.Option(0, "--seed"),
    publish: bool = typer.Option(False, "--publish", help="also publish each model to the registry as a candidate"),
) -> None:
    """Train the v1.0 baselines on real data and print their validation metrics."""
    from hub.baselines import SHIPPED, train_and_save
    from hub.models import get_task, task_names

    names = [task] if task else task_names()
    for name in names:
        get_task(name)
    # check every data folder first so a missing one fails in a second, not after minutes of training
    for name in names:
        spec = get_task(name)
        if spec.data_folder is not None:
            spec.data_path(data)
    for name in names:
        _err(f"[{name}] training...")
        record = train_and_save(name, data, out or SHIPPED, seed=seed, progress=lambda s, n=name: _err(f"[{n}] {s}"))
        m = record["metrics"]
        shown = ", ".join(f"{k} {v:.3f}" for k, v in m.items() if k != "n")
        typer.echo(f"{name}: {shown}  ({record['train_seconds']:.0f} s)")
        if publish:
            _publish_candidate(name, (out or SHIPPED) / name, record)


def _publish_candidate(name: str, folder: Path, record: dict) -> None:
    from hub.models import get_task
    from hub.registry.base import Lineage

    registry = open_registry()
    net = get_task(name).network_class.from_pretrained(folder, strict=True)
    trust_file = folder / "trust.json"
    trust = json.loads(trust_file.read_text()) if trust_file.is_file() else None
    info = registry.publish(name, net, metrics=record["metrics"], data=record["data"],
                            lineage=Lineage(source="baseline", notes="retrained with medhive models train-baseline"),
                            alias="candidate", actor="cli", trust=trust)
    typer.echo(f"{name}: published {info.version} as candidate")


# ----- predict ------------------------------------------------------------------------------------
@app.command()
@cli_errors
def predict(
    task: str = typer.Argument(..., help="task name (medhive models list)"),
    input: Path = typer.Argument(..., help="one case or a batch: CSV, image, folder, .npz, WFDB record, signal CSV"),
    version: str = typer.Option("production", "--version", "-v", help="version tag or alias"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per case"),
    fs: Optional[float] = typer.Option(None, "--fs", help="ECG CSV: sampling rate in Hz"),
    lead: Optional[str] = typer.Option(None, "--lead", help="ECG: lead / column to use"),
    key: Optional[str] = typer.Option(None, "--key", help=".npz: the images array"),
) -> None:
    """Predict one case or a batch with a task's production (or a pinned) version."""
    from hub.inference import Predictor
    from hub.models import get_task

    spec = get_task(task)
    options = {k: v for k, v in {"fs": fs, "lead": lead, "key": key}.items() if v is not None}
    spec.check_file(input, **options)  # size, rows, pixels, minutes: refused before reading
    cases = spec.read_input(input, **options)
    batch = Predictor(open_registry()).predict_cases(task, cases, ref=version)
    if as_json:
        for record in batch.to_records():
            typer.echo(json.dumps(record, default=_json_default))
        return
    _print_batch(batch)


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _print_batch(batch: Any, limit: int = 25) -> None:
    preds = batch.predictions
    typer.echo(f"{batch.task} {batch.version}: {len(preds)} case(s) in {batch.seconds * 1000:.1f} ms")
    shown = preds if len(preds) <= limit else [p for p in preds if p.label != preds[0].label][:limit] or preds[:limit]
    for p in shown:
        if p.out_of_distribution:  # no label: the model cannot judge this case
            typer.echo(f"  {p.id:<32} {'refused':<12} out of distribution: {p.ood_reason}")
            continue
        conf = p.probabilities[p.label]
        typer.echo(f"  {p.id:<32} {p.label:<12} {conf:6.1%}")
    refused = sum(p.out_of_distribution for p in preds)
    if refused:
        # the same words as the API: judged, so billed there like the others (the CLI itself meters nothing)
        typer.echo(f"{refused} case(s) refused as out of distribution (no label; an API batch bills them as judged)")
    if len(shown) < len(preds):
        typer.echo(f"  ... {len(preds) - len(shown)} more (use --json for every case)")
    if batch.summary:
        line = batch.summary.get("text") if isinstance(batch.summary, dict) else None
        typer.echo(f"summary: {line or json.dumps(batch.summary, default=_json_default)}")
    typer.echo("Not a diagnosis: for use under clinical review.")


# ----- server -------------------------------------------------------------------------------------
@app.command()
@cli_errors
def seed() -> None:
    """Seed the registry with the shipped v1.0 models (idempotent)."""
    open_registry()
    typer.echo("registry ready")


@app.command()
@cli_errors
def serve(host: Optional[str] = typer.Option(None, "--host"), port: Optional[int] = typer.Option(None, "--port")) -> None:
    """Start the hub server: portal, Spaces, the /v1 API, the assistant, admin, health."""
    import uvicorn

    from medhive.server import create_app
    from medhive.settings import get_settings

    settings = get_settings()
    registry = open_registry(settings)
    h, p = host or settings.host, port or settings.port
    _err(f"MedHive serving on http://{h}:{p}  (registry: {settings.registry} at {settings.home})")
    uvicorn.run(create_app(settings, registry=registry), host=h, port=p, log_level="warning")


def main() -> None:
    app(prog_name="medhive")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
