"""Request helpers the portal's mounts share (portal_accounts, portal_admin, screening): the API context
behind a page, the nav, HTML responses that carry the CSRF cookie, the CSRF-checked form, the 403 page, the
session cookie and the local-only `next` redirect. Mounts use them as `web.html(...)`, `web.read_form(...)`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from hub.api import web_session as ws
from hub.api.deps import ApiContext
from medhive.ui import account_pages as pages

FORM_LIMITS = {"max_fields": 20, "max_files": 0, "max_part_size": 16 * 1024}


def context(request: Request) -> ApiContext:
    return request.app.state.medhive_api


def nav(request: Request) -> Any:
    return getattr(request.app.state, "portal_nav", None)


def client_host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def html(request: Request, text: str, *, status: int = 200, csrf_cookie: str | None = None) -> HTMLResponse:
    resp = HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})
    if csrf_cookie and request.cookies.get(ws.CSRF_COOKIE) != csrf_cookie:
        resp.set_cookie(ws.CSRF_COOKIE, csrf_cookie, httponly=True, samesite="strict", path="/",
                        secure=ws.secure_cookies(request.url.scheme, request.url.hostname))
    return resp


def csrf_for(request: Request) -> tuple[str, str]:
    cookie = ws.csrf_cookie(request.cookies.get(ws.CSRF_COOKIE))
    return cookie, ws.csrf_token(context(request), cookie)


async def read_form(request: Request) -> dict[str, str] | None:
    """The posted form, or None when its CSRF field does not match the browser's cookie."""
    form = await request.form(**FORM_LIMITS)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not ws.csrf_ok(context(request), request.cookies.get(ws.CSRF_COOKIE), fields.get(ws.CSRF_FIELD)):
        return None
    return fields


def forbidden(request: Request) -> HTMLResponse:
    return html(request, pages.message_page(
        "Form refused", "This form was not sent from a MedHive page (or it expired). Reload the page and try again.",
        nav=nav(request)), status=403)


def safe_next(value: str | None) -> str:
    # only a local path: no open redirect to another site
    return value if value and value.startswith("/") and not value.startswith("//") else "/account"


def set_session(request: Request, resp: Response, token: str) -> None:
    resp.set_cookie(ws.SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                    secure=ws.secure_cookies(request.url.scheme, request.url.hostname),
                    max_age=int(context(request).tokens.ttl.total_seconds()))
