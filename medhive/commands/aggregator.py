"""`medhive aggregator serve` (the aggregation service) and `medhive federation jobs|run|cancel|nodes|revoke`.

    medhive aggregator serve [--host 0.0.0.0] [--fleet-port 9092] [--address fl.example.org:9092] [--insecure]
    medhive federation jobs [--json]           jobs with status, rounds done, hospitals, outcome or reason
    medhive federation run TASK                queue a job now (the service starts it on its next tick)
    medhive federation cancel JOB_ID
    medhive federation nodes [--json]          enrolled nodes: organization, status, last seen
    medhive federation revoke NODE_ID          the SuperLink refuses that node's key from then on

The hub (`medhive serve`) and the aggregator share the accounts database (MEDHIVE_DATABASE_URL) and the
registry settings, so they may run as separate processes or on separate hosts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from medhive.commands._support import cli_errors

aggregator_app = typer.Typer(help="The aggregation service (SuperLink owner and job scheduler).", no_args_is_help=True)
federation_app = typer.Typer(help="Federation jobs and nodes in the accounts database.", no_args_is_help=True)


def _store():
    from medhive.wiring import open_store, settings

    return open_store(settings())


def register(app: typer.Typer) -> None:
    app.add_typer(aggregator_app, name="aggregator")
    app.add_typer(federation_app, name="federation")

    @aggregator_app.command("serve")
    @cli_errors
    def serve(host: str = typer.Option("127.0.0.1", "--host", help="address the Fleet API binds"),
              fleet_port: int = typer.Option(9092, "--fleet-port"),
              address: Optional[list[str]] = typer.Option(None, "--address",
                                                          help="HOST:PORT hospitals dial (repeatable; the first is "
                                                               "handed out at enrollment; default MEDHIVE_SUPERLINK_ADDRESS)"),
              insecure: bool = typer.Option(False, "--insecure", help="no TLS / node auth (loopback only)"),
              tick: float = typer.Option(2.0, "--tick", min=0.2, help="seconds between scheduler passes")) -> None:
        """Run the aggregation service until SIGTERM: SuperLink (TLS + SuperNode auth), node keys, scheduler."""
        from federation.aggregator import Aggregator, AggregatorConfig, Policy
        from hub.accounts import default_url
        from medhive.wiring import open_registry
        from medhive.wiring import settings as get_settings

        settings = get_settings()
        policies = {t: Policy.of(v) for t, v in settings.federation_policies().items()}
        registry = open_registry(settings)  # seeds the baselines the first job starts from
        for t in policies:
            registry.resolve(t, "production")
        addresses = list(address or [])
        if not addresses:
            default = settings.superlink_address
            addresses = [default if default.rsplit(":", 1)[-1] == str(fleet_port) or host in ("0.0.0.0", "::")
                         else f"{host}:{fleet_port}"]
        config = AggregatorConfig(
            state_dir=Path(settings.aggregator_state or settings.home / "aggregator").expanduser(),
            store_url=settings.database_url or default_url(settings.home), policies=policies, host=host, fleet_port=fleet_port,
            addresses=addresses, insecure=insecure, tick_s=tick, audit_key=settings.audit_hmac_key(),
            job_env={"medhive-home": str(settings.home), "registry": settings.registry,
                     "signing-key": str(settings.signing_key or ""), "tracking-uri": settings.mlflow_tracking_uri})
        typer.echo(f"aggregation service: tasks {', '.join(policies)}; state in {config.state_dir}", err=True)
        Aggregator(config).serve()

    @federation_app.command("jobs")
    @cli_errors
    def jobs(task: Optional[str] = typer.Option(None, "--task", "-t"), as_json: bool = typer.Option(False, "--json"),
             limit: int = typer.Option(50, "--limit")) -> None:
        """Federation jobs, newest first."""
        from hub.accounts import federation as fed

        store = _store()
        with store.transaction() as s:
            rows = fed.list_jobs(s, task=task, limit=limit)
        store.dispose()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for j in rows:
            out = j["published_version"] or j["reason"]
            typer.echo(f"{j['id']}  {j['task']:<14} {j['status']:<10} rounds {j['rounds_done']}/{j['rounds']}  "
                       f"hospitals {j['hospitals']}  {out}")
        if not rows:
            typer.echo("no federation jobs yet")

    @federation_app.command("run")
    @cli_errors
    def run(task: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """Queue a job for TASK now; the aggregation service starts it and it waits for enough hospitals."""
        from hub.accounts import federation as fed
        from hub.models import get_task

        get_task(task)
        store = _store()
        with store.transaction() as s:
            job = fed.create_job(s, task=task, aggregator="", policy={}, trigger="admin (cli)", actor="cli:operator")
            view = fed.job_view(job)
        store.dispose()
        typer.echo(json.dumps(view, indent=2) if as_json else f"queued job {view['id']} for {task}")

    @federation_app.command("cancel")
    @cli_errors
    def cancel(job_id: str) -> None:
        """Ask the service to cancel a queued or running job (nothing is published)."""
        from hub.accounts import federation as fed

        store = _store()
        with store.transaction() as s:
            fed.request_cancel(s, job_id, actor="cli:operator")
        store.dispose()
        typer.echo(f"cancel requested for job {job_id}")

    @federation_app.command("nodes")
    @cli_errors
    def nodes(as_json: bool = typer.Option(False, "--json")) -> None:
        """Enrolled nodes with their organization, SuperLink status and last time seen online."""
        from hub.accounts import federation as fed

        store = _store()
        with store.transaction() as s:
            rows = fed.list_nodes(s)
        store.dispose()
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for n in rows:
            typer.echo(f"{n['id']}  {n['organization'] or '-':<28} {n['name']:<20} {n['status']:<10} "
                       f"last seen {n['last_seen_at'] or 'never'}")
        if not rows:
            typer.echo("no enrolled nodes")

    @federation_app.command("revoke")
    @cli_errors
    def revoke(node_id: str) -> None:
        """Revoke a node: the service unregisters its key and the SuperLink refuses it."""
        import uuid

        from hub.accounts import federation as fed
        from hub.accounts.errors import ValidationFailed

        try:
            key = uuid.UUID(node_id)
        except ValueError:
            raise ValidationFailed("not a node id") from None
        store = _store()
        with store.transaction() as s:
            fed.revoke_node(s, key, actor="cli:operator")
        store.dispose()
        typer.echo(f"node {node_id} revoked")
