"""Prediction history over the API: off by default, opt-in keeps outputs (inputs only when asked), PDF report
from a kept prediction, delete removes for good, nobody else's history is visible; clinician sign-up;
the pay-per-use upgrade unlocks API keys for a personal account."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import func, select

from hub.accounts.models import Prediction
from tests.hub.api.conftest import PW, auth, bc_case, signup_login

URL = "/v1/models/breast_cancer/predict"


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_history_opt_in_report_and_delete(client, store):
    h = signup_login(client, account_type="user")
    case = bc_case()
    assert client.post(URL, json={"inputs": case}, headers=auth(h)).json().get("kept") is None
    assert client.get("/v1/predictions", headers=auth(h)).json() == {"total": 0, "items": []}

    me = client.put("/v1/me/preferences", json={"keep_history": True}, headers=auth(h)).json()
    assert me["keep_history"] and not me["keep_inputs"]
    out = client.post(URL, json={"inputs": [case, case]}, headers=auth(h)).json()
    assert len(out["kept"]) == 2
    page = client.get("/v1/predictions", headers=auth(h)).json()
    assert page["total"] == 2 and {i["id"] for i in page["items"]} == set(out["kept"])
    one = client.get(f"/v1/predictions/{out['kept'][0]}", headers=auth(h)).json()
    assert one["label"] == out["predictions"][0]["label"] and one["input_kept"] is False
    assert one["probabilities"] == out["predictions"][0]["probabilities"]
    pdf = client.get(f"/v1/predictions/{out['kept'][0]}/report.pdf", headers=auth(h))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = _text(pdf.content)
    assert one["label"] in text and out["model_version"] in text and "not kept" in text
    assert f"{case['mean radius']:g}" not in text.replace(" ", "")  # the input was not kept

    client.put("/v1/me/preferences", json={"keep_history": True, "keep_inputs": True}, headers=auth(h))
    kept = client.post(URL, json={"inputs": case}, headers=auth(h)).json()["kept"][0]
    assert client.get(f"/v1/predictions/{kept}", headers=auth(h)).json()["input_kept"] is True

    other = signup_login(client, account_type="user")
    assert client.get(f"/v1/predictions/{kept}", headers=auth(other)).status_code == 404
    assert client.delete(f"/v1/predictions/{kept}", headers=auth(other)).status_code == 404
    assert client.delete(f"/v1/predictions/{kept}", headers=auth(h)).status_code == 204
    assert client.get(f"/v1/predictions/{kept}", headers=auth(h)).status_code == 404
    with store.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Prediction).where(Prediction.input_summary.is_not(None))) == 0


def test_clinician_signup_is_unverified(client):
    r = client.post("/v1/auth/signup", json={"email": "dr@clinic.example", "password": PW, "account_type": "clinician"})
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "clinician" and r.json()["verified"] is False and r.json()["tier"] == "free"


def test_upgrade_to_pay_per_use_unlocks_keys(client):
    h = signup_login(client, account_type="user")
    refused = client.post("/v1/keys", json={"name": "x"}, headers=auth(h))
    assert refused.status_code == 403 and "pay-per-use" in refused.json()["detail"]
    assert client.post("/v1/me/upgrade", headers=auth(h)).json()["tier"] == "pay_per_use"
    assert client.post("/v1/me/upgrade", headers=auth(h)).status_code == 409
    key = client.post("/v1/keys", json={"name": "x"}, headers=auth(h))
    assert key.status_code == 201 and key.json()["key"].startswith("mh_")
