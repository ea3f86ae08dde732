"""Billing views: usage per account and period priced by tier, hospital contributions, revenue share.

Prices are integers in micro-units (1e-6 of the tier's currency) and every usage event carries the price
that applied when it was made, so a later tier change never re-prices the past. The revenue share splits
a period's enterprise revenue, version by version, among the hospitals that contributed to the version
that served each call, in proportion to their recorded training samples x rounds; the split uses the
largest remainder so the shares add up to the revenue exactly. Revenue of versions nobody contributed to
(the shipped baselines), and the share of nodes that trained without an organization, is reported as
unattributed, never handed to the others.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import NotFound, ValidationFailed
from hub.accounts.models import Contribution, FederationJob, Organization, UsageEvent

UNATTRIBUTED = "unattributed"  # the split's key for nodes without an organization


def _check_period(period: str) -> str:
    if len(period) != 7 or period[4] != "-" or not (period[:4] + period[5:]).isdigit() or not 1 <= int(period[5:]) <= 12:
        raise ValidationFailed("period must look like YYYY-MM")
    return period


def usage_by_account(session: Session, period: str) -> list[dict[str, Any]]:
    """Every organization's billed units and amount in a period, with its tier at the time of the calls."""
    _check_period(period)
    q = (select(UsageEvent.org_id, Organization.name, UsageEvent.tier, func.sum(UsageEvent.units),
                func.sum(UsageEvent.amount_micros), func.count())
         .join(Organization, Organization.id == UsageEvent.org_id)
         .where(UsageEvent.period == period)
         .group_by(UsageEvent.org_id, Organization.name, UsageEvent.tier)
         .order_by(Organization.name, UsageEvent.tier))
    return [{"org_id": str(o), "organization": name, "tier": tier, "predictions": int(units), "calls": int(calls),
             "amount_micros": int(amount), "amount": round(int(amount) / 1e6, 6)}
            for o, name, tier, units, amount, calls in session.execute(q).all()]


def usage_of(session: Session, org_id: uuid.UUID, period: str) -> dict[str, Any]:
    """One organization's usage in a period, by task and model version."""
    _check_period(period)
    q = (select(UsageEvent.task, UsageEvent.model_version, func.sum(UsageEvent.units),
                func.sum(UsageEvent.amount_micros))
         .where(UsageEvent.org_id == org_id, UsageEvent.period == period)
         .group_by(UsageEvent.task, UsageEvent.model_version).order_by(UsageEvent.task, UsageEvent.model_version))
    rows = [{"task": t, "model_version": v, "predictions": int(u), "amount_micros": int(a)}
            for t, v, u, a in session.execute(q).all()]
    return {"period": period, "predictions": sum(r["predictions"] for r in rows),
            "amount_micros": sum(r["amount_micros"] for r in rows), "by_model": rows}


