"""A small local server speaking the GoTrue (Supabase Auth) routes the `supabase` client uses.

`POST /auth/v1/signup` and `POST /auth/v1/token?grant_type=password`, with GoTrue's response shapes
(a session with its user on success, `{"code", "message"}` errors under API version 2024-01-01) and
its check of the `apikey` header. It records every request so tests can check what the client sent.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

API_VERSION = {"X-Supabase-Api-Version": "2024-01-01"}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=API_VERSION)


def build_gotrue(anon_key: str) -> tuple[FastAPI, dict[str, Any]]:
    state: dict[str, Any] = {"users": {}, "requests": []}
    app = FastAPI()

    def user_json(u: dict[str, Any]) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        return {"id": u["id"], "aud": "authenticated", "role": "authenticated", "email": u["email"],
                "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": u["data"],
                "created_at": u["created_at"], "updated_at": now, "email_confirmed_at": u["created_at"],
                "identities": [], "is_anonymous": False}

    def session_json(u: dict[str, Any]) -> dict[str, Any]:
        return {"access_token": f"gotrue-{uuid.uuid4().hex}", "token_type": "bearer", "expires_in": 3600,
                "expires_at": int(time.time()) + 3600, "refresh_token": uuid.uuid4().hex[:12], "user": user_json(u)}

    @app.post("/auth/v1/signup")
    async def signup(request: Request) -> JSONResponse:
        body = await request.json()
        state["requests"].append(("signup", dict(request.headers), dict(request.query_params), body))
        if request.headers.get("apikey") != anon_key:
            return _error(401, "no_authorization", "Invalid API key")
        email, password = str(body.get("email", "")).lower(), body.get("password") or ""
        if len(password) < 6:
            return JSONResponse({"code": "weak_password", "message": "Password should be at least 6 characters.",
                                 "weak_password": {"reasons": ["length"]}}, status_code=422, headers=API_VERSION)
        if email in state["users"]:
            return _error(422, "user_already_exists", "User already registered")
        u = {"id": str(uuid.uuid4()), "email": email, "password": password, "data": body.get("data") or {},
             "created_at": datetime.now(UTC).isoformat()}
        state["users"][email] = u
        return JSONResponse(session_json(u), headers=API_VERSION)

    @app.post("/auth/v1/token")
    async def token(request: Request) -> JSONResponse:
        body = await request.json()
        state["requests"].append(("token", dict(request.headers), dict(request.query_params), body))
        if request.headers.get("apikey") != anon_key:
            return _error(401, "no_authorization", "Invalid API key")
        if request.query_params.get("grant_type") != "password":
            return _error(400, "validation_failed", "unsupported grant_type")
        u = state["users"].get(str(body.get("email", "")).lower())
        if u is None or u["password"] != body.get("password"):
            return _error(400, "invalid_credentials", "Invalid login credentials")
        return JSONResponse(session_json(u), headers=API_VERSION)

    return app, state


class LocalServer:
    """Runs an ASGI app with uvicorn on 127.0.0.1 in a thread: `with LocalServer(app) as base_url: ...`."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("local server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
