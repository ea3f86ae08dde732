"""RFC 9457 problem details for the `/v1` API, with patient data kept out of every error.

Handlers are installed on the app for `AccountsError`, `HubError`, request validation and HTTP errors;
for paths outside `/v1` they hand over to whatever handler the app had before, so the rest of the server
keeps its own behaviour. Validation errors never echo the submitted values (FastAPI's default does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.accounts.errors import AccountsError
from hub.errors import HubError, InvalidInputError, UnknownTaskError, VersionNotFoundError

PREFIX = "/v1"
TYPE_BASE = "https://medhive.dev/problems/"
MEDIA = "application/problem+json"
log = logging.getLogger("medhive.api")

_HUB_STATUS = {UnknownTaskError: 404, VersionNotFoundError: 404, InvalidInputError: 422}
_HTTP_TITLES = {404: "Not found", 405: "Method not allowed", 401: "Authentication required", 403: "Forbidden"}


def problem(status: int, title: str, detail: str, kind: str, *, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA, headers=headers)


def _scalars(value: Any, known: frozenset[str] = frozenset()) -> Iterable[str]:
    """Every submitted value, and every key that is not one of the task's known field names."""
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k) not in known and len(str(k)) >= 3:
                yield str(k)
            yield from _scalars(v, known)
    elif isinstance(value, (list, tuple)):
        for v in value[:10_000]:
            yield from _scalars(v, known)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        # values of one or two characters ("1", "12") are too common to tell anything about a patient
        texts = {str(value).strip(), f"{value:g}" if isinstance(value, float) else ""}
        yield from (t for t in texts if len(t) >= 3)


def redact(message: str, inputs: Any = None, known: Iterable[str] = ()) -> str:
    """A task's input error without the submitted values, still naming the field and the rule: quoted
    values and `= number` are dropped, and any remaining submitted value or unknown key is replaced by
    "[value]" (whole tokens only, so the valid range in the message stays readable)."""
    message = re.sub(r",? got .*$", "", message)
    message = re.sub(r"\s=\s[-+]?[\d.]+(e[-+]?\d+)?", "", message, flags=re.I)
    if inputs is None:
        return message
    for text in sorted(set(_scalars(inputs, frozenset(known))), key=len, reverse=True):
        message = re.sub(rf"(?<![\w.]){re.escape(text)}(?![\w.])", "[value]", message)
        if not re.fullmatch(r"[-+\d.e]+", text):  # a word inside a longer token: still never echoed
            message = message.replace(text, "[value]")
    return message


_TITLES = {UnknownTaskError: "Unknown task", VersionNotFoundError: "Model version not found",
           InvalidInputError: "Invalid input"}


def title_of(exc: Exception) -> str:
    """A problem title in words: known hub errors by name, others from the class name ("FooBarError" -> "Foo bar")."""
    for cls, title in _TITLES.items():
        if isinstance(exc, cls):
            return title
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(exc).__name__.removesuffix("Error")).strip().lower()
    return (words[:1].upper() + words[1:]) or "Error"


def _is_v1(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


def install(app: FastAPI) -> None:
    """Register the /v1 problem handlers, delegating other paths to the app's previous handlers."""
    before = dict(app.exception_handlers)

    async def accounts_error(request: Request, exc: AccountsError) -> JSONResponse:
        headers = dict(exc.headers)
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="medhive"'}
        return problem(exc.status, exc.title, exc.message, exc.kind, instance=request.url.path, headers=headers,
                       **exc.extra)

    async def hub_error(request: Request, exc: HubError) -> JSONResponse:
        if not _is_v1(request) and HubError in before:
            return await before[HubError](request, exc)
        status = next((s for cls, s in _HUB_STATUS.items() if isinstance(exc, cls)), 400)
        detail = redact(exc.message, getattr(request.state, "inputs", None))
        return problem(status, title_of(exc), detail, exc.kind, instance=request.url.path)

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
        return problem(exc.status_code, title, detail, "http-" + str(exc.status_code), instance=request.url.path,
                       headers=getattr(exc, "headers", None))

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
