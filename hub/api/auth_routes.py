"""Sign-up, login (JWT), the caller's account, and API keys."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request, status

from hub.accounts import audit, keys, login_throttle, users
from hub.accounts.errors import AccountsError, Conflict, InvalidCredentials, RateLimited
from hub.accounts.models import Organization, User
from hub.accounts.users import Principal
from hub.api.deps import ALL_ROLES, ApiContext, context, require
from hub.api.schemas import PROBLEMS, Account, KeyCreate, KeyCreated, KeyView, Login, SignUp, TokenOut

router = APIRouter(tags=["accounts"], responses=PROBLEMS)


def _account(session: Any, user: User) -> Account:
    org = session.get(Organization, user.org_id)
    return Account(user_id=str(user.id), email=user.email, role=user.role, org_id=str(org.id), organization=org.name,
                   tier=org.tier, verified=bool(user.verified), keep_history=bool(user.keep_history),
                   keep_inputs=bool(user.keep_inputs))


def _token(ctx: ApiContext, user: User) -> TokenOut:
    token, exp = ctx.tokens.issue(user.id, user.org_id, user.role)
    return TokenOut(access_token=token, expires_at=exp.isoformat(), role=user.role)


@router.post("/auth/signup", status_code=status.HTTP_201_CREATED, response_model=Account,
             summary="Create an account (patient/student, clinician or enterprise)", openapi_extra={"x-public": True})
def sign_up(body: SignUp, ctx: ApiContext = Depends(context)) -> Account:
    external_id: uuid.UUID | None = None
    if ctx.identity is not None:
        with ctx.store.transaction() as s:  # refuse known duplicates before creating anything upstream
            if s.query(User.id).filter(User.email == body.email.strip().lower()).first() is not None:
                raise Conflict("an account with this e-mail already exists")
        external_id = ctx.identity.sign_up(body.email.strip().lower(), body.password,
                                           data={"account_type": body.account_type})
    with ctx.store.transaction() as s:
        user = users.sign_up(s, email=body.email, password=None if external_id else body.password,
                             account_type=body.account_type, organization=body.organization,
                             display_name=body.display_name, user_id=external_id)
        return _account(s, user)


@router.post("/auth/login", response_model=TokenOut, summary="Log in: a short-lived access token (JWT)",
             openapi_extra={"x-public": True})
def login(body: Login, request: Request, ctx: ApiContext = Depends(context)) -> TokenOut:
    email = body.email.strip().lower()
    client = request.client.host if request.client else "unknown"
    return sign_in(ctx, email, body.password, client)


def sign_in(ctx: ApiContext, email: str, password: str, client: str) -> TokenOut:
    """Throttled password sign-in (shared by the API and the portal's sign-in form): an access token."""
    with ctx.store.transaction() as s:
        wait = login_throttle.retry_after(s, email, client)
    if wait is not None:  # refused before any password is checked
        raise RateLimited(f"too many failed sign-ins; try again in {wait} s", retry_after=wait)
    try:
        with ctx.store.transaction() as s:
            if ctx.identity is not None:
                user_id = ctx.identity.sign_in(email, password)
                user = s.get(User, user_id) or s.query(User).filter(User.email == email).one_or_none()
                if user is None:  # signed up in Supabase directly: a personal account
                    user = users.sign_up(s, email=email, password=None, user_id=user_id)
            else:
                user = users.check_password(s, email, password)
            audit.append(s, actor=f"user:{user.id}", action="auth.login", target=f"user:{user.id}")
            login_throttle.succeeded(s, email, client)
            return _token(ctx, user)
    except AccountsError as exc:
        with ctx.store.transaction() as s:
            if isinstance(exc, InvalidCredentials):
                login_throttle.failed(s, email, client)
            audit.append(s, actor="anonymous", action="auth.login_failed", target="", details={"reason": exc.kind})
        raise


@router.get("/me", response_model=Account, summary="The caller's account")
def me(p: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> Account:
    with ctx.store.transaction() as s:
        return _account(s, users.get_user(s, p.user_id))


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=KeyCreated,
             summary="Create an API key from a login session (not with an API key); shown once, with its expiry",
             description="Only an access token from /v1/auth/login may create keys (403 for an API key). "
                         "Without `expires_in_days` the key expires after the tier's default (returned in "
                         "`expires_at`). Revoking a key also revokes any key it created. A personal account "
                         "gets keys with the pay-per-use tier (POST /v1/me/upgrade).")
def create_key(body: KeyCreate, p: Principal = Depends(require(*ALL_ROLES)),
               ctx: ApiContext = Depends(context)) -> KeyCreated:
    with ctx.store.transaction() as s:
        view, secret = keys.create_key(s, p, name=body.name, expires_in_days=body.expires_in_days,
                                       default_expiry_days=ctx.key_expiry_days)
    return KeyCreated(**view, key=secret)


@router.get("/keys", response_model=list[KeyView], summary="The organization's API keys (prefixes)")
def list_keys(p: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> list[KeyView]:
    with ctx.store.transaction() as s:
        return [KeyView(**k) for k in keys.list_keys(s, p)]


@router.delete("/keys/{key_id}", response_model=KeyView,
               summary="Revoke an API key")
def revoke_key(key_id: uuid.UUID, p: Principal = Depends(require(*ALL_ROLES)),
               ctx: ApiContext = Depends(context)) -> KeyView:
    with ctx.store.transaction() as s:
        return KeyView(**keys.revoke_key(s, p, key_id))
