"""A PostgreSQL database prepared the way Supabase prepares one, with supabase/migrations applied.

Supabase's pieces that the policies depend on are recreated here: the roles `anon`, `authenticated` and
`service_role` (BYPASSRLS), the `auth` schema with `auth.uid()` / `auth.role()` / `auth.jwt()` reading the
`request.jwt.claims` setting exactly as Supabase defines them, and Supabase's default grants of every
public table to anon and authenticated (so the migrations' own revokes are what protects the tables).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.pg import PostgresServer, pg_database, postgres_server  # noqa: F401 - fixtures

MIGRATIONS = Path(__file__).resolve().parents[2] / "supabase" / "migrations"

ROLES_SQL = """
do $$ begin
  if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then create role authenticated nologin noinherit; end if;
  if not exists (select from pg_roles where rolname = 'service_role') then create role service_role nologin noinherit bypassrls; end if;
end $$;
"""

SUPABASE_BOOTSTRAP = """
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;
create or replace function auth.uid() returns uuid language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'))::uuid
$$;
create or replace function auth.role() returns text language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim.role', true), ''),
                  (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'))::text
$$;
create or replace function auth.jwt() returns jsonb language sql stable as $$
  select coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''))::jsonb
$$;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
"""


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS.glob("*.sql"))


def apply_supabase(url: str) -> None:
    """Bootstrap like Supabase, then apply supabase/migrations in order (as the postgres superuser)."""
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute(ROLES_SQL)
        conn.execute(SUPABASE_BOOTSTRAP)
        for path in migration_files():
            conn.execute(path.read_text())


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def supabase_db(postgres_server: PostgresServer) -> str:  # noqa: F811
    """URL (SQLAlchemy form) of a fresh database holding the Supabase migrations."""
    return postgres_server.url(postgres_server.create_database("tpl_supabase", prepare=apply_supabase))


@contextmanager
def as_role(url: str, role: str, user_id: uuid.UUID | None = None) -> Iterator[psycopg.Connection]:
    """A connection acting like a PostgREST request: `SET ROLE <role>` with request.jwt.claims set."""
    with psycopg.connect(_dsn(url)) as conn:
        claims = {"role": role, **({"sub": str(user_id)} if user_id else {})}
        conn.execute(f"set local role {role}")
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        yield conn
        conn.rollback()
