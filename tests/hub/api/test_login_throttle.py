"""Failed-login throttling: wrong passwords for one e-mail lock it for a window (429, Retry-After) before
any password is checked; other accounts are unaffected; a success clears the count; the window slides."""

from __future__ import annotations

from hub.api.throttle import LoginThrottle
from tests.hub.api.conftest import PW, signup_login


def test_throttle_window_slides_and_success_clears():
    now = [1000.0]
    t = LoginThrottle(per_email=3, per_client=5, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert t.retry_after("A@x.example", "1.2.3.4") is None
        t.failed("a@x.example", "1.2.3.4")
    wait = t.retry_after("a@x.example", "1.2.3.4")
    assert wait is not None and 59 <= wait <= 61
    assert t.retry_after("b@x.example", "5.6.7.8") is None  # another account, another client
    now[0] += 61
    assert t.retry_after("a@x.example", "1.2.3.4") is None  # the window slid past the failures
    t.failed("a@x.example", "1.2.3.4")
    t.succeeded("a@x.example")
    assert t.retry_after("a@x.example", "1.2.3.4") is None
    for i in range(5):  # many accounts from one client address
        t.failed(f"u{i}@x.example", "9.9.9.9")
    assert t.retry_after("new@x.example", "9.9.9.9") is not None
    assert "a@x.example" not in repr(t._failures)  # e-mails are kept hashed


def test_failed_logins_lock_the_account_over_http(client):
    h = signup_login(client)
    email = client.get("/v1/me", headers={"Authorization": h["Authorization"]}).json()["email"]
    other = signup_login(client)
    for _ in range(5):
        r = client.post("/v1/auth/login", json={"email": email, "password": "not-the-password-1"})
        assert r.status_code == 401, r.text
    locked = client.post("/v1/auth/login", json={"email": email, "password": PW})  # even the right one
    assert locked.status_code == 429 and locked.json()["type"].endswith("/rate-limited")
    assert 1 <= int(locked.headers["Retry-After"]) <= 901
    assert "not-the-password" not in locked.text and email not in locked.text
    assert other["Authorization"]  # another account still logs in
    other_email = client.get("/v1/me", headers={"Authorization": other["Authorization"]}).json()["email"]
    assert client.post("/v1/auth/login", json={"email": other_email, "password": PW}).status_code == 200
