"""The accounts store: an engine, short transactions, and `migrate()` (Alembic `upgrade head`).

SQLite (the default, a file under MEDHIVE_HOME) runs in WAL mode and every transaction starts with
`BEGIN IMMEDIATE`: writers queue on the busy timeout instead of failing when a read transaction would
have to upgrade to a write lock, which is what keeps the quota exact under concurrent requests.
PostgreSQL (any URL, a Supabase project's included) uses READ COMMITTED and row locks taken by the
conditional UPDATE of the usage counters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def normalize_url(url: str) -> str:
    """postgres:// and postgresql:// (Supabase's connection strings) use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        db = make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_timeout=60,
                               connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):  # noqa: ANN001 - DBAPI objects
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_timeout=60, pool_pre_ping=True)


def migrate(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Run the Alembic migrations of `hub/accounts/migrations` up to `revision` on a database."""
    from alembic import command
    from alembic.config import Config

    engine = url_or_engine if isinstance(url_or_engine, Engine) else make_engine(url_or_engine, pool_size=1)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    if not isinstance(url_or_engine, Engine):
        engine.dispose()


class Store:
    """The database behind accounts: `with store.transaction() as session: ...` commits or rolls back."""

    def __init__(self, url: str, *, create: bool = True, pool_size: int = 10, audit_key: bytes | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        # the audit chain's HMAC key travels with each session (hub.accounts.audit reads it): kept outside
        # the database, so whoever can rewrite the tables cannot recompute the chain; None: unkeyed SHA-256
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, info={"audit_key": audit_key})
        # SQLite has one writer at a time; threads of this process wait for it on a lock (woken as soon as
        # it is free) instead of in SQLite's busy handler, which polls with sleeps of up to 100 ms and
        # made the slowest of 32 concurrent requests wait seconds. Other processes still use the handler.
        self._writer = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        if create:
            migrate(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        if self._writer is None:
            with self._sessions.begin() as session:
                yield session
            return
        with self._writer, self._sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Store({make_url(self.url).render_as_string(hide_password=True)!r})"


def default_url(home: Path) -> str:
    return f"sqlite:///{Path(home) / 'accounts.db'}"
