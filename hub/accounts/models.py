"""The accounts schema (SQLAlchemy 2 declarative): the one source the Alembic migration mirrors.

An *account* is an organization: usage, quotas, tiers and invoices belong to it. A patient or student
who signs up alone gets a personal organization. `supabase/migrations/` holds the same tables as SQL
with row-level security; a test checks that the three (models, Alembic, Supabase SQL) agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false, true

ROLES = ("admin", "data_provider", "clinician", "user", "enterprise")
TIERS = ("free", "pay_per_use", "enterprise")
ORG_KINDS = ("personal", "enterprise", "hospital", "clinic", "platform")
NODE_STATUSES = ("enrolled", "registered", "online", "offline", "revoked")
JOB_STATUSES = ("queued", "running", "failed", "published", "candidate", "cancelled")
REQUEST_STATUSES = ("pending", "approved", "rejected")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Tier(Base):
    """A usage tier: free (quota + rate limit), pay_per_use (price, no quota), enterprise (contracted)."""

    __tablename__ = "tiers"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    monthly_quota: Mapped[int | None] = mapped_column(Integer)  # predictions per calendar month; None: none
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    price_micros: Mapped[int] = mapped_column(BigInteger, default=0)  # per prediction, 1e-6 currency units
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    description: Mapped[str] = mapped_column(Text, default="")


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint(_in("kind", ORG_KINDS), name="kind"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), default="personal")
    tier: Mapped[str] = mapped_column(ForeignKey("tiers.name"), default="free")
    # contracted limits (enterprise) override the tier's; None: the tier's value
    monthly_quota: Mapped[int | None] = mapped_column(Integer)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    price_micros: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None when Supabase Auth holds it
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="user")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a self-declared clinician is unverified until an admin verifies them; every other sign-up is verified
    verified: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # prediction history is opt-in; the input is kept only when the user also ticks "keep my input"
    keep_history: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    keep_inputs: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; `prefix` is the non-secret part shown in listings."""

    __tablename__ = "api_keys"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the key that created this one (releases before 0003 let keys create keys): revoked with it
    created_by_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)


class UsageCounter(Base):
    """Atomic counters per organization and bucket (`m:2026-11` month, `r:2026-11-23T08:42` minute)."""

    __tablename__ = "usage_counters"
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageEvent(Base):
    """One billed call: who, which model version, how many predictions, at what price. Never inputs."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_org_period", "org_id", "period"),)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    task: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    units: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(32))
    price_micros: Mapped[int] = mapped_column(BigInteger)  # per unit, at the time of the call
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateLimitState(Base):
    """One token bucket (GCRA): `tat` is its theoretical arrival time in epoch microseconds (0: never used).

    Keys: `org:<id>` (the per-minute API limit), `login:<...>` (failed sign-ins), `demo:<...>` (the
    anonymous demo allowance), `known:<...>` (a client that signed in to an account, `tat` = expiry).
    """

    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Double)


class Prediction(Base):
    """A kept prediction (opt-in): output, model version and time; the input only if the user chose so."""

    __tablename__ = "predictions"
    __table_args__ = (Index("ix_predictions_user_created", "user_id", "created_at"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    task: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100))
    confidence: Mapped[float] = mapped_column(Double)
    output: Mapped[str] = mapped_column(Text)  # JSON: probabilities, meta
    input_summary: Mapped[str | None] = mapped_column(Text)  # JSON; only with "keep my input"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentRecord(Base):
    """A consent state change for a data set or cohort (a pseudonymous reference, never a patient)."""

    __tablename__ = "consent_records"
    __table_args__ = (CheckConstraint("status IN ('granted', 'withdrawn')", name="status"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    subject_ref: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class EnrollmentToken(Base):
    """A one-time, time-limited token a hospital node presents to enroll; only its hash is stored."""

    __tablename__ = "enrollment_tokens"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    node_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Node(Base):
    """An enrolled hospital node. `public_key` (OpenSSH line) is what the aggregator registers with the
    SuperLink; `flower_node_id` is the id the SuperLink gave it (a uint64, kept as text)."""

    __tablename__ = "nodes"
    __table_args__ = (CheckConstraint(_in("status", NODE_STATUSES), name="status"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    public_key: Mapped[str | None] = mapped_column(Text)
    flower_node_id: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="enrolled")
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Contribution(Base):
    """A hospital's recorded contribution (training samples) to one published model version."""

    __tablename__ = "contributions"
    __table_args__ = (UniqueConstraint("org_id", "task", "model_version", name="uq_contributions_org_version"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    task: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(32))
    samples: Mapped[int] = mapped_column(BigInteger)
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """Append-only, hash-chained: `hash = sha256(canonical(entry) + prev_hash)`."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO-8601 UTC, hashed as text so every backend agrees
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last (seq, hash): one row, locked by every append, detects a deleted tail."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class FederationJob(Base):
    """One federation job of the aggregation service; the hub and the aggregator share these rows.

    `status`: queued (waiting for hospitals) -> running -> published | candidate (kept, gate not passed) |
    failed | cancelled. `aggregator` is the instance that owns it: a restarted aggregator fails the jobs a
    previous instance left queued or running."""

    __tablename__ = "federation_jobs"
    __table_args__ = (CheckConstraint(_in("status", JOB_STATUSES), name="status"),
                      Index("ix_federation_jobs_task_status", "task", "status"))
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(200), default="scheduler")
    aggregator: Mapped[str] = mapped_column(String(64), default="")
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    rounds_done: Mapped[int] = mapped_column(Integer, default=0)
    hospitals: Mapped[int] = mapped_column(Integer, default=0)
    min_hospitals: Mapped[int] = mapped_column(Integer, default=3)
    published_version: Mapped[str | None] = mapped_column(String(32))
    parent_version: Mapped[str | None] = mapped_column(String(32))
    # samples x rounds trained by nodes enrolled with no organization: their share of the version's revenue
    # is reported as unattributed, never handed to the organizations that are credited
    unattributed_weight: Mapped[int] = mapped_column(BigInteger, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    policy: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the task's policy when the job was made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FederationService(Base):
    """The running aggregation service as the hub hands it to enrolling nodes: Fleet address and CA."""

    __tablename__ = "federation_service"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance: Mapped[str] = mapped_column(String(64))
    fleet_address: Mapped[str] = mapped_column(String(300))
    ca_pem: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OnboardingRequest(Base):
    """A hospital's request to join, filed anonymously (assistant or API); an admin approves or rejects."""

    __tablename__ = "onboarding_requests"
    __table_args__ = (CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organization: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    tasks: Mapped[str] = mapped_column(String(500))  # comma-separated task names
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))


class RevokedToken(Base):
    """An access token ended before its expiry (sign-out): its `jti`, refused until `expires_at` passes.

    Rows are only needed while the token could still verify, so they are deleted once expired.
    """

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
