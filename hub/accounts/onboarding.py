"""Hospital onboarding requests: filed anonymously (the assistant or `POST /v1/onboarding/requests`),
approved by an admin (portal or `medhive accounts approve`).

Approval creates, in one transaction, the hospital's organization, a hospital-staff user (role
`data_provider`) for the contact e-mail with a generated initial password, and a one-time enrollment
token for its first node. The password and the token are returned once and never stored in the clear.
A request holds no patient data: an organization name, a contact e-mail, task names and a short note.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts import audit, governance, users
from hub.accounts.errors import Conflict, NotFound, RateLimited, ValidationFailed
from hub.accounts.models import OnboardingRequest, Organization

MAX_PENDING = 200  # anonymous filing is bounded: past this many pending requests new ones wait for triage
TOKEN_HOURS = 72


def request_view(r: OnboardingRequest) -> dict[str, Any]:
    return {"id": str(r.id), "organization": r.organization, "contact_email": r.contact_email,
            "tasks": [t for t in r.tasks.split(",") if t], "message": r.message, "status": r.status,
            "created_at": r.created_at.isoformat(), "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "org_id": str(r.org_id) if r.org_id else None}


def file_request(session: Session, *, organization: str, contact_email: str, tasks: list[str], message: str = "",
                 known_tasks: list[str], actor: str = "anonymous") -> OnboardingRequest:
    organization = " ".join(organization.split())
    if not 2 <= len(organization) <= 200:
        raise ValidationFailed("organization must be 2..200 characters")
    email = users._check_email(contact_email)
    wanted = sorted({t.strip() for t in tasks if t.strip()})
    unknown = [t for t in wanted if t not in known_tasks]
    if not wanted or unknown:
        raise ValidationFailed(f"tasks must be among {', '.join(known_tasks)}")
    pending = session.scalar(select(func.count()).select_from(OnboardingRequest)
                             .where(OnboardingRequest.status == "pending")) or 0
    if pending >= MAX_PENDING:
        raise RateLimited("too many onboarding requests are waiting; please try again later", retry_after=3600)
    req = OnboardingRequest(organization=organization, contact_email=email, tasks=",".join(wanted),
                            message=message.strip()[:1000], status="pending")
    session.add(req)
    session.flush()
    audit.append(session, actor=actor, action="onboarding.request", target=f"request:{req.id}",
                 details={"organization": organization, "tasks": wanted})
    return req


def _get(session: Session, request_id: uuid.UUID | str) -> OnboardingRequest:
    try:
        key = request_id if isinstance(request_id, uuid.UUID) else uuid.UUID(str(request_id))
    except ValueError:
        raise ValidationFailed("request id must be a UUID") from None
    req = session.get(OnboardingRequest, key)
    if req is None:
        raise NotFound("no such onboarding request")
    return req


def list_requests(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    q = select(OnboardingRequest).order_by(OnboardingRequest.created_at)
    if status:
        q = q.where(OnboardingRequest.status == status)
    return [request_view(r) for r in session.execute(q).scalars()]


def approve(session: Session, request_id: uuid.UUID | str, *, actor: str, decided_by: uuid.UUID | None = None,
            token_hours: float = TOKEN_HOURS) -> dict[str, Any]:
    """Create the organization, its hospital-staff user and a node enrollment token (shown once)."""
    req = _get(session, request_id)
    if req.status != "pending":
        raise Conflict(f"this request is already {req.status}")
    if session.scalar(select(Organization.id).where(Organization.name == req.organization)) is not None:
        raise Conflict("an organization with this name already exists; reject the request or rename it")
    org = users.create_org(session, name=req.organization, kind="hospital")
    password = secrets.token_urlsafe(12)
    user = users.create_user(session, email=req.contact_email, password=password, role="data_provider",
                             org_id=org.id, display_name=req.organization, actor=actor)
    token_rec, token = governance.create_enrollment_token(session, org_id=org.id, actor=actor, created_by=decided_by,
                                                          valid_hours=token_hours)
    req.status, req.decided_at, req.decided_by, req.org_id = "approved", datetime.now(UTC), decided_by, org.id
    audit.append(session, actor=actor, action="onboarding.approve", target=f"request:{req.id}",
                 details={"org": str(org.id), "user": str(user.id)})
    return {"request_id": str(req.id), "org_id": str(org.id), "organization": org.name, "user_id": str(user.id),
            "email": user.email, "initial_password": password, "token": token,
            "token_expires_at": token_rec.expires_at.isoformat(), "tasks": request_view(req)["tasks"]}


def reject(session: Session, request_id: uuid.UUID | str, *, actor: str, decided_by: uuid.UUID | None = None) -> None:
    req = _get(session, request_id)
    if req.status != "pending":
        raise Conflict(f"this request is already {req.status}")
    req.status, req.decided_at, req.decided_by = "rejected", datetime.now(UTC), decided_by
    audit.append(session, actor=actor, action="onboarding.reject", target=f"request:{req.id}", details={})
