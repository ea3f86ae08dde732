"""What every `/v1` route depends on: the API context (store, registry, tokens) and the caller's role.

A caller authenticates with `Authorization: Bearer <access token>` (from login), or with an API key as
`Authorization: Bearer mh_...` or `X-API-Key: mh_...`. `require(*roles)` is the only way a route gets its
principal, so no route can forget the role check; a test walks the route table to make sure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from hub.accounts import Store
from hub.accounts.errors import NotAuthenticated, PermissionDenied
from hub.accounts.models import ROLES
from hub.accounts.security import KEY_PREFIX, Tokens
from hub.accounts.supabase_auth import SupabaseAuth
from hub.accounts.users import Principal, principal_from_claims, principal_from_key

ALL_ROLES = ROLES
KEY_ROLES = ("admin", "data_provider", "clinician", "enterprise")
PUBLIC = "public"

_bearer = HTTPBearer(auto_error=False, description="an access token from /v1/auth/login, or an API key (mh_...)")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key (mh_...)")


@dataclass
class ApiContext:
    store: Store
    registry: Any
    tokens: Tokens
    predictor: Any
    identity: SupabaseAuth | None = None
    revenue_pool_fraction: float = 1.0
    key_expiry_days: dict[str, int] | None = None  # per tier; None: hub.accounts.keys.DEFAULT_EXPIRY_DAYS
    extra: dict[str, Any] = field(default_factory=dict)


def context(request: Request) -> ApiContext:
    return request.app.state.medhive_api


def _authenticate(ctx: ApiContext, bearer: HTTPAuthorizationCredentials | None, api_key: str | None) -> Principal:
    given = bearer.credentials if bearer else None
    if api_key and given and api_key != given:
        # two different credentials: refuse rather than let one silently win over the other
        raise NotAuthenticated("send one credential: either Authorization: Bearer or X-API-Key, not two different ones")
    secret = api_key or given
    if not secret:
        raise NotAuthenticated("authenticate with a Bearer access token or an API key")
    with ctx.store.transaction() as s:
        if secret.startswith(KEY_PREFIX):
            return principal_from_key(s, secret)
        return principal_from_claims(s, ctx.tokens.verify(secret))


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and admits only the given roles."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"require(): unknown roles {unknown}")

    def dependency(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
                   api_key: str | None = Depends(_api_key)) -> Principal:
        principal = _authenticate(context(request), bearer, api_key)
        if principal.role not in roles:
            raise PermissionDenied(f"this route is not available to the {principal.role} role")
        request.state.principal = principal
        return principal

    dependency.roles = tuple(roles)  # type: ignore[attr-defined] - read by the route-table test
    return dependency
