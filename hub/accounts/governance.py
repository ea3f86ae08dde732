"""Consent records and node enrollment: both audited, neither holds patient data.

Consent is recorded per data set or cohort under a pseudonymous reference chosen by the hospital (never
a name or record number); each change is a new row, so the history is kept and the current state is the
latest row. Enrollment tokens are one-time and time-limited; only their SHA-256 is stored.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import Conflict, Gone, InvalidCredentials, NotFound, ValidationFailed
from hub.accounts.models import ConsentRecord, EnrollmentToken, Node, Organization
from hub.accounts.security import new_token, sha256_hex

SCOPES = ("federated_training", "evaluation", "research")
REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
MAX_TOKEN_HOURS = 24 * 7


def record_consent(session: Session, *, org_id: uuid.UUID, subject_ref: str, scope: str, status: str, actor: str,
                   recorded_by: uuid.UUID | None = None, note: str = "") -> ConsentRecord:
    if scope not in SCOPES:
        raise ValidationFailed(f"scope must be one of {', '.join(SCOPES)}")
    if status not in ("granted", "withdrawn"):
        raise ValidationFailed("status must be 'granted' or 'withdrawn'")
    if not REF_RE.match(subject_ref):
        raise ValidationFailed("subject_ref must be a short pseudonymous reference (letters, digits, . _ : -)")
    rec = ConsentRecord(org_id=org_id, subject_ref=subject_ref, scope=scope, status=status,
                        recorded_by=recorded_by, note=note[:500])
    session.add(rec)
    session.flush()
    audit.append(session, actor=actor, action="consent.change", target=f"org:{org_id}",
                 details={"subject_ref": subject_ref, "scope": scope, "status": status})
    return rec


def consent_view(r: ConsentRecord) -> dict[str, Any]:
    return {"id": str(r.id), "org_id": str(r.org_id), "subject_ref": r.subject_ref, "scope": r.scope,
            "status": r.status, "recorded_at": r.recorded_at.isoformat(), "note": r.note}


def consents(session: Session, org_id: uuid.UUID | None, *, current_only: bool = True) -> list[dict[str, Any]]:
    q = select(ConsentRecord).order_by(ConsentRecord.recorded_at, ConsentRecord.id)
    if org_id is not None:
        q = q.where(ConsentRecord.org_id == org_id)
    rows = list(session.execute(q).scalars())
    if current_only:
        latest: dict[tuple, ConsentRecord] = {}
        for r in rows:
            latest[(r.org_id, r.subject_ref, r.scope)] = r
        rows = list(latest.values())
    return [consent_view(r) for r in rows]


def create_enrollment_token(session: Session, *, org_id: uuid.UUID, actor: str, created_by: uuid.UUID | None = None,
                            valid_hours: float = 24, now: datetime | None = None) -> tuple[EnrollmentToken, str]:
    """A one-time token for a hospital's node: (its record, the token to hand over once)."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("no such organization")
    if not 0 < valid_hours <= MAX_TOKEN_HOURS:
        raise ValidationFailed(f"valid_hours must be in (0, {MAX_TOKEN_HOURS}]")
    now = now or datetime.now(UTC)
    token, digest = new_token()
    rec = EnrollmentToken(org_id=org_id, token_hash=digest, created_by=created_by, created_at=now,
                          expires_at=now + timedelta(hours=valid_hours))
    session.add(rec)
    session.flush()
    audit.append(session, actor=actor, action="enrollment.token", target=f"org:{org_id}",
                 details={"token_id": str(rec.id), "expires_at": rec.expires_at.isoformat()})
    return rec, token


MAX_PUBLIC_KEY_CHARS = 1024


def check_public_key(text: str) -> str:
    """A node's public key: an OpenSSH EC key line on a NIST curve (what flwr 1.32.1's SuperLink registers),
    normalized; anything else is refused before it reaches the aggregator."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if len(text) > MAX_PUBLIC_KEY_CHARS:
        raise ValidationFailed("public_key is too long")
    try:
        key = serialization.load_ssh_public_key(text.strip().encode())
    except (ValueError, TypeError, UnicodeError, UnsupportedAlgorithm):
        raise ValidationFailed("public_key must be an OpenSSH public key line") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise ValidationFailed("public_key must be an EC key on a NIST curve (P-256, P-384 or P-521)")
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def enroll(session: Session, *, token: str, node_name: str, public_key: str | None = None,
           now: datetime | None = None) -> Node:
    """Spend a token to enroll a node; refused when unknown, used or expired. With `public_key` the
    aggregation service registers the node's key with its SuperLink (no key: the node is credited but
    cannot join a SuperLink that authenticates nodes)."""
    now = now or datetime.now(UTC)
    if not node_name.strip() or len(node_name) > 200:
        raise ValidationFailed("node_name must be 1..200 characters")
    key = check_public_key(public_key) if public_key else None
    if key is not None and session.scalar(select(Node.id).where(Node.public_key == key)) is not None:
        raise Conflict("this node key is already enrolled; make a new key pair for a new node")
    rec = session.scalar(select(EnrollmentToken).where(EnrollmentToken.token_hash == sha256_hex(token)))
    if rec is None:
        raise InvalidCredentials("unknown enrollment token")
    if rec.used_at is not None:
        raise Gone("this enrollment token has already been used")
    if rec.expires_at <= now:
        raise Gone("this enrollment token has expired; ask an admin for a new one")
    node = Node(org_id=rec.org_id, name=node_name.strip(), enrolled_at=now, public_key=key)
    session.add(node)
    session.flush()
    # the conditional update makes the token one-time even under concurrent enrollments
    spent = session.execute(update(EnrollmentToken).where(EnrollmentToken.id == rec.id, EnrollmentToken.used_at.is_(None))
                            .values(used_at=now, node_id=node.id).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise Gone("this enrollment token has already been used")
    audit.append(session, actor=f"node:{node.id}", action="node.enroll", target=f"org:{rec.org_id}",
                 details={"node": node.name, "token_id": str(rec.id)})
    return node
