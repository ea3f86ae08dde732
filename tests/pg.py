"""A real, throwaway PostgreSQL server for tests (fixture plugin shared by several test folders).

One cluster per test process, in a temp dir, on a private port, started on first use and stopped at
exit. As root (CI), the server binaries run as the `postgres` user through runuser, since initdb refuses
root. Each test gets a fresh database cloned from a template that already holds the migrated schema.
Missing binaries fail the test with what to install: CI always has them.

Use it from a conftest with `from tests.pg import postgres_server, pg_database  # noqa: F401`.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

_LOCK = threading.Lock()
_SERVER: PostgresServer | None = None


def find_bindir() -> Path | None:
    candidates = [os.environ.get("MEDHIVE_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        try:
            candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                             check=True).stdout.strip())
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    for c in candidates:
        if c and (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="medhive-pg-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.dir, user="postgres")
        self._templates: set[str] = set()

    def _run(self, *args: str) -> None:
        cmd = (["runuser", "-u", "postgres", "--"] if self.as_postgres else []) + list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {proc.stderr.strip()[-800:]}")

    def start(self) -> None:
        data = self.dir / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname={database}", autocommit=True) as c:
            c.execute(sql)

    def create_database(self, template: str | None = None, *, prepare=None) -> str:
        """A new empty database, or a clone of a template built once by `prepare(url)`."""
        name = "t_" + uuid.uuid4().hex[:12]
        if template is None:
            self.execute(f'CREATE DATABASE "{name}"')
            return name
        with _LOCK:
            if template not in self._templates:
                self.execute(f'CREATE DATABASE "{template}"')
                if prepare is not None:
                    prepare(self.url(template))
                self._templates.add(template)
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name


def get_server() -> PostgresServer:
    global _SERVER
    with _LOCK:
        if _SERVER is None:
            bindir = find_bindir()
            if bindir is None:
                pytest.fail("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql "
                            "(Debian: apt-get install -y postgresql) or set MEDHIVE_PG_BINDIR", pytrace=False)
            server = PostgresServer(bindir)
            server.start()
            atexit.register(server.stop)
            _SERVER = server
        return _SERVER


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    return get_server()


@pytest.fixture
def pg_database(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, migrated database (cloned from a template migrated once)."""
    from hub.accounts.db import migrate

    name = postgres_server.create_database("tpl_accounts", prepare=migrate)
    return postgres_server.url(name)
