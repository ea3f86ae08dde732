"""`alembic upgrade head` builds exactly the schema of the SQLAlchemy models, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from hub.accounts.models import AuditHead, Base, Tier


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.accounts.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_migrated_schema_matches_models(store):
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []
        assert ctx.get_current_revision() == _head()


def test_default_tiers_and_chain_head_seeded(store):
    with store.transaction() as s:
        tiers = {t.name: t for t in s.execute(select(Tier)).scalars()}
        assert set(tiers) == {"free", "pay_per_use", "enterprise"}
        assert tiers["free"].monthly_quota and tiers["pay_per_use"].monthly_quota is None
        assert tiers["pay_per_use"].price_micros > 0 and tiers["free"].price_micros == 0
        assert s.get(AuditHead, 1).seq == 0


def test_migrate_is_idempotent(tmp_path):
    from hub.accounts.db import Store, migrate

    url = f"sqlite:///{tmp_path / 'a.db'}"
    migrate(url)
    migrate(url)
    Store(url).dispose()


def test_0003_recovers_key_lineage_from_the_audit_trail_and_revokes_orphans(tmp_path):
    """A key created by a key before 0003 (the audit entry names the creating key) is linked to it, and
    revoked if its creator already was."""
    import uuid
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from hub.accounts.db import migrate

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0001")
    org, user, parent, child = (uuid.uuid4() for _ in range(4))
    engine = sa.create_engine(url)
    md = sa.MetaData()
    md.reflect(engine)
    t = md.tables
    now = datetime.now(UTC)
    with engine.begin() as c:
        c.execute(t["organizations"].insert().values(id=org.hex, name="o", kind="enterprise", tier="pay_per_use",
                                                     created_at=now))
        c.execute(t["users"].insert().values(id=user.hex, email="u@x.example", org_id=org.hex, role="enterprise",
                                             display_name="", active=True, created_at=now))
        for key, revoked in ((parent, now), (child, None)):
            c.execute(t["api_keys"].insert().values(id=key.hex, org_id=org.hex, user_id=user.hex, name="",
                                                    prefix=key.hex[:8], key_hash="0" * 64, created_at=now,
                                                    revoked_at=revoked))
        c.execute(t["audit_log"].insert().values(seq=1, at=now.isoformat(), actor=f"user:{user} key:{parent}",
                                                 action="key.create", target=f"key:{child}", details="{}",
                                                 prev_hash="0" * 64, hash="0" * 64))
    engine.dispose()
    migrate(url)
    from hub.accounts.db import Store
    from hub.accounts.models import ApiKey

    store = Store(url)
    with store.transaction() as s:
        row = s.get(ApiKey, child)
        assert row.created_by_key_id == parent and row.revoked_at is not None
    store.dispose()


def test_0004_upgrades_a_database_with_users_and_keys(tmp_path):
    """0004 adds its columns to a populated users table (rows pointing at it) without rebuilding it."""
    from hub.accounts import users
    from hub.accounts.db import Store, migrate
    from hub.accounts.models import User

    url = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(url, "0003")
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("PRAGMA foreign_keys=ON"))
        c.execute(sa.text("INSERT INTO organizations (id, name, kind, tier, created_at) VALUES "
                          "('0123456789abcdef0123456789abcdef', 'o', 'personal', 'free', '2026-11-01 00:00:00')"))
        c.execute(sa.text("INSERT INTO users (id, email, org_id, role, display_name, active, created_at) VALUES "
                          "('fedcba9876543210fedcba9876543210', 'old@x.example', '0123456789abcdef0123456789abcdef', "
                          "'clinician', '', 1, '2026-11-01 00:00:00')"))
    engine.dispose()
    migrate(url)
    store = Store(url)
    with store.transaction() as s:
        old = s.query(User).filter(User.email == "old@x.example").one()
        assert old.verified is True and old.keep_history is False and old.keep_inputs is False
        assert users.set_preferences(s, old.id, keep_history=True, keep_inputs=True, actor="t").keep_inputs
    store.dispose()
