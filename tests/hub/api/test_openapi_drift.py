"""OpenAPI drift found by fuzzing (issue 13, defect 6): what the server does is what its schema says."""

from __future__ import annotations

from tests.hub.api.conftest import auth, bc_case, signup_login


def test_405_lists_every_method_of_the_path(client):
    h = signup_login(client)
    r = client.put("/v1/keys", headers=auth(h))  # GET and POST are two routes on this path
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json")
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}


def test_an_invalid_bearer_does_not_lose_to_a_valid_api_key(client):
    h = signup_login(client)
    key = client.post("/v1/keys", json={"name": "k"}, headers=auth(h)).json()["key"]
    url = "/v1/models/breast_cancer/predict"
    assert client.post(url, json={"inputs": bc_case()}, headers={"X-API-Key": key}).status_code == 200
    mixed = {"X-API-Key": key, "Authorization": "Bearer not-a-token"}
    r = client.post(url, json={"inputs": bc_case()}, headers=mixed)
    assert r.status_code == 401 and "one credential" in r.json()["detail"]
    same = {"X-API-Key": key, "Authorization": f"Bearer {key}"}
    assert client.post(url, json={"inputs": bc_case()}, headers=same).status_code == 200


def test_schema_states_the_enterprise_organization_rule_and_the_new_problems(app, client):
    doc = client.get("/openapi.json").json()
    signup = doc["components"]["schemas"]["SignUp"]
    assert signup["if"]["properties"]["account_type"]["const"] == "enterprise"
    assert "organization" in signup["then"]["required"]
    r = client.post("/v1/auth/signup", json={"email": "e@corp.example", "password": "a long passphrase",
                                             "account_type": "enterprise"})
    assert r.status_code == 422
    predict = doc["paths"]["/v1/models/{task}/predict"]["post"]["responses"]
    assert {"413", "429", "503"} <= set(predict)


def test_server_model_detail_documents_its_404(seeded_home, medhive_home):
    import shutil

    from fastapi.testclient import TestClient

    from medhive.server import create_app
    from medhive.settings import get_settings

    shutil.copytree(seeded_home, medhive_home, dirs_exist_ok=True)
    settings = get_settings()
    client = TestClient(create_app(settings, registry=settings.open_registry()))
    doc = client.get("/openapi.json").json()
    assert "404" in doc["paths"]["/models/{task}"]["get"]["responses"]
    r = client.get("/models/cardiology")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "Unknown task"
