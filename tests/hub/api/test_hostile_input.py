"""Hostile input over HTTP: every case billed, limits before parsing, reservation before the model runs.

Each test reproduces a defect found by attacking a live server (issue 13) on the old behaviour's terms:
a CSV of N rows was billed one unit; a refused call had already predicted; a body was parsed whole
before any size check.
"""

from __future__ import annotations

import asyncio
import base64
import io
import time

import pytest
from sqlalchemy import func, select

from hub.accounts import metering
from hub.accounts.models import UsageEvent
from hub.api.body_limit import BodyLimit
from hub.models import get_task
from tests.hub.api.conftest import auth, bc_case, set_tier, signup_login

URL = "/v1/models/breast_cancer/predict"


def _billed(store) -> int:
    with store.transaction() as s:
        return int(s.scalar(select(func.coalesce(func.sum(UsageEvent.units), 0))))


def _csv(rows: int, *, compact: bool = False) -> bytes:
    """A WDBC CSV of `rows` valid cases; `compact`: one-digit values (valid or not, never parsed)."""
    fields = [f.name for f in get_task("breast_cancer").input_fields]
    case = bc_case()
    line = ",".join("1" if compact else f"{case[f]:g}" for f in fields)
    out = io.StringIO()
    out.write(",".join(fields) + "\n")
    out.write((line + "\n") * rows)
    return out.getvalue().encode()


def _file_body(data: bytes) -> dict:
    return {"file": {"filename": "cases.csv", "content_base64": base64.b64encode(data).decode()}}


