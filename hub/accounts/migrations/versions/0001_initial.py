"""Initial accounts schema: tiers, organizations, users, API keys, metering, consent, nodes, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ROLES = "role IN ('admin', 'data_provider', 'clinician', 'user', 'enterprise')"
KINDS = "kind IN ('personal', 'enterprise', 'hospital', 'clinic', 'platform')"

DEFAULT_TIERS = [
    {"name": "free", "monthly_quota": 100, "rate_limit_per_minute": 10, "price_micros": 0, "currency": "EUR",
     "description": "Patients and students: a monthly prediction quota and a rate limit, no charge."},
    {"name": "pay_per_use", "monthly_quota": None, "rate_limit_per_minute": 120, "price_micros": 2000,
     "currency": "EUR", "description": "Price per prediction, no monthly quota."},
    {"name": "enterprise", "monthly_quota": None, "rate_limit_per_minute": 600, "price_micros": 1000,
     "currency": "EUR", "description": "Contracted limits and price per organization."},
]


def upgrade() -> None:
    tiers = op.create_table(
        "tiers",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("monthly_quota", sa.Integer()),
        sa.Column("rate_limit_per_minute", sa.Integer()),
        sa.Column("price_micros", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
    )
    op.bulk_insert(tiers, DEFAULT_TIERS)
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(32), sa.ForeignKey("tiers.name"), nullable=False),
        sa.Column("monthly_quota", sa.Integer()),
        sa.Column("rate_limit_per_minute", sa.Integer()),
        sa.Column("price_micros", sa.BigInteger()),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint(KINDS, name="kind"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200)),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_login_at", TS),
        sa.CheckConstraint(ROLES, name="role"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("last_used_at", TS),
    )
    op.create_table(
        "usage_counters",
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("bucket", sa.String(32), primary_key=True),
        sa.Column("used", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("user_id", sa.Uuid(), sa.ForeignKey("users.id")),
        sa.Column("api_key_id", sa.Uuid(), sa.ForeignKey("api_keys.id")),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("price_micros", sa.BigInteger(), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_usage_events_org_period", "usage_events", ["org_id", "period"])
    op.create_table(
        "idempotency_keys",
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response_json", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "consent_records",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("subject_ref", sa.String(200), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), sa.ForeignKey("users.id")),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.CheckConstraint("status IN ('granted', 'withdrawn')", name="status"),
    )
    op.create_table(
        "enrollment_tokens",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("node_id", sa.Uuid()),
    )
    op.create_table(
        "nodes",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("enrolled_at", TS, nullable=False),
    )
    op.create_table(
        "contributions",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("org_id", sa.Uuid(), sa.ForeignKey("organizations.id"), nullable=False, index=True),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("samples", sa.BigInteger(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "task", "model_version", name="uq_contributions_org_version"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", BIGID, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # the chain's head exists from the start so concurrent first appends lock it instead of racing to insert it
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    for table in ("audit_head", "audit_log", "contributions", "nodes", "enrollment_tokens", "consent_records",
                  "idempotency_keys", "usage_events", "usage_counters", "api_keys", "users", "organizations",
                  "tiers"):
        op.drop_table(table)
