"""Metering: check a billable call against the caller's tier and record it in the same transaction.

The monthly quota is an atomic counter (`usage_counters`, one row per organization and calendar month);
the per-minute rate limit is a token bucket in the same database (`hub.accounts.ratelimit`, GCRA), so it
holds across server processes and has no window boundary to burst across. A call reserves its units
with a conditional UPDATE
(`used = used + n WHERE used + n <= limit`) that either succeeds or changes nothing, so N concurrent
requests can never overshoot a quota (PostgreSQL re-checks the condition after waiting on the row lock;
SQLite serializes writers with BEGIN IMMEDIATE) and a count is never lost (it commits or rolls back with
the usage event and the prediction's response). Idempotency keys live in the same transaction too.

Every case is a unit: a batch of N inputs or a file of N rows costs N, cases refused as out of
distribution included (they were judged; a response that answers bills every case in it, an error
response bills nothing). `reserved()` takes the units
*before* the model runs, in a transaction of its own, so a refused call does no model work, and gives
them back if the work fails; the caller records the usage event once the work succeeded. A process
killed between the two leaves units reserved but never billed (the quota errs for the customer's
money, against their quota, until the month or minute rolls over). Spaces and the portal call the
same `reserved()` + `record()` pair as the API.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.accounts import ratelimit
from hub.accounts.errors import BatchTooLarge, IdempotencyKeyReused, NotFound, QuotaExceeded, RateLimited
from hub.accounts.models import IdempotencyRecord, Organization, Tier, UsageCounter, UsageEvent

IDEMPOTENCY_TTL = timedelta(hours=24)
#: status of a claimed Idempotency-Key whose request is still working; a claim older than PENDING_TTL was
#: abandoned (its process died) and may be taken again
PENDING = 0
PENDING_TTL = timedelta(minutes=5)
#: inputs one request may hold as an inline list (every tier)
MAX_BATCH = 100
#: cases (rows) one uploaded file may hold, per tier (and at most the organization's rate limit per minute);
#: each case is billed. The request body limit
#: (MEDHIVE_MAX_BODY_BYTES) bounds a file first: at the default 8 MiB a WDBC CSV holds about 25,000 rows
FILE_CASE_LIMITS = {"free": MAX_BATCH, "pay_per_use": 10_000, "enterprise": 100_000}


@dataclass(frozen=True)
class Limits:
    tier: str
    monthly_quota: int | None
    rate_limit_per_minute: int | None
    price_micros: int
    currency: str


@dataclass(frozen=True)
class Reservation:
    """What a successful reservation leaves: the counters after it and when each window resets."""

    limits: Limits
    month_used: int
    rate: ratelimit.Decision | None  # the per-minute bucket after this call; None without a rate limit
    month_reset_s: int
    now: datetime
    units: int = 0
    buckets: tuple[str, ...] = ()

    @property
    def minute_remaining(self) -> int | None:
        return None if self.rate is None else self.rate.remaining

    @property
    def minute_reset_s(self) -> int:
        return 0 if self.rate is None else self.rate.reset_s

    @property
    def month_remaining(self) -> int | None:
        q = self.limits.monthly_quota
        return None if q is None else max(q - self.month_used, 0)

    def headers(self) -> dict[str, str]:
        """IETF RateLimit-Policy / RateLimit fields for both limits, plus the X-RateLimit-* trio (minute)."""
        policies, items, out = [], [], {}
        if self.rate is not None:
            policies.append(f'"minute";q={self.rate.limit};w=60')
            items.append(f'"minute";r={self.rate.remaining};t={self.rate.reset_s}')
            out.update({"X-RateLimit-Limit": str(self.rate.limit), "X-RateLimit-Remaining": str(self.rate.remaining),
                        "X-RateLimit-Reset": str(self.rate.reset_s)})
        if self.limits.monthly_quota is not None:
            policies.append(f'"month";q={self.limits.monthly_quota};w=2592000')
            items.append(f'"month";r={self.month_remaining};t={self.month_reset_s}')
        if policies:
            out["RateLimit-Policy"] = ", ".join(policies)
            out["RateLimit"] = ", ".join(items)
        return out


def period_of(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def _next_month(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    y, m = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(y, m, 1, tzinfo=UTC)


def seconds_to_month_end(now: datetime) -> int:
    return max(int((_next_month(now) - now).total_seconds()) + 1, 1)


def limits_for(session: Session, org_id: uuid.UUID) -> Limits:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("no such organization")
    tier = session.get(Tier, org.tier)
    pick = lambda own, default: own if own is not None else default  # noqa: E731
    return Limits(tier=tier.name, monthly_quota=pick(org.monthly_quota, tier.monthly_quota),
                  rate_limit_per_minute=pick(org.rate_limit_per_minute, tier.rate_limit_per_minute),
                  price_micros=pick(org.price_micros, tier.price_micros), currency=tier.currency)


def _bump(session: Session, org_id: uuid.UUID, bucket: str, units: int, limit: int | None) -> int | None:
    """Add `units` to a counter unless that passes `limit`; the new value, or None when refused."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert
    session.execute(insert(UsageCounter).values(org_id=org_id, bucket=bucket, used=0).on_conflict_do_nothing())
    stmt = (update(UsageCounter).where(UsageCounter.org_id == org_id, UsageCounter.bucket == bucket)
            .values(used=UsageCounter.used + units).returning(UsageCounter.used)
            .execution_options(synchronize_session=False))
    if limit is not None:
        stmt = stmt.where(UsageCounter.used + units <= limit)
    row = session.execute(stmt).first()
    return None if row is None else int(row[0])


