"""Security headers on every response of the server, a Content-Security-Policy on every HTML page.

Pure ASGI (headers added to `http.response.start`, streaming responses untouched). The policy is the
narrowest one the portal, /admin, the self-hosted API docs and the Gradio Spaces run under, as checked
in headless Chromium (tests/medhive/test_portal_browser.py): scripts and styles from this origin only;
Gradio's front end needs inline styles, inline scripts (its config is an inline script) and `eval`-free
blob workers; images and audio may be data:/blob: URLs (uploads, plots); connections go back to this
origin (fetch, server-sent events, websockets). No page may be framed by another site.
"""

from __future__ import annotations

from typing import Any

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "worker-src 'self' blob:",
    "frame-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'self'",
))

ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
)


class SecurityHeaders:
    """ASGI middleware: nosniff, Referrer-Policy and frame protection everywhere; CSP on HTML."""

    def __init__(self, app: Any, *, csp: str = CSP) -> None:
        self.app = app
        self.csp = csp.encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in ALWAYS if k not in present]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", self.csp))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