class CountingPredictor:
    """Wraps the app's predictor to count model calls (a refused request must make none)."""

    def __init__(self, inner, *, fail: bool = False) -> None:
        self.inner, self.calls, self.fail = inner, 0, fail

    def predict_cases(self, *args, **kwargs):
        self.calls += 1
        if self.fail:
            raise RuntimeError("model crashed")
        return self.inner.predict_cases(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _count_model_calls(app, *, fail: bool = False) -> CountingPredictor:
    ctx = app.state.medhive_api
    ctx.predictor = CountingPredictor(ctx.predictor, fail=fail)
    return ctx.predictor


def test_a_csv_file_is_billed_one_unit_per_row(app, client, store):
    h = signup_login(client)
    set_tier(store, h["_org_id"], "enterprise", rate_limit_per_minute=10_000)
    r = client.post(URL, json=_file_body(_csv(150)), headers=auth(h))
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 150 and r.json()["usage"]["units"] == 150
    assert _billed(store) == 150


def test_a_free_tier_file_obeys_the_batch_limit_and_the_quota(app, client, store):
    h = signup_login(client, account_type="user")  # free
    set_tier(store, h["_org_id"], "free", monthly_quota=120, rate_limit_per_minute=10_000)
    model = _count_model_calls(app)
    over = client.post(URL, json=_file_body(_csv(metering.FILE_CASE_LIMITS["free"] + 1)), headers=auth(h))
    assert over.status_code == 413 and over.json()["type"].endswith("/input-too-large"), over.text
    ok = client.post(URL, json=_file_body(_csv(100)), headers=auth(h))
    assert ok.status_code == 200 and ok.json()["usage"]["remaining"] == 20
    # 30 rows no longer fit the quota: refused before the model runs, nothing billed
    refused = client.post(URL, json=_file_body(_csv(30)), headers=auth(h))
    assert refused.status_code == 429 and refused.json()["type"].endswith("/quota-exceeded")
    assert model.calls == 1 and _billed(store) == 100


def test_the_124995_row_csv_is_refused_before_parsing_or_billing(make_app, monkeypatch):
    from fastapi.testclient import TestClient

    # a body limit high enough to let the file through to the per-file row limit
    monkeypatch.setenv("MEDHIVE_MAX_BODY_BYTES", str(256 * 1024 * 1024))
    app = make_app()
    client, store = TestClient(app), app.state.medhive_api.store
    h = signup_login(client)
    set_tier(store, h["_org_id"], "enterprise", rate_limit_per_minute=10**6)  # file limit 100,000 cases
    model = _count_model_calls(app)
    r = client.post(URL, json=_file_body(_csv(124_995, compact=True)), headers=auth(h))
    assert r.status_code == 413 and r.json()["type"].endswith("/input-too-large"), r.text[:300]
    assert "124995" not in r.text and "100,000" in r.json()["detail"]
    assert model.calls == 0 and _billed(store) == 0


def test_a_refused_call_does_no_model_work(app, client, store):
    h = signup_login(client)
    set_tier(store, h["_org_id"], "enterprise", rate_limit_per_minute=1)
    model = _count_model_calls(app)
    assert client.post(URL, json={"inputs": bc_case(), "explain": True}, headers=auth(h)).status_code == 200
    refused = client.post(URL, json={"inputs": bc_case(), "explain": True}, headers=auth(h))
    assert refused.status_code == 429 and refused.json()["type"].endswith("/rate-limited")
    assert model.calls == 1 and _billed(store) == 1


def test_a_failed_prediction_releases_its_reservation(app, client, store):
    import uuid

    h = signup_login(client, account_type="user")
    set_tier(store, h["_org_id"], "free", monthly_quota=5, rate_limit_per_minute=100)
    _count_model_calls(app, fail=True)
    from fastapi.testclient import TestClient

    r = TestClient(app, raise_server_exceptions=False).post(URL, json={"inputs": [bc_case()] * 3}, headers=auth(h))
    assert r.status_code == 500 and "crashed" not in r.text
    with store.transaction() as s:
        assert metering.current_usage(s, uuid.UUID(h["_org_id"]))["used"] == 0
    assert _billed(store) == 0


def test_oversized_image_refused_from_its_header(app, client):
    from PIL import Image

    h = signup_login(client)
    buf = io.BytesIO()
    Image.new("1", (5000, 4000)).save(buf, format="PNG")  # 20 MP, a few kB compressed
    body = {"file": {"filename": "xray.png", "content_base64": base64.b64encode(buf.getvalue()).decode()}}
    r = client.post("/v1/models/pneumonia/predict", json=body, headers=auth(h))
    assert r.status_code == 413 and "5000 x 4000" in r.json()["detail"], r.text


def test_a_long_inline_signal_is_refused_before_it_becomes_an_array(app, client):
    h = signup_login(client)
    signal = [0.0] * (3 * 3600 * 50)  # 3 h at 50 Hz, inside the body limit
    r = client.post("/v1/models/ecg/predict", json={"inputs": signal, "options": {"fs": 50}}, headers=auth(h))
    assert r.status_code == 413 and "too long" in r.json()["detail"]


# ----- the body limit on the ASGI stream ----------------------------------------------------------------
class Recorder:
    """An inner app that records whether it ran; a receive that counts the chunks it handed out."""

    def __init__(self, chunks: int, chunk_size: int) -> None:
        self.app_called = False
        self.reads = 0
        self.chunks, self.chunk_size = chunks, chunk_size
        self.sent: list[dict] = []

    async def app(self, scope, receive, send):
        self.app_called = True
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def receive(self):
        self.reads += 1
        last = self.reads >= self.chunks
        return {"type": "http.request", "body": b"x" * self.chunk_size, "more_body": not last}

    async def send(self, message):
        self.sent.append(message)


def _scope(content_length: int | None) -> dict:
    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {"type": "http", "method": "POST", "path": URL, "headers": headers}


def test_a_200_mb_body_gets_413_without_a_byte_read():
    rec = Recorder(chunks=200, chunk_size=1024 * 1024)
    started = time.perf_counter()
    asyncio.run(BodyLimit(rec.app, max_bytes=8 * 1024 * 1024)(_scope(200 * 1024 * 1024), rec.receive, rec.send))
    elapsed = time.perf_counter() - started
    assert rec.sent[0]["status"] == 413 and b"request-too-large" in rec.sent[1]["body"]
    assert rec.reads == 0 and not rec.app_called
    assert elapsed < 1.0  # loose: nothing was read, so this is microseconds on any machine


def test_a_chunked_body_is_cut_off_at_the_limit():
    rec = Recorder(chunks=200, chunk_size=1024 * 1024)
    asyncio.run(BodyLimit(rec.app, max_bytes=4 * 1024 * 1024)(_scope(None), rec.receive, rec.send))
    assert rec.sent[0]["status"] == 413 and not rec.app_called
    assert rec.reads == 5  # four chunks fit, the fifth passes the limit: the other 195 are never read


@pytest.mark.parametrize("size", [0, 1000])
def test_a_small_chunked_body_reaches_the_app_whole(size):
    rec = Recorder(chunks=3, chunk_size=size)
    asyncio.run(BodyLimit(rec.app, max_bytes=8 * 1024 * 1024)(_scope(None), rec.receive, rec.send))
    assert rec.app_called and rec.sent[0]["status"] == 200 and rec.reads == 3


def test_the_server_answers_an_oversized_declared_body_with_a_problem(client):
    r = client.post(URL, content=b"{" + b" " * (9 * 1024 * 1024) + b"}", headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["limit_bytes"] == 8 * 1024 * 1024
