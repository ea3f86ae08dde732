"""Federation jobs, the running aggregation service and node registration state, in the accounts store.

The hub and the aggregator may be separate processes (or hosts) sharing this database: the aggregator
writes job rows and its service row (Fleet address, CA certificate, heartbeat); the hub reads them, hands
the address and CA to enrolling nodes, and lets an admin trigger or cancel a job. Node keys are written
at enrollment (hub) and registered with the SuperLink by the aggregator, which records Flower's node id.

A job belongs to the aggregator instance that made it. A restarted aggregator is a new instance: the jobs
a previous one left queued or running are failed at start (`fail_orphans`), and a job's ServerApp checks
that its row is still running before it publishes (`still_running`), so a job the service gave up on
never publishes a version.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import Conflict, NotFound, ValidationFailed
from hub.accounts.models import FederationJob, FederationService, Node, Organization

ACTIVE = ("queued", "running")
FINAL = ("failed", "published", "candidate", "cancelled")


def _now() -> datetime:
    return datetime.now(UTC)


# ----- jobs ------------------------------------------------------------------------------------------
def job_view(j: FederationJob) -> dict[str, Any]:
    return {"id": str(j.id), "task": j.task, "status": j.status, "reason": j.reason, "trigger": j.trigger,
            "rounds": j.rounds, "rounds_done": j.rounds_done, "hospitals": j.hospitals,
            "min_hospitals": j.min_hospitals, "parent_version": j.parent_version,
            "published_version": j.published_version, "unattributed_weight": j.unattributed_weight,
            "cancel_requested": j.cancel_requested, "policy": json.loads(j.policy or "{}"),
            "created_at": j.created_at.isoformat(), "updated_at": j.updated_at.isoformat(),
            "started_at": j.started_at.isoformat() if j.started_at else None,
            "finished_at": j.finished_at.isoformat() if j.finished_at else None}


def active_job(session: Session, task: str) -> FederationJob | None:
    return session.scalar(select(FederationJob).where(FederationJob.task == task, FederationJob.status.in_(ACTIVE))
                          .order_by(FederationJob.created_at.desc()).limit(1))


def create_job(session: Session, *, task: str, aggregator: str, policy: dict[str, Any], trigger: str,
               actor: str) -> FederationJob:
    """A queued job for `task`; refused (Conflict) while another job of that task is queued or running."""
    if active_job(session, task) is not None:
        raise Conflict(f"a {task} job is already queued or running")
    job = FederationJob(task=task, aggregator=aggregator, trigger=trigger, status="queued",
                        rounds=int(policy.get("rounds", 0)), min_hospitals=int(policy.get("min_hospitals", 3)),
                        policy=json.dumps(policy, sort_keys=True), reason="waiting for hospitals")
    session.add(job)
    session.flush()
    audit.append(session, actor=actor, action="federation.job.create", target=f"job:{job.id}",
                 details={"task": task, "trigger": trigger})
    return job


def get_job(session: Session, job_id: uuid.UUID | str) -> FederationJob:
    try:
        key = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except ValueError:
        raise ValidationFailed("job id must be a UUID") from None
    job = session.get(FederationJob, key)
    if job is None:
        raise NotFound("no such federation job")
    return job


def update_job(session: Session, job_id: uuid.UUID, **values: Any) -> FederationJob:
    job = get_job(session, job_id)
    if job.status in FINAL:
        return job  # a finished job is history: late progress from a dying run does not rewrite it
    for key, value in values.items():
        setattr(job, key, value)
    if values.get("status") == "running" and job.started_at is None:
        job.started_at = _now()
    job.updated_at = _now()
    return job


def finish_job(session: Session, job_id: uuid.UUID, *, status: str, reason: str, actor: str,
               published_version: str | None = None, **values: Any) -> FederationJob:
    if status not in FINAL:
        raise ValidationFailed(f"a finished job's status is one of {', '.join(FINAL)}")
    job = get_job(session, job_id)
    if job.status in FINAL:
        return job
    job.status, job.reason, job.published_version = status, reason[:2000], published_version
    for key, value in values.items():
        setattr(job, key, value)
    job.finished_at = job.updated_at = _now()
    audit.append(session, actor=actor, action=f"federation.job.{status}", target=f"job:{job.id}",
                 details={"task": job.task, "version": published_version, "reason": reason[:200]})
    return job


SERVICE_STALE_S = 60


def still_running(session: Session, job_id: uuid.UUID | str) -> bool:
    """Whether a job may still publish: its row is running, no cancel was asked for, and the service
    instance that owns it is the one announced and alive (heartbeat within SERVICE_STALE_S): a job whose
    aggregator was killed never publishes, even if an orphaned ServerApp gets that far."""
    try:
        job = get_job(session, job_id)
    except (NotFound, ValidationFailed):
        return False
    svc = session.get(FederationService, 1)
    alive = (svc is not None and svc.instance == job.aggregator
             and _now() - svc.heartbeat_at < timedelta(seconds=SERVICE_STALE_S))
    return job.status == "running" and not job.cancel_requested and alive


def fail_orphans(session: Session, *, aggregator: str) -> list[FederationJob]:
    """Fail the jobs another (dead) aggregator instance left queued or running."""
    jobs = list(session.execute(select(FederationJob).where(
        FederationJob.status.in_(ACTIVE), FederationJob.aggregator != aggregator,
        FederationJob.aggregator != "")).scalars())  # "": queued by an admin, not yet taken: still wanted
    for job in jobs:
        finish_job(session, job.id, status="failed", actor=f"aggregator:{aggregator}",
                   reason=f"the aggregation service stopped during this job (was {job.status}); "
                          "nothing was published")
    return jobs


def request_cancel(session: Session, job_id: uuid.UUID | str, *, actor: str) -> FederationJob:
    job = get_job(session, job_id)
    if job.status not in ACTIVE:
        raise Conflict(f"the job is {job.status}, not queued or running")
    job.cancel_requested = True
    job.updated_at = _now()
    audit.append(session, actor=actor, action="federation.job.cancel", target=f"job:{job.id}", details={})
    return job


def list_jobs(session: Session, *, task: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    q = select(FederationJob).order_by(FederationJob.created_at.desc()).limit(max(1, min(limit, 1000)))
    if task:
        q = q.where(FederationJob.task == task)
    return [job_view(j) for j in session.execute(q).scalars()]


def last_finished_at(session: Session, task: str) -> datetime | None:
    return session.scalar(select(FederationJob.finished_at).where(FederationJob.task == task,
                                                                  FederationJob.finished_at.is_not(None))
                          .order_by(FederationJob.finished_at.desc()).limit(1))


# ----- the running service -----------------------------------------------------------------------------
def announce_service(session: Session, *, instance: str, fleet_address: str, ca_pem: str) -> None:
    row = session.get(FederationService, 1)
    if row is None:
        session.add(FederationService(id=1, instance=instance, fleet_address=fleet_address, ca_pem=ca_pem))
    else:
        row.instance, row.fleet_address, row.ca_pem = instance, fleet_address, ca_pem
        row.started_at = row.heartbeat_at = _now()


def heartbeat(session: Session, *, instance: str) -> None:
    row = session.get(FederationService, 1)
    if row is not None and row.instance == instance:
        row.heartbeat_at = _now()


def service(session: Session) -> dict[str, Any] | None:
    row = session.get(FederationService, 1)
    if row is None:
        return None
    return {"instance": row.instance, "fleet_address": row.fleet_address, "ca_pem": row.ca_pem,
            "started_at": row.started_at.isoformat(), "heartbeat_at": row.heartbeat_at.isoformat()}


# ----- nodes -------------------------------------------------------------------------------------------
def node_view(n: Node, org_name: str | None = None) -> dict[str, Any]:
    return {"id": str(n.id), "org_id": str(n.org_id), "organization": org_name, "name": n.name,
            "status": n.status, "flower_node_id": n.flower_node_id,
            "enrolled_at": n.enrolled_at.isoformat(),
            "last_seen_at": n.last_seen_at.isoformat() if n.last_seen_at else None,
            "revoked_at": n.revoked_at.isoformat() if n.revoked_at else None}


def list_nodes(session: Session, org_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    q = (select(Node, Organization.name).join(Organization, Organization.id == Node.org_id)
         .order_by(Organization.name, Node.enrolled_at))
    if org_id is not None:
        q = q.where(Node.org_id == org_id)
    return [node_view(n, name) for n, name in session.execute(q).all()]


def nodes_to_register(session: Session) -> list[Node]:
    return list(session.execute(select(Node).where(Node.public_key.is_not(None), Node.flower_node_id.is_(None),
                                                   Node.revoked_at.is_(None))).scalars())


def nodes_to_unregister(session: Session) -> list[Node]:
    return list(session.execute(select(Node).where(Node.revoked_at.is_not(None), Node.flower_node_id.is_not(None),
                                                   Node.status != "revoked")).scalars())


def registered_nodes(session: Session) -> list[Node]:
    return list(session.execute(select(Node).where(Node.flower_node_id.is_not(None),
                                                   Node.revoked_at.is_(None))).scalars())


def revoke_node(session: Session, node_id: uuid.UUID, *, actor: str) -> Node:
    node = session.get(Node, node_id)
    if node is None:
        raise NotFound("no such node")
    if node.revoked_at is None:
        node.revoked_at = _now()
        if node.flower_node_id is None:
            node.status = "revoked"
        audit.append(session, actor=actor, action="node.revoke", target=f"node:{node.id}", details={"node": node.name})
    return node
