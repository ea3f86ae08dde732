"""API key lineage: which key (if any) created a key, so revoking a key revokes what it created.

Keys can no longer create keys (only an interactive session can), but releases before this one let an
API key create another, and that child outlived its parent's revocation. The creator is recovered from
the audit trail (`key.create` entries whose actor names a key), and children of already revoked keys
are revoked now, with the parent's revocation time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_KEY = re.compile(r"\bkey:([0-9a-fA-F-]{32,36})\b")


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("created_by_key_id", sa.Uuid()))
    op.create_index("ix_api_keys_created_by_key_id", "api_keys", ["created_by_key_id"])
    conn = op.get_bind()
    keys = sa.table("api_keys", sa.column("id", sa.Uuid()), sa.column("created_by_key_id", sa.Uuid()),
                    sa.column("revoked_at", sa.DateTime(timezone=True)))
    log = sa.table("audit_log", sa.column("actor", sa.String()), sa.column("action", sa.String()),
                   sa.column("target", sa.String()))
    for actor, target in conn.execute(sa.select(log.c.actor, log.c.target).where(log.c.action == "key.create")):
        parent, child = _KEY.search(actor or ""), _KEY.search(target or "")
        if parent and child:
            conn.execute(sa.update(keys).where(keys.c.id == uuid.UUID(child.group(1)))
                         .values(created_by_key_id=uuid.UUID(parent.group(1))))
    parent = keys.alias("parent")
    for _ in range(32):  # one level per pass; key chains are short
        rows = conn.execute(sa.select(keys.c.id, parent.c.revoked_at)
                            .join(parent, parent.c.id == keys.c.created_by_key_id)
                            .where(keys.c.revoked_at.is_(None), parent.c.revoked_at.is_not(None))).all()
        if not rows:
            break
        for key_id, revoked_at in rows:
            conn.execute(sa.update(keys).where(keys.c.id == key_id).values(revoked_at=revoked_at))


def downgrade() -> None:
    op.drop_index("ix_api_keys_created_by_key_id", table_name="api_keys")
    op.drop_column("api_keys", "created_by_key_id")
