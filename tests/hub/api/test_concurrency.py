"""Quotas hold under real concurrency: 200 parallel HTTP predictions against a quota of 50, on SQLite and
PostgreSQL, through uvicorn on 127.0.0.1 (requests handled by its worker threads, like production)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hub.accounts import audit
from hub.accounts.models import AuditEntry, UsageCounter, UsageEvent
from tests.hub.accounts.gotrue_server import LocalServer
from tests.hub.api.conftest import auth, bc_case, set_tier, signup_login

BACKENDS = ["sqlite", "postgresql"]


def _fire(base: str, n: int, headers: dict[str, str], body: dict) -> list[httpx.Response]:
    barrier = threading.Barrier(n)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    with httpx.Client(base_url=base, timeout=180, limits=limits) as client:

        def one(_: int) -> httpx.Response:
            barrier.wait()
            return client.post("/v1/models/breast_cancer/predict", json=body, headers=headers)

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(one, range(n)))


def _app(make_app, request, backend):
    return make_app(request.getfixturevalue("pg_database") if backend == "postgresql" else None)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_200_parallel_predictions_against_quota_of_50(make_app, request, backend):
    app = _app(make_app, request, backend)
    store = app.state.medhive_api.store
    client = TestClient(app)
    h = signup_login(client)
    key = client.post("/v1/keys", json={"name": "load"}, headers=auth(h)).json()["key"]
    set_tier(store, h["_org_id"], "free", monthly_quota=50, rate_limit_per_minute=100_000)
    started = time.perf_counter()
    with LocalServer(app) as base:
        responses = _fire(base, 200, {"X-API-Key": key}, {"inputs": bc_case()})
    seconds = time.perf_counter() - started
    codes = Counter(r.status_code for r in responses)
    print(f"\n{backend}: 200 parallel requests in {seconds:.1f} s -> {dict(codes)}")
    assert codes == {200: 50, 429: 150}, codes
    assert all(r.json()["type"].endswith("/quota-exceeded") for r in responses if r.status_code == 429)
    remaining = sorted(r.json()["usage"]["remaining"] for r in responses if r.status_code == 200)
    assert remaining == list(range(50))  # every count handed out exactly once
    org = uuid.UUID(h["_org_id"])
    with store.transaction() as s:
        billed = s.scalar(select(func.sum(UsageEvent.units)).where(UsageEvent.org_id == org))
        counter = s.scalar(select(UsageCounter.used).where(UsageCounter.org_id == org, UsageCounter.bucket.like("m:%")))
        predicted = s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "predict"))
        assert (billed, counter, predicted) == (50, 50, 50)
        assert audit.verify(s).ok


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_parallel_retries_with_one_idempotency_key_bill_once(make_app, request, backend):
    app = _app(make_app, request, backend)
    store = app.state.medhive_api.store
    client = TestClient(app)
    h = signup_login(client)
    # a quota of exactly one request's units: a retry that waited on the counter must still get the replay
    set_tier(store, h["_org_id"], "free", monthly_quota=2, rate_limit_per_minute=100_000)
    with LocalServer(app) as base:
        responses = _fire(base, 20, {**auth(h), "Idempotency-Key": "retry-me"}, {"inputs": [bc_case()] * 2})
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses if r.status_code != 200][:1]
    assert len({r.text for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    with store.transaction() as s:
        assert s.scalar(select(func.sum(UsageEvent.units))) == 2
