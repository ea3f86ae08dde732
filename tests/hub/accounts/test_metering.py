"""Metering, idempotency, billing and revenue share (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hub.accounts import billing, metering, users
from hub.accounts.errors import IdempotencyKeyReused, QuotaExceeded, RateLimited

PW = "correct horse battery staple"
NOW = datetime(2026, 11, 23, 8, 30, 15, tzinfo=UTC)


def _org(store, name="Acme", tier="free", **limits):
    with store.transaction() as s:
        u = users.sign_up(s, email=f"{name.lower()}@x.example", password=PW, account_type="enterprise", organization=name)
        users.set_tier(s, u.org_id, tier, actor="test", **limits)
    return u


def _call(store, u, units=1, now=NOW, task="breast_cancer", version="v1.0"):
    with store.transaction() as s:
        r = metering.reserve(s, u.org_id, units, now=now)
        metering.record(s, r, org_id=u.org_id, user_id=u.id, api_key_id=None, task=task, model_version=version,
                        units=units)
        return r


def test_quota_and_rate_limit(store):
    u = _org(store, monthly_quota=5, rate_limit_per_minute=3)
    r = _call(store, u, 2)
    # a token bucket of 3 per minute: one unit refills every 20 s
    assert (r.month_used, r.month_remaining, r.minute_remaining) == (2, 3, 1)
    assert r.minute_reset_s == 40
    with pytest.raises(RateLimited) as exc:
        _call(store, u, 2)
    assert exc.value.retry_after == 20
    assert '"minute";r=0' in exc.value.headers["RateLimit"].replace("r=1", "r=0")
    _call(store, u, 1)
    later = NOW + timedelta(minutes=1)
    _call(store, u, 2, now=later)
    with pytest.raises(QuotaExceeded) as exc:
        _call(store, u, 1, now=later + timedelta(minutes=1))
    assert exc.value.retry_after == metering.seconds_to_month_end(later + timedelta(minutes=1))
    assert '"month";r=0' in exc.value.headers["RateLimit"]  # a quota refusal carries RateLimit fields too
    next_month = datetime(2026, 12, 1, 0, 0, 5, tzinfo=UTC)
    assert _call(store, u, 1, now=next_month).month_used == 1
    with store.transaction() as s:
        assert billing.usage_of(s, u.org_id, "2026-11")["predictions"] == 5
        assert metering.current_usage(s, u.org_id, now=NOW)["remaining"] == 0


def test_refused_calls_are_not_counted(store):
    u = _org(store, monthly_quota=1, rate_limit_per_minute=100)
    _call(store, u)
    for _ in range(3):
        with pytest.raises(QuotaExceeded):
            _call(store, u)
    with store.transaction() as s:
        assert metering.current_usage(s, u.org_id, now=NOW)["used"] == 1
        assert billing.usage_of(s, u.org_id, "2026-11")["predictions"] == 1


def test_idempotency_records(store):
    u = _org(store)
    h1, h2 = metering.request_hash({"a": 1}), metering.request_hash({"a": 2})
    with store.transaction() as s:
        assert metering.replay(s, u.org_id, "k1", h1) is None
        metering.remember(s, u.org_id, "k1", h1, 200, {"ok": True})
    with store.transaction() as s:
        assert metering.replay(s, u.org_id, "k1", h1) == (200, {"ok": True})
        with pytest.raises(IdempotencyKeyReused):
            metering.replay(s, u.org_id, "k1", h2)
        assert metering.replay(s, u.org_id, "k1", h1, now=datetime.now(UTC) + timedelta(days=2)) is None


def test_pricing_by_tier_and_revenue_share(store):
    a = _org(store, "Alpha", tier="pay_per_use")                      # 2000 micros per prediction
    b = _org(store, "Beta", tier="enterprise", price_micros=1500)     # contracted price
    with store.transaction() as s:
        h1 = users.create_org(s, name="Hospital One", kind="hospital")
        h2 = users.create_org(s, name="Hospital Two", kind="hospital")
        billing.record_contribution(s, org_id=h1.id, task="breast_cancer", model_version="v1.1", samples=300)
        billing.record_contribution(s, org_id=h2.id, task="breast_cancer", model_version="v1.1", samples=100)
        billing.record_contribution(s, org_id=h2.id, task="ecg", model_version="v2.0", samples=7)
    _call(store, a, 3, version="v1.1")       # 6000
    _call(store, b, 7, version="v1.1")       # 10500
    _call(store, b, 1, version="v1.0")       # 1500, baseline: unattributed
    with store.transaction() as s:
        rows = {r["organization"]: r for r in billing.usage_by_account(s, "2026-11")}
        assert rows["Alpha"]["amount_micros"] == 6000 and rows["Beta"]["amount_micros"] == 12000
        assert rows["Beta"]["tier"] == "enterprise" and rows["Beta"]["predictions"] == 8
        share = billing.revenue_share(s, "2026-11")
        assert share["revenue_micros"] == 18000 and share["unattributed_micros"] == 1500
        paid = {h["organization"]: h["amount_micros"] for h in share["hospitals"]}
        assert paid == {"Hospital One": 12375, "Hospital Two": 4125}          # 16500 split 3:1
        assert sum(paid.values()) + share["unattributed_micros"] == share["revenue_micros"]
        half = billing.revenue_share(s, "2026-11", pool_fraction=0.5)
        assert sum(h["amount_micros"] for h in half["hospitals"]) == 8250
        contrib = billing.contributions_of(s, h1.id)
        assert contrib[0]["predictions_served"] == 10
        assert billing.revenue_share(s, "2026-10")["revenue_micros"] == 0


def test_split_is_exact():
    parts = billing.split(100, {"a": 1, "b": 1, "c": 1})
    assert sum(parts.values()) == 100 and sorted(parts.values()) == [33, 33, 34]
    assert billing.split(0, {"a": 1}) == {"a": 0}
    assert billing.split(10, {}) == {}
    assert sum(billing.split(999_999, {uuid.uuid4(): w for w in (3, 5, 7, 11)}).values()) == 999_999
