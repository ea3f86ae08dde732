"""Browser sessions for the portal and the Spaces: an HTTP-only session cookie and CSRF tokens.

The session cookie holds the same short-lived access token the API issues (HS256 JWT), so a page and
the API agree on who is signed in and a role change or deactivation applies at once (the principal is
read fresh from the database on every request). It is HttpOnly, SameSite=Lax and Secure; only plain
http on a loopback address (development, tests) goes without Secure, since a browser would drop it.

CSRF: the signed double-submit cookie pattern (OWASP): a random `medhive_csrf` cookie, and in every form
a hidden field holding the HMAC of that cookie under the server's secret. A cross-site page can neither
read the cookie nor compute the MAC, so its forged post is refused.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from hub.accounts.errors import AccountsError
from hub.accounts.users import Principal, principal_from_claims
from hub.api.deps import ApiContext

SESSION_COOKIE = "medhive_session"
CSRF_COOKIE = "medhive_csrf"
CSRF_FIELD = "csrf"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def secure_cookies(scheme: str, host: str | None) -> bool:
    return scheme == "https" or (host or "") not in _LOOPBACK


def principal_from_session(ctx: ApiContext, token: str | None) -> Principal | None:
    """The signed-in user of a session cookie, or None (absent, expired, deactivated)."""
    if not token:
        return None
    try:
        with ctx.store.transaction() as s:
            return principal_from_claims(s, ctx.tokens.verify(token))
    except AccountsError:
        return None


def csrf_cookie(existing: str | None) -> str:
    """The browser's CSRF cookie value (kept when it looks like ours, else a new one)."""
    return existing if existing and len(existing) == 43 else secrets.token_urlsafe(32)


def csrf_token(ctx: ApiContext, cookie: str) -> str:
    return ctx.tokens.mac("csrf:" + cookie)


def csrf_ok(ctx: ApiContext, cookie: str | None, field: Any) -> bool:
    if not cookie or not isinstance(field, str) or not field:
        return False
    return hmac.compare_digest(csrf_token(ctx, cookie), field)
