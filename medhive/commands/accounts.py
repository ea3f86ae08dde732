"""`medhive accounts ...`, `medhive audit ...` and `medhive billing ...`: the accounts database from a shell.

    medhive accounts create-admin admin@hospital.example      # password from MEDHIVE_ADMIN_PASSWORD or a prompt
    medhive accounts list
    medhive accounts set-tier <org-id> enterprise --quota 100000 --rate 1200 --price-micros 800
    medhive audit verify                                         # exit 1 when the chain or a checkpoint fails
    medhive audit checkpoint                                     # sign the head now (also done by the server)
    medhive billing revenue-share 2026-11
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Optional

import typer

from medhive.commands._support import cli_errors

accounts_app = typer.Typer(help="Accounts, roles, tiers and enrollment tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The keyed, checkpointed audit trail.", no_args_is_help=True)
billing_app = typer.Typer(help="Usage per account and the hospitals' revenue share.", no_args_is_help=True)


def _store():
    from medhive.wiring import open_store, settings

    return open_store(settings())


def _uuid(value: str) -> uuid.UUID:
    from hub.accounts.errors import ValidationFailed

    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(f"not an id: {value!r}") from None


def _echo(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.add_typer(accounts_app, name="accounts")
    app.add_typer(audit_app, name="audit")
    app.add_typer(billing_app, name="billing")

    @accounts_app.command("create-admin")
    @cli_errors
    def create_admin(email: str, organization: str = typer.Option("MedHive operators", "--organization")) -> None:
        """Create an admin (password from MEDHIVE_ADMIN_PASSWORD, else prompted)."""
        from sqlalchemy import select

        from hub.accounts import users
        from hub.accounts.models import Organization

        password = os.environ.get("MEDHIVE_ADMIN_PASSWORD") or typer.prompt("password", hide_input=True,
                                                                             confirmation_prompt=True)
        store = _store()
        with store.transaction() as s:
            org = s.scalar(select(Organization).where(Organization.name == organization))
            org = org or users.create_org(s, name=organization, kind="platform", tier="enterprise")
            user = users.create_user(s, email=email, password=password, role="admin", org_id=org.id, actor="cli")
            typer.echo(f"admin {user.email} created (user {user.id}, organization {org.name})")
        store.dispose()

    @accounts_app.command("list")
    @cli_errors
    def list_accounts() -> None:
        """Organizations with their tier and number of users (JSON)."""
        from hub.accounts import users

        with _store().transaction() as s:
            _echo(users.list_accounts(s))

    @accounts_app.command("set-tier")
    @cli_errors
    def set_tier(org_id: str, tier: str, quota: Optional[int] = typer.Option(None, "--quota"),
                 rate: Optional[int] = typer.Option(None, "--rate"),
                 price_micros: Optional[int] = typer.Option(None, "--price-micros")) -> None:
        """Change an organization's tier and contracted limits."""
        from hub.accounts import users

        with _store().transaction() as s:
            org = users.set_tier(s, _uuid(org_id), tier, actor="cli", monthly_quota=quota, rate_limit_per_minute=rate,
                                 price_micros=price_micros)
            typer.echo(f"{org.name}: tier {org.tier}")

    @accounts_app.command("set-role")
    @cli_errors
    def set_role(user_id: str, role: str) -> None:
        """Grant a role to a user (admin, data_provider, clinician, user, enterprise)."""
        from hub.accounts import users

        with _store().transaction() as s:
            user = users.set_role(s, _uuid(user_id), role, actor="cli")
            typer.echo(f"{user.email}: role {user.role}")

    @accounts_app.command("enrollment-token")
    @cli_errors
    def enrollment_token(org_id: str, hours: float = typer.Option(24, "--hours")) -> None:
        """A one-time enrollment token for a hospital's node (printed once)."""
        from hub.accounts import governance

        with _store().transaction() as s:
            rec, token = governance.create_enrollment_token(s, org_id=_uuid(org_id), actor="cli", valid_hours=hours)
            typer.echo(token)
            typer.echo(f"expires {rec.expires_at.isoformat()}", err=True)

    @accounts_app.command("record-contribution")
    @cli_errors
    def record_contribution(org_id: str, task: str, version: str, samples: int,
                            rounds: int = typer.Option(0, "--rounds")) -> None:
        """Record a hospital's training contribution to a published version (used by the revenue share)."""
        from hub.accounts import billing

        with _store().transaction() as s:
            billing.record_contribution(s, org_id=_uuid(org_id), task=task, model_version=version, samples=samples,
                                        rounds=rounds, actor="cli")
            typer.echo(f"recorded {samples} samples for {task} {version}")

    @audit_app.command("verify")
    @cli_errors
    def verify(as_json: bool = typer.Option(False, "--json")) -> None:
        """Check the keyed chain and the signed checkpoints outside the database; exit status 1 when an entry
        was edited, inserted or deleted, the tail truncated, the log wiped or the chain recomputed."""
        from hub.accounts import checkpoints
        from medhive.settings import get_settings

        with _store().transaction() as s:
            result = checkpoints.verify(s, get_settings().audit_checkpoint_log())
        if as_json:
            _echo(result.to_dict())
        elif result.ok:
            typer.echo(f"audit chain OK: {result.entries} entries verified against {result.checkpoints} signed "
                       f"checkpoint(s) (latest at entry {result.latest_checkpoint_seq or 0})")
        else:
            typer.echo(f"audit chain BROKEN at entry {result.first_bad_seq}: {result.reason}", err=True)
        if not result.ok:
            raise typer.Exit(1)

    @audit_app.command("checkpoint")
    @cli_errors
    def checkpoint() -> None:
        """Sign the chain's current head and append it to the checkpoint file (outside the database)."""
        from medhive.settings import get_settings

        log = get_settings().audit_checkpoint_log()
        with _store().transaction() as s:
            cp = log.write(s)
        typer.echo(f"checkpoint at entry {cp.seq} ({cp.hash[:16]}...) signed by {cp.key_id} in {log.path}")

    @audit_app.command("rekey")
    @cli_errors
    def rekey() -> None:
        """Upgrade an unkeyed chain (written before the keyed audit trail) to the audit key, then checkpoint."""
        from hub.accounts import audit
        from medhive.settings import get_settings

        with _store().transaction() as s:
            n = audit.rekey(s)
            cp = get_settings().audit_checkpoint_log().write(s)
        typer.echo(f"audit chain rekeyed: {n} entries; checkpoint at entry {cp.seq}")

    @audit_app.command("show")
    @cli_errors
    def show(limit: int = typer.Option(20, "--limit"), action: Optional[str] = typer.Option(None, "--action")) -> None:
        """The latest audit entries, newest first."""
        from hub.accounts import audit

        with _store().transaction() as s:
            for e in audit.entries(s, limit=limit, action=action):
                typer.echo(f"{e.seq:>6}  {e.at}  {e.action:<20} {e.actor}  {e.target}  {e.details}")

    @billing_app.command("usage")
    @cli_errors
    def usage(period: str) -> None:
        """Usage per account in a period (YYYY-MM), priced by tier (JSON)."""
        from hub.accounts import billing

        with _store().transaction() as s:
            _echo(billing.usage_by_account(s, period))

    @billing_app.command("revenue-share")
    @cli_errors
    def revenue_share(period: str, pool: Optional[float] = typer.Option(None, "--pool-fraction")) -> None:
        """A period's enterprise revenue split among contributing hospitals (JSON)."""
        from hub.accounts import billing
        from medhive.wiring import settings

        with _store().transaction() as s:
            _echo(billing.revenue_share(s, period, pool_fraction=pool if pool is not None
                                        else settings().revenue_share_fraction))

    @accounts_app.command("requests")
    @cli_errors
    def requests(status: Optional[str] = typer.Option(None, "--status", help="pending | approved | rejected"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
        """Hospitals' onboarding requests (filed through the assistant or POST /v1/onboarding/requests)."""
        from hub.accounts import onboarding

        with _store().transaction() as s:
            rows = onboarding.list_requests(s, status=status)
        if as_json:
            _echo(rows)
            return
        for r in rows:
            typer.echo(f"{r['id']}  {r['status']:<9} {r['organization']:<32} {r['contact_email']:<32} "
                       f"{','.join(r['tasks'])}")
        if not rows:
            typer.echo("no onboarding requests")

    @accounts_app.command("approve")
    @cli_errors
    def approve(request_id: str, as_json: bool = typer.Option(False, "--json"),
                token_hours: float = typer.Option(72, "--token-hours", help="how long the enrollment token lasts")) -> None:
        """Approve a request: creates the organization, a hospital-staff user and an enrollment token (shown once)."""
        from hub.accounts import onboarding
        from medhive.wiring import hub_url, settings

        with _store().transaction() as s:
            out = onboarding.approve(s, request_id, actor="cli:operator", token_hours=token_hours)
        hub = hub_url(settings()).rstrip("/")
        out["enroll_command"] = f"medhive node enroll --hub {hub} --token {out['token']}"
        if as_json:
            _echo(out)
            return
        typer.echo(f"approved {out['organization']} ({out['org_id']})")
        typer.echo(f"hospital staff sign-in: {out['email']} / initial password {out['initial_password']} (shown once)")
        typer.echo(f"node enrollment (valid until {out['token_expires_at']}): {out['enroll_command']}")

    @accounts_app.command("reject")
    @cli_errors
    def reject(request_id: str) -> None:
        """Reject an onboarding request."""
        from hub.accounts import onboarding

        with _store().transaction() as s:
            onboarding.reject(s, request_id, actor="cli:operator")
        typer.echo(f"rejected {request_id}")
