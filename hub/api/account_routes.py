"""The caller's usage, a hospital's contributions and consent records, and node enrollment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, status

from hub.accounts import billing, federation, governance, metering
from hub.accounts.users import Principal
from hub.api.deps import ALL_ROLES, ApiContext, context, require
from hub.api.schemas import PROBLEMS, ConsentIn, EnrollIn

router = APIRouter(tags=["usage"], responses=PROBLEMS)
PERIOD = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default: this month")


@router.get("/usage", summary="The organization's usage and limits in a period")
def usage(period: str | None = PERIOD, p: Principal = Depends(require(*ALL_ROLES)),
          ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    period = period or metering.period_of(datetime.now(UTC))
    with ctx.store.transaction() as s:
        return {**billing.usage_of(s, p.org_id, period), "limits": metering.current_usage(s, p.org_id)}


@router.get("/contributions", summary="Contributions to model versions: the hospital's own; an admin sees all")
def contributions(p: Principal = Depends(require("data_provider", "admin")),
                  ctx: ApiContext = Depends(context)) -> list[dict[str, Any]]:
    with ctx.store.transaction() as s:
        return billing.contributions_of(s, None if p.role == "admin" else p.org_id)


@router.get("/consents", summary="Current consent states of the hospital's data sets (hospitals)")
def list_consents(history: bool = False, p: Principal = Depends(require("data_provider", "admin")),
                  ctx: ApiContext = Depends(context)) -> list[dict[str, Any]]:
    with ctx.store.transaction() as s:
        org = None if p.role == "admin" else p.org_id
        return governance.consents(s, org, current_only=not history)


@router.post("/consents", status_code=status.HTTP_201_CREATED, summary="Record a consent change (hospitals)")
def record_consent(body: ConsentIn, p: Principal = Depends(require("data_provider")),
                   ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        rec = governance.record_consent(s, org_id=p.org_id, subject_ref=body.subject_ref, scope=body.scope,
                                        status=body.status, actor=p.actor, recorded_by=p.user_id, note=body.note)
        return governance.consent_view(rec)


@router.post("/nodes/enroll", status_code=status.HTTP_201_CREATED, tags=["nodes"],
             summary="Enroll a hospital node with a one-time token (the token is the credential)",
             openapi_extra={"x-public": True})
def enroll(body: EnrollIn, ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    """The reply hands over what the node needs to join: its organization, the aggregation service's Fleet
    address and the CA certificate that signed the SuperLink's certificate (null while no service runs)."""
    with ctx.store.transaction() as s:
        node = governance.enroll(s, token=body.token, node_name=body.node_name, public_key=body.public_key)
        svc = federation.service(s)
        return {"node_id": str(node.id), "org_id": str(node.org_id), "name": node.name,
                "enrolled_at": node.enrolled_at.isoformat(),
                "superlink": svc["fleet_address"] if svc else None, "ca_pem": svc["ca_pem"] if svc else None}
