"""The database-backed limiter: pyrate-limiter's GCRA on state kept in the accounts database, on SQLite and
PostgreSQL, against the library's own in-memory bucket on one schedule; no fixed-window burst; batches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from pyrate_limiter import GCRA, Rate

from hub.accounts import metering, ratelimit, users
from hub.accounts.errors import BatchTooLarge, RateLimited

T0 = 1_800_000_000.0


def test_same_decisions_as_the_library_in_memory(store):
    rng = random.Random(7)
    limit, period = 10, 60.0
    rate, state = Rate(limit, int(period * 1000)), (0,)
    now = T0
    for _ in range(300):
        now += rng.choice([0.0, 0.5, 1.0, 3.0, 7.0, 20.0])
        units = rng.randint(1, 4)
        state2, reference = GCRA().step([rate], state, int(now * 1000), units)
        if reference.allowed:
            state = state2
        with store.transaction() as s:
            got = ratelimit.take(s, "k", limit=limit, period_s=period, units=units, now=now)
        assert got.allowed == reference.allowed
        if not got.allowed:
            assert got.retry_after_s == max(-(-reference.retry_after_ms // 1000), 1)


def test_no_second_allowance_across_a_minute_boundary(store):
    """The fixed window let 125 calls through in 5 s on a limit of 100; a bucket passes its limit and then
    only what refilled."""
    admitted = 0
    with store.transaction() as s:
        for i in range(250):  # 250 calls over 5 s, straddling a minute boundary
            admitted += ratelimit.take(s, "burst", limit=100, period_s=60, now=T0 + 57.5 + i * 0.02).allowed
    assert admitted == 100 + 5 * 100 // 60  # the burst, then one unit per 0.6 s


def test_rollback_gives_units_back(store):
    with pytest.raises(RuntimeError), store.transaction() as s:
        assert ratelimit.take(s, "rb", limit=2, period_s=60, units=2, now=T0).allowed
        raise RuntimeError("the request failed after taking its units")
    with store.transaction() as s:
        assert ratelimit.take(s, "rb", limit=2, period_s=60, units=2, now=T0).allowed


def test_oversize_batch_refused_at_once_without_retry_after(store):
    with store.transaction() as s:
        u = users.sign_up(s, email="batch@x.example", password="correct horse battery")
        users.set_tier(s, u.org_id, "free", actor="test", monthly_quota=1000, rate_limit_per_minute=10)
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    with store.transaction() as s, pytest.raises(BatchTooLarge) as exc:
        metering.reserve(s, u.org_id, 11, now=now)
    assert exc.value.retry_after is None and "at most 10 per request" in exc.value.message
    with store.transaction() as s:
        metering.reserve(s, u.org_id, 10, now=now)
    with store.transaction() as s, pytest.raises(RateLimited) as exc:
        metering.reserve(s, u.org_id, 10, now=now + timedelta(seconds=30))
    assert exc.value.retry_after == 30  # five of ten units refilled; the other five take 30 s more
