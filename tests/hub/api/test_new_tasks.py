"""The API contract of the tabular tasks on `TabularTask`: the schema with categories and optional
fields, one prediction per case with the imputed fields named, and a bad value refused naming the field."""

from __future__ import annotations

import csv

import pytest

from hub.models import get_task
from tests.hub.api.conftest import auth, signup_login

NEW = ("heart_disease", "diabetes", "chronic_kidney_disease", "parkinsons")


def example(task: str) -> dict[str, str]:
    t = get_task(task)
    with open(t.example_inputs()[0], newline="") as fh:
        row = next(csv.DictReader(fh))
    names = {a: f.name for f in t.input_fields for a in (f.name, *f.aliases)}
    return {names[k]: v for k, v in row.items()}


@pytest.mark.parametrize("task", NEW)
def test_schema_predict_and_bad_input(client, task):
    h = signup_login(client)
    spec = get_task(task)
    detail = client.get(f"/v1/models/{task}", headers=auth(h)).json()
    assert [f["name"] for f in detail["input_fields"]] == [f.name for f in spec.input_fields]
    assert [f["optional"] for f in detail["input_fields"]] == [f.optional for f in spec.input_fields]
    row = example(task)
    optional = next((f.name for f in spec.input_fields if f.optional), None)
    inputs = {k: (None if k == optional else v) for k, v in row.items() if v != ""}
    r = client.post(f"/v1/models/{task}/predict", json={"inputs": inputs, "explain": True}, headers=auth(h))
    assert r.status_code == 200, r.text
    pred = r.json()["predictions"][0]
    assert set(pred["probabilities"]) == set(spec.labels) and r.json()["model_version"] == "v1.0"
    if optional:
        assert optional in pred["meta"]["imputed"] and optional in r.json()["explanation"]["imputed"]
    f = next(x for x in spec.input_fields if not x.choices)
    bad = dict(inputs, **{f.name: f.maximum * 10 + 1000})
    refused = client.post(f"/v1/models/{task}/predict", json={"inputs": bad}, headers=auth(h))
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert f.name in detail and "outside the valid range" in detail and f"{f.maximum * 10 + 1000:g}" not in detail
