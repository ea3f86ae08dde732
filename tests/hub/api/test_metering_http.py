"""Metering over HTTP: rate-limit headers, 429 + Retry-After, quota exceeded, Idempotency-Key, explain."""

from __future__ import annotations

import importlib.util

from sqlalchemy import func, select

from hub.accounts.models import UsageEvent
from tests.hub.api.conftest import auth, bc_case, set_tier, signup_login

URL = "/v1/models/breast_cancer/predict"


def _billed(store) -> int:
    with store.transaction() as s:
        return int(s.scalar(select(func.coalesce(func.sum(UsageEvent.units), 0))))


def test_rate_limit_429_with_retry_after(client, store):
    h = signup_login(client)
    set_tier(store, h["_org_id"], "enterprise", rate_limit_per_minute=2)
    first = client.post(URL, json={"inputs": bc_case()}, headers=auth(h))
    assert first.status_code == 200
    assert first.headers["RateLimit-Policy"] == '"minute";q=2;w=60'
    assert first.headers["RateLimit"].startswith('"minute";r=1;t=')
    assert client.post(URL, json={"inputs": bc_case()}, headers=auth(h)).status_code == 200
    refused = client.post(URL, json={"inputs": bc_case()}, headers=auth(h))
    assert refused.status_code == 429 and refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-RateLimit-Remaining"] == "0" and refused.headers["X-RateLimit-Limit"] == "2"
    assert _billed(store) == 2


def test_quota_exceeded_problem(client, store):
    h = signup_login(client, account_type="user")  # free tier
    set_tier(store, h["_org_id"], "free", monthly_quota=3, rate_limit_per_minute=100)
    ok = client.post(URL, json={"inputs": [bc_case()] * 2}, headers=auth(h))
    assert ok.status_code == 200 and ok.json()["usage"]["remaining"] == 1
    assert '"month";q=3;w=2592000' in ok.headers["RateLimit-Policy"]
    over = client.post(URL, json={"inputs": [bc_case()] * 2}, headers=auth(h))
    assert over.status_code == 429 and over.json()["type"].endswith("/quota-exceeded")
    assert over.json()["quota"] == 3 and over.json()["used"] == 2 and int(over.headers["Retry-After"]) > 0
    assert '"month";r=1;' in over.headers["RateLimit"]  # a quota 429 carries the RateLimit fields too
    assert client.post(URL, json={"inputs": bc_case()}, headers=auth(h)).status_code == 200
    assert _billed(store) == 3
    usage = client.get("/v1/usage", headers=auth(h)).json()
    assert usage["limits"]["remaining"] == 0 and usage["amount_micros"] == 0


def test_idempotency_key(client, store):
    h = signup_login(client)
    hdr = {**auth(h), "Idempotency-Key": "order-42"}
    first = client.post(URL, json={"inputs": bc_case()}, headers=hdr)
    again = client.post(URL, json={"inputs": bc_case()}, headers=hdr)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert _billed(store) == 1
    other = dict(bc_case())
    other["mean radius"] = other["mean radius"] + 1
    clash = client.post(URL, json={"inputs": other}, headers=hdr)
    assert clash.status_code == 422 and clash.json()["type"].endswith("/idempotency-key-reused")
    # keys are per organization: another account may use the same key
    h2 = signup_login(client)
    assert client.post(URL, json={"inputs": other}, headers={**auth(h2), "Idempotency-Key": "order-42"}).status_code == 200
    assert _billed(store) == 2


def test_invalid_input_is_not_billed(client, store):
    h = signup_login(client)
    bad = dict(bc_case())
    bad.pop("mean radius")
    r = client.post(URL, json={"inputs": bad}, headers=auth(h))
    assert r.status_code == 422 and "missing" in r.json()["detail"]
    assert client.post(URL, json={}, headers=auth(h)).status_code == 422
    assert client.post(URL, json={"inputs": [bc_case()] * 101}, headers=auth(h)).status_code == 422
    assert _billed(store) == 0


def test_explain_flag(client, store):
    h = signup_login(client)
    r = client.post(URL, json={"inputs": bc_case(), "explain": True}, headers=auth(h))
    if importlib.util.find_spec("hub.explain") is None:
        assert r.status_code == 501 and r.json()["type"].endswith("/not-implemented")
        assert _billed(store) == 0
    else:
        assert r.status_code == 200 and isinstance(r.json()["explanation"], dict)
        assert _billed(store) == 1


def test_openapi_examples_are_valid_requests(client, app):
    """The predict examples shown in /docs work as they are."""
    h = signup_login(client)
    doc = app.openapi()
    op = doc["paths"]["/v1/models/{task}/predict"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    assert {"single", "batch", "explained"} <= set(examples)
    for name in ("single", "batch"):
        r = client.post(URL, json=examples[name]["value"], headers=auth(h))
        assert r.status_code == 200, (name, r.text)
        assert r.json()["predictions"][0]["label"] == "malignant"
    assert "429" in op["responses"] and "application/problem+json" in op["responses"]["429"]["content"]
    signup = doc["paths"]["/v1/auth/signup"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert signup["$ref"].endswith("/SignUp") and doc["components"]["schemas"]["SignUp"]["examples"]


def test_model_work_runs_outside_the_write_transaction_and_failures_are_not_billed(client, store, app):
    """The database write lock is held only for the bookkeeping, not while the model predicts (so
    concurrent requests do not queue behind each other's inference); a failed prediction bills nothing."""
    import sqlite3

    from sqlalchemy.engine import make_url

    h = signup_login(client)
    predictor = app.state.medhive_api.predictor
    real = predictor.predict_cases
    seen: list[bool] = []

    def probing(*args, **kwargs):
        # would a writer get the lock right now? (timeout 0: fail at once instead of waiting)
        other = sqlite3.connect(make_url(store.url).database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            seen.append(True)
        except sqlite3.OperationalError:
            seen.append(False)
        finally:
            other.close()
        return real(*args, **kwargs)

    predictor.predict_cases = probing
    try:
        assert client.post(URL, json={"inputs": bc_case()}, headers=auth(h)).status_code == 200
    finally:
        predictor.predict_cases = real
    assert seen == [True] and _billed(store) == 1
    missing = client.post(URL, json={"inputs": bc_case(), "version": "v9.9"}, headers=auth(h))
    assert missing.status_code == 404, missing.text
    assert _billed(store) == 1
    with store.transaction() as s:  # the month counter saw one prediction, not two
        from hub.accounts.models import UsageCounter

        assert s.scalar(select(func.sum(UsageCounter.used)).where(UsageCounter.bucket.like("m:%"))) == 1


def test_batch_larger_than_the_rate_limit_is_refused_at_once(client, store):
    h = signup_login(client, account_type="user")
    set_tier(store, h["_org_id"], "free", monthly_quota=100, rate_limit_per_minute=5)
    r = client.post(URL, json={"inputs": [bc_case()] * 6}, headers=auth(h))
    assert r.status_code == 422 and r.json()["type"].endswith("/batch-too-large"), r.text
    assert "Retry-After" not in r.headers and "at most 5 per request" in r.json()["detail"]
    assert client.post(URL, json={"inputs": [bc_case()] * 5}, headers=auth(h)).status_code == 200
    assert _billed(store) == 5
