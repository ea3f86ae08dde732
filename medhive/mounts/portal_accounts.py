"""The portal's pages for people: /signup, /signin, /signout and /account (with its forms).

Thin glue over the same services as the `/v1` API (sign-up, the throttled sign-in, keys, usage, history),
through the API's context, so a page and the API can never disagree. Every POST checks the CSRF field
first (refused with 403 and a readable page); every page but sign-up/sign-in needs a session and sends a
visitor without one to /signin. Errors become a readable message on the same form, never a traceback.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.accounts import billing, history, keys, metering, users
from hub.accounts.errors import AccountsError
from hub.accounts.models import Organization, User
from hub.api import web_session as ws
from hub.api.auth_routes import sign_in
from hub.api.history_routes import report_pdf
from medhive.mounts import _web as web
from medhive.ui import account_pages as pages


def _account_page(request: Request, p: Any, **extra: Any) -> HTMLResponse:
    ctx = web.context(request)
    cookie, token = web.csrf_for(request)
    with ctx.store.transaction() as s:
        user, org = s.get(User, p.user_id), s.get(Organization, p.org_id)
        account = {"email": user.email, "role": user.role, "verified": bool(user.verified), "tier": org.tier,
                   "kind": org.kind, "organization": org.name if org.kind != "personal" else "personal",
                   "keep_history": bool(user.keep_history), "keep_inputs": bool(user.keep_inputs)}
        limits = metering.current_usage(s, p.org_id)
        usage = billing.usage_of(s, p.org_id, limits["period"])
        try:
            key_list = keys.list_keys(s, p)
        except AccountsError:  # no keys on this tier: the upgrade section says how to get them
            key_list = None
        kept = history.list_for(s, p, limit=50)
    return web.html(request, pages.account_page(csrf=token, nav=web.nav(request), principal=p, account=account,
                                             limits=limits, usage=usage, keys=key_list, history=kept, **extra),
                 csrf_cookie=cookie)


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:  # noqa: C901 - one route per page
    nav = getattr(app.state, "portal_nav", None)
    if nav is None:
        nav = app.state.portal_nav = []
    nav.append({"label": "My account", "href": "/account"})

    def signed_in(request: Request) -> Any:
        return ws.principal_from_session(web.context(request), request.cookies.get(ws.SESSION_COOKIE))

    @app.get("/signin", response_class=HTMLResponse, include_in_schema=False)
    def signin_form(request: Request, next: str = "/account") -> HTMLResponse:  # noqa: A002 - the query name
        cookie, token = web.csrf_for(request)
        return web.html(request, pages.sign_in_page(token, nav=web.nav(request), next_url=web.safe_next(next)),
                     csrf_cookie=cookie)

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request) -> Response:
        form = await web.read_form(request)
        if form is None:
            return web.forbidden(request)
        email, target = form.get("email", "").strip().lower()[:320], web.safe_next(form.get("next"))
        try:
            out = sign_in(web.context(request), email, form.get("password", "")[:200], web.client_host(request))
        except AccountsError as exc:
            cookie, token = web.csrf_for(request)
            status = 429 if exc.status == 429 else 401 if exc.status == 401 else 400
            return web.html(request, pages.sign_in_page(token, nav=web.nav(request), error=exc.message, email=email,
                                                     next_url=target), status=status, csrf_cookie=cookie)
        resp = RedirectResponse(target, status_code=303)
        web.set_session(request, resp, out.access_token)
        return resp

    @app.get("/signup", response_class=HTMLResponse, include_in_schema=False)
    def signup_form(request: Request) -> HTMLResponse:
        cookie, token = web.csrf_for(request)
        return web.html(request, pages.sign_up_page(token, nav=web.nav(request)), csrf_cookie=cookie)

    @app.post("/signup", include_in_schema=False)
    async def signup(request: Request) -> Response:
        form = await web.read_form(request)
        if form is None:
            return web.forbidden(request)
        ctx = web.context(request)
        email, kind = form.get("email", "").strip().lower()[:320], form.get("account_type", "user")
        organization, password = form.get("organization", "").strip()[:200], form.get("password", "")[:200]
        try:
            external = None
            if ctx.identity is not None:  # Supabase Auth holds the password when configured
                external = ctx.identity.sign_up(email, password, data={"account_type": kind})
            with ctx.store.transaction() as s:
                users.sign_up(s, email=email, password=None if external else password, account_type=kind,
                              organization=organization or None, user_id=external)
            out = sign_in(ctx, email, password, web.client_host(request))
        except AccountsError as exc:
            cookie, token = web.csrf_for(request)
            return web.html(request, pages.sign_up_page(token, nav=web.nav(request), error=exc.message, email=email,
                                                     account_type=kind, organization=organization),
                         status=exc.status if exc.status in (409, 422, 429) else 400, csrf_cookie=cookie)
        resp = RedirectResponse("/account", status_code=303)
        web.set_session(request, resp, out.access_token)
        return resp

    @app.post("/signout", include_in_schema=False)
    async def signout(request: Request) -> Response:
        if await web.read_form(request) is None:
            return web.forbidden(request)
        p = signed_in(request)
        if p is not None:
            from hub.accounts import audit
            from hub.accounts.users import revoke_token

            ctx = web.context(request)
            try:
                claims = ctx.tokens.verify(request.cookies[ws.SESSION_COOKIE])
            except AccountsError:  # expired since signed_in() looked: nothing left to revoke
                claims = None
            with ctx.store.transaction() as s:
                if claims is not None:
                    revoke_token(s, claims)  # a copied cookie stops working now, not at its expiry
                audit.append(s, actor=p.actor, action="auth.signout", target=f"user:{p.user_id}")
        resp = RedirectResponse("/signin", status_code=303)
        resp.delete_cookie(ws.SESSION_COOKIE, path="/")
        return resp

    @app.get("/account", response_class=HTMLResponse, include_in_schema=False)
    def account(request: Request) -> Response:
        p = signed_in(request)
        if p is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        return _account_page(request, p)

    async def account_action(request: Request, action: Any, ok: str) -> Response:
        form = await web.read_form(request)
        if form is None:
            return web.forbidden(request)
        p = signed_in(request)
        if p is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        try:
            with web.context(request).store.transaction() as s:
                extra = action(s, p, form) or {}
        except AccountsError as exc:
            return _account_page(request, p, error=exc.message)
        p = signed_in(request) or p  # a tier or role may have changed
        return _account_page(request, p, ok=ok, **extra)

    @app.post("/account/preferences", include_in_schema=False)
    async def preferences(request: Request) -> Response:
        def act(s: Any, p: Any, form: dict[str, str]) -> None:
            users.set_preferences(s, p.user_id, keep_history=form.get("keep_history") == "1",
                                  keep_inputs=form.get("keep_inputs") == "1", actor=p.actor)

        return await account_action(request, act, "Preferences saved.")

    @app.post("/account/upgrade", include_in_schema=False)
    async def upgrade(request: Request) -> Response:
        return await account_action(request, lambda s, p, _f: users.upgrade_to_pay_per_use(s, p) and None,
                                    "Your account is now on the pay-per-use tier.")

    @app.post("/account/keys", include_in_schema=False)
    async def create_key(request: Request) -> Response:
        def act(s: Any, p: Any, form: dict[str, str]) -> dict[str, Any]:
            _, secret = keys.create_key(s, p, name=form.get("name", "")[:100])
            return {"new_key": secret}

        return await account_action(request, act, "API key created.")

    @app.post("/account/keys/{key_id}/revoke", include_in_schema=False)
    async def revoke_key(key_id: uuid.UUID, request: Request) -> Response:
        return await account_action(request, lambda s, p, _f: keys.revoke_key(s, p, key_id) and None,
                                    "API key revoked.")

    @app.post("/account/predictions/{prediction_id}/delete", include_in_schema=False)
    async def delete_prediction(prediction_id: uuid.UUID, request: Request) -> Response:
        return await account_action(request, lambda s, p, _f: history.remove(s, p, prediction_id),
                                    "Prediction deleted for good.")

    @app.get("/account/predictions/{prediction_id}/report.pdf", include_in_schema=False)
    def report(prediction_id: uuid.UUID, request: Request) -> Response:
        p = signed_in(request)
        if p is None:
            return RedirectResponse("/signin?next=/account", status_code=303)
        ctx = web.context(request)
        try:
            with ctx.store.transaction() as s:
                row = history.get(s, p, prediction_id)
        except AccountsError as exc:
            return web.html(request, pages.message_page("Not found", exc.message, nav=web.nav(request),
                                                     status_link="/account"), status=404)
        name = f"medhive-report-{row.task}-{row.model_version}-{row.created_at:%Y%m%d-%H%M%S}.pdf"
        return Response(report_pdf(ctx.registry, row), media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
