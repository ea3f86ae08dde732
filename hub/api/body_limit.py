"""A request body limit enforced on the ASGI stream, before JSON or multipart parsing.

Pure ASGI rather than a Starlette `BaseHTTPMiddleware` (which buffers) or a check in a route (which runs
after FastAPI has parsed the body): a declared `Content-Length` over the limit is answered 413 without
reading a byte of the body; a chunked body (no length declared) is read here up to the limit and cut
off there, so no more than the limit plus one chunk is ever held. The answer is an RFC 9457 problem.
"""

from __future__ import annotations

import json
from typing import Any

from hub.api.problems import MEDIA, TYPE_BASE

Scope = dict[str, Any]


def _problem(limit: int, path: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"type": TYPE_BASE + "request-too-large", "title": "Request body too large", "status": 413,
                       "detail": f"the request body is over the limit of {limit:,} bytes", "instance": path,
                       "limit_bytes": limit}).encode()
    headers = [(b"content-type", MEDIA.encode()), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    return headers, body


class BodyLimit:
    """ASGI middleware: at most `max_bytes` of request body per HTTP request."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, send: Any) -> None:
        headers, body = _problem(self.max_bytes, scope.get("path", ""))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False  # the server rejects a malformed Content-Length itself
            if too_big:
                await self._refuse(scope, send)
                return
        if declared is not None:
            await self.app(scope, receive, send)  # the server holds the body to its declared length
            return
        # chunked (no declared length): read at most the limit here, then hand the app what was read; the
        # app's own parsers would otherwise turn an error raised mid-stream into a 400 or a 500
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: the app sees that
                await self.app(scope, _once(message, receive), send)
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _once({"type": "http.request", "body": b"".join(chunks), "more_body": False}, receive),
                       send)


def _once(first: dict[str, Any], receive: Any) -> Any:
    """A `receive` that returns `first`, then defers to the server's."""
    pending = [first]

    async def replay() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return replay
