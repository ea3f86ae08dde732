"""Admin routes: promotion and rollback (audited), tiers, audit log, billing, revenue share, enrollment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import torch
from sqlalchemy import update

from hub.accounts import users
from hub.accounts.models import AuditEntry, EnrollmentToken
from hub.models import get_task
from hub.registry import Lineage
from tests.hub.api.conftest import as_role, auth, bc_case, signup_login

PREDICT = "/v1/models/breast_cancer/predict"


def _publish_candidate(app) -> str:
    torch.manual_seed(1)
    net = get_task("breast_cancer").build_network()
    info = app.state.medhive_api.registry.publish(
        "breast_cancer", net, metrics={"accuracy": 0.5, "roc_auc": 0.5}, data={"dataset": "test"},
        lineage=Lineage(source="federated", hospitals=2, samples=400), alias="candidate")
    return info.version


def test_promote_rollback_revenue_share_and_audit(client, store, app):
    admin = auth(as_role(client, store, "admin"))
    version = _publish_candidate(app)
    with store.transaction() as s:
        h1 = users.create_org(s, name="Hospital North", kind="hospital")
        h2 = users.create_org(s, name="Hospital South", kind="hospital")
    for org, samples in ((h1, 300), (h2, 100)):
        r = client.post("/v1/admin/contributions", headers=admin,
                        json={"org_id": str(org.id), "task": "breast_cancer", "model_version": version, "samples": samples})
        assert r.status_code == 201
    r = client.post("/v1/admin/models/breast_cancer/promote", json={"version": version}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == version and r.json()["previous"] == "v1.0"

    ent = signup_login(client)
    tier = client.put(f"/v1/admin/accounts/{ent['_org_id']}/tier", headers=admin,
                      json={"tier": "enterprise", "price_micros": 1000, "rate_limit_per_minute": 50})
    assert tier.status_code == 200 and tier.json()["tier"] == "enterprise"
    served = client.post(PREDICT, json={"inputs": [bc_case()] * 4}, headers=auth(ent)).json()
    assert served["model_version"] == version
    back = client.post("/v1/admin/models/breast_cancer/rollback", headers=admin)
    assert back.status_code == 200 and back.json()["version"] == "v1.0"
    assert client.post(PREDICT, json={"inputs": bc_case()}, headers=auth(ent)).json()["model_version"] == "v1.0"

    period = datetime.now(UTC).strftime("%Y-%m")
    bill = client.get(f"/v1/admin/billing?period={period}", headers=admin).json()
    assert bill["total_micros"] == 5000
    share = client.get(f"/v1/admin/revenue-share?period={period}", headers=admin).json()
    assert {h["organization"]: h["amount_micros"] for h in share["hospitals"]} == {"Hospital North": 3000,
                                                                                   "Hospital South": 1000}
    assert share["unattributed_micros"] == 1000
    accounts = {a["id"]: a for a in client.get("/v1/admin/accounts", headers=admin).json()}
    assert accounts[ent["_org_id"]]["usage"]["used"] == 5

    log = client.get("/v1/admin/audit?limit=1000", headers=admin).json()
    assert log["verification"]["ok"] is True
    actions = [e["action"] for e in log["entries"]]
    for needed in ("model.promote", "model.rollback", "predict", "auth.login", "org.tier", "contribution.record"):
        assert needed in actions, needed
    # tampering shows in the admin view
    with store.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.action == "model.promote").values(actor="someone else"))
    assert client.get("/v1/admin/audit", headers=admin).json()["verification"]["ok"] is False


def test_enrollment_over_http(client, store):
    admin = auth(as_role(client, store, "admin"))
    with store.transaction() as s:
        org = users.create_org(s, name="Clinic East", kind="hospital")
    made = client.post("/v1/admin/enrollment-tokens", json={"org_id": str(org.id), "valid_hours": 1}, headers=admin)
    assert made.status_code == 201
    token = made.json()["token"]
    first = client.post("/v1/nodes/enroll", json={"token": token, "node_name": "east-1"})
    assert first.status_code == 201 and first.json()["org_id"] == str(org.id)
    again = client.post("/v1/nodes/enroll", json={"token": token, "node_name": "east-2"})
    assert again.status_code == 410
    stale = client.post("/v1/admin/enrollment-tokens", json={"org_id": str(org.id)}, headers=admin).json()
    with store.transaction() as s:
        s.execute(update(EnrollmentToken).where(EnrollmentToken.id == uuid.UUID(stale["token_id"]))
                  .values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    expired = client.post("/v1/nodes/enroll", json={"token": stale["token"], "node_name": "east-3"})
    assert expired.status_code == 410 and "expired" in expired.json()["detail"]
    assert client.post("/v1/nodes/enroll", json={"token": "mhe_nope", "node_name": "x"}).status_code == 401
    log = client.get("/v1/admin/audit?action=node.enroll", headers=admin).json()
    assert len(log["entries"]) == 1 and token not in str(log)


def test_consents_over_http(client, store):
    hospital = auth(as_role(client, store, "data_provider"))
    r = client.post("/v1/consents", headers=hospital,
                    json={"subject_ref": "cohort-7", "scope": "federated_training", "status": "granted"})
    assert r.status_code == 201
    client.post("/v1/consents", headers=hospital,
                json={"subject_ref": "cohort-7", "scope": "federated_training", "status": "withdrawn"})
    assert [c["status"] for c in client.get("/v1/consents", headers=hospital).json()] == ["withdrawn"]
    assert len(client.get("/v1/consents?history=true", headers=hospital).json()) == 2
    admin = auth(as_role(client, store, "admin"))
    assert "consent.change" in [e["action"] for e in client.get("/v1/admin/audit", headers=admin).json()["entries"]]


def test_admin_page_is_static_and_registered(client, app):
    page = client.get("/admin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/admin/accounts" in page.text and "verification" in page.text and "innerHTML" not in page.text
    assert {"label": "Admin", "href": "/admin"} in app.state.portal_nav
