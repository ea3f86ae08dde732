"""What the assistant's tools need from accounts and federation, as small ports with real adapters.

`Caller` is who is chatting: a role, an organization, an actor string for the audit log. Tools act with
the caller's own permissions: the organization always comes from the caller, never from the chat, so no
question can reach another organization's data. `HubAccounts` implements `AccountsPort` over
`hub.accounts` (the same services the `/v1` API calls, with the same role rules: creating organizations
and enrollment tokens is for administrators; contributions for hospitals and administrators; usage for
any signed-in account). `FederationStatus` reads round progress from the registry's lineage and the
federation jobs' `events.jsonl` / `outcome.json` under MEDHIVE_HOME.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from assistant.errors import ToolError

ANONYMOUS_ROLE = "anonymous"


@dataclass(frozen=True)
class Caller:
    role: str = ANONYMOUS_ROLE
    org_id: str | None = None
    user_id: str | None = None
    actor: str = "anonymous"

    @property
    def signed_in(self) -> bool:
        return self.role != ANONYMOUS_ROLE

    def require(self, *roles: str, action: str) -> None:
        if self.role not in roles:
            who = "you are not signed in" if not self.signed_in else f"your role is {self.role}"
            raise ToolError(f"{action} needs the {' or '.join(roles)} role; {who}")

    def require_org(self, action: str) -> uuid.UUID:
        if not self.org_id:
            raise ToolError(f"{action} needs a signed-in account that belongs to an organization "
                            "(sign in with your API key)")
        return uuid.UUID(self.org_id)


ANONYMOUS = Caller()


class AccountsPort(Protocol):
    def caller_from_api_key(self, key: str) -> Caller: ...
    def create_organization(self, caller: Caller, *, name: str, kind: str) -> dict[str, Any]: ...
    def create_enrollment_token(self, caller: Caller, *, org_id: str, valid_hours: float) -> dict[str, Any]: ...
    def file_onboarding_request(self, caller: Caller, *, organization: str, contact_email: str,
                                tasks: list[str]) -> dict[str, Any]: ...
    def usage(self, caller: Caller) -> dict[str, Any]: ...
    def tiers(self) -> list[dict[str, Any]]: ...
    def contributions(self, caller: Caller) -> list[dict[str, Any]]: ...


class HubAccounts:
    """`AccountsPort` over `hub.accounts` (a `Store`): real organizations, tokens, usage, contributions."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def caller_from_api_key(self, key: str) -> Caller:
        from hub.accounts.errors import AccountsError
        from hub.accounts.users import principal_from_key

        try:
            with self.store.transaction() as s:
                p = principal_from_key(s, key.strip())
        except AccountsError as exc:
            raise ToolError(exc.message) from None
        return Caller(role=p.role, org_id=str(p.org_id), user_id=str(p.user_id), actor=f"assistant:{p.actor}")

    def create_organization(self, caller: Caller, *, name: str, kind: str) -> dict[str, Any]:
        from hub.accounts import audit
        from hub.accounts.errors import AccountsError
        from hub.accounts.users import create_org

        caller.require("admin", action="creating an organization")
        if kind not in ("hospital", "clinic"):
            raise ToolError("a data provider's organization is a hospital or a clinic")
        name = " ".join(name.split())
        if not 2 <= len(name) <= 200:
            raise ToolError("the organization's name must be 2 to 200 characters")
        try:
            with self.store.transaction() as s:
                org = create_org(s, name=name, kind=kind, tier="free")
                audit.append(s, actor=caller.actor, action="org.create", target=f"org:{org.id}",
                             details={"kind": kind, "via": "assistant"})
                return {"id": str(org.id), "name": org.name, "kind": org.kind, "tier": org.tier}
        except AccountsError as exc:
            raise ToolError(exc.message) from None

    def file_onboarding_request(self, caller: Caller, *, organization: str, contact_email: str,
                                tasks: list[str]) -> dict[str, Any]:
        """Anyone may ask to join (no role): an admin approves before anything is created."""
        from hub.accounts import onboarding
        from hub.accounts.errors import AccountsError
        from hub.models import task_names

        try:
            with self.store.transaction() as s:
                req = onboarding.file_request(s, organization=organization, contact_email=contact_email, tasks=tasks,
                                              known_tasks=task_names(), actor=caller.actor)
                return onboarding.request_view(req)
        except AccountsError as exc:
            raise ToolError(exc.message) from None

    def create_enrollment_token(self, caller: Caller, *, org_id: str, valid_hours: float) -> dict[str, Any]:
        from hub.accounts.errors import AccountsError
        from hub.accounts.governance import create_enrollment_token

        caller.require("admin", action="creating an enrollment token")
        try:
            with self.store.transaction() as s:
                rec, token = create_enrollment_token(
                    s, org_id=uuid.UUID(org_id), actor=caller.actor,
                    created_by=uuid.UUID(caller.user_id) if caller.user_id else None, valid_hours=valid_hours)
                return {"token": token, "token_id": str(rec.id), "org_id": str(rec.org_id),
                        "expires_at": rec.expires_at.isoformat()}
        except AccountsError as exc:
            raise ToolError(exc.message) from None

    def tiers(self) -> list[dict[str, Any]]:
        """Every tier as the database holds it (what the API and the Spaces enforce), no caller needed."""
        from sqlalchemy import select

        from hub.accounts.models import Tier

        order = {"free": 0, "pay_per_use": 1, "enterprise": 2}
        with self.store.transaction() as s:
            rows = s.execute(select(Tier)).scalars().all()
            return sorted(({"name": t.name, "monthly_quota": t.monthly_quota,
                            "rate_limit_per_minute": t.rate_limit_per_minute, "price_micros": t.price_micros,
                            "currency": t.currency, "description": t.description} for t in rows),
                          key=lambda t: order.get(t["name"], 9))

    def usage(self, caller: Caller) -> dict[str, Any]:
        from hub.accounts import billing, metering

        org = caller.require_org("usage and quota")
        with self.store.transaction() as s:
            period = metering.period_of(datetime.now(UTC))
            return {**billing.usage_of(s, org, period), "limits": metering.current_usage(s, org)}

    def contributions(self, caller: Caller) -> list[dict[str, Any]]:
        from hub.accounts import billing

        caller.require("data_provider", "admin", action="contribution history")
        org = caller.require_org("contribution history")
        with self.store.transaction() as s:
            return billing.contributions_of(s, org)


