"""No patient data (inputs) in logs, audit entries, usage records or error responses."""

from __future__ import annotations

import logging

from sqlalchemy import select

from hub.accounts.models import AuditEntry, IdempotencyRecord, UsageEvent
from tests.hub.api.conftest import auth, bc_case, signup_login

URL = "/v1/models/breast_cancer/predict"
TEXT_CANARY = "PATIENT-CANARY-7731"
NUM_CANARY = 987654.321


def test_inputs_never_leak(client, store, caplog):
    caplog.set_level(logging.DEBUG)
    h = signup_login(client)
    distinctive = bc_case()
    distinctive["mean radius"] = 17.7771  # a valid value we can search for
    ok = client.post(URL, json={"inputs": distinctive}, headers={**auth(h), "Idempotency-Key": "k1"})
    assert ok.status_code == 200

    bad_text = dict(bc_case(), **{"mean radius": TEXT_CANARY})
    bad_range = dict(bc_case(), **{"mean texture": NUM_CANARY})
    bad_column = dict(bc_case(), **{TEXT_CANARY: 1.0})
    responses = [
        client.post(URL, json={"inputs": bad_text}, headers=auth(h)),
        client.post(URL, json={"inputs": bad_range}, headers=auth(h)),
        client.post(URL, json={"inputs": bad_column}, headers=auth(h)),
        client.post(URL, json={"inputs": TEXT_CANARY}, headers=auth(h)),        # schema error
        client.post(URL, json={"inputs": [bad_text], "extra": TEXT_CANARY}, headers=auth(h)),
        client.post(URL, json={"inputs": bad_text}),                                # unauthenticated
    ]
    for r in responses:
        assert 400 <= r.status_code < 500, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        for canary in (TEXT_CANARY, "987654", "17.7771"):
            assert canary not in r.text, (canary, r.text)
    # the messages stay useful without the values
    assert "mean radius" in responses[0].json()["detail"] and "range" in responses[1].json()["detail"]

    with store.transaction() as s:
        stored = " ".join(
            [f"{e.actor} {e.action} {e.target} {e.details}" for e in s.execute(select(AuditEntry)).scalars()]
            + [f"{e.task} {e.model_version} {e.units}" for e in s.execute(select(UsageEvent)).scalars()]
        )
        idem = list(s.execute(select(IdempotencyRecord)).scalars())
    assert "predict" in stored
    for canary in (TEXT_CANARY, "987654", "17.7771"):
        assert canary not in stored and canary not in caplog.text
    # the idempotency record stores the response (predictions), not the request
    assert idem and all("17.7771" not in r.response_json for r in idem)
