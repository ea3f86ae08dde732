"""Administering people by e-mail: search users, and show audit entries with e-mails instead of UUIDs.

Role, verification and deactivation changes themselves are `users.set_role` / `set_verified` /
`set_active` (each audited); this module only finds and describes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.accounts.models import AuditEntry, Organization, User

_USER_REF = re.compile(r"user:([0-9a-f-]{36})")
_ORG_REF = re.compile(r"org:([0-9a-f-]{36})")


def search(session: Session, query: str = "", *, role: str | None = None, unverified: bool = False,
           limit: int = 50) -> list[dict[str, Any]]:
    """Users whose e-mail contains `query` (case-insensitive), newest first, with their organization."""
    q = select(User, Organization).join(Organization, Organization.id == User.org_id)
    text = query.strip().lower()[:320]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(User.email.like(like, escape="\\"))
    if role:
        q = q.where(User.role == role)
    if unverified:
        q = q.where(User.verified.is_(False))
    rows = session.execute(q.order_by(User.created_at.desc()).limit(max(1, min(limit, 200)))).all()
    return [{"id": str(u.id), "email": u.email, "role": u.role, "verified": bool(u.verified), "active": bool(u.active),
             "org_id": str(o.id), "organization": o.name, "org_kind": o.kind, "tier": o.tier,
             "created_at": u.created_at.isoformat(), "last_login_at": u.last_login_at.isoformat() if u.last_login_at
             else None} for u, o in rows]


def _names(session: Session, entries: list[AuditEntry]) -> tuple[dict[str, str], dict[str, str]]:
    text = " ".join(f"{e.actor} {e.target} {e.details}" for e in entries)
    uids = {uuid.UUID(m) for m in _USER_REF.findall(text)}
    oids = {uuid.UUID(m) for m in _ORG_REF.findall(text)}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(uids))).all()) if uids else {}
    orgs = dict(session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(oids))).all()
                ) if oids else {}
    return {str(k): v for k, v in emails.items()}, {str(k): v for k, v in orgs.items()}


def audit_view(session: Session, *, limit: int = 100, action: str | None = None, who: str | None = None,
               before: int | None = None) -> list[dict[str, Any]]:
    """Audit entries, newest first, `user:<id>` / `org:<id>` shown as e-mails and names; `who` filters by
    an e-mail (the entries that user did or that concern them)."""
    conditions = []
    if who:
        ids = [str(u) for u in session.scalars(select(User.id).where(User.email == who.strip().lower()))]
        if not ids:
            return []
        conditions.append(or_(*[AuditEntry.actor.contains(f"user:{i}") for i in ids],
                              *[AuditEntry.target.contains(f"user:{i}") for i in ids]))
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(max(1, min(limit, 1000)))
    if action:
        q = q.where(AuditEntry.action == action)
    if before is not None:
        q = q.where(AuditEntry.seq < before)
    if conditions:
        q = q.where(*conditions)
    rows = list(session.execute(q).scalars())
    emails, orgs = _names(session, rows)

    def readable(text: str) -> str:
        text = _USER_REF.sub(lambda m: emails.get(m.group(1), m.group(0)), text)
        return _ORG_REF.sub(lambda m: "org " + orgs[m.group(1)] if m.group(1) in orgs else m.group(0), text)

    return [{"seq": e.seq, "at": e.at, "actor": readable(e.actor), "action": e.action, "target": readable(e.target),
             "details": readable(e.details)} for e in rows]


def actions(session: Session) -> list[str]:
    return sorted(session.scalars(select(AuditEntry.action).distinct()))

