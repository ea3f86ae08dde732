"""The metered REST API (`/v1`): thin FastAPI routers over the `hub.accounts` services.

    >>> from hub.api import install_api
    >>> install_api(app, store=Store(url), registry=registry, tokens=Tokens(secret))

Every route but sign-up, login and node enrollment (whose token is its credential) requires a role;
errors are RFC 9457 problem details. `/admin` is the portal's admin view, a static page over `/v1/admin`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse

from hub.accounts import Store
from hub.accounts.security import Tokens
from hub.accounts.supabase_auth import SupabaseAuth
from hub.api import (
    account_routes,
    admin_routes,
    auth_routes,
    federation_routes,
    history_routes,
    model_routes,
    problems,
    screen_routes,
)
from hub.api.admin_page import ADMIN_PAGE
from hub.api.deps import ApiContext
from hub.api.federation_pages import FEDERATION_PAGE, HOSPITAL_PAGE

PUBLIC_ROUTES = {("POST", "/v1/auth/signup"), ("POST", "/v1/auth/login"), ("POST", "/v1/nodes/enroll"),
                 ("POST", "/v1/onboarding/requests")}


def router() -> APIRouter:
    api = APIRouter(prefix="/v1")
    for module in (auth_routes, model_routes, account_routes, history_routes, admin_routes, federation_routes,
                   screen_routes):
        api.include_router(module.router)
    return api


def install_api(app: FastAPI, *, store: Store, registry: Any, tokens: Tokens, identity: SupabaseAuth | None = None,
                predictor: Any = None, revenue_pool_fraction: float = 1.0,
                key_expiry_days: dict[str, int] | None = None) -> ApiContext:
    """Mount `/v1` on an app with its context and problem+json error handlers."""
    from hub.inference import Predictor

    ctx = ApiContext(store=store, registry=registry, tokens=tokens, identity=identity,
                     predictor=predictor if predictor is not None else Predictor(registry),
                     revenue_pool_fraction=revenue_pool_fraction, key_expiry_days=key_expiry_days)
    app.state.medhive_api = ctx
    app.include_router(router())
    problems.install(app)

    @app.get("/admin", response_class=HTMLResponse, include_in_schema=False)
    def admin_view() -> str:
        return ADMIN_PAGE

    @app.get("/federation", response_class=HTMLResponse, include_in_schema=False)
    def federation_view() -> str:
        return FEDERATION_PAGE

    @app.get("/hospital", response_class=HTMLResponse, include_in_schema=False)
    def hospital_view() -> str:
        return HOSPITAL_PAGE

    nav = getattr(app.state, "portal_nav", None)
    if nav is None:
        nav = app.state.portal_nav = []
    nav.append({"label": "Admin", "href": "/admin"})
    nav.append({"label": "Hospitals", "href": "/hospital"})
    nav.append({"label": "Federation", "href": "/federation"})
    return ctx
