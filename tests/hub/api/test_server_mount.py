"""The hub server (medhive.server.create_app) mounts /v1 and keeps its own routes' behaviour."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.slow
def test_create_app_mounts_v1(seeded_home, medhive_home):
    import shutil

    from medhive.server import create_app
    from medhive.settings import get_settings

    shutil.copytree(seeded_home, medhive_home, dirs_exist_ok=True)
    settings = get_settings()
    app = create_app(settings, registry=settings.open_registry())
    client = TestClient(app)
    from tests.hub.api.test_roles import route_table

    paths = {path for _, path in route_table(app)}
    assert "/v1/models/{task}/predict" in paths and "/v1/admin/audit" in paths
    r = client.get("/v1/models")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    # outside /v1 the server's own handlers still answer
    assert client.get("/models/cardiology").status_code == 404
    assert client.get("/health").json()["status"] == "ok"
    # the portal links the admin view, which reads only /v1/admin routes
    assert "href='/admin'" in client.get("/").text
    page = client.get("/admin")
    assert page.status_code == 200 and "/admin/audit" in page.text and "textContent" in page.text
    app.state.medhive_api.store.dispose()
