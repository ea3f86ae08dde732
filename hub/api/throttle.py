"""Failed-login throttling: after too many wrong passwords for one e-mail (or from one client address)
within a window, further attempts are refused with 429 and Retry-After before any password is checked.

Kept in the server process's memory (a sliding window of failure times per key): it needs no schema and
resets on restart. With several server processes each keeps its own window, so the effective limit is
the per-process limit times the number of processes; a shared store (the accounts database or Redis) is
the next step for a multi-process deployment. E-mails are keyed by their SHA-256, never kept in clear.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, *, per_email: int = 5, per_client: int = 50, window_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_email, self.per_client, self.window_s = per_email, per_client, window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _email_key(email: str) -> str:
        return "e:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, email: str, client: str) -> int | None:
        """Seconds until the next attempt is allowed, or None when it is allowed now."""
        now = self._clock()
        with self._lock:
            waits = []
            for key, limit in ((self._email_key(email), self.per_email), ("c:" + client, self.per_client)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window_s - now)
            return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, email: str, client: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (self._email_key(email), "c:" + client):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str) -> None:
        with self._lock:
            self._failures.pop(self._email_key(email), None)
