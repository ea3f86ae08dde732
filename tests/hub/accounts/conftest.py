"""Store fixtures: every store test runs on SQLite (a temp file) and on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from hub.accounts import Store
from tests.pg import pg_database, postgres_server  # noqa: F401 - fixtures

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'accounts.db'}")
    else:
        s = Store(request.getfixturevalue("pg_database"), create=False)
    yield s
    s.dispose()
