"""Admin routes: promote / roll back versions, accounts and tiers, roles, audit log, billing, enrollment."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, status

from hub.accounts import audit, billing, checkpoints, governance, metering, users
from hub.accounts.errors import ValidationFailed
from hub.accounts.users import Principal
from hub.api.deps import ApiContext, context, require
from hub.api.schemas import PROBLEMS, ContributionIn, EnrollmentTokenIn, Promote, RoleChange, TierChange
from hub.models import get_task

router = APIRouter(prefix="/admin", tags=["admin"], responses=PROBLEMS)
ADMIN = require("admin")
PERIOD = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default: this month")


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(f"{what} must be a UUID") from None


@router.post("/models/{task}/promote", summary="Point an alias (production by default) at a version")
def promote(task: str, body: Promote, p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    get_task(task)
    with ctx.store.transaction() as s:
        # audited in the same transaction: if the registry refuses, neither happens
        event = ctx.registry.promote(task, body.version, alias=body.alias, actor=p.actor)
        audit.append(s, actor=p.actor, action="model.promote", target=f"{task}@{event.version}",
                     details={"alias": body.alias, "previous": event.previous})
    return asdict(event)


@router.post("/models/{task}/rollback", summary="Move production back to the previous production version")
def rollback(task: str, p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    get_task(task)
    with ctx.store.transaction() as s:
        event = ctx.registry.rollback(task, actor=p.actor)
        audit.append(s, actor=p.actor, action="model.rollback", target=f"{task}@{event.version}",
                     details={"previous": event.previous})
    return asdict(event)


@router.get("/accounts", summary="Every organization with its tier and this month's usage")
def accounts(_: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> list[dict[str, Any]]:
    with ctx.store.transaction() as s:
        rows = users.list_accounts(s)
        for row in rows:
            row["usage"] = metering.current_usage(s, uuid.UUID(row["id"]))
        return rows


@router.put("/accounts/{org_id}/tier", summary="Change an organization's tier and contracted limits")
def change_tier(org_id: uuid.UUID, body: TierChange, p: Principal = Depends(ADMIN),
                ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        users.set_tier(s, org_id, body.tier, actor=p.actor, monthly_quota=body.monthly_quota,
                       rate_limit_per_minute=body.rate_limit_per_minute, price_micros=body.price_micros)
        return metering.current_usage(s, org_id)


@router.put("/users/{user_id}/role", summary="Grant a role (clinician, data_provider, admin, ...)")
def change_role(user_id: uuid.UUID, body: RoleChange, p: Principal = Depends(ADMIN),
                ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        user = users.set_role(s, user_id, body.role, actor=p.actor)
        return {"user_id": str(user.id), "role": user.role}


@router.get("/audit", summary="The audit log (newest first) with the chain's verification status")
def audit_log(limit: int = Query(100, ge=1, le=1000), before: int | None = Query(None, ge=1),
              action: str | None = Query(None, max_length=64), _: Principal = Depends(ADMIN),
              ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        rows = audit.entries(s, limit=limit, before=before, action=action)
        log = ctx.extra.get("audit_checkpoints")  # the signed checkpoints outside the database, when mounted
        verification = checkpoints.verify(s, log) if log is not None else audit.verify(s)
        return {"verification": verification.to_dict(),
                "entries": [{"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
                             "details": e.details, "hash": e.hash} for e in rows]}


@router.get("/billing", summary="Usage per account in a period, priced by tier")
def billing_view(period: str | None = PERIOD, _: Principal = Depends(ADMIN),
                 ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    period = period or metering.period_of(datetime.now(UTC))
    with ctx.store.transaction() as s:
        rows = billing.usage_by_account(s, period)
    return {"period": period, "accounts": rows, "total_micros": sum(r["amount_micros"] for r in rows)}


@router.get("/revenue-share", summary="A period's enterprise revenue split among contributing hospitals")
def revenue_share(period: str | None = PERIOD, _: Principal = Depends(ADMIN),
                  ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    period = period or metering.period_of(datetime.now(UTC))
    with ctx.store.transaction() as s:
        return billing.revenue_share(s, period, pool_fraction=ctx.revenue_pool_fraction)


@router.post("/contributions", status_code=status.HTTP_201_CREATED,
             summary="Record a hospital's contribution to a published version")
def record_contribution(body: ContributionIn, p: Principal = Depends(ADMIN),
                        ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    get_task(body.task)
    with ctx.store.transaction() as s:
        c = billing.record_contribution(s, org_id=_uuid(body.org_id, "org_id"), task=body.task,
                                        model_version=body.model_version, samples=body.samples, rounds=body.rounds,
                                        actor=p.actor)
        return {"org_id": str(c.org_id), "task": c.task, "model_version": c.model_version, "samples": c.samples}


@router.post("/enrollment-tokens", status_code=status.HTTP_201_CREATED,
             summary="A one-time, time-limited enrollment token for a hospital's node (shown once)")
def enrollment_token(body: EnrollmentTokenIn, p: Principal = Depends(ADMIN),
                     ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        rec, token = governance.create_enrollment_token(s, org_id=_uuid(body.org_id, "org_id"), actor=p.actor,
                                                        created_by=p.user_id, valid_hours=body.valid_hours)
        return {"token_id": str(rec.id), "org_id": str(rec.org_id), "token": token,
                "expires_at": rec.expires_at.isoformat()}
