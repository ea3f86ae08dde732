"""The Federation (admin) and Hospital (hospital staff) pages in headless Chromium: sign in, live job
progress, trigger and cancel, approve an onboarding request, and a hospital's contribution history with
the metric change its version brought. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import uuid

import pytest

from hub.accounts import billing, federation, governance, metering, onboarding, users
from hub.accounts.models import Node
from tests.hub.api.conftest import PW
from tests.medhive.browser import chromium, screenshot, serve_in_thread

pytestmark = pytest.mark.integration
TASKS = ["breast_cancer", "ecg", "glaucoma", "pneumonia"]


@pytest.fixture
def world(app, store):
    from hub.registry import Lineage

    registry = app.state.medhive_api.registry
    net = registry.load("breast_cancer", "v1.0").network
    parent = registry.info("breast_cancer", "v1.0").metrics["roc_auc"]
    registry.publish("breast_cancer", net, metrics={"roc_auc": parent - 0.0125, "accuracy": 0.95},
                     lineage=Lineage(parent="v1.0", source="federated", rounds=2, hospitals=3, samples=420, epsilon=3.5,
                                     delta=1e-5, secure_aggregation=True), alias="production")
    with store.transaction() as s:
        ops = users.create_org(s, name="Operators", kind="platform")
        users.create_user(s, email="admin@ops.example", password=PW, role="admin", org_id=ops.id)
        req = onboarding.file_request(s, organization="Northside Hospital", contact_email="it@northside.example",
                                      tasks=["breast_cancer"], known_tasks=TASKS)
        out = onboarding.approve(s, req.id, actor="test")
        org_id = uuid.UUID(out["org_id"])
        node = governance.enroll(s, token=out["token"], node_name="northside-ward-3")
        row = s.get(Node, node.id)
        row.status, row.flower_node_id = "online", "42"
        billing.record_contribution(s, org_id=org_id, task="breast_cancer", model_version="v1.1", samples=180, rounds=2)
        buyer = users.sign_up(s, email="buyer@corp.example", password=PW, account_type="enterprise", organization="Corp")
        users.set_tier(s, buyer.org_id, "enterprise", actor="test")
        r = metering.reserve(s, buyer.org_id, 500)
        metering.record(s, r, org_id=buyer.org_id, user_id=buyer.id, api_key_id=None, task="breast_cancer",
                        model_version="v1.1", units=500)
        onboarding.file_request(s, organization="Lakeside Clinic", contact_email="ops@lakeside.example",
                                tasks=["ecg", "breast_cancer"], known_tasks=TASKS)
        done = federation.create_job(s, task="breast_cancer", aggregator="a1", policy={"rounds": 2}, trigger="scheduler",
                                     actor="test")
        federation.update_job(s, done.id, status="running", rounds_done=2, hospitals=3, parent_version="v1.0")
        federation.finish_job(s, done.id, status="published", reason="candidate roc_auc 0.9941 >= parent 0.9816",
                              actor="test", published_version="v1.1")
        live = federation.create_job(s, task="breast_cancer", aggregator="a1", policy={"rounds": 2},
                                     trigger="scheduler: 3 hospital(s) online", actor="test")
        federation.update_job(s, live.id, status="running", rounds_done=1, hospitals=3,
                              reason="round 2 training with 3 hospital(s)")
        federation.announce_service(s, instance="a1", fleet_address="fl.example.org:9092", ca_pem="")
    return {"staff": out["email"], "staff_password": out["initial_password"], "live": str(live.id)}


def _sign_in(page, base: str, path: str, email: str, password: str) -> None:
    page.goto(base + path)
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#login button")


def test_federation_and_hospital_pages(app, store, world):
    with serve_in_thread(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # ----- Federation (admin) ----------------------------------------------------------------------
        _sign_in(page, base, "/federation", "admin@ops.example", PW)
        page.wait_for_selector("#jobs tr")
        page.wait_for_selector("#requests tr")
        jobs = page.inner_text("#jobs")
        assert "round 1 of 2" in jobs and "round 2 of 2" in jobs and "v1.1" in jobs and "published" in jobs
        assert "candidate roc_auc 0.9941 >= parent 0.9816" in jobs
        nodes = page.inner_text("#nodes")
        assert "Northside Hospital" in nodes and "northside-ward-3" in nodes and "online" in nodes
        assert "fl.example.org:9092" in page.inner_text("#service")
        screenshot(page, "federation-admin")
        # approve the pending request: organization, staff sign-in and token shown once
        page.click("#requests button")
        page.wait_for_selector("#approved:has-text('Approved Lakeside Clinic')")
        with store.transaction() as s:
            assert [r["status"] for r in onboarding.list_requests(s)] == ["approved", "approved"]
        # trigger a job for another task; cancel the running one
        page.select_option("#task", "ecg")
        page.click("#trigger")
        page.wait_for_selector("#jobs tr:has-text('ecg')")
        page.click("#jobs tr:has-text('round 1 of 2') button")
        page.wait_for_selector("#jobs :text('(cancelling)')")
        with store.transaction() as s:
            assert federation.get_job(s, world["live"]).cancel_requested
            assert federation.active_job(s, "ecg").trigger == "admin (admin@ops.example)"
        page.click("#logout")
        # ----- Hospital (hospital staff) ----------------------------------------------------------------
        _sign_in(page, base, "/hospital", "admin@ops.example", PW)
        page.wait_for_selector("#err:has-text('data_provider')")  # the admin is not hospital staff
        _sign_in(page, base, "/hospital", world["staff"], world["staff_password"])
        page.wait_for_selector("#contributions tr")
        history = page.inner_text("#contributions")
        assert "v1.1" in history and "180" in history and "-0.0125" in history and "3.50" in history
        assert "northside-ward-3" in page.inner_text("#nodes")
        assert "breast_cancer" in page.inner_text("#privacy") and "3.50" in page.inner_text("#privacy")
        assert "revenue share" in page.inner_text("#revenue") and ": 0.0000" not in page.inner_text("#revenue")
        screenshot(page, "hospital-staff")
        # the staff token does not open the admin's federation data
        page.goto(base + "/federation")  # same sessionStorage: the page tries with the staff token
        page.wait_for_selector("#err:not(:empty)")
