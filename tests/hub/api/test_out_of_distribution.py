"""Over HTTP: a case the model cannot judge is an RFC 9457 problem and is not billed; in a batch it is
marked, billed as judged and counted in `usage.refused`, and the others are answered; the model list shows
the reference metric and calibration error."""

from __future__ import annotations

from tests.hub.api.conftest import auth, bc_case, signup_login
from tests.hub.api.test_metering_http import URL, _billed


def _zeros() -> dict[str, float]:
    return {k: 0.0 for k in bc_case()}


def test_single_out_of_distribution_case_is_a_problem_and_not_billed(client, store):
    h = signup_login(client)
    r = client.post(URL, json={"inputs": _zeros()}, headers=auth(h))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("/out-of-distribution") and body["out_of_distribution"] is True
    # refused by the field ranges (named), whatever the whole-row distance says
    assert body["score"] is not None and "mean radius" in body["detail"] and "no prediction made" in body["detail"]
    assert "label" not in body and "probabilities" not in body
    assert _billed(store) == 0


def test_batch_marks_the_refused_case_and_answers_the_rest(client, store):
    h = signup_login(client)
    r = client.post(URL, json={"inputs": [bc_case(), _zeros()]}, headers=auth(h))
    assert r.status_code == 200, r.text
    first, second = r.json()["predictions"]
    assert first["out_of_distribution"] is False and first["label"] in ("benign", "malignant")
    assert 0 <= first["ood_score"] <= 1.0
    assert second["out_of_distribution"] is True and second["label"] is None and second["probabilities"] == {}
    assert "outside the range seen in training" in second["ood_reason"]


def test_batch_bills_refused_cases_as_judged_and_counts_them(client, store):
    h = signup_login(client)
    r = client.post(URL, json={"inputs": [bc_case(), _zeros(), _zeros()]}, headers=auth(h))
    assert r.status_code == 200, r.text
    usage = r.json()["usage"]
    assert usage["units"] == 3 and usage["refused"] == 2
    assert _billed(store) == 3  # the usage event bills all three cases, the refused two included
    r = client.post(URL, json={"inputs": [bc_case()]}, headers=auth(h))
    assert r.json()["usage"] == {**r.json()["usage"], "units": 1, "refused": 0}
    assert _billed(store) == 4


def test_model_list_shows_reference_metric_with_n_interval_and_ece(client):
    h = signup_login(client)
    row = next(m for m in client.get("/v1/models", headers=auth(h)).json() if m["task"] == "breast_cancer")
    ref = row["reference"]
    assert ref["metric"] == "roc_auc" and ref["n"] > 100 and ref["ci_low"] <= ref["value"] <= ref["ci_high"]
    assert 0 <= row["calibration"]["ece"] < 0.2
