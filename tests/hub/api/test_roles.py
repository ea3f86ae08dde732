"""Every role against every /v1 route, from the app's own route table: no access beyond the role.

The expected table is written here, independently of the routes' `require(...)`, and a route missing
from it fails the test, so a new route cannot ship without a decision on who may call it.
"""

from __future__ import annotations

import uuid

import pytest

from tests.hub.api.conftest import as_role, auth, signup_login

ROLES = ("admin", "data_provider", "clinician", "user", "enterprise")
ALL, PUBLIC = set(ROLES), "public"
KEYS = {"admin", "data_provider", "clinician", "enterprise"}
HOSPITAL = {"data_provider", "admin"}
ADMIN = {"admin"}

EXPECTED: dict[tuple[str, str], object] = {
    ("POST", "/v1/auth/signup"): PUBLIC,
    ("POST", "/v1/auth/login"): PUBLIC,
    ("POST", "/v1/nodes/enroll"): PUBLIC,
    ("GET", "/v1/me"): ALL,
    ("POST", "/v1/keys"): KEYS,
    ("GET", "/v1/keys"): KEYS,
    ("DELETE", "/v1/keys/{key_id}"): KEYS,
    ("GET", "/v1/models"): ALL,
    ("GET", "/v1/models/{task}"): ALL,
    ("POST", "/v1/models/{task}/predict"): ALL,
    ("GET", "/v1/screen/form"): ALL,
    ("POST", "/v1/screen"): ALL,
    ("GET", "/v1/usage"): ALL,
    ("GET", "/v1/contributions"): HOSPITAL,
    ("GET", "/v1/consents"): HOSPITAL,
    ("POST", "/v1/consents"): {"data_provider"},
    ("GET", "/v1/predictions"): ALL,
    ("GET", "/v1/predictions/{prediction_id}"): ALL,
    ("GET", "/v1/predictions/{prediction_id}/report.pdf"): ALL,
    ("DELETE", "/v1/predictions/{prediction_id}"): ALL,
    ("PUT", "/v1/me/preferences"): ALL,
    ("POST", "/v1/me/upgrade"): ALL,
    ("POST", "/v1/admin/models/{task}/promote"): ADMIN,
    ("POST", "/v1/admin/models/{task}/rollback"): ADMIN,
    ("GET", "/v1/admin/accounts"): ADMIN,
    ("PUT", "/v1/admin/accounts/{org_id}/tier"): ADMIN,
    ("PUT", "/v1/admin/users/{user_id}/role"): ADMIN,
    ("GET", "/v1/admin/audit"): ADMIN,
    ("GET", "/v1/admin/billing"): ADMIN,
    ("GET", "/v1/admin/revenue-share"): ADMIN,
    ("POST", "/v1/admin/contributions"): ADMIN,
    ("POST", "/v1/admin/enrollment-tokens"): ADMIN,
    ("POST", "/v1/onboarding/requests"): PUBLIC,
    ("GET", "/v1/admin/onboarding/requests"): ADMIN,
    ("POST", "/v1/admin/onboarding/requests/{request_id}/approve"): ADMIN,
    ("POST", "/v1/admin/onboarding/requests/{request_id}/reject"): ADMIN,
    ("GET", "/v1/admin/federation/jobs"): ADMIN,
    ("POST", "/v1/admin/federation/jobs"): ADMIN,
    ("POST", "/v1/admin/federation/jobs/{job_id}/cancel"): ADMIN,
    ("GET", "/v1/federation/nodes"): HOSPITAL,
    ("GET", "/v1/hospital/summary"): {"data_provider"},
}


def route_table(app) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts

        routes = [(r.methods, r.path) for r in iter_route_contexts(app.routes)]
    except ImportError:  # FastAPI before included-router contexts
        routes = [(getattr(r, "methods", None), r.path) for r in app.routes if hasattr(r, "path")]
    return sorted({(m, p) for methods, p in routes for m in (methods or ()) if m != "HEAD"})


def _url(path: str) -> str:
    return (path.replace("{task}", "breast_cancer").replace("{key_id}", str(uuid.uuid4()))
            .replace("{org_id}", str(uuid.uuid4())).replace("{user_id}", str(uuid.uuid4()))
            .replace("{request_id}", str(uuid.uuid4())).replace("{job_id}", str(uuid.uuid4()))
            .replace("{prediction_id}", str(uuid.uuid4())))


def test_every_v1_route_is_in_the_table(app):
    served = {r for r in route_table(app) if r[1].startswith("/v1")}
    assert served == set(EXPECTED), f"unlisted: {served - set(EXPECTED)}, stale: {set(EXPECTED) - served}"


@pytest.mark.slow
def test_role_matrix(client, store, app):
    headers = {role: auth(as_role(client, store, role)) for role in ROLES}
    checked = 0
    for method, path in route_table(app):
        if not path.startswith("/v1"):
            continue
        allowed = EXPECTED[(method, path)]
        anonymous = client.request(method, _url(path), json={})
        if allowed == PUBLIC:
            assert anonymous.status_code not in (401, 403), (method, path)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        for role in ROLES:
            r = client.request(method, _url(path), json={}, headers=headers[role])
            if role in allowed:
                assert r.status_code not in (401, 403), (role, method, path, r.status_code, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)
                assert r.json()["type"].endswith("/forbidden")
            checked += 1
    assert checked == 5 * sum(1 for v in EXPECTED.values() if v != PUBLIC)


def test_members_see_only_their_organization(client):
    a, b = signup_login(client), signup_login(client)
    key_b = client.post("/v1/keys", json={"name": "b"}, headers=auth(b)).json()
    assert client.get("/v1/keys", headers=auth(a)).json() == []
    assert client.delete(f"/v1/keys/{key_b['id']}", headers=auth(a)).status_code == 404
    assert client.get("/v1/keys", headers=auth(b)).json()[0]["status"] == "active"
    assert client.get("/v1/me", headers={"X-API-Key": key_b["key"]}).json()["org_id"] == b["_org_id"]
