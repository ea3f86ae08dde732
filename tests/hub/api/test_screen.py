"""`POST /v1/screen` over HTTP: the models that can judge the case answer, one billed prediction each; a
bad form is a problem+json naming the field (no values) and costs nothing; the form route; roles."""

from __future__ import annotations

import base64

from sqlalchemy import select

from hub.accounts.models import UsageEvent
from tests.hub.api.conftest import auth, signup_login
from tests.hub.test_screening import form_values


def test_screen_bills_one_prediction_per_model_used(client, store):
    h = signup_login(client)
    form = client.get("/v1/screen/form", headers=auth(h))
    assert form.status_code == 200
    shared = {f["key"]: f for f in form.json() if f["shared"]}
    assert "age" in shared and {"heart_disease", "diabetes"} <= set(shared["age"]["models"])

    values = form_values("heart_disease", "diabetes")
    r = client.post("/v1/screen", json={"values": values, "report": True}, headers=auth(h))
    assert r.status_code == 200, r.text
    body = r.json()
    used = {m["task"]: m for m in body["models_used"]}
    assert set(used) == {"heart_disease", "diabetes"}
    assert all(m["model_version"] == "v1.0" and m["key_factors"] for m in used.values())
    skipped = {m["task"]: m["needs"] for m in body["models_skipped"]}
    assert "parkinsons" in skipped and skipped["parkinsons"]
    assert body["usage"]["units"] == 2 and "Not a diagnosis" in body["disclaimer"]
    assert base64.b64decode(body["report_pdf_base64"]).startswith(b"%PDF-")
    with store.transaction() as s:
        events = list(s.execute(select(UsageEvent)).scalars())
    assert sorted((e.task, e.units) for e in events) == [("diabetes", 1), ("heart_disease", 1)]
    assert client.get("/v1/usage", headers=auth(h)).json()["predictions"] == 2


def test_a_bad_form_is_a_problem_naming_the_field_and_is_not_billed(client):
    h = signup_login(client)
    values = dict(form_values("heart_disease", "diabetes"), age="431")
    r = client.post("/v1/screen", json={"values": values}, headers=auth(h))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert "age is outside every model's valid range" in r.json()["detail"] and "431" not in r.text
    nothing = client.post("/v1/screen", json={"values": {"age": 50}}, headers=auth(h))
    assert nothing.status_code == 422 and "no model has the inputs it needs" in nothing.json()["detail"]
    assert client.get("/v1/usage", headers=auth(h)).json()["predictions"] == 0
    assert client.post("/v1/screen", json={"values": values}).status_code == 401
