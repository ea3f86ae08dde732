"""The portal's screening page at /screening (one patient form, every tabular model; see
`medhive.ui.screening_page`).

A signed-in page like "My account": the session cookie says who screens (a visitor without one is sent to
/signin and back), the form carries the CSRF field (a post without it is refused with 403 before anything
is read), and the screening runs through `hub.api.screen_routes.screen_case`, the service behind the
metered `POST /v1/screen`, so it is billed to the person's organisation as one prediction per model used.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.accounts import metering
from hub.accounts.errors import AccountsError
from hub.accounts.models import Organization
from hub.api import web_session as ws
from hub.api.screen_routes import screen_case
from hub.screening import MAX_VALUES
from medhive.mounts import _web as web
from medhive.ui.screening_page import render_screening

PATH = "/screening"
#: every box of the form plus the CSRF field; a value is a number or a category word
FORM_LIMITS = {"max_fields": MAX_VALUES + 1, "max_files": 0, "max_part_size": 1024}


def _account(request: Request, p: Any) -> dict[str, Any]:
    with web.context(request).store.transaction() as s:
        org = s.get(Organization, p.org_id)
        limits = metering.current_usage(s, p.org_id)
    return {"organization": org.name if org.kind != "personal" else "your personal account", "tier": limits["tier"],
            "remaining": limits["remaining"]}


def _page(request: Request, p: Any, *, status: int = 200, **extra: Any) -> HTMLResponse:
    cookie, token = web.csrf_for(request)
    return web.html(request, render_screening(csrf=token, nav=web.nav(request), user=p, account=_account(request, p),
                                           **extra), status=status, csrf_cookie=cookie)


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:
    def signed_in(request: Request) -> Any:
        return ws.principal_from_session(web.context(request), request.cookies.get(ws.SESSION_COOKIE))

    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def screening(request: Request) -> Response:
        p = signed_in(request)
        if p is None:
            return RedirectResponse(f"/signin?next={PATH}", status_code=303)
        return _page(request, p)

    @app.post(PATH, include_in_schema=False)
    async def screen(request: Request) -> Response:
        form = await request.form(**FORM_LIMITS)
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if not ws.csrf_ok(web.context(request), request.cookies.get(ws.CSRF_COOKIE), fields.pop(ws.CSRF_FIELD, None)):
            return web.forbidden(request)
        p = signed_in(request)
        if p is None:
            return RedirectResponse(f"/signin?next={PATH}", status_code=303)
        values = {k: v.strip() for k, v in fields.items() if v.strip()}
        request.state.inputs = values  # keeps these values out of any error message
        try:
            out, _ = screen_case(web.context(request), p, dict(values), report=True)
        except AccountsError as exc:  # a bad value or no model can run (422), the rate or the quota (429)
            return _page(request, p, status=exc.status if exc.status in (402, 422, 429) else 400, values=values,
                         error=exc.message)
        return _page(request, p, values=values, result=out)

    nav = getattr(app.state, "portal_nav", None)
    if nav is None:
        nav = app.state.portal_nav = []
    nav.append({"label": "Screening", "href": PATH})
