"""Federation jobs, the service row, node keys, onboarding requests and the weighted revenue share
(SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from hub.accounts import audit, billing, federation, governance, metering, onboarding, users
from hub.accounts.errors import Conflict, Gone, ValidationFailed
from hub.accounts.models import FederationService, Node

TASKS = ["breast_cancer", "ecg", "glaucoma", "pneumonia"]


def _ssh(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def test_job_lifecycle_one_active_job_per_task_and_orphans(store):
    with store.transaction() as s:
        job = federation.create_job(s, task="breast_cancer", aggregator="a1", policy={"rounds": 2, "min_hospitals": 3},
                                    trigger="scheduler", actor="test")
        with pytest.raises(Conflict):
            federation.create_job(s, task="breast_cancer", aggregator="a1", policy={}, trigger="x", actor="test")
        other = federation.create_job(s, task="ecg", aggregator="", policy={}, trigger="admin", actor="test")
        federation.update_job(s, job.id, status="running", rounds_done=1, hospitals=3)
        federation.announce_service(s, instance="a1", fleet_address="127.0.0.1:9092", ca_pem="CA")
        assert federation.still_running(s, job.id)
    with store.transaction() as s:
        row = s.get(FederationService, 1)
        row.heartbeat_at = datetime.now(UTC) - timedelta(seconds=federation.SERVICE_STALE_S + 5)
    with store.transaction() as s:
        assert not federation.still_running(s, job.id)  # the owning service stopped beating
        federation.heartbeat(s, instance="a1")
        assert federation.still_running(s, job.id)
        # a new instance fails what the old one left running, not what an admin queued for anyone
        failed = federation.fail_orphans(s, aggregator="a2")
        assert [j.id for j in failed] == [job.id]
        assert not federation.still_running(s, job.id)
        view = federation.job_view(federation.get_job(s, job.id))
        assert view["status"] == "failed" and "nothing was published" in view["reason"]
        assert view["rounds_done"] == 1 and view["started_at"] and view["finished_at"]
        # a finished job is not rewritten by late progress
        federation.update_job(s, job.id, status="running", rounds_done=2)
        assert federation.get_job(s, job.id).status == "failed"
        assert federation.get_job(s, other.id).status == "queued"
        federation.request_cancel(s, other.id, actor="admin")
        assert federation.get_job(s, other.id).cancel_requested
        with pytest.raises(Conflict):
            federation.request_cancel(s, job.id, actor="admin")
        assert federation.last_finished_at(s, "breast_cancer") is not None
        assert [j["task"] for j in federation.list_jobs(s)] == ["ecg", "breast_cancer"]
        assert audit.verify(s).ok


def test_enrollment_stores_a_valid_node_key_once(store):
    with store.transaction() as s:
        org = users.create_org(s, name="St. Mary", kind="hospital")
        tokens = [governance.create_enrollment_token(s, org_id=org.id, actor="test")[1] for _ in range(4)]
    key = ec.generate_private_key(ec.SECP384R1())
    with store.transaction() as s:
        node = governance.enroll(s, token=tokens[0], node_name="ward-1", public_key=_ssh(key) + "  \n")
        assert node.public_key == _ssh(key)
        assert [n.id for n in federation.nodes_to_register(s)] == [node.id]
    for bad in ("ssh-rsa AAAA", "ssh-dss AAAAB3NzaC1kc3M=", _ssh(ed25519.Ed25519PrivateKey.generate()), "x" * 2000):
        with pytest.raises(ValidationFailed), store.transaction() as s:
            governance.enroll(s, token=tokens[1], node_name="ward-2", public_key=bad)
    with pytest.raises(Conflict), store.transaction() as s:
        governance.enroll(s, token=tokens[1], node_name="ward-2", public_key=_ssh(key))
    with store.transaction() as s:  # the refused attempts did not spend the token
        governance.enroll(s, token=tokens[1], node_name="ward-2", public_key=_ssh(ec.generate_private_key(ec.SECP256R1())))
    with store.transaction() as s:
        n = s.get(Node, node.id)
        n.flower_node_id, n.status = "123", "online"
        federation.revoke_node(s, node.id, actor="admin")
        assert [x.id for x in federation.nodes_to_unregister(s)] == [node.id]
        assert node.id not in [x.id for x in federation.registered_nodes(s)]
        listed = {x["name"]: x for x in federation.list_nodes(s, org.id)}
        assert listed["ward-1"]["revoked_at"] and listed["ward-1"]["organization"] == "St. Mary"


def test_onboarding_request_approval_creates_org_staff_user_and_token(store):
    with store.transaction() as s:
        for bad in ({"contact_email": "not-an-email"}, {"tasks": ["astrology"]}, {"tasks": []}, {"organization": "x"}):
            args = {"organization": "Riverside General", "contact_email": "it@riverside.example",
                    "tasks": ["breast_cancer"], **bad}
            with pytest.raises(ValidationFailed):
                onboarding.file_request(s, known_tasks=TASKS, **args)
        req = onboarding.file_request(s, organization="  Riverside   General ", contact_email="it@riverside.example",
                                      tasks=["ecg", "breast_cancer", "ecg"], known_tasks=TASKS)
        assert onboarding.list_requests(s, status="pending")[0]["tasks"] == ["breast_cancer", "ecg"]
    with store.transaction() as s:
        out = onboarding.approve(s, req.id, actor="admin")
    assert out["organization"] == "Riverside General" and out["email"] == "it@riverside.example"
    with store.transaction() as s:
        user = users.check_password(s, "it@riverside.example", out["initial_password"])
        assert user.role == "data_provider" and str(user.org_id) == out["org_id"]
        node = governance.enroll(s, token=out["token"], node_name="riverside-1")
        assert str(node.org_id) == out["org_id"]
        assert onboarding.list_requests(s)[0]["status"] == "approved"
    with pytest.raises(Conflict), store.transaction() as s:
        onboarding.approve(s, req.id, actor="admin")
    with pytest.raises(Gone), store.transaction() as s:
        governance.enroll(s, token=out["token"], node_name="riverside-2")
    with store.transaction() as s:
        dup = onboarding.file_request(s, organization="Riverside General", contact_email="b@riverside.example",
                                      tasks=["ecg"], known_tasks=TASKS)
    with pytest.raises(Conflict), store.transaction() as s:
        onboarding.approve(s, dup.id, actor="admin")
    with store.transaction() as s:
        onboarding.reject(s, dup.id, actor="admin")
        assert {r["status"] for r in onboarding.list_requests(s)} == {"approved", "rejected"}


def test_revenue_share_weights_samples_by_rounds_and_keeps_unattributed_apart(store):
    now = datetime(2026, 11, 15, 12, tzinfo=UTC)
    with store.transaction() as s:
        ent = users.sign_up(s, email="buyer@corp.example", password="correct horse battery", account_type="enterprise",
                            organization="Corp")
        users.set_tier(s, ent.org_id, "enterprise", actor="test")
        h = [users.create_org(s, name=f"H{i}", kind="hospital") for i in range(3)]
        billing.record_contribution(s, org_id=h[0].id, task="breast_cancer", model_version="v1.1", samples=200, rounds=2)
        billing.record_contribution(s, org_id=h[1].id, task="breast_cancer", model_version="v1.1", samples=100, rounds=2)
        billing.record_contribution(s, org_id=h[2].id, task="breast_cancer", model_version="v1.1", samples=300, rounds=1)
        job = federation.create_job(s, task="breast_cancer", aggregator="a", policy={}, trigger="t", actor="t")
        federation.finish_job(s, job.id, status="published", reason="ok", actor="t", published_version="v1.1",
                              unattributed_weight=300)  # a node without an organization: 150 samples x 2 rounds
        r = metering.reserve(s, ent.org_id, 10, now=now)
        metering.record(s, r, org_id=ent.org_id, user_id=ent.id, api_key_id=None, task="breast_cancer",
                        model_version="v1.1", units=10)
    with store.transaction() as s:
        share = billing.revenue_share(s, "2026-11")
        contributions = billing.contributions_of(s, None)
    revenue = share["revenue_micros"]
    assert revenue > 0
    paid = {x["organization"]: x["amount_micros"] for x in share["hospitals"]}
    weights = {"H0": 400, "H1": 200, "H2": 300}
    total = sum(weights.values()) + 300
    for name, w in weights.items():  # largest remainder: within one micro-unit of the exact share
        assert abs(paid[name] - revenue * w / total) < 1
    assert abs(share["unattributed_micros"] - revenue * 300 / total) < 1
    assert sum(paid.values()) + share["unattributed_micros"] == revenue
    assert {c["organization"] for c in contributions} == {"H0", "H1", "H2"}
    assert uuid.UUID(contributions[0]["org_id"])
