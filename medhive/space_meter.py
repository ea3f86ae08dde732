"""Tiers in the Spaces: each prediction made in a Space is billed like an API call.

A signed-in visitor (the portal's session cookie) is metered against their tier in one transaction with
the usage event, the audit entry and, if they opted in, the history entry, exactly as `/v1` does; an
anonymous visitor gets a small demo allowance per client address and day (`MEDHIVE_SPACE_DEMO_PER_DAY`,
a token bucket in the same database: one prediction comes back every day / allowance), after which the
Space asks them to sign in. A refusal is one readable message (`gr.Error`); nothing is shown for a refused
prediction.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import gradio as gr

from hub.accounts import audit, history, metering, ratelimit
from hub.accounts.errors import AccountsError, BatchTooLarge, QuotaExceeded, RateLimited
from hub.api import web_session as ws
from hub.api.deps import ApiContext

DAY_S = 86400.0
UNITS = 1  # one submitted input (a form row, an image, a record) per Predict, as the API bills a file


def _cookie(request: Any) -> str | None:
    try:
        return request.cookies.get(ws.SESSION_COOKIE)
    except AttributeError:
        return None


def _client(request: Any) -> str:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) or "unknown"


def _about(seconds: float) -> str:
    """A wait in words ("about 2 h 24 min", "about 5 min", "under a minute"): the demo allowance is a token
    bucket, so it comes back one prediction at a time through the day, not all at midnight."""
    minutes = math.ceil(seconds / 60)
    if seconds < 60:
        return "under a minute"
    if minutes < 60:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h {rest} min" if rest else f"about {hours} h"


class SpaceMeter:
    """`begin` takes the units before the model runs (a refused visitor causes no model work), as `/v1`
    does; the Space then calls `commit` with the result, or `release` when anything fails or nothing could be
    judged, which gives the units back."""

    def __init__(self, api: ApiContext, *, demo_per_day: int, signin_url: str = "/signin") -> None:
        self.api, self.demo_per_day, self.signin_url = api, demo_per_day, signin_url

    def begin(self, request: Any, *, task: str) -> _SignedInBill | _DemoBill:
        principal = ws.principal_from_session(self.api, _cookie(request)) if request is not None else None
        try:
            if principal is not None:
                with self.api.store.transaction() as s:
                    reservation = metering.reserve(s, principal.org_id, UNITS)
                return _SignedInBill(self, principal, task, reservation)
            return self._demo(request, task)
        except (QuotaExceeded, RateLimited, BatchTooLarge) as exc:
            raise gr.Error(f"{exc.message}. Your account page (/account) shows your tier and what is left; "
                           "pay-per-use has no monthly quota.", title="Limit reached") from None
        except AccountsError as exc:
            raise gr.Error(exc.message, title="Cannot bill this prediction") from None

    def _demo(self, request: Any, task: str) -> _DemoBill:
        if self.demo_per_day <= 0:
            raise gr.Error(f"Sign in to predict: create a free account or sign in at {self.signin_url}.",
                           title="Sign in to continue")
        key = "demo:" + hashlib.sha256(_client(request).encode()).hexdigest()[:40]
        with self.api.store.transaction() as s:
            d = ratelimit.take(s, key, limit=self.demo_per_day, period_s=DAY_S, units=UNITS)
        if not d.allowed:
            raise gr.Error(f"You have used the {self.demo_per_day} free demo predictions of the last 24 hours; the "
                           f"next one is free in {_about(d.retry_after_s)}. Sign in or create a free account at "
                           f"{self.signin_url} to keep going (free tier: a monthly quota).",
                           title="Sign in to continue")
        return _DemoBill(self, task, key, d.remaining)


class _SignedInBill:
    def __init__(self, meter: SpaceMeter, principal: Any, task: str, reservation: Any) -> None:
        self.meter, self.p, self.task, self.r = meter, principal, task, reservation

    def commit(self, *, batch: Any, cases: Any) -> str:
        """Usage event, audit entry and (opted in) history in one transaction; the usage line to show."""
        from hub.models import get_task
        from hub.reports import describe_input

        p, r, spec = self.p, self.r, get_task(self.task)
        with self.meter.api.store.transaction() as s:
            metering.record(s, r, org_id=p.org_id, user_id=p.user_id, api_key_id=None, task=self.task,
                            model_version=batch.version, units=UNITS)
            audit.append(s, actor=p.actor, action="predict", target=f"{self.task}@{batch.version}",
                         details={"units": UNITS, "cases": len(batch.predictions), "via": "space"})
            kept = history.keep(s, p, task=self.task, model_version=batch.version, predictions=batch.predictions[:1],
                                input_summaries=lambda: [describe_input(spec, cases, 0)])
        tier = r.limits.tier.replace("_", "-")
        left = (f"{r.month_remaining} of {r.limits.monthly_quota} predictions left this month"
                if r.limits.monthly_quota is not None else "no monthly quota")
        saved = " · kept in your history" if kept else ""
        return f"**Usage:** signed in as {p.email} · {tier} tier · {left}{saved} · [my account](/account)"

    def release(self) -> None:
        with self.meter.api.store.transaction() as s:
            metering.release(s, self.p.org_id, self.r)


class _DemoBill:
    def __init__(self, meter: SpaceMeter, task: str, key: str, remaining: int) -> None:
        self.meter, self.task, self.key, self.remaining = meter, task, key, remaining

    def commit(self, *, batch: Any, cases: Any) -> str:
        with self.meter.api.store.transaction() as s:
            audit.append(s, actor="anonymous", action="predict", target=f"{self.task}@{batch.version}",
                         details={"units": UNITS, "via": "space-demo"})
        n = self.meter.demo_per_day
        return (f"**Usage:** demo · {self.remaining} of {n} free predictions left (one more every "
                f"{_about(DAY_S / n)}) · [sign in]({self.meter.signin_url}) for your monthly quota")

    def release(self) -> None:
        with self.meter.api.store.transaction() as s:
            ratelimit.give_back(s, self.key, limit=self.meter.demo_per_day, period_s=DAY_S, units=UNITS)
