"""RFC 9457 problem details for the `/v1` API, with patient data kept out of every error.

Handlers are installed on the app for `AccountsError`, `HubError`, request validation and HTTP errors.
Hub errors map to one status everywhere on the server (`hub_status`: invalid input 422, too large 413,
a version failing verification 503 with its real reason); request validation and HTTP errors outside
`/v1` keep FastAPI's own format (the Gradio apps expect it). Validation errors never echo the
submitted values (FastAPI's default does).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.accounts.errors import AccountsError
from hub.errors import (
    DataNotFoundError,
    HubError,
    InputTooLarge,
    InvalidInputError,
    ModelIntegrityError,
    RegistryError,
    UnknownTaskError,
    VersionNotFoundError,
)
from hub.redact import redact

PREFIX = "/v1"
TYPE_BASE = "https://medhive.dev/problems/"
MEDIA = "application/problem+json"
log = logging.getLogger("medhive.api")

# the one mapping from hub errors to HTTP problems, for every path of the server (first match wins)
_HUB_PROBLEMS: tuple[tuple[type[HubError], int, str], ...] = (
    (UnknownTaskError, 404, "Unknown task"),
    (VersionNotFoundError, 404, "Model version not found"),
    (DataNotFoundError, 404, "Not found"),
    (InputTooLarge, 413, "Input too large"),
    (InvalidInputError, 422, "Invalid input"),
    # a stored version that fails verification is the server's fault, not the caller's: 503 for that task
    (ModelIntegrityError, 503, "Model version failed verification"),
    (RegistryError, 422, "Registry request refused"),
    (HubError, 422, "Request refused"),
)
_HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 401: "Authentication required", 403: "Forbidden",
                413: "Request body too large"}


def hub_status(exc: HubError) -> tuple[int, str]:
    """(HTTP status, problem title) of a hub error."""
    return next((status, title) for cls, status, title in _HUB_PROBLEMS if isinstance(exc, cls))


def problem(status: int, title: str, detail: str, kind: str, *, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def hub_problem(request: Request, exc: HubError) -> JSONResponse:
    """The problem+json answer to a hub error on any path of the server."""
    status, title = hub_status(exc)
    if isinstance(exc, ModelIntegrityError):
        # the registry's own words (which file, which check): they carry no input, and hiding them
        # behind a generic line is what made a tampered version look like a bad request
        log.error("model integrity failure on %s: %s", request.url.path, exc.message)
        detail = exc.message
    else:
        detail = redact(exc.message, getattr(request.state, "inputs", None))
    return problem(status, title, detail, exc.kind, instance=request.url.path)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers on this path (Starlette names only the first route's)."""
    from starlette.routing import Match

    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def _is_v1(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def install(app: FastAPI) -> None:
    """Register the problem handlers (hub errors on every path; validation and HTTP errors under /v1)."""

    async def accounts_error(request: Request, exc: AccountsError) -> JSONResponse:
        headers = dict(exc.headers)
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="medhive"'}
        return problem(exc.status, exc.title, exc.message, exc.kind, instance=request.url.path, headers=headers,
                       **exc.extra)

    async def hub_error(request: Request, exc: HubError) -> JSONResponse:
        return hub_problem(request, exc)

    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if not _is_v1(request):
            return await request_validation_exception_handler(request, exc)
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))[:200],
                   "type": str(e.get("type", ""))} for e in exc.errors()[:20]]
        return problem(422, "Invalid request", "the request does not match the API schema", "validation-failed",
                       instance=request.url.path, errors=errors)

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if not _is_v1(request):
            return await http_exception_handler(request, exc)
        title = _HTTP_TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; the path may have several routes
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(exc.status_code, title, detail, "http-" + str(exc.status_code), instance=request.url.path,
                       headers=headers or None)

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        if not _is_v1(request):
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            return problem(500, "Internal error", "an unexpected error occurred", "internal-error")
        # /v1: one line, the exception's type only, since its message could quote a patient input
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred", "internal-error",
                       instance=request.url.path)

    app.add_exception_handler(AccountsError, accounts_error)
    app.add_exception_handler(HubError, hub_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
