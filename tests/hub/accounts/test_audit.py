"""The audit chain verifies, and detects an edited, inserted or deleted row (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update

from hub.accounts import audit
from hub.accounts.models import AuditEntry, AuditHead


def _fill(store, n=5):
    with store.transaction() as s:
        for i in range(n):
            audit.append(s, actor=f"user:{i}", action="test.event", target=f"t{i}", details={"i": i})


def _verify(store):
    with store.transaction() as s:
        return audit.verify(s)


def test_chain_verifies(store):
    assert _verify(store).ok and _verify(store).entries == 0
    _fill(store)
    v = _verify(store)
    assert v.ok and v.entries == 5


@pytest.mark.parametrize("tamper", ["edit", "insert", "delete_middle", "delete_tail", "rehash_edit"])
def test_tampering_is_detected(store, tamper):
    _fill(store)
    with store.transaction() as s:
        if tamper == "edit":
            s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(actor="someone-else"))
        elif tamper == "rehash_edit":
            # an edit that also recomputes the row's own hash still breaks the next link
            e = s.get(AuditEntry, 3)
            e.details = '{"i":99}'
            e.hash = audit._digest(e.seq, e.at, e.actor, e.action, e.target, e.details, e.prev_hash)
        elif tamper == "insert":
            s.execute(update(AuditEntry).where(AuditEntry.seq >= 4).values(seq=AuditEntry.seq + 10))
            s.execute(insert(AuditEntry).values(seq=4, at="2026-01-01T00:00:00", actor="x", action="forged",
                                                target="", details="{}", prev_hash="0" * 64, hash="0" * 64))
        elif tamper == "delete_middle":
            s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
        elif tamper == "delete_tail":
            s.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    v = _verify(store)
    assert not v.ok and v.first_bad_seq is not None and v.reason
    expected = {"edit": 3, "rehash_edit": 4, "insert": 4, "delete_middle": 3, "delete_tail": 5}[tamper]
    assert v.first_bad_seq == expected, v


def test_appends_continue_the_chain_after_reads(store):
    _fill(store, 2)
    with store.transaction() as s:
        head = s.execute(select(AuditHead)).scalar_one()
        assert head.seq == 2
    _fill(store, 2)
    assert _verify(store).entries == 4 and _verify(store).ok
