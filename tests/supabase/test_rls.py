"""supabase/migrations on a real PostgreSQL: same schema as Alembic, and the RLS policies as Supabase
evaluates them (SET ROLE authenticated + request.jwt.claims, auth.uid())."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from hub.accounts import Store, audit, governance, keys, metering, users
from tests.supabase.conftest import _dsn, as_role

pytestmark = pytest.mark.integration
PW = "correct horse battery staple"


def _columns(url: str) -> set[tuple]:
    with psycopg.connect(_dsn(url)) as conn:
        return set(conn.execute(
            "select table_name, column_name, data_type, is_nullable, coalesce(character_maximum_length, 0) "
            "from information_schema.columns where table_schema = 'public'").fetchall())


def _constraints(url: str) -> set[tuple]:
    with psycopg.connect(_dsn(url)) as conn:
        return set(conn.execute(
            "select tc.table_name, tc.constraint_type, string_agg(kcu.column_name, ',' order by kcu.column_name) "
            "from information_schema.table_constraints tc join information_schema.key_column_usage kcu "
            "on tc.constraint_name = kcu.constraint_name and tc.table_schema = kcu.table_schema "
            "where tc.table_schema = 'public' group by tc.table_name, tc.constraint_name, tc.constraint_type").fetchall())


def test_supabase_schema_matches_alembic(supabase_db, pg_database):
    assert _columns(supabase_db) == _columns(pg_database)
    assert _constraints(supabase_db) == _constraints(pg_database)


@pytest.fixture
def world(supabase_db):
    """Two organizations with members, keys, usage and consent, an admin, and some audit entries, all
    written by the hub's own services through the Supabase database's connection string."""
    store = Store(supabase_db)  # alembic sees revision 0001 and creates nothing
    w = {}
    with store.transaction() as s:
        a = users.sign_up(s, email="a@acme.example", password=PW, account_type="enterprise", organization="Acme")
        a2 = users.sign_up(s, email="a2@acme.example", password=None, account_type="user")
        users.set_role(s, a2.id, "enterprise", actor="test")
        a2.org_id = a.org_id
        b = users.sign_up(s, email="b@beta.example", password=PW, account_type="enterprise", organization="Beta")
        admin_org = users.create_org(s, name="Ops", kind="platform")
        admin = users.create_user(s, email="root@ops.example", password=PW, role="admin", org_id=admin_org.id)
        for u in (a, b):
            p = users.Principal(u.id, u.org_id, u.role, u.email)
            keys.create_key(s, p, name="k")
            r = metering.reserve(s, u.org_id, 2)
            metering.record(s, r, org_id=u.org_id, user_id=u.id, api_key_id=None, task="ecg", model_version="v1.0",
                            units=2)
            governance.record_consent(s, org_id=u.org_id, subject_ref="cohort-1", scope="research", status="granted",
                                      actor="test")
        w.update(a=a.id, a2=a2.id, b=b.id, admin=admin.id, org_a=a.org_id, org_b=b.org_id, org_admin=admin_org.id)
    with store.transaction() as s:
        assert audit.verify(s).ok
    store.dispose()
    return w


def _rows(conn, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def test_member_reads_only_their_organization(supabase_db, world):
    with as_role(supabase_db, "authenticated", world["a"]) as c:
        assert {r[0] for r in _rows(c, "select org_id from public.users")} == {world["org_a"]}
        assert len(_rows(c, "select id from public.users")) == 2
        assert {r[0] for r in _rows(c, "select id from public.organizations")} == {world["org_a"]}
        for table in ("api_keys", "usage_events", "usage_counters", "consent_records"):
            orgs = {r[0] for r in _rows(c, f"select org_id from public.{table}")}
            assert orgs == {world["org_a"]}, table
        assert _rows(c, "select count(*) from public.audit_log") == [(0,)]
        assert len(_rows(c, "select name from public.tiers")) == 3
    with as_role(supabase_db, "authenticated", world["b"]) as c:
        assert {r[0] for r in _rows(c, "select org_id from public.usage_events")} == {world["org_b"]}


def test_only_admins_read_the_audit_log(supabase_db, world):
    with as_role(supabase_db, "authenticated", world["admin"]) as c:
        n = _rows(c, "select count(*) from public.audit_log")[0][0]
        assert n >= 8
        assert {r[0] for r in _rows(c, "select org_id from public.usage_events")} == {world["org_a"], world["org_b"]}
    with as_role(supabase_db, "authenticated", uuid.uuid4()) as c:  # signed in, no MedHive account
        assert _rows(c, "select count(*) from public.users") == [(0,)]
        assert _rows(c, "select count(*) from public.audit_log") == [(0,)]


@pytest.mark.parametrize("sql", [
    "select key_hash from public.api_keys",
    "select password_hash from public.users",
    "select token_hash from public.enrollment_tokens",
    "select * from public.idempotency_keys",
    "insert into public.usage_events (org_id, task, model_version, units, tier, price_micros, amount_micros, period) "
    "values (gen_random_uuid(), 't', 'v', 1, 'free', 0, 0, '2026-11')",
    "update public.organizations set tier = 'enterprise'",
    "delete from public.usage_counters",
    "update public.users set role = 'admin'",
])
def test_authenticated_cannot_read_secrets_or_write(supabase_db, world, sql):
    with as_role(supabase_db, "authenticated", world["a"]) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        c.execute(sql)


def test_anon_reads_nothing(supabase_db, world):
    for table in ("users", "organizations", "audit_log", "usage_events", "tiers"):
        with as_role(supabase_db, "anon") as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(f"select * from public.{table}")


def test_service_role_bypasses_rls_but_audit_is_append_only(supabase_db, world):
    with as_role(supabase_db, "service_role") as c:
        assert _rows(c, "select count(distinct org_id) from public.usage_events") == [(2,)]
    for sql in ("update public.audit_log set actor = 'x' where seq = 1", "delete from public.audit_log where seq = 1",
                "truncate public.audit_log"):
        with psycopg.connect(_dsn(supabase_db)) as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute(sql)  # even the postgres owner
