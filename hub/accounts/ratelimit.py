"""Token buckets kept in the accounts database, shared by every server process.

The algorithm is pyrate-limiter's GCRA (a maintained library): a bucket of `limit` units per `period_s`
is one number, its theoretical arrival time (integer microseconds), stored in `rate_limits`. Taking
units locks that row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite serializes writers with BEGIN
IMMEDIATE), runs the library's `GCRA.step` and writes the new state back, all in the caller's
transaction. So concurrent requests in any number of processes can never overshoot, and a request
rolled back (refused by the quota, failed) gives its units back with everything else it did.

A full bucket holds `limit` units and refills one unit every `period_s / limit` seconds: a burst after
a quiet minute passes at most `limit`, and no window boundary hands out a second allowance the way the
old fixed per-minute counters did (125 calls in 5 s on a limit of 100).

Why not the library's own SQLite/PostgreSQL buckets: they open their own connections (a psycopg pool,
a sqlite3 handle with a file lock) and tables, so their counts commit apart from the usage event and
the quota counter and a refused or failed request would still spend rate units. We use the library's
algorithm and keep the state where the bill is.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from pyrate_limiter import GCRA, Rate
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.accounts.models import RateLimitState

#: rows idle this long are equivalent to a full bucket and are deleted when a new bucket is created
STALE_S = 3600.0


@dataclass(frozen=True)
class Decision:
    """The outcome of taking units: admitted or not, units left, seconds to wait / until full."""

    allowed: bool
    limit: int
    period_s: float
    remaining: int
    retry_after_s: int  # 0 when admitted
    reset_s: int  # seconds until the bucket is full again

    def headers(self, name: str = "default") -> dict[str, str]:
        """IETF RateLimit-Policy / RateLimit fields (draft-ietf-httpapi-ratelimit-headers)."""
        return {"RateLimit-Policy": f'"{name}";q={self.limit};w={int(self.period_s)}',
                "RateLimit": f'"{name}";r={self.remaining};t={self.reset_s}'}


def _insert(session: Session):
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert


def _rate(limit: int, period_s: float) -> Rate:
    return Rate(limit, int(round(period_s * 1000)))


def _decision(allowed: bool, tat_us: int, now_ms: int, rate: Rate, *, retry_ms: int | None = None) -> Decision:
    period_s = rate.interval / 1000
    used = GCRA().consumed([rate], (tat_us,), now_ms)
    return Decision(allowed=allowed, limit=rate.limit, period_s=period_s, remaining=max(rate.limit - used, 0),
                    retry_after_s=0 if allowed else max(math.ceil((retry_ms or 0) / 1000), 1),
                    reset_s=max(math.ceil((tat_us - now_ms * 1000) / 1e6), 0))


def _locked_state(session: Session, key: str, now_us: int) -> int:
    """The bucket's state, its row created (empty bucket history) and locked for this transaction."""
    created = session.execute(
        _insert(session)(RateLimitState).values(key=key, tat=0).on_conflict_do_nothing()).rowcount
    if created:  # buckets idle for an hour are full again, the same as absent: keep the table small
        session.execute(delete(RateLimitState).where(RateLimitState.tat < now_us - STALE_S * 1e6,
                                                     RateLimitState.tat > 0, RateLimitState.key != key))
    tat = session.scalar(select(RateLimitState.tat).where(RateLimitState.key == key).with_for_update())
    if tat is None:  # deleted as stale by another transaction between our insert and lock: start afresh
        session.execute(_insert(session)(RateLimitState).values(key=key, tat=0).on_conflict_do_nothing())
        tat = session.scalar(select(RateLimitState.tat).where(RateLimitState.key == key).with_for_update())
    return int(tat or 0)


def peek(session: Session, key: str, *, limit: int, period_s: float, now: float | None = None) -> Decision:
    """The bucket's state without taking anything (`allowed`: one unit could be taken now)."""
    now_ms = int((time.time() if now is None else now) * 1000)
    rate = _rate(limit, period_s)
    tat = int(session.scalar(select(RateLimitState.tat).where(RateLimitState.key == key)) or 0)
    _, verdict = GCRA().step([rate], (tat,), now_ms, 1)
    return _decision(verdict.allowed, tat, now_ms, rate, retry_ms=verdict.retry_after_ms)


def take(session: Session, key: str, *, limit: int, period_s: float, units: int = 1,
         now: float | None = None) -> Decision:
    """Take `units` from the bucket `key` if they are there; never blocks past the row lock, never overshoots.

    `units > limit` can never be admitted: callers check that first and refuse with a clear problem.
    """
    if limit <= 0 or units <= 0:
        raise ValueError("limit and units must be positive")
    if units > limit:
        raise ValueError("a request larger than the bucket can never be admitted")
    now_ms = int((time.time() if now is None else now) * 1000)
    rate = _rate(limit, period_s)
    tat = _locked_state(session, key, now_ms * 1000)
    (new_tat,), verdict = GCRA().step([rate], (tat,), now_ms, units)
    if verdict.allowed:
        session.execute(update(RateLimitState).where(RateLimitState.key == key).values(tat=new_tat)
                        .execution_options(synchronize_session=False))
        return _decision(True, int(new_tat), now_ms, rate)
    return _decision(False, tat, now_ms, rate, retry_ms=verdict.retry_after_ms)


def remember_until(session: Session, key: str, until: float) -> None:
    """A marker row (e.g. a client known to an account) that counts as present until `until` (epoch s)."""
    stmt = _insert(session)(RateLimitState).values(key=key, tat=until * 1e6)
    session.execute(stmt.on_conflict_do_update(index_elements=[RateLimitState.key], set_={"tat": until * 1e6}))


def is_remembered(session: Session, key: str, *, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    tat = session.scalar(select(RateLimitState.tat).where(RateLimitState.key == key))
    return tat is not None and tat > now * 1e6


def forget(session: Session, key: str) -> None:
    session.execute(delete(RateLimitState).where(RateLimitState.key == key))


def give_back(session: Session, key: str, *, limit: int, period_s: float, units: int) -> None:
    """Undo a `take` whose work failed: move the bucket's state back by what the units added (never below
    zero). Exact when nothing else took from the bucket since; otherwise it returns the same units."""
    increment = int(math.ceil(period_s * 1000 * 1000 / limit)) * units  # GCRA's emission interval, in us
    session.execute(update(RateLimitState).where(RateLimitState.key == key, RateLimitState.tat >= increment)
                    .values(tat=RateLimitState.tat - increment).execution_options(synchronize_session=False))
