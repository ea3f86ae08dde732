"""The aggregation service: federation jobs, the service's address and CA, node keys, onboarding requests.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("public_key", sa.Text()))
        batch.add_column(sa.Column("flower_node_id", sa.String(20)))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="enrolled"))
        batch.add_column(sa.Column("last_seen_at", TS))
        batch.add_column(sa.Column("revoked_at", TS))
        batch.create_check_constraint("status", "status IN ('enrolled', 'registered', 'online', 'offline', 'revoked')")
    op.create_table(
        "federation_jobs",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(200), nullable=False),
        sa.Column("aggregator", sa.String(64), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("rounds_done", sa.Integer(), nullable=False),
        sa.Column("hospitals", sa.Integer(), nullable=False),
        sa.Column("min_hospitals", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.String(32)),
        sa.Column("parent_version", sa.String(32)),
        sa.Column("unattributed_weight", sa.BigInteger(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint("status IN ('queued', 'running', 'failed', 'published', 'candidate', 'cancelled')",
                           name="status"),
    )
    op.create_index("ix_federation_jobs_task_status", "federation_jobs", ["task", "status"])
    op.create_table(
        "federation_service",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance", sa.String(64), nullable=False),
        sa.Column("fleet_address", sa.String(300), nullable=False),
        sa.Column("ca_pem", sa.Text(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
    )
    op.create_table(
        "onboarding_requests",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("organization", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(320), nullable=False),
        sa.Column("tasks", sa.String(500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.Uuid(), sa.ForeignKey("users.id")),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id")),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
    )


def downgrade() -> None:
    op.drop_table("onboarding_requests")
    op.drop_table("federation_service")
    op.drop_index("ix_federation_jobs_task_status", "federation_jobs")
    op.drop_table("federation_jobs")
    with op.batch_alter_table("nodes") as batch:
        batch.drop_constraint("status", type_="check")
        for col in ("revoked_at", "last_seen_at", "status", "flower_node_id", "public_key"):
            batch.drop_column(col)
