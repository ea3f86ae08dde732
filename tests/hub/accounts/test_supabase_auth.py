"""Supabase Auth through the real `supabase` client, against a local server speaking GoTrue's routes."""

from __future__ import annotations

import uuid

import pytest

from hub.accounts.errors import Conflict, InvalidCredentials, UpstreamAuthError, ValidationFailed
from hub.accounts.supabase_auth import SupabaseAuth
from tests.hub.accounts.gotrue_server import LocalServer, build_gotrue

KEY = "test-anon-key"
PW = "correct horse battery staple"


@pytest.fixture
def gotrue():
    app, state = build_gotrue(KEY)
    with LocalServer(app) as url:
        yield url, state


def test_sign_up_and_sign_in(gotrue):
    url, state = gotrue
    auth = SupabaseAuth(url, KEY)
    uid = auth.sign_up("Nurse@Clinic.example", PW, data={"account_type": "user"})
    assert isinstance(uid, uuid.UUID) and state["users"]["nurse@clinic.example"]["id"] == str(uid)
    assert auth.sign_in("nurse@clinic.example", PW) == uid
    kind, headers, query, body = state["requests"][-1]
    assert kind == "token" and query == {"grant_type": "password"} and headers["apikey"] == KEY
    assert body["email"] == "nurse@clinic.example" and body["password"] == PW
    assert state["requests"][0][3]["data"] == {"account_type": "user"}
    with pytest.raises(InvalidCredentials):
        auth.sign_in("nurse@clinic.example", PW + "x")
    with pytest.raises(Conflict):
        auth.sign_up("nurse@clinic.example", PW)
    with pytest.raises(ValidationFailed):
        auth.sign_up("short@clinic.example", "abc")


def test_wrong_key_and_unreachable(gotrue):
    url, _ = gotrue
    with pytest.raises(UpstreamAuthError):
        SupabaseAuth(url, "not-the-key").sign_in("x@y.example", PW)
    with pytest.raises(UpstreamAuthError):
        SupabaseAuth("http://127.0.0.1:9", KEY).sign_in("x@y.example", PW)


def test_api_in_supabase_mode(gotrue, tmp_path, monkeypatch, medhive_home):
    """With SUPABASE_URL and a key set, /v1 sign-up and login go through Supabase Auth."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from hub.accounts.models import User
    from medhive.mounts.api import mount
    from medhive.settings import get_settings

    url, state = gotrue
    monkeypatch.setenv("SUPABASE_URL", url)
    monkeypatch.setenv("SUPABASE_ANON_KEY", KEY)
    settings = get_settings()
    app = FastAPI()
    mount(app, settings=settings, registry=None)
    client = TestClient(app)
    r = client.post("/v1/auth/signup", json={"email": "dev@acme.example", "password": PW, "account_type": "enterprise",
                                             "organization": "Acme"})
    assert r.status_code == 201, r.text
    assert r.json()["user_id"] == state["users"]["dev@acme.example"]["id"]  # the Supabase user id
    with app.state.medhive_api.store.transaction() as s:
        assert s.get(User, uuid.UUID(r.json()["user_id"])).password_hash is None  # the password stays in Supabase
    token = client.post("/v1/auth/login", json={"email": "dev@acme.example", "password": PW})
    assert token.status_code == 200
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}).json()
    assert me["organization"] == "Acme" and me["role"] == "enterprise"
    assert client.post("/v1/auth/login", json={"email": "dev@acme.example", "password": "wrong password!"}).status_code == 401
    assert client.post("/v1/auth/signup", json={"email": "dev@acme.example", "password": PW}).status_code == 409
    # a user created in Supabase directly gets a personal account at first login
    state["users"]["walk-in@example.org"] = {"id": str(uuid.uuid4()), "email": "walk-in@example.org", "password": PW,
                                             "data": {}, "created_at": "2026-11-23T00:00:00+00:00"}
    walk_in = client.post("/v1/auth/login", json={"email": "walk-in@example.org", "password": PW})
    assert walk_in.status_code == 200 and walk_in.json()["role"] == "user"
    app.state.medhive_api.store.dispose()