def _used(session: Session, org_id: uuid.UUID, bucket: str) -> int:
    return int(session.scalar(select(UsageCounter.used).where(UsageCounter.org_id == org_id,
                                                              UsageCounter.bucket == bucket)) or 0)


def reserve(session: Session, org_id: uuid.UUID, units: int, *, now: datetime | None = None) -> Reservation:
    """Reserve `units` predictions for an organization or raise `RateLimited` / `QuotaExceeded`.

    Must run in the transaction that records the call: a rollback releases the reservation.
    """
    now = now or datetime.now(UTC)
    limits = limits_for(session, org_id)
    check_batch(limits, units)
    month_bucket = "m:" + period_of(now)
    month_reset = seconds_to_month_end(now)
    rate = None
    if limits.rate_limit_per_minute is not None:
        rate = ratelimit.take(session, _rate_key(org_id), limit=limits.rate_limit_per_minute, period_s=60,
                              units=units, now=now.timestamp())
        if not rate.allowed:
            exc = RateLimited(f"rate limit of {limits.rate_limit_per_minute} predictions per minute reached; "
                              f"retry in {rate.retry_after_s} s", retry_after=rate.retry_after_s,
                              extra={"limit": limits.rate_limit_per_minute, "window_s": 60})
            exc.headers = Reservation(limits, _used(session, org_id, month_bucket), rate, month_reset, now).headers()
            raise exc
    month = _bump(session, org_id, month_bucket, units, limits.monthly_quota)
    if month is None:
        used = _used(session, org_id, month_bucket)
        left = max(limits.monthly_quota - used, 0)
        state = (f"is used up ({used} used)" if left == 0 else
                 f"has {left} left and this request needs {units}")  # "used up" with units left misleads
        exc = QuotaExceeded(f"the monthly quota of {limits.monthly_quota} predictions of the {limits.tier} tier "
                            f"{state}; it renews at the start of next month",
                            retry_after=month_reset,
                            extra={"quota": limits.monthly_quota, "used": used, "tier": limits.tier})
        # the rollback gives the rate units back: report the bucket as it will be
        given_back = None if rate is None else dataclasses.replace(rate, remaining=min(rate.remaining + units, rate.limit))
        exc.headers = Reservation(limits, used, given_back, month_reset, now).headers()
        raise exc
    return Reservation(limits, month, rate, month_reset, now, units=units, buckets=(month_bucket,))


def _rate_key(org_id: uuid.UUID) -> str:
    return f"org:{org_id}"


def check_batch(limits: Limits, units: int) -> None:
    """Refuse at once a batch no wait could admit: no Retry-After for what can never succeed."""
    per_minute, quota = limits.rate_limit_per_minute, limits.monthly_quota
    if per_minute is not None and units > per_minute:
        raise BatchTooLarge(f"a batch of {units} cases is larger than the {limits.tier} tier's limit of "
                            f"{per_minute} predictions per minute; send at most {per_minute} per request",
                            extra={"limit": per_minute, "cases": units, "tier": limits.tier})
    if quota is not None and units > quota:
        raise BatchTooLarge(f"a batch of {units} cases is larger than the {limits.tier} tier's monthly quota of "
                            f"{quota} predictions", extra={"quota": quota, "cases": units, "tier": limits.tier})


def release(session: Session, org_id: uuid.UUID, reservation: Reservation) -> None:
    """Give back what `reserve` took (the work it was taken for failed or was refused)."""
    if reservation.rate is not None:
        ratelimit.give_back(session, _rate_key(org_id), limit=reservation.rate.limit, period_s=60,
                            units=reservation.units)
    for bucket in reservation.buckets:
        session.execute(update(UsageCounter)
                        .where(UsageCounter.org_id == org_id, UsageCounter.bucket == bucket,
                               UsageCounter.used >= reservation.units)
                        .values(used=UsageCounter.used - reservation.units)
                        .execution_options(synchronize_session=False))


class Replayed(Exception):
    """The Idempotency-Key already has a stored response: (status, body) to send again, no work to do."""

    def __init__(self, stored: tuple[int, Any]) -> None:
        super().__init__("replayed")
        self.stored = stored


class Pending(Exception):
    """Another request with this Idempotency-Key holds the reservation and is still working: wait for it."""