def record_contribution(session: Session, *, org_id: uuid.UUID, task: str, model_version: str, samples: int,
                        rounds: int = 0, actor: str = "federation") -> Contribution:
    """Record (or update) a hospital's training contribution to a published version."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("no such organization")
    if samples < 0 or rounds < 0:
        raise ValidationFailed("samples and rounds must not be negative")
    row = session.scalar(select(Contribution).where(Contribution.org_id == org_id, Contribution.task == task,
                                                    Contribution.model_version == model_version))
    if row is None:
        row = Contribution(org_id=org_id, task=task, model_version=model_version, samples=samples, rounds=rounds)
        session.add(row)
    else:
        row.samples, row.rounds = samples, rounds
    session.flush()
    audit.append(session, actor=actor, action="contribution.record", target=f"org:{org_id}",
                 details={"task": task, "version": model_version, "samples": samples, "rounds": rounds})
    return row


def contributions_of(session: Session, org_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """A hospital's contributions (every organization's with `org_id=None`) with how many predictions each
    version has served so far."""
    served = {(t, v): int(n) for t, v, n in session.execute(
        select(UsageEvent.task, UsageEvent.model_version, func.sum(UsageEvent.units))
        .group_by(UsageEvent.task, UsageEvent.model_version)).all()}
    q = select(Contribution).order_by(Contribution.task, Contribution.model_version, Contribution.org_id)
    if org_id is not None:
        q = q.where(Contribution.org_id == org_id)
    names = dict(session.execute(select(Organization.id, Organization.name)).all())
    return [{"org_id": str(c.org_id), "organization": names.get(c.org_id),
             "task": c.task, "model_version": c.model_version, "samples": c.samples, "rounds": c.rounds,
             "recorded_at": c.recorded_at.isoformat(), "predictions_served": served.get((c.task, c.model_version), 0)}
            for c in session.execute(q).scalars()]


def split(amount: int, weights: dict[Any, int]) -> dict[Any, int]:
    """Split an integer amount in proportion to weights (largest remainder; the parts sum to `amount`)."""
    total = sum(weights.values())
    if amount <= 0 or total <= 0:
        return {k: 0 for k in weights}
    exact = {k: amount * w / total for k, w in weights.items()}
    parts = {k: int(amount * w // total) for k, w in weights.items()}
    left = amount - sum(parts.values())
    for k in sorted(weights, key=lambda k: (exact[k] - parts[k], str(k)), reverse=True)[:left]:
        parts[k] += 1
    return parts


def revenue_share(session: Session, period: str, *, pool_fraction: float = 1.0) -> dict[str, Any]:
    """Split the enterprise revenue of a period (times `pool_fraction`) among contributing hospitals."""
    _check_period(period)
    if not 0 <= pool_fraction <= 1:
        raise ValidationFailed("pool_fraction must be between 0 and 1")
    q = (select(UsageEvent.task, UsageEvent.model_version, func.sum(UsageEvent.amount_micros))
         .join(Organization, Organization.id == UsageEvent.org_id)
         .where(UsageEvent.period == period, Organization.kind == "enterprise")
         .group_by(UsageEvent.task, UsageEvent.model_version))
    by_version = {(t, v): int(a) for t, v, a in session.execute(q).all()}
    contribs: dict[tuple[str, str], dict[Any, int]] = defaultdict(dict)
    samples: dict[tuple[str, str, uuid.UUID], tuple[int, int]] = {}
    for c in session.execute(select(Contribution)).scalars():
        if (c.task, c.model_version) in by_version and c.samples > 0:
            # weight: samples x rounds (a row recorded without rounds counts one round)
            contribs[(c.task, c.model_version)][c.org_id] = c.samples * max(1, c.rounds)
            samples[(c.task, c.model_version, c.org_id)] = (c.samples, c.rounds)
    # nodes enrolled with no organization trained too: their weight keeps its part of the pool unattributed
    for t, v, w in session.execute(select(FederationJob.task, FederationJob.published_version,
                                          FederationJob.unattributed_weight)
                                   .where(FederationJob.published_version.is_not(None),
                                          FederationJob.unattributed_weight > 0)).all():
        if (t, v) in by_version:
            contribs[(t, v)][UNATTRIBUTED] = contribs[(t, v)].get(UNATTRIBUTED, 0) + int(w)
    names = dict(session.execute(select(Organization.id, Organization.name)).all())
    hospitals: dict[uuid.UUID, int] = defaultdict(int)
    versions, unattributed = [], 0
    for (task, version), revenue in sorted(by_version.items()):
        pool = int(revenue * pool_fraction)
        parts = split(pool, contribs.get((task, version), {}))
        if not parts:
            unattributed += pool
        unattributed += parts.pop(UNATTRIBUTED, 0)
        for org, amount in parts.items():
            hospitals[org] += amount
        versions.append({"task": task, "model_version": version, "revenue_micros": revenue, "pool_micros": pool,
                         "shares": [{"org_id": str(o), "organization": names.get(o), "amount_micros": a,
                                     "samples": samples[(task, version, o)][0],
                                     "rounds": samples[(task, version, o)][1]}
                                    for o, a in sorted(parts.items(), key=str)]})
    total = sum(by_version.values())
    return {"period": period, "revenue_micros": total, "pool_fraction": pool_fraction,
            "pool_micros": sum(v["pool_micros"] for v in versions), "unattributed_micros": unattributed,
            "hospitals": [{"org_id": str(o), "organization": names.get(o), "amount_micros": a}
                          for o, a in sorted(hospitals.items(), key=lambda kv: (-kv[1], str(kv[0])))],
            "by_version": versions}
