"""One broken model version is isolated, never contagious (issue 13, defect 3).

Before: deleting one `signature.json` made the start-up seeder try to republish v1.0 ("v1.0 of pneumonia
already exists; versions are immutable") in every command and the server, and `/health` said every task
was served. Now the seeder leaves it alone, `medhive models verify` names it, `/health` reports that
task unavailable with the reason, its portal card says so, a prediction gets a 503 problem with the
real reason, and every other task serves.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from medhive.cli import app as cli
from medhive.cli import open_registry
from medhive.server import create_app
from medhive.settings import get_settings
from tests.hub.api.conftest import auth, bc_case, signup_login

runner = CliRunner()


@pytest.fixture
def broken_home(medhive_home):
    open_registry(get_settings())  # seeds every shipped task
    signature = medhive_home / "registry" / "pneumonia" / "versions" / "v1.0" / "signature.json"
    signature.unlink()
    return medhive_home


def test_cli_keeps_working_and_verify_names_the_broken_version(broken_home):
    listed = runner.invoke(cli, ["models", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "already exists" not in listed.output
    rows = {r["task"]: r for r in json.loads(listed.stdout)}
    assert rows["breast_cancer"]["production"] == "v1.0"

    verify = runner.invoke(cli, ["models", "verify", "--json"])
    assert verify.exit_code == 1
    report = {(r["task"], r["version"]): r for r in json.loads(verify.stdout)}
    bad = report[("pneumonia", "v1.0")]
    assert not bad["ok"] and "not signed" in bad["reason"] and bad["aliases"] == "production"
    assert all(r["ok"] for key, r in report.items() if key[0] != "pneumonia")
    # the seeder did not publish anything over or beside it
    assert [k for k in report if k[0] == "pneumonia"] == [("pneumonia", "v1.0")]


def test_server_serves_the_other_tasks_and_health_names_the_broken_one(broken_home):
    settings = get_settings()
    client = TestClient(create_app(settings, registry=open_registry(settings)))
    health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["tasks"]["pneumonia"]["status"] == "unavailable"
    assert "not signed" in health["tasks"]["pneumonia"]["reason"]
    assert health["tasks"]["breast_cancer"]["status"] == "ok"
    assert health["tasks_served"] == sum(t["status"] == "ok" for t in health["tasks"].values()) >= 3

    h = signup_login(client)
    ok = client.post("/v1/models/breast_cancer/predict", json={"inputs": bc_case()}, headers=auth(h))
    assert ok.status_code == 200
    image = [[0.5] * 64 for _ in range(64)]
    down = client.post("/v1/models/pneumonia/predict", json={"inputs": image}, headers=auth(h))
    assert down.status_code == 503 and down.headers["content-type"].startswith("application/problem+json")
    problem = down.json()
    assert problem["type"].endswith("/signature-invalid") and problem["title"] == "Model version failed verification"
    assert "not signed" in problem["detail"]

    page = client.get("/")
    assert page.status_code == 200
    card = page.text.split("id='card-pneumonia'")[1].split("</article>")[0]
    assert "unavailable" in card and "Open Space" not in card
    other = page.text.split("id='card-breast_cancer'")[1].split("</article>")[0]
    assert "unavailable" not in other


def test_tampered_weights_show_in_health_after_the_failed_load(medhive_home):
    settings = get_settings()
    registry = open_registry(settings)
    weights = medhive_home / "registry" / "breast_cancer" / "versions" / "v1.0" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    client = TestClient(create_app(settings, registry=registry))
    assert client.get("/health").json()["tasks"]["breast_cancer"]["status"] == "ok"  # only the digest shows it
    h = signup_login(client)
    r = client.post("/v1/models/breast_cancer/predict", json={"inputs": bc_case()}, headers=auth(h))
    assert r.status_code == 503 and "does not match its signed digest" in r.json()["detail"]
    after = client.get("/health").json()  # the registry view is cached; the failed load shows at once
    assert after["status"] == "degraded" and after["tasks"]["breast_cancer"]["status"] == "unavailable"
    assert "signed digest" in after["tasks"]["breast_cancer"]["reason"]
