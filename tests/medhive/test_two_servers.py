"""Two `medhive serve` processes on one accounts database (SQLite file and the real PostgreSQL): the quota,
the per-minute rate limit and the failed-sign-in throttle hold across both, because every count lives in
the database and not in a process. Each server is a real subprocess, polled for readiness."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hub.accounts import Store, users
from hub.accounts.models import UsageEvent
from tests.hub.api.conftest import PW, bc_case
from tests.medhive.browser import free_port
from tests.pg import pg_database, postgres_server  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
URL = "/v1/models/breast_cancer/predict"


@contextmanager
def medhive_serve(env: dict[str, str], log: Path):
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "medhive.cli", "serve", "--port", str(port)], cwd=REPO,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # a loaded 2-core machine builds the Gradio apps slowly
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"medhive serve exited ({proc.returncode}): {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"medhive serve not ready: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(params=["sqlite", pytest.param("postgresql")])
def two_servers(request, medhive_home, tmp_path):
    from hub.registry.seed import seed_baselines
    from medhive.settings import Settings

    url = (request.getfixturevalue("pg_database") if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'shared-accounts.db'}")
    seed_baselines(Settings(home=medhive_home).open_registry())
    store = Store(url)  # migrated once here; each server then finds the schema at head
    env = {**os.environ, "MEDHIVE_HOME": str(medhive_home), "MEDHIVE_DATABASE_URL": url,
           "MEDHIVE_JWT_SECRET": "two-servers-" + uuid.uuid4().hex * 2, "PYTHONPATH": str(REPO)}
    with ExitStack() as stack:
        bases = [stack.enter_context(medhive_serve(env, tmp_path / f"serve-{i}.log")) for i in range(2)]
        yield bases, store
    store.dispose()


def _signup(base: str, store: Store, **limits) -> tuple[str, uuid.UUID, str]:
    email = f"{uuid.uuid4().hex[:8]}@corp.example"
    r = httpx.post(base + "/v1/auth/signup", json={"email": email, "password": PW, "account_type": "enterprise",
                                                   "organization": f"Org {email}"}, timeout=60)
    assert r.status_code == 201, r.text
    org = uuid.UUID(r.json()["org_id"])
    token = httpx.post(base + "/v1/auth/login", json={"email": email, "password": PW}, timeout=60).json()["access_token"]
    key = httpx.post(base + "/v1/keys", json={"name": "load"}, headers={"Authorization": f"Bearer {token}"},
                     timeout=60).json()["key"]
    with store.transaction() as s:
        users.set_tier(s, org, "free", actor="test", **limits)
    return email, org, key


def _fire(bases: list[str], n: int, key: str) -> tuple[list[httpx.Response], float]:
    barrier = threading.Barrier(n)
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    clients = [httpx.Client(base_url=b, timeout=300, limits=limits) for b in bases]

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return clients[i % len(clients)].post(URL, json={"inputs": bc_case()}, headers={"X-API-Key": key})

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            out = list(pool.map(one, range(n)))
    finally:
        for c in clients:
            c.close()
    return out, time.monotonic() - started


def _billed(store: Store, org: uuid.UUID) -> int:
    with store.transaction() as s:
        return int(s.scalar(select(func.coalesce(func.sum(UsageEvent.units), 0)).where(UsageEvent.org_id == org)))


@pytest.mark.integration
@pytest.mark.slow
def test_quota_rate_limit_and_login_throttle_hold_across_two_servers(two_servers):
    bases, store = two_servers
    # 200 parallel predictions, half on each server, against a quota of 50
    _, org, key = _signup(bases[0], store, monthly_quota=50, rate_limit_per_minute=100_000)
    responses, _ = _fire(bases, 200, key)
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 50, 429: 150}, codes
    assert all(r.json()["type"].endswith("/quota-exceeded") for r in responses if r.status_code == 429)
    assert all("RateLimit" in r.headers for r in responses)
    assert _billed(store, org) == 50

    # the per-minute limit (10: one unit refills every 6 s) is one bucket for both servers
    _, org, key = _signup(bases[1], store, monthly_quota=10_000, rate_limit_per_minute=10)
    responses, seconds = _fire(bases, 30, key)
    ok = sum(r.status_code == 200 for r in responses)
    refills = math.floor(seconds / 6)
    assert 10 <= ok <= 10 + refills < 30, (ok, seconds)  # per-process limits would have let 20 through
    assert all(r.headers["RateLimit-Policy"].startswith('"minute";q=10') for r in responses)
    assert _billed(store, org) == ok

    # failed sign-ins counted on both servers lock this client out of the account on either
    email, _, _ = _signup(bases[0], store, monthly_quota=10)
    for i in range(5):
        r = httpx.post(bases[i % 2] + "/v1/auth/login", json={"email": email, "password": "wrong-password-x"},
                       timeout=60)
        assert r.status_code == 401
    for base in bases:
        locked = httpx.post(base + "/v1/auth/login", json={"email": email, "password": PW}, timeout=60)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