class FederationStatus:
    """Round status: federated versions in the registry and the latest jobs under `home/federation/jobs`."""

    def __init__(self, registry: Any, home: Path | None) -> None:
        self.registry = registry
        self.jobs_dir = Path(home) / "federation" / "jobs" if home else None

    def versions(self, task: str | None = None) -> list[dict[str, Any]]:
        from hub.models import all_tasks

        out = []
        known = set(self.registry.tasks())
        for name in all_tasks():
            if (task and name != task) or name not in known:
                continue
            for v in self.registry.versions(name):
                lin = v.lineage
                if lin.source == "federated":
                    out.append({"task": name, "version": v.version, "aliases": v.aliases, "rounds": lin.rounds,
                                "hospitals": lin.hospitals, "samples": lin.samples, "strategy": lin.strategy,
                                "epsilon": lin.epsilon, "secure_aggregation": lin.secure_aggregation,
                                "created_at": v.created_at})
        return out

    def jobs(self, task: str | None = None, limit: int = 5) -> list[dict[str, Any]]:
        """The latest federation jobs (aggregate facts only: task, status, rounds, number of hospitals)."""
        if self.jobs_dir is None or not self.jobs_dir.is_dir():
            return []
        rows = []
        for folder in self.jobs_dir.iterdir():
            events = folder / "events.jsonl"
            if not events.is_file():
                continue
            started, rounds, hospitals = {}, 0, 0
            for line in events.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("event") == "started":
                    started = e
                elif e.get("event") == "fitted":
                    rounds = max(rounds, int(e.get("round") or 0))
                    hospitals = max(hospitals, int(e.get("hospitals") or 0))
            outcome = {}
            if (folder / "outcome.json").is_file():
                try:
                    outcome = json.loads((folder / "outcome.json").read_text(encoding="utf-8"))
                except ValueError:
                    outcome = {}
            name = outcome.get("task") or started.get("task")
            if task and name != task:
                continue
            rows.append({"job": folder.name, "task": name, "status": outcome.get("status", "running"),
                         "rounds_done": rounds, "rounds_planned": started.get("rounds"), "hospitals": hospitals,
                         "published": outcome.get("published"), "updated": events.stat().st_mtime})
        rows.sort(key=lambda r: r["updated"], reverse=True)
        for r in rows:
            r["updated"] = datetime.fromtimestamp(r["updated"], UTC).isoformat(timespec="seconds")
        return rows[:limit]
