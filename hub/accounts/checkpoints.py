"""Signed checkpoints of the audit chain's head, written outside the database.

The keyed chain (`hub.accounts.audit`) stops anyone without the audit key from editing a row and
recomputing the chain. It cannot stop someone with write access from deleting the newest rows and
rewinding the head, or wiping the log and the head: what is left is a consistent, shorter chain. A
checkpoint fixes the head at a moment: `{seq, hash, at, prev, key_id}` signed with ed25519 (the
registry's key infrastructure, `hub.registry.signing`), one JSON line appended to a file outside the
database (MEDHIVE_HOME/audit/checkpoints.jsonl by default; ship it to write-once storage in production).
Each line also names the SHA-256 of the line before it, so lines cannot be dropped from the middle.

`verify(session, log)` checks the chain, then every checkpoint: its signature by a trusted key, its link
to the previous line, and that the database still holds entry `seq` with exactly that hash. That detects
a truncated tail (the log ends before a checkpoint), a wiped log, and a chain recomputed with a stolen
audit key (the hash at a checkpointed seq differs).

What it does not protect against, and the reference design that would: entries written after the latest
checkpoint can still be dropped unnoticed (the window is the checkpoint interval; checkpoint on demand
after anything important); someone who holds the signing key *and* can rewrite the checkpoint file can
forge history (keep the file on other storage than the database, or publish checkpoints to the
registry or a witness); and verification is linear in the log. A Certificate-Transparency-style log
(RFC 9162: a Merkle tree over the entries, signed tree heads published to independent monitors,
inclusion and consistency proofs in O(log n)) removes the trusted operator and the linear cost; this
is the single-operator version of that idea: a hash chain with signed heads.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import AuditChainBroken
from hub.accounts.models import AuditEntry, AuditHead
from hub.registry.signing import SigningKey, TrustedKeys, canonical_json

GENESIS = "0" * 64
FIELDS = ("seq", "hash", "at", "prev", "key_id")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    prev: str  # sha256 of the previous line of the file (GENESIS for the first)
    key_id: str
    signature: str

    def signed_part(self) -> bytes:
        return canonical_json({f: getattr(self, f) for f in FIELDS})

    def line(self) -> str:
        return json.dumps({**{f: getattr(self, f) for f in FIELDS}, "signature": self.signature},
                          sort_keys=True, separators=(",", ":"))


class CheckpointLog:
    """An append-only file of signed checkpoints; `signer` to write, `trusted` to verify."""

    def __init__(self, path: Path | str, *, signer: SigningKey | None = None, trusted: TrustedKeys | None = None):
        self.path = Path(path)
        self.signer = signer
        self.trusted = trusted if trusted is not None else (TrustedKeys.of(signer) if signer else TrustedKeys())

    def lines(self) -> list[str]:
        if not self.path.is_file():
            return []
        return [ln for ln in self.path.read_text(encoding="utf-8").splitlines() if ln.strip()]

    def write(self, session: Session) -> Checkpoint:
        """Checkpoint the current head (a new line only when the head moved since the last one)."""
        if self.signer is None:
            raise AuditChainBroken("no signing key configured: cannot write audit checkpoints")
        head = session.get(AuditHead, 1)
        seq, digest = (head.seq, head.hash) if head else (0, GENESIS)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND plus an exclusive lock: concurrent writers (several server processes, the CLI) each
        # read the last line and append after it, never interleaved
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            lines = self.lines()
            if lines:
                last = _parse(lines[-1])
                if last is not None and (last.seq, last.hash) == (seq, digest):
                    return last
            prev = hashlib.sha256(lines[-1].encode()).hexdigest() if lines else GENESIS
            unsigned = Checkpoint(seq, digest, datetime.now(UTC).isoformat(timespec="seconds"), prev,
                                  self.signer.key_id, "")
            cp = Checkpoint(**{**unsigned.__dict__,
                               "signature": base64.b64encode(self.signer.sign(unsigned.signed_part())).decode()})
            os.write(fd, (cp.line() + "\n").encode())
            os.fsync(fd)
            return cp
        finally:
            os.close(fd)


def _parse(line: str) -> Checkpoint | None:
    try:
        data = json.loads(line)
        return Checkpoint(seq=int(data["seq"]), hash=str(data["hash"]), at=str(data["at"]), prev=str(data["prev"]),
                          key_id=str(data["key_id"]), signature=str(data["signature"]))
    except (ValueError, KeyError, TypeError):
        return None


def _signature_ok(cp: Checkpoint, trusted: TrustedKeys) -> bool:
    key = trusted.get(cp.key_id)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(cp.signature, validate=True), cp.signed_part())
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class FullVerification(audit.Verification):
    checkpoints: int = 0
    latest_checkpoint_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "checkpoints": self.checkpoints,
                "latest_checkpoint_seq": self.latest_checkpoint_seq}


def verify(session: Session, log: CheckpointLog) -> FullVerification:
    """The chain (`audit.verify`), then every checkpoint against it; the first problem found."""
    chain = audit.verify(session)
    lines = log.lines()
    out = FullVerification(chain.ok, chain.entries, chain.first_bad_seq, chain.reason, checkpoints=len(lines))
    if not chain.ok:
        return out
    head = session.get(AuditHead, 1)
    head_seq = head.seq if head else 0
    prev, last_seq = GENESIS, 0
    for number, line in enumerate(lines, start=1):
        cp = _parse(line)
        fail = None
        if cp is None:
            fail = f"checkpoint line {number} is malformed"
        elif not _signature_ok(cp, log.trusted):
            fail = f"checkpoint line {number} is not signed by a trusted key"
        elif cp.prev != prev:
            fail = f"checkpoint line {number} does not follow line {number - 1} (checkpoints removed or reordered)"
        elif cp.seq < last_seq:
            fail = f"checkpoint line {number} goes back from entry {last_seq} to {cp.seq}"
        elif cp.seq > head_seq:
            what = "wiped" if head_seq == 0 else f"truncated: it ends at entry {head_seq}"
            fail = f"the audit log was {what}, but a signed checkpoint of {cp.at} records entry {cp.seq}"
        elif cp.seq > 0:
            stored = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == cp.seq))
            if stored != cp.hash:
                fail = (f"entry {cp.seq} differs from the signed checkpoint of {cp.at} (rows replaced and the chain "
                        "recomputed)")
        if fail:
            out.ok, out.reason = False, fail
            out.first_bad_seq = cp.seq if cp else None
            return out
        prev, last_seq = hashlib.sha256(line.encode()).hexdigest(), cp.seq
        out.latest_checkpoint_seq = cp.seq
    return out
