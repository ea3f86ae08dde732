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
