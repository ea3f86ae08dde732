"""The hub server: health and the models with their versions, in-process and as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from medhive.cli import open_registry
from medhive.server import create_app
from medhive.settings import get_settings


@pytest.fixture
def client():
    settings = get_settings()
    return TestClient(create_app(settings, registry=open_registry(settings)))


def test_health_and_models(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["tasks_served"] >= 1
    models = {m["task"]: m for m in client.get("/models").json()}
    assert models["breast_cancer"]["production"] == "v1.0"
    assert models["breast_cancer"]["metrics"]["roc_auc"] > 0.9
    detail = client.get("/models/breast_cancer").json()
    assert detail["versions"][0]["version"] == "v1.0" and detail["history"][0]["action"] == "publish"
    page = client.get("/")
    assert page.status_code == 200 and "Breast cancer" in page.text


def test_errors_are_problem_json(client):
    r = client.get("/models/cardiology")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404 and "unknown task" in r.json()["detail"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.integration
def test_medhive_serve_answers_over_http(tmp_path):
    port = _free_port()
    exe = Path(sys.executable).parent / "medhive"
    proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env={**os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 600  # readiness is polled; the deadline only catches a hung start (loaded CI)
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"server did not start: {proc.stderr.read() if proc.poll() is not None else 'timeout'}") from None
                time.sleep(0.5)
        assert r.json()["status"] == "ok"
        models = httpx.get(f"http://127.0.0.1:{port}/models", timeout=10).json()
        assert any(m["production"] == "v1.0" for m in models)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
