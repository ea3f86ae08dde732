"""The enterprise journey over HTTP: sign-up, login, API key, predictions, usage; keys and tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from hub.accounts.models import ApiKey, UsageEvent
from tests.hub.api.conftest import PW, auth, bc_case, signup_login


def test_enterprise_journey(client, store):
    h = signup_login(client, email="ml@acme.example", organization="Acme")
    me = client.get("/v1/me", headers=auth(h)).json()
    assert me["role"] == "enterprise" and me["tier"] == "pay_per_use" and me["organization"] == "Acme"
    r = client.post("/v1/keys", json={"name": "backend", "expires_in_days": 30}, headers=auth(h))
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith(created["prefix"] + "_") and created["status"] == "active"
    listed = client.get("/v1/keys", headers=auth(h)).json()
    assert [k["prefix"] for k in listed] == [created["prefix"]] and key not in str(listed)

    single = client.post("/v1/models/breast_cancer/predict", json={"inputs": bc_case()}, headers={"X-API-Key": key})
    assert single.status_code == 200, single.text
    body = single.json()
    assert body["model_version"] == "v1.0" and len(body["predictions"]) == 1
    probs = body["predictions"][0]["probabilities"]
    assert set(probs) == {"benign", "malignant"} and abs(sum(probs.values()) - 1) < 1e-4
    batch = client.post("/v1/models/breast_cancer/predict", json={"inputs": [bc_case()] * 3},
                        headers={"Authorization": f"Bearer {key}"})
    assert batch.status_code == 200 and len(batch.json()["predictions"]) == 3
    assert batch.headers["X-RateLimit-Limit"] == "120" and batch.headers["X-RateLimit-Remaining"] == "116"
    assert batch.headers["RateLimit-Policy"] == '"minute";q=120;w=60'

    usage = client.get("/v1/usage", headers=auth(h)).json()
    assert usage["predictions"] == 4 and usage["amount_micros"] == 4 * 2000
    assert usage["limits"]["tier"] == "pay_per_use" and usage["by_model"][0]["model_version"] == "v1.0"
    with store.transaction() as s:
        events = list(s.execute(select(UsageEvent)).scalars())
        assert sorted(e.units for e in events) == [1, 3] and all(e.api_key_id for e in events)

    revoked = client.delete(f"/v1/keys/{created['id']}", headers=auth(h))
    assert revoked.json()["status"] == "revoked"
    after = client.post("/v1/models/breast_cancer/predict", json={"inputs": bc_case()}, headers={"X-API-Key": key})
    assert after.status_code == 401 and "revoked" in after.json()["detail"]


def test_login_failures_and_token_expiry(client, app):
    h = signup_login(client, email="pat@example.org", account_type="user")
    bad = client.post("/v1/auth/login", json={"email": "pat@example.org", "password": PW + "!"})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["type"].endswith("/invalid-credentials")
    dup = client.post("/v1/auth/signup", json={"email": "PAT@example.org", "password": PW})
    assert dup.status_code == 409
    tokens = app.state.medhive_api.tokens
    old, _ = tokens.issue(uuid.UUID(h["_user_id"]), uuid.UUID(h["_org_id"]), "user",
                          now=datetime.now(UTC) - timedelta(hours=3))
    r = client.get("/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 401 and r.json()["type"].endswith("/token-expired")
    assert client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert client.get("/v1/me").headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_api_key_refused(client, store):
    h = signup_login(client)
    created = client.post("/v1/keys", json={"expires_in_days": 1}, headers=auth(h)).json()
    ok = client.get("/v1/usage", headers={"X-API-Key": created["key"]})
    assert ok.status_code == 200
    with store.transaction() as s:
        s.execute(update(ApiKey).where(ApiKey.id == uuid.UUID(created["id"]))
                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    r = client.get("/v1/usage", headers={"X-API-Key": created["key"]})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert client.get("/v1/keys", headers=auth(h)).json()[0]["status"] == "expired"


def test_role_change_applies_to_live_tokens(client, store):
    h = signup_login(client, account_type="user")
    assert client.get("/v1/contributions", headers=auth(h)).status_code == 403
    from hub.accounts import users

    with store.transaction() as s:
        users.set_role(s, uuid.UUID(h["_user_id"]), "data_provider", actor="test")
    assert client.get("/v1/contributions", headers=auth(h)).status_code == 200


def test_models_routes(client):
    h = signup_login(client, account_type="user")
    models = {m["task"]: m for m in client.get("/v1/models", headers=auth(h)).json()}
    assert models["breast_cancer"]["production"] == "v1.0"
    detail = client.get("/v1/models/breast_cancer", headers=auth(h)).json()
    assert detail["version_details"][0]["version"] == "v1.0" and "v1.0" in detail["card"]
    assert len(detail["input_fields"]) == 30
    missing = client.get("/v1/models/cardiology", headers=auth(h))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    pinned = client.post("/v1/models/breast_cancer/predict", json={"inputs": bc_case(), "version": "v9.9"},
                         headers=auth(h))
    assert pinned.status_code == 404
