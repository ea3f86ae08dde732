"""API keys: create (the key is returned once), list (prefix only), revoke; an expiry on every key.

Only an interactive session (a login token) creates keys: a leaked key must not be able to mint
successors that outlive it. Revoking a key revokes every key it created (possible before this rule,
recorded in `created_by_key_id`). A key without an explicit expiry gets its tier's default
(`DEFAULT_EXPIRY_DAYS`, a setting), returned at creation; every listing shows when a key was last used.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import NotFound, PermissionDenied, ValidationFailed
from hub.accounts.metering import limits_for
from hub.accounts.models import ApiKey, Organization
from hub.accounts.security import KEY_PREFIX, new_api_key
from hub.accounts.users import Principal

MAX_DAYS = 3650
#: days a key lives when its creator names no expiry, per tier (MEDHIVE_KEY_EXPIRY_DAYS overrides)
DEFAULT_EXPIRY_DAYS = {"free": 90, "pay_per_use": 365, "enterprise": 365}
#: roles that hold API keys whatever their tier; anyone else needs a paid tier (pay-per-use, enterprise)
KEY_ROLES = ("admin", "data_provider", "clinician", "enterprise")


def check_may_use_keys(session: Session, principal: Principal) -> None:
    if principal.role in KEY_ROLES:
        return
    org = session.get(Organization, principal.org_id)
    if org is None or org.tier == "free":
        raise PermissionDenied("API keys come with the pay-per-use tier: upgrade your account on its page first")


def key_view(key: ApiKey, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    status = ("revoked" if key.revoked_at else "expired" if key.expires_at and key.expires_at <= now else "active")
    iso = lambda t: t.isoformat() if t else None  # noqa: E731
    return {"id": str(key.id), "name": key.name, "prefix": f"{KEY_PREFIX}{key.prefix}", "status": status,
            "created_at": iso(key.created_at), "expires_at": iso(key.expires_at),
            "revoked_at": iso(key.revoked_at), "last_used_at": iso(key.last_used_at)}


def create_key(session: Session, principal: Principal, *, name: str = "", expires_in_days: int | None = None,
               default_expiry_days: dict[str, int] | None = None) -> tuple[dict[str, Any], str]:
    """A new key for the caller's organization: (its listing view, the full key to show once)."""
    check_may_use_keys(session, principal)
    if principal.api_key_id is not None:
        raise PermissionDenied("API keys cannot create API keys; sign in and create it from your session")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise ValidationFailed(f"expires_in_days must be between 1 and {MAX_DAYS}")
    if expires_in_days is None:
        tier = limits_for(session, principal.org_id).tier
        expires_in_days = (default_expiry_days or DEFAULT_EXPIRY_DAYS).get(tier, DEFAULT_EXPIRY_DAYS.get(tier, 90))
    new = new_api_key()
    expires = datetime.now(UTC) + timedelta(days=expires_in_days)
    key = ApiKey(org_id=principal.org_id, user_id=principal.user_id, name=name[:100], prefix=new.prefix,
                 key_hash=new.hash, expires_at=expires)
    session.add(key)
    session.flush()
    audit.append(session, actor=principal.actor, action="key.create", target=f"key:{key.id}",
                 details={"prefix": f"{KEY_PREFIX}{new.prefix}", "expires_at": expires.isoformat()})
    return key_view(key), new.secret


def list_keys(session: Session, principal: Principal) -> list[dict[str, Any]]:
    check_may_use_keys(session, principal)
    q = select(ApiKey).where(ApiKey.org_id == principal.org_id).order_by(ApiKey.created_at)
    return [key_view(k) for k in session.execute(q).scalars()]


def revoke_key(session: Session, principal: Principal, key_id: uuid.UUID) -> dict[str, Any]:
    check_may_use_keys(session, principal)
    key = session.get(ApiKey, key_id)
    if key is None or key.org_id != principal.org_id:
        raise NotFound("no such API key in your organization")
    now = datetime.now(UTC)
    if key.revoked_at is None:
        key.revoked_at = now
        audit.append(session, actor=principal.actor, action="key.revoke", target=f"key:{key.id}")
    # and everything it created, at any depth (a revoked parent's live children included)
    parents, seen = [key.id], {key.id}
    while parents:
        children = list(session.execute(select(ApiKey).where(ApiKey.created_by_key_id.in_(parents))).scalars())
        parents = []
        for child in children:
            if child.id in seen:
                continue
            seen.add(child.id)
            parents.append(child.id)
            if child.revoked_at is None:
                child.revoked_at = now
                audit.append(session, actor=principal.actor, action="key.revoke", target=f"key:{child.id}",
                             details={"cascade_from": f"key:{key.id}"})
    return key_view(key)


def touch(session: Session, key_id: uuid.UUID) -> None:
    key = session.get(ApiKey, key_id)
    if key is not None:
        key.last_used_at = datetime.now(UTC)
