"""Users, organizations and roles: sign-up, password login, role and tier changes, who is calling.

Every caller of the API becomes a `Principal` (user, organization, role, and the API key if one was used)
read fresh from the database on each request, so a role change, a deactivation or a revoked key takes
effect at once even while an access token is still valid.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import Conflict, InvalidCredentials, NotAuthenticated, NotFound, ValidationFailed
from hub.accounts.models import ROLES, ApiKey, Organization, RevokedToken, Tier, User
from hub.accounts.security import TokenClaims, hash_password, key_prefix, needs_rehash, sha256_hex, verify_password

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$")
#: account type -> (organization kind, tier); a clinician is self-declared and unverified until an admin verifies
SELF_SERVICE = {"user": ("personal", "free"), "clinician": ("personal", "free"),
                "enterprise": ("enterprise", "pay_per_use")}
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    email: str
    api_key_id: uuid.UUID | None = None

    @property
    def actor(self) -> str:
        return f"user:{self.user_id}" + (f" key:{self.api_key_id}" if self.api_key_id else "")


def _check_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed("a valid e-mail address is required")
    return email


def create_org(session: Session, *, name: str, kind: str, tier: str = "free") -> Organization:
    if session.get(Tier, tier) is None:
        raise NotFound(f"unknown tier {tier!r}")
    if session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise Conflict(f"an organization named {name!r} already exists")
    org = Organization(name=name, kind=kind, tier=tier)
    session.add(org)
    session.flush()
    return org


def create_user(session: Session, *, email: str, password: str | None, role: str, org_id: uuid.UUID,
                display_name: str = "", user_id: uuid.UUID | None = None, actor: str = "system") -> User:
    """A user in an existing organization; `password=None` when an external provider authenticates."""
    email = _check_email(email)
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise ValidationFailed(f"the password needs at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this e-mail already exists")
    user = User(id=user_id or uuid.uuid4(), email=email, role=role, org_id=org_id, display_name=display_name,
                password_hash=hash_password(password) if password is not None else None)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("an account with this e-mail already exists") from None
    audit.append(session, actor=actor, action="user.create", target=f"user:{user.id}",
                 details={"role": role, "org": str(org_id)})
    return user


def sign_up(session: Session, *, email: str, password: str | None, account_type: str = "user",
            organization: str | None = None, display_name: str = "", user_id: uuid.UUID | None = None) -> User:
    """Self-service sign-up: a patient/student (`user`, personal org, free tier), a `clinician` (self-declared:
    unverified until an admin verifies them) or an `enterprise`.

    Hospital staff arrive through onboarding approval and admins are made by an admin, never by sign-up.
    """
    if account_type not in SELF_SERVICE:
        raise ValidationFailed("account_type must be 'user', 'clinician' or 'enterprise'")
    email = _check_email(email)
    kind, tier = SELF_SERVICE[account_type]
    if account_type == "enterprise" and not (organization or "").strip():
        raise ValidationFailed("an enterprise sign-up needs the organization's name")
    name = organization.strip() if account_type == "enterprise" else f"personal:{email}"
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with this e-mail already exists")
    org = create_org(session, name=name, kind=kind, tier=tier)
    user = create_user(session, email=email, password=password, role=account_type, org_id=org.id,
                       display_name=display_name, user_id=user_id, actor="signup")
    user.verified = account_type != "clinician"
    return user


def set_preferences(session: Session, user_id: uuid.UUID, *, keep_history: bool, keep_inputs: bool,
                    actor: str) -> User:
    """The prediction-history opt-in; inputs are kept only together with the history."""
    user = get_user(session, user_id)
    user.keep_history, user.keep_inputs = bool(keep_history), bool(keep_history and keep_inputs)
    audit.append(session, actor=actor, action="user.preferences", target=f"user:{user_id}",
                 details={"keep_history": user.keep_history, "keep_inputs": user.keep_inputs})
    return user


def set_verified(session: Session, user_id: uuid.UUID, verified: bool, *, actor: str) -> User:
    user = get_user(session, user_id)
    user.verified = bool(verified)
    audit.append(session, actor=actor, action="user.verify", target=f"user:{user_id}", details={"verified": verified})
    return user


def set_active(session: Session, user_id: uuid.UUID, active: bool, *, actor: str) -> User:
    user = get_user(session, user_id)
    user.active = bool(active)
    audit.append(session, actor=actor, action="user.active", target=f"user:{user_id}", details={"active": active})
    return user


def upgrade_to_pay_per_use(session: Session, principal: Principal) -> Organization:
    """The self-service upgrade of a personal free account: a price per prediction, no monthly quota."""
    org = session.get(Organization, principal.org_id)
    if org is None or org.kind != "personal":
        raise ValidationFailed("only a personal account can upgrade itself; ask your organization's admin")
    if org.tier != "free":
        raise Conflict(f"this account is already on the {org.tier} tier")
    return set_tier(session, org.id, "pay_per_use", actor=principal.actor)


def check_password(session: Session, email: str, password: str) -> User:
    """The active user with this e-mail and password; `InvalidCredentials` otherwise (same message)."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise InvalidCredentials("wrong e-mail or password")
    if needs_rehash(user.password_hash):  # e.g. a scrypt hash from an earlier release: argon2id from now on
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def set_role(session: Session, user_id: uuid.UUID, role: str, *, actor: str) -> User:
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    user = get_user(session, user_id)
    previous, user.role = user.role, role
    audit.append(session, actor=actor, action="user.role", target=f"user:{user_id}",
                 details={"from": previous, "to": role})
    return user


