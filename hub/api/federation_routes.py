"""Federation and onboarding routes: hospitals file onboarding requests (anonymous); admins approve
them, watch and steer the aggregation service's jobs, and see the enrolled nodes; hospital staff see
their own organization's nodes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from hub.accounts import federation, onboarding
from hub.accounts.users import Principal
from hub.api.deps import ApiContext, context, require
from hub.api.schemas import PROBLEMS
from hub.models import task_names

router = APIRouter(responses=PROBLEMS)
ADMIN = require("admin")


class OnboardingIn(BaseModel):
    organization: str = Field(min_length=2, max_length=200)
    contact_email: str = Field(max_length=320)
    tasks: list[str] = Field(min_length=1, max_length=20)
    message: str = Field("", max_length=1000)


class JobIn(BaseModel):
    task: str = Field(max_length=64)


@router.post("/onboarding/requests", status_code=status.HTTP_201_CREATED, tags=["onboarding"],
             summary="File a hospital's request to join (anonymous)", openapi_extra={"x-public": True})
def file_request(body: OnboardingIn, ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        req = onboarding.file_request(s, organization=body.organization, contact_email=body.contact_email,
                                      tasks=body.tasks, message=body.message, known_tasks=task_names())
        return {"id": str(req.id), "status": req.status}


@router.get("/admin/onboarding/requests", tags=["admin"], summary="Onboarding requests")
def list_requests(status_: str | None = Query(None, alias="status", pattern="^(pending|approved|rejected)$"),
                  p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> list[dict[str, Any]]:
    with ctx.store.transaction() as s:
        return onboarding.list_requests(s, status=status_)


@router.post("/admin/onboarding/requests/{request_id}/approve", tags=["admin"],
             summary="Approve: organization, hospital-staff user and enrollment token (shown once)")
def approve(request_id: str, p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        return onboarding.approve(s, request_id, actor=p.actor, decided_by=p.user_id)


@router.post("/admin/onboarding/requests/{request_id}/reject", tags=["admin"], status_code=204,
             summary="Reject an onboarding request")
def reject(request_id: str, p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> None:
    with ctx.store.transaction() as s:
        onboarding.reject(s, request_id, actor=p.actor, decided_by=p.user_id)


@router.get("/admin/federation/jobs", tags=["admin"], summary="Federation jobs, newest first")
def jobs(task: str | None = Query(None, max_length=64), p: Principal = Depends(ADMIN),
         ctx: ApiContext = Depends(context)) -> list[dict[str, Any]]:
    with ctx.store.transaction() as s:
        return federation.list_jobs(s, task=task)


@router.post("/admin/federation/jobs", tags=["admin"], status_code=status.HTTP_201_CREATED,
             summary="Queue a job now (the aggregation service starts it)")
def trigger(body: JobIn, p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    from hub.models import get_task

    get_task(body.task)
    with ctx.store.transaction() as s:
        return federation.job_view(federation.create_job(s, task=body.task, aggregator="", policy={},
                                                         trigger=f"admin ({p.email})", actor=p.actor))


@router.post("/admin/federation/jobs/{job_id}/cancel", tags=["admin"], summary="Cancel a queued or running job")
def cancel(job_id: str, p: Principal = Depends(ADMIN), ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        return federation.job_view(federation.request_cancel(s, job_id, actor=p.actor))


@router.get("/federation/nodes", tags=["nodes"], summary="Enrolled nodes: all (admin) or the organization's own")
def nodes(p: Principal = Depends(require("admin", "data_provider")),
          ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        svc = federation.service(s)
        return {"service": {k: svc[k] for k in ("fleet_address", "heartbeat_at")} if svc else None,
                "nodes": federation.list_nodes(s, None if p.role == "admin" else p.org_id)}


@router.get("/hospital/summary", tags=["nodes"],
            summary="The hospital's nodes, contributions with the metric change each brought, privacy and revenue")
def hospital_summary(period: str | None = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
                     p: Principal = Depends(require("data_provider")),
                     ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    """Per contributed version: its primary metric and its parent's (the change it brought) and the version's
    epsilon; per task the epsilon of the versions the hospital trained (added up: basic composition, an
    upper bound; the node's own ledger, `medhive node budget`, holds the exact figure)."""
    from datetime import UTC, datetime

    from hub.accounts import billing, metering
    from hub.models import get_task

    period = period or metering.period_of(datetime.now(UTC))
    with ctx.store.transaction() as s:
        contributions = billing.contributions_of(s, p.org_id)
        nodes = federation.list_nodes(s, p.org_id)
        share = billing.revenue_share(s, period, pool_fraction=ctx.revenue_pool_fraction)
    infos: dict[tuple[str, str], Any] = {}

    def info(task: str, version: str | None):
        if not version:
            return None
        if (task, version) not in infos:
            try:
                infos[(task, version)] = ctx.registry.info(task, version)
            except Exception:  # noqa: BLE001 - a version missing from this registry: shown without metrics
                infos[(task, version)] = None
        return infos[(task, version)]

    budget: dict[str, float] = {}
    for c in contributions:
        metric = get_task(c["task"]).primary_metric
        own = info(c["task"], c["model_version"])
        parent = info(c["task"], own.lineage.parent) if own is not None and own.lineage else None
        c["metric"] = metric
        c["value"] = own.metrics.get(metric) if own is not None else None
        c["parent_version"] = own.lineage.parent if own is not None and own.lineage else None
        c["parent_value"] = parent.metrics.get(metric) if parent is not None else None
        c["change"] = (c["value"] - c["parent_value"]) if c["value"] is not None and c["parent_value"] is not None else None
        c["epsilon"] = own.lineage.epsilon if own is not None and own.lineage else None
        if c["epsilon"] is not None:
            budget[c["task"]] = budget.get(c["task"], 0.0) + float(c["epsilon"])
    mine = [h for h in share["hospitals"] if h["org_id"] == str(p.org_id)]
    return {"period": period, "nodes": nodes, "contributions": contributions,
            "privacy": [{"task": t, "epsilon_upper_bound": e} for t, e in sorted(budget.items())],
            "revenue_share_micros": mine[0]["amount_micros"] if mine else 0}
