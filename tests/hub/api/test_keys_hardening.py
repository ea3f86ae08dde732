"""API keys an attacker holding one cannot multiply (issue 13, defect 4).

Before: a key could create keys, the child survived the parent's revocation, and keys created without an
expiry never expired.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from hub.accounts.models import ApiKey
from tests.hub.api.conftest import auth, bc_case, signup_login


def _key(client, h, **body) -> dict:
    r = client.post("/v1/keys", json={"name": "k", **body}, headers=auth(h))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_key_cannot_create_a_key(client):
    h = signup_login(client)
    parent = _key(client, h)
    for headers in ({"X-API-Key": parent["key"]}, {"Authorization": f"Bearer {parent['key']}"}):
        r = client.post("/v1/keys", json={"name": "child"}, headers=headers)
        assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
        assert "sign in" in r.json()["detail"]
    assert len(client.get("/v1/keys", headers=auth(h)).json()) == 1


def test_revoking_a_key_revokes_what_it_created(client, store):
    h = signup_login(client)
    parent, other = _key(client, h), _key(client, h)
    child, grandchild = _key(client, h), _key(client, h)
    with store.transaction() as s:  # as releases before 0003 let keys create keys (the migration's backfill)
        s.get(ApiKey, uuid.UUID(child["id"])).created_by_key_id = uuid.UUID(parent["id"])
        s.get(ApiKey, uuid.UUID(grandchild["id"])).created_by_key_id = uuid.UUID(child["id"])
    url = "/v1/models/breast_cancer/predict"
    assert client.post(url, json={"inputs": bc_case()}, headers={"X-API-Key": grandchild["key"]}).status_code == 200
    assert client.delete(f"/v1/keys/{parent['id']}", headers=auth(h)).status_code == 200
    for dead in (parent, child, grandchild):
        r = client.post(url, json={"inputs": bc_case()}, headers={"X-API-Key": dead["key"]})
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert client.post(url, json={"inputs": bc_case()}, headers={"X-API-Key": other["key"]}).status_code == 200
    status = {k["id"]: k["status"] for k in client.get("/v1/keys", headers=auth(h)).json()}
    assert status == {parent["id"]: "revoked", child["id"]: "revoked", grandchild["id"]: "revoked",
                      other["id"]: "active"}


def test_every_key_expires_by_default_and_shows_last_use(client):
    h = signup_login(client)  # pay_per_use
    key = _key(client, h)
    expires = datetime.fromisoformat(key["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=365))) < timedelta(minutes=5)
    assert key["last_used_at"] is None
    assert client.post("/v1/models/breast_cancer/predict", json={"inputs": bc_case()},
                       headers={"X-API-Key": key["key"]}).status_code == 200
    listed = client.get("/v1/keys", headers=auth(h)).json()[0]
    assert datetime.fromisoformat(listed["last_used_at"]) > datetime.now(UTC) - timedelta(minutes=5)
    explicit = _key(client, h, expires_in_days=3)
    assert datetime.fromisoformat(explicit["expires_at"]) < datetime.now(UTC) + timedelta(days=3, minutes=5)


def test_the_default_expiry_per_tier_is_a_setting(make_app, monkeypatch):
    monkeypatch.setenv("MEDHIVE_KEY_EXPIRY_DAYS", '{"pay_per_use": 7}')
    client = TestClient(make_app())
    key = _key(client, signup_login(client))
    assert datetime.fromisoformat(key["expires_at"]) < datetime.now(UTC) + timedelta(days=7, minutes=5)
