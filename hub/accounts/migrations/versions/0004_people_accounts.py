"""Accounts for people: verified clinicians, history opt-in, the database-backed rate limiter, kept predictions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # plain ALTER TABLE ADD COLUMN (SQLite allows it with a constant default): a batch copy of `users` would
    # have to drop a table other rows (api keys, usage) point at
    op.add_column("users", sa.Column("verified", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("users", sa.Column("keep_history", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("keep_inputs", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("tat", sa.Double(), nullable=False),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("input_summary", sa.Text()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_predictions_user_created", "predictions", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_predictions_user_created", table_name="predictions")
    op.drop_table("predictions")
    op.drop_table("rate_limits")
    for column in ("keep_inputs", "keep_history", "verified"):
        op.drop_column("users", column)
