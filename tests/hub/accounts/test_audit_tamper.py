"""Audit rewrites an insider with database access could make (issue 13, defect 5), on SQLite and PostgreSQL.

Before: the chain was unkeyed SHA-256 and anchored nowhere outside the tables, so (1) deleting the last
rows and rewinding the head, (2) wiping the log and the head, and (3) editing a row and recomputing the
chain all passed `audit verify`. Each test shows the chain alone still accepts the rewrite (1, 2) or the
key-less recomputation fails (3), and the keyed chain plus signed checkpoints outside the database
reject all three.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from sqlalchemy import delete, select

from hub.accounts import Store, audit, checkpoints
from hub.accounts.checkpoints import CheckpointLog
from hub.accounts.models import AuditEntry, AuditHead
from hub.registry.signing import SigningKey, TrustedKeys

KEY = bytes(range(32))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def keyed(request, tmp_path):
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'accounts.db'}", audit_key=KEY)
    else:
        store = Store(request.getfixturevalue("pg_database"), create=False, audit_key=KEY)
    signer = SigningKey.generate()
    log = CheckpointLog(tmp_path / "outside-db" / "checkpoints.jsonl", signer=signer)
    with store.transaction() as s:
        for i in range(12):
            audit.append(s, actor=f"user:{i}", action="test.event", target=f"t{i}", details={"i": i})
            if i == 9:
                log.write(s)  # a checkpoint at entry 10; entries 11-12 come after it
    yield store, log
    store.dispose()


def _full(store, log):
    with store.transaction() as s:
        return checkpoints.verify(s, log)


def _chain(store):
    with store.transaction() as s:
        return audit.verify(s)


def _rewind(s, to_seq: int) -> None:
    """Delete every entry after `to_seq` and point the head at `to_seq`: a consistent, shorter chain."""
    s.execute(delete(AuditEntry).where(AuditEntry.seq > to_seq))
    head = s.get(AuditHead, 1)
    head.seq = to_seq
    head.hash = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == to_seq)) if to_seq else audit.GENESIS


def test_untouched_log_verifies_with_its_checkpoints(keyed):
    store, log = keyed
    result = _full(store, log)
    assert result.ok and result.entries == 12 and result.checkpoints == 1 and result.latest_checkpoint_seq == 10


def test_truncated_tail_with_rewound_head_is_detected(keyed):
    store, log = keyed
    with store.transaction() as s:
        _rewind(s, 6)
    assert _chain(store).ok  # the old defect: the chain alone cannot tell
    result = _full(store, log)
    assert not result.ok and "truncated" in result.reason and result.first_bad_seq == 10


def test_wiped_log_and_head_is_detected(keyed):
    store, log = keyed
    with store.transaction() as s:
        _rewind(s, 0)
    assert _chain(store).ok and _chain(store).entries == 0
    result = _full(store, log)
    assert not result.ok and "wiped" in result.reason


def _recompute(s, key: bytes | None) -> None:
    """Edit entry 3, then rehash it and every later entry, as an insider rewriting history would."""
    prev = audit.GENESIS
    for e in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars():
        if e.seq == 3:
            e.details = json.dumps({"i": 999})
        e.prev_hash = prev
        body = json.dumps([e.seq, e.at, e.actor, e.action, e.target, e.details], separators=(",", ":"),
                          ensure_ascii=False) + prev
        e.hash = (hmac.new(key, body.encode(), hashlib.sha256) if key else hashlib.sha256(body.encode())).hexdigest()
        prev = e.hash
    s.get(AuditHead, 1).hash = prev


def test_edited_row_with_the_chain_recomputed_is_detected(keyed):
    store, log = keyed
    with store.transaction() as s:  # without the key (only database access): the keyed chain refuses it
        _recompute(s, None)
    result = _full(store, log)
    assert not result.ok and result.first_bad_seq == 1 and "keyed hash" in result.reason


def test_recomputed_with_a_stolen_audit_key_is_caught_by_the_checkpoint(keyed):
    store, log = keyed
    with store.transaction() as s:
        _recompute(s, KEY)
    assert _chain(store).ok  # a consistent keyed chain again...
    result = _full(store, log)  # ...but entry 10's hash is not the one signed outside the database
    assert not result.ok and result.first_bad_seq == 10 and "differs from the signed checkpoint" in result.reason


def test_forged_or_removed_checkpoints_are_detected(keyed, tmp_path):
    store, log = keyed
    with store.transaction() as s:
        log.write(s)  # a second checkpoint, at entry 12
        assert log.write(s).seq == 12 and len(log.lines()) == 2  # an unchanged head writes no new line
    lines = log.lines()
    log.path.write_text(lines[1] + "\n")  # the first line dropped
    assert "does not follow" in _full(store, log).reason
    forger = CheckpointLog(tmp_path / "forged.jsonl", signer=SigningKey.generate())
    with store.transaction() as s:
        forger.write(s)
    forged = CheckpointLog(forger.path, trusted=TrustedKeys.of(log.signer))
    assert "not signed by a trusted key" in _full(store, forged).reason


def test_a_store_opened_without_the_key_cannot_pass_the_keyed_chain_off(keyed):
    store, _ = keyed
    plain = Store(store.url, create=False)
    try:
        with plain.transaction() as s:
            assert not audit.verify(s).ok
    finally:
        plain.dispose()


def test_an_unkeyed_chain_is_rekeyed_only_if_it_verifies(tmp_path):
    """A database written before the keyed chain: refused by a keyed store until `rekey`, which checks the
    old chain first and so never launders an edit."""
    from sqlalchemy import update

    from hub.accounts.errors import AuditChainBroken

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    legacy = Store(url)
    with legacy.transaction() as s:
        for i in range(4):
            audit.append(s, actor="old", action="test.event", details={"i": i})
    legacy.dispose()
    keyed = Store(url, audit_key=KEY)
    with keyed.transaction() as s:
        assert not audit.verify(s).ok
        assert audit.rekey(s) == 4
    with keyed.transaction() as s:
        result = audit.verify(s)
        assert result.ok and result.entries == 5
    keyed.dispose()
    # an edited legacy chain is refused
    url2 = f"sqlite:///{tmp_path / 'edited.db'}"
    legacy = Store(url2)
    with legacy.transaction() as s:
        for i in range(3):
            audit.append(s, actor="old", action="test.event", details={"i": i})
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(details='{"i":99}'))
    legacy.dispose()
    keyed = Store(url2, audit_key=KEY)
    with pytest.raises(AuditChainBroken, match="refusing to rekey"), keyed.transaction() as s:
        audit.rekey(s)
    keyed.dispose()
