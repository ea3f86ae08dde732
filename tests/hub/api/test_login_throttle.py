"""Failed-sign-in throttling in the database: per account+client, per client, and a slower per-account
back-off that spares a client the owner signed in from; checked before any password; over HTTP too."""

from __future__ import annotations

from hub.accounts import login_throttle as lt
from tests.hub.api.conftest import PW, signup_login

T0 = 1_800_000_000.0


def test_attacker_client_locked_owner_client_not(store):
    with store.transaction() as s:
        for _ in range(5):
            assert lt.retry_after(s, "a@x.example", "attacker", now=T0) is None
            lt.failed(s, "A@x.example", "attacker", now=T0)
        wait = lt.retry_after(s, "a@x.example", "attacker", now=T0)
        assert wait is not None and 170 <= wait <= 181  # one more try every 3 minutes
        assert lt.retry_after(s, "a@x.example", "owner", now=T0) is None  # the owner's device is not locked
        assert lt.retry_after(s, "b@x.example", "attacker", now=T0) is None  # another account, same client
        assert lt.retry_after(s, "a@x.example", "attacker", now=T0 + 181) is None  # the bucket refilled one


def test_rotating_addresses_hit_the_account_back_off_but_not_a_known_client(store):
    with store.transaction() as s:
        lt.succeeded(s, "c@x.example", "owner", now=T0)  # the owner signed in from here before
        for i in range(20):  # a guesser rotating addresses: 20 failures from 20 clients
            lt.failed(s, "c@x.example", f"10.0.0.{i}", now=T0 + 1)
        assert lt.retry_after(s, "c@x.example", "10.0.9.9", now=T0 + 2) is not None  # a new address waits
        assert lt.retry_after(s, "c@x.example", "owner", now=T0 + 2) is None  # the owner still signs in
        for i in range(50):  # one address trying many accounts
            lt.failed(s, f"u{i}@x.example", "sprayer", now=T0)
        assert lt.retry_after(s, "new@x.example", "sprayer", now=T0) is not None
    with store.transaction() as s:
        from hub.accounts.models import RateLimitState

        stored = " ".join(r.key for r in s.query(RateLimitState))
        assert "x.example" not in stored and "sprayer" not in stored  # kept hashed


def test_failed_logins_lock_this_client_over_http(client):
    h = signup_login(client)
    email = client.get("/v1/me", headers={"Authorization": h["Authorization"]}).json()["email"]
    other = signup_login(client)
    for _ in range(5):
        r = client.post("/v1/auth/login", json={"email": email, "password": "not-the-password-1"})
        assert r.status_code == 401, r.text
    locked = client.post("/v1/auth/login", json={"email": email, "password": PW})
    assert locked.status_code == 429 and locked.json()["type"].endswith("/rate-limited")
    assert 1 <= int(locked.headers["Retry-After"]) <= 181
    assert "not-the-password" not in locked.text and email not in locked.text
    other_email = client.get("/v1/me", headers={"Authorization": other["Authorization"]}).json()["email"]
    assert client.post("/v1/auth/login", json={"email": other_email, "password": PW}).status_code == 200
