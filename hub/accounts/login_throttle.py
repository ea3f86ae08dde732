"""Failed-sign-in throttling kept in the accounts database (the limiter's token buckets), so it holds
across every server process, following OWASP's advice not to hand an attacker a lockout of a real user.

Three buckets, checked before any password is verified:
  * per account *and* client: 5 failures, then one more try every 3 minutes (the usual guesser is here);
  * per client: 50 failures over all accounts, one more every 18 s (one address trying many accounts);
  * per account, over all clients: 20 failures, one more every 15 minutes: a slower back-off that
    stops a guesser who rotates addresses. It does not apply to a client that signed in to this account
    in the last 30 days, so a flood of wrong passwords from elsewhere never locks the owner out of the
    device they use.
A success clears its account+client bucket and marks the client as known to the account. E-mails and
client addresses are keyed by their SHA-256, never stored in clear.
"""

from __future__ import annotations

import hashlib
import time

from sqlalchemy.orm import Session

from hub.accounts import ratelimit

PAIR = (5, 15 * 60.0)
CLIENT = (50, 15 * 60.0)
ACCOUNT = (20, 5 * 3600.0)
KNOWN_FOR_S = 30 * 24 * 3600.0


def _h(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def _keys(email: str, client: str) -> dict[str, str]:
    email = email.strip().lower()
    return {"pair": f"login:p:{_h(email, client)}", "client": f"login:c:{_h(client)}",
            "account": f"login:a:{_h(email)}", "known": f"known:{_h(email, client)}"}


def _buckets(session: Session, email: str, client: str, now: float) -> list[tuple[str, tuple[int, float]]]:
    keys = _keys(email, client)
    out = [(keys["pair"], PAIR), (keys["client"], CLIENT)]
    if not ratelimit.is_remembered(session, keys["known"], now=now):
        out.append((keys["account"], ACCOUNT))
    return out


def retry_after(session: Session, email: str, client: str, *, now: float | None = None) -> int | None:
    """Seconds until this client may try this account again, or None when it may now."""
    now = time.time() if now is None else now
    waits = [d.retry_after_s for key, (limit, period) in _buckets(session, email, client, now)
             if not (d := ratelimit.peek(session, key, limit=limit, period_s=period, now=now)).allowed]
    return max(waits) if waits else None


def failed(session: Session, email: str, client: str, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    keys = _keys(email, client)
    # every failure counts against the account too, even from a known client: only the check skips it
    for key, (limit, period) in ((keys["pair"], PAIR), (keys["client"], CLIENT), (keys["account"], ACCOUNT)):
        ratelimit.take(session, key, limit=limit, period_s=period, now=now)


def succeeded(session: Session, email: str, client: str, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    keys = _keys(email, client)
    ratelimit.forget(session, keys["pair"])
    ratelimit.remember_until(session, keys["known"], now + KNOWN_FOR_S)
