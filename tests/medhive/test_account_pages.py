"""The portal's sign-up / sign-in / account pages over HTTP (no browser): CSRF on every form, the session
cookie's flags, the quota meter, keys for pay-per-use, preferences, sign-out; and the role x page table."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.hub.api.conftest import PW, seeded_home  # noqa: F401 - fixture

CSRF = re.compile(r"name='csrf' value='([^']+)'")


def mounted_app(seeded_home, medhive_home, *mounts) -> FastAPI:  # noqa: F811
    """An app with the /v1 API, the portal's account pages and `mounts` (modules of medhive.mounts) on a
    copy of the seeded home; dispose of `app.state.medhive_api.store` when done."""
    import shutil

    from medhive.mounts import api, portal_accounts
    from medhive.settings import get_settings

    shutil.copytree(seeded_home, medhive_home, dirs_exist_ok=True)
    settings = get_settings()
    app = FastAPI()
    registry = settings.open_registry()
    for m in (api, portal_accounts, *mounts):
        m.mount(app, settings=settings, registry=registry)
    return app


@pytest.fixture
def portal(seeded_home, medhive_home):  # noqa: F811
    app = mounted_app(seeded_home, medhive_home)
    yield app
    app.state.medhive_api.store.dispose()


def _client(app) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=True)


def _csrf(client, path: str) -> str:
    return CSRF.search(client.get(path).text).group(1)


def sign_up(client, email: str, account_type: str = "user", **extra) -> object:
    token = _csrf(client, "/signup")
    return client.post("/signup", data={"csrf": token, "email": email, "password": PW,
                                        "account_type": account_type, **extra})


def test_patient_signs_up_sees_meter_and_signs_out(portal):
    c = _client(portal)
    r = sign_up(c, "pat@example.org")
    assert r.status_code == 200 and r.url.path == "/account", r.text[:500]
    assert "id='quota-meter'" in r.text and "0 of 100" in r.text and "100 left" in r.text
    assert "Upgrade to pay-per-use" in r.text and "id='keys-table'" not in r.text  # free: no keys yet
    cookie = next(h for h in r.history[0].headers.get_list("set-cookie") if h.startswith("medhive_session="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()
    token = CSRF.search(r.text).group(1)
    out = c.post("/signout", data={"csrf": token})
    assert out.url.path == "/signin" and "medhive accounts create-admin" in out.text  # how the first admin is made
    assert c.get("/account").url.path == "/signin"


def test_a_copied_session_cookie_stops_working_at_sign_out(portal):
    """Sign-out revokes the token itself: a copy of the cookie (another tab, a stolen copy) is refused too."""
    c = _client(portal)
    r = sign_up(c, "copy@example.org")
    copied = c.cookies.get("medhive_session")
    other = _client(portal)
    other.cookies.set("medhive_session", copied)
    assert other.get("/account").url.path == "/account"  # the copy works while the session lasts
    c.post("/signout", data={"csrf": CSRF.search(r.text).group(1)})
    assert other.get("/account").url.path == "/signin"
    bearer = other.get("/v1/me", headers={"Authorization": f"Bearer {copied}"})
    assert bearer.status_code == 401 and "signed out" in bearer.json()["detail"]
    c2 = _client(portal)  # signing in again gives a new, working session
    token = _csrf(c2, "/signin")
    back = c2.post("/signin", data={"csrf": token, "email": "copy@example.org", "password": PW})
    assert back.url.path == "/account"


def test_every_form_refuses_a_post_without_its_csrf_token(portal):
    c = _client(portal)
    sign_up(c, "csrf@example.org")
    for path in ("/signin", "/signup", "/signout", "/account/preferences", "/account/upgrade", "/account/keys",
                 "/account/keys/00000000-0000-0000-0000-000000000000/revoke",
                 "/account/predictions/00000000-0000-0000-0000-000000000000/delete"):
        for data in ({}, {"csrf": "forged"}):
            r = c.post(path, data={**data, "email": "csrf@example.org", "password": PW})
            assert r.status_code == 403 and "Form refused" in r.text, (path, r.status_code)
    assert c.get("/account").url.path == "/account"  # still signed in: nothing was done
    other = _client(portal)  # a token from another browser's cookie does not fit this one
    assert other.post("/signin", data={"csrf": _csrf(c, "/signin"), "email": "x@y.org", "password": PW}).status_code == 403


def test_sign_in_errors_are_readable_and_throttled(portal):
    c = _client(portal)
    sign_up(c, "who@example.org")
    c.cookies.delete("medhive_session")
    bad = c.post("/signin", data={"csrf": _csrf(c, "/signin"), "email": "who@example.org", "password": "wrong-password"})
    assert bad.status_code == 401 and "wrong e-mail or password" in bad.text and "wrong-password" not in bad.text
    for _ in range(4):
        c.post("/signin", data={"csrf": _csrf(c, "/signin"), "email": "who@example.org", "password": "wrong-password"})
    locked = c.post("/signin", data={"csrf": _csrf(c, "/signin"), "email": "who@example.org", "password": PW})
    assert locked.status_code == 429 and "too many failed sign-ins" in locked.text


def test_enterprise_keys_clinician_unverified_and_history_preferences(portal):
    c = _client(portal)
    r = sign_up(c, "buyer@corp.example", "enterprise", organization="Corp")
    assert "pay-per-use" in r.text and "id='keys-table'" in r.text
    made = c.post("/account/keys", data={"csrf": CSRF.search(r.text).group(1), "name": "backend"})
    key = re.search(r"<code>(mh_[^<]+)</code>", made.text).group(1)
    assert c.get("/v1/me", headers={"X-API-Key": key}).json()["email"] == "buyer@corp.example"
    assert made.text.count(key) == 1  # shown once
    again = c.get("/account").text
    assert key not in again and key[:11] in again  # afterwards only the prefix

    d = _client(portal)
    page = sign_up(d, "dr@clinic.example", "clinician").text
    assert "unverified" in page
    saved = d.post("/account/preferences", data={"csrf": CSRF.search(page).group(1), "keep_history": "1"})
    assert "Preferences saved" in saved.text and "id='keep-history' value='1' checked" in saved.text


ROLE_PAGES = [("GET", "/account"), ("GET", "/account/predictions/00000000-0000-0000-0000-000000000000/report.pdf")]


@pytest.mark.parametrize("method,path", ROLE_PAGES)
def test_account_pages_need_a_session(portal, method, path):
    r = _client(portal).request(method, path)
    assert r.url.path == "/signin"