@contextmanager
def reserved(store: Any, org_id: uuid.UUID, units: int, *, idempotency: tuple[str, str] | None = None,
             now: datetime | None = None) -> Iterator[Reservation]:
    """Reserve `units` in a committed transaction of its own, then run the block; released if it raises.

        with metering.reserved(store, org_id, units, idempotency=(key, request_hash)) as r:
            result = model_work()                      # never runs when the call is refused
            with store.transaction() as s:
                metering.record(s, r, ...)             # a failure here also releases the units
                metering.remember(s, org_id, key, request_hash, 200, body)

    With an Idempotency-Key the same transaction claims the key first (a pending record), so concurrent
    retries never race each other for the quota: the first reserves, the others get `Pending` (poll
    again) and then `Replayed` with the stored response. A failure releases the units and the claim.
    """
    with store.transaction() as s:
        if idempotency:
            claim(s, org_id, *idempotency, now=now)
        reservation = reserve(s, org_id, units, now=now)
    try:
        yield reservation
    except BaseException:
        with store.transaction() as s:
            release(s, org_id, reservation)
            if idempotency:
                rec = s.get(IdempotencyRecord, (org_id, idempotency[0]))
                if rec is not None and rec.status_code == PENDING:
                    s.delete(rec)
        raise


def max_cases(limits: Limits, *, file: bool) -> int:
    """The most cases one request may hold: `MAX_BATCH` inline; for an upload the tier's file limit, and
    never more than the rate limit allows in one minute (such a file could never be accepted)."""
    if not file:
        return MAX_BATCH
    cap = FILE_CASE_LIMITS.get(limits.tier, MAX_BATCH)
    return min(cap, limits.rate_limit_per_minute) if limits.rate_limit_per_minute is not None else cap


def record(session: Session, reservation: Reservation, *, org_id: uuid.UUID, user_id: uuid.UUID | None,
           api_key_id: uuid.UUID | None, task: str, model_version: str, units: int) -> UsageEvent:
    price = reservation.limits.price_micros
    event = UsageEvent(org_id=org_id, user_id=user_id, api_key_id=api_key_id, task=task, model_version=model_version,
                       units=units, tier=reservation.limits.tier, price_micros=price, amount_micros=price * units,
                       period=period_of(reservation.now), created_at=reservation.now)
    session.add(event)
    session.flush()
    return event


def current_usage(session: Session, org_id: uuid.UUID, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    limits = limits_for(session, org_id)
    used = _used(session, org_id, "m:" + period_of(now))
    return {"tier": limits.tier, "period": period_of(now), "used": used, "monthly_quota": limits.monthly_quota,
            "remaining": None if limits.monthly_quota is None else max(limits.monthly_quota - used, 0),
            "rate_limit_per_minute": limits.rate_limit_per_minute, "price_micros": limits.price_micros,
            "currency": limits.currency, "resets_in_s": seconds_to_month_end(now)}


# ----- idempotency ---------------------------------------------------------------------------------
def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def replay(session: Session, org_id: uuid.UUID, key: str, req_hash: str, *, now: datetime | None = None
           ) -> tuple[int, Any] | None:
    """The stored (status, body) for a retried request, None for a new key; `IdempotencyKeyReused` when the
    key was used with a different request; `Pending` while the first request with the key still works."""
    now = now or datetime.now(UTC)
    rec = session.get(IdempotencyRecord, (org_id, key))
    if rec is None:
        return None
    pending = rec.status_code == PENDING
    if rec.created_at + (PENDING_TTL if pending else IDEMPOTENCY_TTL) < now:
        session.delete(rec)  # expired, or a claim abandoned by a process that died mid-request
        session.flush()
        return None
    if rec.request_hash != req_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was already used with a different request body")
    if pending:
        raise Pending("a request with this Idempotency-Key is in progress")
    return rec.status_code, json.loads(rec.response_json)


def claim(session: Session, org_id: uuid.UUID, key: str, req_hash: str, *, now: datetime | None = None) -> None:
    """Take the key for this request (a pending record); `Replayed` / `Pending` when it is already taken.

    A concurrent claim of the same key fails on the primary key (an IntegrityError at commit or flush):
    callers treat that as `Pending`."""
    stored = replay(session, org_id, key, req_hash, now=now)
    if stored is not None:
        raise Replayed(stored)
    session.add(IdempotencyRecord(org_id=org_id, key=key, request_hash=req_hash, status_code=PENDING,
                                  response_json="null", created_at=now or datetime.now(UTC)))
    session.flush()


def remember(session: Session, org_id: uuid.UUID, key: str, req_hash: str, status: int, body: Any) -> None:
    """Store the response under the key (completing this request's claim, if it made one)."""
    text = json.dumps(body, separators=(",", ":"), default=str)
    rec = session.get(IdempotencyRecord, (org_id, key))
    if rec is None:
        session.add(IdempotencyRecord(org_id=org_id, key=key, request_hash=req_hash, status_code=status,
                                      response_json=text))
    else:
        rec.status_code, rec.response_json, rec.request_hash = status, text, req_hash
    session.flush()
