"""The audit trail: append-only entries, each chained to the previous one with a keyed hash.

`hash_n = HMAC-SHA256(key, canonical_json(seq, at, actor, action, target, details) || hash_{n-1})`, with
the genesis `prev_hash` all zeros. The key lives outside the database (a file under MEDHIVE_HOME/keys or
a secret store; `load_or_create_audit_key`), so someone who can write the tables (a database operator,
a stolen connection string) cannot edit a row and recompute the chain after it. A store opened without
a key chains with plain SHA-256 (tools and tests only; a keyed store refuses such a chain).

`audit_head` holds the last (seq, hash) and is row-locked by every append, so concurrent appends
serialize. `verify()` recomputes the chain and reports the first broken entry: an edited row (hash
mismatch), an inserted or deleted row (a gap in seq or a prev_hash that is not the previous hash), a
truncated tail (head disagrees). Deleting the tail *and* rewinding the head, or wiping both, leaves a
consistent chain: only the signed checkpoints outside the database (`hub.accounts.checkpoints`) catch it.

Details are small facts (ids, counts, versions); callers never pass patient inputs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import AuditEntry, AuditHead

GENESIS = "0" * 64


KEY_FILE = "audit-hmac-key"


def load_or_create_audit_key(home: Path | str) -> bytes:
    """The chain's HMAC key under `home/keys/audit-hmac-key` (32 random bytes, created mode 0600)."""
    path = Path(home) / "keys" / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return bytes.fromhex(path.read_text().strip())


def _key(session: Session) -> bytes | None:
    return session.info.get("audit_key")


def _digest(seq: int, at: str, actor: str, action: str, target: str, details: str, prev_hash: str,
            key: bytes | None = None) -> str:
    body = json.dumps([seq, at, actor, action, target, details], separators=(",", ":"), ensure_ascii=False)
    data = (body + prev_hash).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else hashlib.sha256(data).hexdigest()


def append(session: Session, *, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None,
           at: datetime | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the audited change)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="microseconds")
    text = json.dumps(details or {}, sort_keys=True, separators=(",", ":"), default=str)
    seq = head.seq + 1
    entry = AuditEntry(seq=seq, at=stamp, actor=actor[:200], action=action, target=target[:200], details=text,
                       prev_hash=head.hash)
    entry.hash = _digest(seq, stamp, entry.actor, action, entry.target, text, head.hash, _key(session))
    session.add(entry)
    head.seq, head.hash = seq, entry.hash
    session.flush()
    return entry


@dataclass
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad_seq": self.first_bad_seq, "reason": self.reason}


_STORE_KEY = object()


def verify(session: Session, *, key: Any = _STORE_KEY) -> Verification:
    """Recompute the whole chain (under the store's key, or `key`); reports the first entry that fails."""
    prev, expected_seq, count = GENESIS, 1, 0
    key = _key(session) if key is _STORE_KEY else key
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        count += 1
        if e.seq != expected_seq:
            return Verification(False, count, e.seq, f"sequence gap: expected entry {expected_seq}, found {e.seq}")
        if e.prev_hash != prev:
            return Verification(False, count, e.seq, "prev_hash does not match the previous entry (inserted or deleted row)")
        if _digest(e.seq, e.at, e.actor, e.action, e.target, e.details, e.prev_hash, key) != e.hash:
            return Verification(False, count, e.seq, "entry content does not match its keyed hash (edited row, or "
                                                     "a chain recomputed without the audit key)")
        prev, expected_seq = e.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        return Verification(False, count, expected_seq, f"chain ends at entry {expected_seq - 1} but the head records "
                                                        f"entry {head_seq} (rows deleted or head altered)")
    return Verification(True, count)


def entries(session: Session, *, limit: int = 100, before: int | None = None, action: str | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before is not None:
        q = q.where(AuditEntry.seq < before)
    if action:
        q = q.where(AuditEntry.action == action)
    return list(session.execute(q).scalars())


def rekey(session: Session, *, old_key: bytes | None = None) -> int:
    """Re-chain every entry under the store's key, after checking the chain under `old_key` (None: the
    unkeyed SHA-256 chain of releases before the keyed one). A chain that does not verify is refused:
    rekeying must never launder an edit. Returns the number of entries re-chained; then appends an
    `audit.rekey` entry. Checkpoint right after (`medhive audit rekey` does)."""
    from hub.accounts.errors import AuditChainBroken

    new_key = _key(session)
    if new_key is None:
        raise AuditChainBroken("this store has no audit key to rekey to")
    before = verify(session, key=old_key)
    if not before.ok:
        raise AuditChainBroken(f"the chain does not verify under the old key (entry {before.first_bad_seq}: "
                               f"{before.reason}); refusing to rekey it")
    prev, count = GENESIS, 0
    for e in session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        e.prev_hash = prev
        e.hash = _digest(e.seq, e.at, e.actor, e.action, e.target, e.details, prev, new_key)
        prev, count = e.hash, count + 1
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is not None:
        head.hash = prev
    session.flush()
    append(session, actor="system", action="audit.rekey", details={"entries": count,
                                                                  "from": "keyed" if old_key else "unkeyed"})
    return count
