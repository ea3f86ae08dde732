"""The portal's admin pages (admin role only): /admin/people, /admin/models, /admin/tokens, /admin/audit.

Thin glue over the accounts services and the registry, like the account pages: a session cookie, the
admin role checked on every page and form, CSRF on every form, every change audited by the service (or
here, for the registry's promote / roll back, in the same transaction as its audit entry).
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.accounts import audit, governance, people, users
from hub.accounts.errors import AccountsError, ValidationFailed
from hub.api import web_session as ws
from hub.errors import HubError
from hub.models import all_tasks
from medhive.mounts import _web as web
from medhive.ui import admin_pages as pages
from medhive.ui.account_pages import message_page


def _admin(request: Request) -> tuple[Any, Response | None]:
    p = ws.principal_from_session(web.context(request), request.cookies.get(ws.SESSION_COOKIE))
    if p is None:
        return None, RedirectResponse(f"/signin?next={request.url.path}", status_code=303)
    if p.role != "admin":
        return None, web.html(request, message_page("Admins only", "This page is for MedHive administrators.",
                                                 nav=web.nav(request)), status=403)
    return p, None


def _models(registry: Any) -> list[dict[str, Any]]:
    known = set(registry.tasks())
    out = []
    for name, task in all_tasks().items():
        versions = registry.versions(name) if name in known else []
        out.append({"task": name, "title": task.title, "versions": [
            {"version": v.version, "aliases": list(v.aliases), "created_at": v.created_at, "metrics": dict(v.metrics),
             "source": getattr(v.lineage, "source", "")} for v in versions]})
    return out


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:  # noqa: C901 - one route per page
    def page(request: Request, which: str, p: Any, **extra: Any) -> HTMLResponse:
        cookie, token = web.csrf_for(request)
        ctx = web.context(request)
        with ctx.store.transaction() as s:
            if which == "people":
                q = request.query_params.get("q", "")[:320]
                rows = people.search(s, q, unverified=request.query_params.get("unverified") == "1")
                html = pages.people_page(rows, q=q, csrf=token, nav=web.nav(request), user=p, **extra)
            elif which == "models":
                html = pages.models_page(_models(ctx.registry), csrf=token, nav=web.nav(request), user=p, **extra)
            else:
                html = pages.tokens_page(users.list_accounts(s), csrf=token, nav=web.nav(request), user=p, **extra)
        return web.html(request, html, csrf_cookie=cookie)

    @app.get("/admin/people", response_class=HTMLResponse, include_in_schema=False)
    def people_view(request: Request) -> Response:
        p, refused = _admin(request)
        return refused or page(request, "people", p)

    @app.get("/admin/models", response_class=HTMLResponse, include_in_schema=False)
    def models_view(request: Request) -> Response:
        p, refused = _admin(request)
        return refused or page(request, "models", p)

    @app.get("/admin/tokens", response_class=HTMLResponse, include_in_schema=False)
    def tokens_view(request: Request) -> Response:
        p, refused = _admin(request)
        return refused or page(request, "tokens", p)

    @app.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_view(request: Request) -> Response:
        p, refused = _admin(request)
        if refused:
            return refused
        who, action = request.query_params.get("who", "")[:320], request.query_params.get("action", "")[:64]
        with web.context(request).store.transaction() as s:
            rows = people.audit_view(s, who=who or None, action=action or None, limit=200)
            html = pages.audit_page(rows, actions=people.actions(s), who=who, action=action,
                                    verified=audit.verify(s).to_dict(), nav=web.nav(request), user=p)
        return web.html(request, html)

    async def act(request: Request, which: str, change: Any, ok: str) -> Response:
        form = await web.read_form(request)
        if form is None:
            return web.forbidden(request)
        p, refused = _admin(request)
        if refused:
            return refused
        try:
            with web.context(request).store.transaction() as s:
                extra = change(s, p, form) or {}
        except (AccountsError, HubError) as exc:
            return page(request, which, p, error=exc.message)
        return page(request, which, p, ok=ok, **extra)

    @app.post("/admin/people/{user_id}/role", include_in_schema=False)
    async def set_role(user_id: uuid.UUID, request: Request) -> Response:
        return await act(request, "people", lambda s, p, f: users.set_role(s, user_id, f.get("role", ""), actor=p.actor)
                         and None, "Role changed.")

    @app.post("/admin/people/{user_id}/verify", include_in_schema=False)
    async def set_verified(user_id: uuid.UUID, request: Request) -> Response:
        return await act(request, "people", lambda s, p, f: users.set_verified(
            s, user_id, f.get("verified") == "1", actor=p.actor) and None, "Verification changed.")

    @app.post("/admin/people/{user_id}/active", include_in_schema=False)
    async def set_active(user_id: uuid.UUID, request: Request) -> Response:
        def change(s: Any, p: Any, f: dict[str, str]) -> None:
            if user_id == p.user_id:
                raise ValidationFailed("you cannot disable your own account")
            users.set_active(s, user_id, f.get("active") == "1", actor=p.actor)

        return await act(request, "people", change, "Account status changed.")

    @app.post("/admin/models/{task}/promote", include_in_schema=False)
    async def promote(task: str, request: Request) -> Response:
        def change(s: Any, p: Any, f: dict[str, str]) -> None:
            event = web.context(request).registry.promote(task, f.get("version", "")[:32], actor=p.actor)
            audit.append(s, actor=p.actor, action="model.promote", target=f"{task}@{event.version}",
                         details={"alias": "production", "previous": event.previous})

        return await act(request, "models", change, f"{task}: promoted to production.")

    @app.post("/admin/models/{task}/rollback", include_in_schema=False)
    async def rollback(task: str, request: Request) -> Response:
        def change(s: Any, p: Any, f: dict[str, str]) -> None:
            event = web.context(request).registry.rollback(task, actor=p.actor)
            audit.append(s, actor=p.actor, action="model.rollback", target=f"{task}@{event.version}",
                         details={"previous": event.previous})

        return await act(request, "models", change, f"{task}: production rolled back.")

    @app.post("/admin/tokens", include_in_schema=False)
    async def create_token(request: Request) -> Response:
        def change(s: Any, p: Any, f: dict[str, str]) -> dict[str, Any]:
            try:
                org_id, hours = uuid.UUID(f.get("org_id", "")), float(f.get("hours", "24"))
            except ValueError:
                raise ValidationFailed("choose a hospital and give the validity in hours") from None
            rec, token = governance.create_enrollment_token(s, org_id=org_id, actor=p.actor, created_by=p.user_id,
                                                            valid_hours=hours)
            org = next((o["name"] for o in users.list_accounts(s) if o["id"] == str(org_id)), str(org_id))
            return {"token": {"token": token, "org": org, "expires_at": rec.expires_at.isoformat()}}

        return await act(request, "tokens", change, "Enrollment token created.")
