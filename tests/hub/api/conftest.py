"""API fixtures: an app with the real /v1 mount (medhive.mounts.api) on SQLite or PostgreSQL,
with a registry seeded once per session and copied into each test's MEDHIVE_HOME."""

from __future__ import annotations

import shutil
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.pg import pg_database, postgres_server  # noqa: F401 - fixtures

PW = "correct horse battery staple"
CASE = None


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory):
    from hub.registry.seed import seed_baselines
    from medhive.settings import Settings

    home = tmp_path_factory.mktemp("seeded-home")
    seed_baselines(Settings(home=home).open_registry())
    return home


@pytest.fixture
def make_app(seeded_home, medhive_home, monkeypatch):
    """make_app(database_url=None) -> the hub app with /v1 mounted (SQLite under MEDHIVE_HOME by default)."""
    shutil.copytree(seeded_home, medhive_home, dirs_exist_ok=True)
    apps = []

    def make(database_url: str | None = None):
        # only this mount: the full server also builds the Gradio apps (seconds per app);
        # test_server_mount checks that medhive.server.create_app picks this mount up
        from fastapi import FastAPI

        from medhive.mounts.api import mount
        from medhive.settings import get_settings

        if database_url:
            monkeypatch.setenv("MEDHIVE_DATABASE_URL", database_url)
        settings = get_settings()
        app = FastAPI(title="MedHive")
        mount(app, settings=settings, registry=settings.open_registry())
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.state.medhive_api.store.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return TestClient(app)


@pytest.fixture
def store(app):
    return app.state.medhive_api.store


def bc_case() -> dict[str, float]:
    """A valid breast_cancer case: a real WDBC row (the middle of every field's range is no case a model
    was trained on, and is refused as out of distribution)."""
    from sklearn.datasets import load_breast_cancer

    from hub.models import get_task

    row = load_breast_cancer().data[19]  # a benign case
    return {f.name: round(float(v), 4) for f, v in zip(get_task("breast_cancer").input_fields, row)}


def signup_login(client, *, email=None, account_type="enterprise", organization=None) -> dict[str, str]:
    email = email or f"{uuid.uuid4().hex[:10]}@corp.example"
    body = {"email": email, "password": PW, "account_type": account_type}
    if account_type == "enterprise":
        body["organization"] = organization or f"Org {email}"
    r = client.post("/v1/auth/signup", json=body)
    assert r.status_code == 201, r.text
    token = client.post("/v1/auth/login", json={"email": email, "password": PW}).json()["access_token"]
    return {"Authorization": f"Bearer {token}", "_user_id": r.json()["user_id"], "_org_id": r.json()["org_id"]}


def auth(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.startswith("_")}


def as_role(client, store, role: str) -> dict[str, str]:
    """Headers of a fresh user who holds `role` (granted directly in the store, as an admin would)."""
    from hub.accounts import users

    h = signup_login(client, account_type="enterprise" if role == "enterprise" else "user")
    if role not in ("enterprise", "user"):
        with store.transaction() as s:
            users.set_role(s, uuid.UUID(h["_user_id"]), role, actor="test")
    return h


def set_tier(store, org_id: str, tier: str = "enterprise", **limits) -> None:
    from hub.accounts import users

    with store.transaction() as s:
        users.set_tier(s, uuid.UUID(org_id), tier, actor="test", **limits)
