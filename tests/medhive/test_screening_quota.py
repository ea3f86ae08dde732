"""The screening page when the person's monthly quota cannot cover a screening: a readable message on the
page, the form keeps its values, no model runs and nothing is billed; with the quota raised the same form
screens again and bills one prediction per model used. Over HTTP (the browser journey is in
test_screening_browser.py)."""

from __future__ import annotations

import re
import uuid

import pytest

from hub.accounts import users
from hub.accounts.models import User
from tests.hub.api.conftest import seeded_home  # noqa: F401 - fixture
from tests.hub.test_screening import form_values
from tests.medhive.test_account_pages import CSRF, _client, mounted_app, sign_up


@pytest.fixture
def portal(seeded_home, medhive_home):  # noqa: F811
    from medhive.mounts import screening

    app = mounted_app(seeded_home, medhive_home, screening)
    yield app
    app.state.medhive_api.store.dispose()


def _org_of(store, email: str) -> uuid.UUID:
    with store.transaction() as s:
        return s.query(User).filter_by(email=email).one().org_id


def _used(client) -> int:
    page = client.get("/account").text
    return int(re.search(r"(\d+) of \d+", page).group(1))


def test_a_screening_over_the_quota_is_refused_on_the_page_and_bills_nothing(portal):
    store = portal.state.medhive_api.store
    c = _client(portal)
    email = "quota-screening@clinic.example"
    r = sign_up(c, email, account_type="clinician")
    assert r.url.path == "/account", r.text[:300]
    org = _org_of(store, email)
    values = form_values("heart_disease", "diabetes")  # two models can judge this case: two units

    with store.transaction() as s:  # a quota of three: the first screening uses two, one is left
        users.set_tier(s, org, "free", actor="test", monthly_quota=3, rate_limit_per_minute=1000)
    page = c.get("/screening").text
    done = c.post("/screening", data={"csrf": CSRF.search(page).group(1), **values})
    assert done.status_code == 200 and "Billed: 2 prediction(s)" in done.text
    assert _used(c) == 2

    page = c.get("/screening").text  # the same case again needs two units: refused, on the page
    refused = c.post("/screening", data={"csrf": CSRF.search(page).group(1), **values})
    error = re.search(r"id='error'[^>]*>(.*?)</", refused.text, re.S)
    assert refused.status_code == 429 and error is not None, refused.status_code
    assert "quota of 3 predictions of the free tier has 1 left and this request needs 2" in error.group(1)
    assert "<div class='result'" not in refused.text  # no model answered
    assert all(v not in error.group(1) for v in values.values() if len(v) > 2)  # no patient value in it
    assert f"value='{values['age']}'" in refused.text  # the form kept what was typed
    assert _used(c) == 2  # nothing more billed

    with store.transaction() as s:  # the quota raised (an upgrade): the same form screens again
        users.set_tier(s, org, "free", actor="test", monthly_quota=10, rate_limit_per_minute=1000)
    page = c.get("/screening").text
    again = c.post("/screening", data={"csrf": CSRF.search(page).group(1), **values})
    assert again.status_code == 200 and "Billed: 2 prediction(s)" in again.text
    assert _used(c) == 4
