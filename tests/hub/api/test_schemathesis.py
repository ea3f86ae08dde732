"""Schemathesis against the /v1 OpenAPI document: no 5xx, every response conforms to the schema.

Every operation is fuzzed with generated requests (valid ones, then invalid ones) as an admin (who may
call every route) of an unmetered organization, so the inputs reach the handlers rather than stopping at
the role check; once with a login token (Bearer) and once with an API key (X-API-Key). Schemathesis' pytest plugin does not run on this pytest, so the operations are driven
with Hypothesis directly.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.hub.api.conftest import as_role, auth, set_tier

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a dev dependency")


@pytest.mark.slow
@pytest.mark.parametrize("auth_mode", ["bearer", "api-key"])
def test_api_conforms_to_its_openapi(app, auth_mode):
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.generation import GenerationMode

    store = app.state.medhive_api.store
    h = as_role(TestClient(app), store, "admin")
    set_tier(store, h["_org_id"], "enterprise", rate_limit_per_minute=1_000_000)
    headers = auth(h)
    examples = ((GenerationMode.POSITIVE, 10), (GenerationMode.NEGATIVE, 5))
    if auth_mode == "api-key":  # the same routes as an API key: fewer examples, the handlers are covered above
        key = TestClient(app).post("/v1/keys", json={"name": "fuzz"}, headers=headers).json()["key"]
        headers = {"X-API-Key": key}
        examples = ((GenerationMode.POSITIVE, 5), (GenerationMode.NEGATIVE, 3))
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
              response_headers_conformance]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex="^/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    calls = 0
    for op in operations:
        for mode, n in examples:

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=n, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                nonlocal calls
                extra = {"Idempotency-Key": uuid.uuid4().hex}  # fresh keys: replays are tested elsewhere
                case.call_and_validate(headers={**headers, **extra}, checks=checks)
                calls += 1

            run()
    assert calls >= len(operations) * 3
