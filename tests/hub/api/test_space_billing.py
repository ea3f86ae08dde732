"""Spaces bill like /v1 (issue 13 and 14): the units are taken before the model runs, so a visitor over
their quota causes no model work, and a prediction that fails gives its units back."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import gradio as gr
import pytest
from sqlalchemy import func, select

from hub.accounts.models import UsageCounter, UsageEvent
from hub.api.web_session import SESSION_COOKIE
from hub.models import get_task
from tests.hub.api.conftest import bc_case, set_tier, signup_login
from tests.hub.api.test_hostile_input import CountingPredictor


def _space(app, *, fail: bool = False):
    from medhive.space_meter import SpaceMeter
    from medhive.ui.common import SpaceContext

    api = app.state.medhive_api
    predictor = CountingPredictor(api.predictor, fail=fail)
    return SpaceContext(task=get_task("breast_cancer"), predictor=predictor,
                        meter=SpaceMeter(api, demo_per_day=0)), predictor


def _predict(space, token: str):
    from medhive.ui.common import current_request, respond

    request = SimpleNamespace(cookies={SESSION_COOKIE: token}, client=SimpleNamespace(host="127.0.0.1"))
    cases = get_task("breast_cancer").prepare([bc_case()])
    reset = current_request.set(request)
    try:
        return respond(space, cases, 0)
    finally:
        current_request.reset(reset)


def _used(store, org_id: str) -> tuple[int, int]:
    with store.transaction() as s:
        events = int(s.scalar(select(func.coalesce(func.sum(UsageEvent.units), 0))
                              .where(UsageEvent.org_id == uuid.UUID(org_id))))
        counted = int(s.scalar(select(func.coalesce(func.max(UsageCounter.used), 0))
                               .where(UsageCounter.org_id == uuid.UUID(org_id))))
    return events, counted


def test_a_space_visitor_over_quota_causes_no_model_work(app, client, store):
    h = signup_login(client)
    set_tier(store, h["_org_id"], "enterprise", monthly_quota=1, rate_limit_per_minute=100)
    token = h["Authorization"].split()[1]
    space, predictor = _space(app)
    out = _predict(space, token)
    assert "Usage:" in out[3] and predictor.calls == 1
    with pytest.raises(gr.Error):
        _predict(space, token)
    assert predictor.calls == 1  # refused before the model ran
    assert _used(store, h["_org_id"]) == (1, 1)


def test_a_failed_space_prediction_gives_its_units_back(app, client, store):
    h = signup_login(client)
    set_tier(store, h["_org_id"], "enterprise", monthly_quota=5, rate_limit_per_minute=100)
    space, predictor = _space(app, fail=True)
    with pytest.raises(RuntimeError):
        _predict(space, h["Authorization"].split()[1])
    assert predictor.calls == 1
    assert _used(store, h["_org_id"]) == (0, 0)


def test_the_demo_allowance_says_when_the_next_free_prediction_comes_back(app):
    """The demo allowance is a token bucket: used up, it names the wait for the next one (a day / allowance
    at most), not "today"; each visitor address has its own; a failed prediction gives its unit back."""
    from medhive.space_meter import SpaceMeter

    meter = SpaceMeter(app.state.medhive_api, demo_per_day=4)
    visitor = SimpleNamespace(cookies={}, client=SimpleNamespace(host=f"192.0.2.{uuid.uuid4().int % 250 + 1}"))
    meter.begin(visitor, task="breast_cancer").release()  # a prediction that failed: nothing used
    bills = [meter.begin(visitor, task="breast_cancer") for _ in range(4)]
    assert "0 of 4 free predictions left (one more every about 6 h)" in bills[-1].commit(
        batch=SimpleNamespace(version="v1.0"), cases=None)
    with pytest.raises(gr.Error) as refused:
        meter.begin(visitor, task="breast_cancer")
    message = str(refused.value)
    assert "the next one is free in about 6 h" in message or "the next one is free in about 5 h" in message
    assert "/signin" in message and "today" not in message
    other = SimpleNamespace(cookies={}, client=SimpleNamespace(host="198.51.100.7"))
    assert meter.begin(other, task="breast_cancer").remaining == 3