def set_tier(session: Session, org_id: uuid.UUID, tier: str, *, actor: str, monthly_quota: int | None = None,
             rate_limit_per_minute: int | None = None, price_micros: int | None = None) -> Organization:
    """Change an organization's tier; the optional limits are its contract (they override the tier's)."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("no such organization")
    if session.get(Tier, tier) is None:
        raise NotFound(f"unknown tier {tier!r}")
    for name, value in (("monthly_quota", monthly_quota), ("rate_limit_per_minute", rate_limit_per_minute),
                        ("price_micros", price_micros)):
        if value is not None and value < 0:
            raise ValidationFailed(f"{name} must not be negative")
    previous = org.tier
    org.tier, org.monthly_quota, org.rate_limit_per_minute, org.price_micros = (
        tier, monthly_quota, rate_limit_per_minute, price_micros)
    audit.append(session, actor=actor, action="org.tier", target=f"org:{org_id}",
                 details={"from": previous, "to": tier, "monthly_quota": monthly_quota,
                          "rate_limit_per_minute": rate_limit_per_minute, "price_micros": price_micros})
    return org


def list_accounts(session: Session) -> list[dict[str, Any]]:
    counts = dict(session.execute(select(User.org_id, func.count()).group_by(User.org_id)).all())
    return [
        {"id": str(o.id), "name": o.name, "kind": o.kind, "tier": o.tier, "monthly_quota": o.monthly_quota,
         "rate_limit_per_minute": o.rate_limit_per_minute, "price_micros": o.price_micros,
         "users": int(counts.get(o.id, 0)), "created_at": o.created_at.isoformat()}
        for o in session.execute(select(Organization).order_by(Organization.created_at)).scalars()
    ]


def principal_from_claims(session: Session, claims: TokenClaims) -> Principal:
    user = session.get(User, claims.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("this account no longer exists or is deactivated")
    if claims.jti is not None and session.get(RevokedToken, claims.jti) is not None:
        raise NotAuthenticated("this session has been signed out; sign in again")
    return Principal(user.id, user.org_id, user.role, user.email)


def revoke_token(session: Session, claims: TokenClaims, *, now: datetime | None = None) -> None:
    """End an access token before its expiry (sign-out); expired revocations are pruned on the way."""
    now = now or datetime.now(UTC)
    session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    if claims.jti is not None and claims.expires_at > now and session.get(RevokedToken, claims.jti) is None:
        session.add(RevokedToken(jti=claims.jti, user_id=claims.user_id, expires_at=claims.expires_at,
                                 revoked_at=now))


def principal_from_key(session: Session, secret: str, *, now: datetime | None = None) -> Principal:
    """The owner of an API key; refused when unknown, revoked, expired, or the owner is deactivated."""
    import hmac

    now = now or datetime.now(UTC)
    prefix = key_prefix(secret)
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if key is None or not hmac.compare_digest(key.key_hash, sha256_hex(secret)):
        raise InvalidCredentials("invalid API key")
    if key.revoked_at is not None:
        raise InvalidCredentials("this API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise InvalidCredentials("this API key has expired")
    user = session.get(User, key.user_id)
    if user is None or not user.active:
        raise InvalidCredentials("the owner of this API key is deactivated")
    return Principal(user.id, key.org_id, user.role, user.email, api_key_id=key.id)
