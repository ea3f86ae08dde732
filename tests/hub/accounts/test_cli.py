"""`medhive accounts ...`, `medhive audit verify` and `medhive billing ...` on the configured database."""

from __future__ import annotations

import json

from sqlalchemy import delete, update
from typer.testing import CliRunner

from hub.accounts import audit, users
from hub.accounts.models import AuditEntry
from medhive.cli import app
from medhive.mounts.api import open_store
from medhive.settings import get_settings

runner = CliRunner()


def test_create_admin_and_list(monkeypatch):
    monkeypatch.setenv("MEDHIVE_ADMIN_PASSWORD", "a long admin passphrase")
    r = runner.invoke(app, ["accounts", "create-admin", "root@medhive.example"])
    assert r.exit_code == 0, r.output
    listed = json.loads(runner.invoke(app, ["accounts", "list"]).output)
    assert listed[0]["name"] == "MedHive operators" and listed[0]["users"] == 1
    again = runner.invoke(app, ["accounts", "create-admin", "root@medhive.example"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_audit_verify_detects_tampering():
    store = open_store(get_settings())
    with store.transaction() as s:
        users.sign_up(s, email="a@x.example", password="a long passphrase")
        for i in range(3):
            audit.append(s, actor="test", action="test", details={"i": i})
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "4 entries verified" in ok.output
    with store.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(details='{"i":42}'))
    bad = runner.invoke(app, ["audit", "verify", "--json"])
    assert bad.exit_code == 1 and json.loads(bad.stdout)["first_bad_seq"] == 2
    store.dispose()


def test_audit_verify_detects_deleted_tail():
    store = open_store(get_settings())
    with store.transaction() as s:
        for i in range(3):
            audit.append(s, actor="test", action="test", details={"i": i})
    with store.transaction() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 1 and "BROKEN at entry 3" in r.output
    store.dispose()


def test_billing_commands():
    assert runner.invoke(app, ["billing", "usage", "2026-11"]).output.strip() == "[]"
    share = json.loads(runner.invoke(app, ["billing", "revenue-share", "2026-11"]).output)
    assert share["revenue_micros"] == 0 and share["hospitals"] == []
    bad = runner.invoke(app, ["billing", "usage", "November"])
    assert bad.exit_code == 2 and "YYYY-MM" in bad.output


def test_audit_checkpoint_then_a_wiped_log_fails_verify(medhive_home):
    store = open_store(get_settings())
    with store.transaction() as s:
        for i in range(3):
            audit.append(s, actor="test", action="test", details={"i": i})
    cp = runner.invoke(app, ["audit", "checkpoint"])
    assert cp.exit_code == 0 and "checkpoint at entry 3" in cp.output
    assert (medhive_home / "audit" / "checkpoints.jsonl").is_file()
    assert (medhive_home / "keys" / "audit-hmac-key").stat().st_mode & 0o077 == 0
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "1 signed checkpoint(s)" in ok.output
    from hub.accounts.models import AuditHead

    with store.transaction() as s:  # wipe log and head: a consistent, empty chain
        s.execute(delete(AuditEntry))
        head = s.get(AuditHead, 1)
        head.seq, head.hash = 0, audit.GENESIS
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "wiped" in bad.output
    store.dispose()


def test_audit_rekey_upgrades_a_chain_written_before_the_keyed_trail(medhive_home):
    from hub.accounts import Store, default_url

    legacy = Store(default_url(medhive_home))  # no audit key: the unkeyed chain of earlier releases
    with legacy.transaction() as s:
        for i in range(3):
            audit.append(s, actor="old", action="test", details={"i": i})
    legacy.dispose()
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 1
    r = runner.invoke(app, ["audit", "rekey"])
    assert r.exit_code == 0 and "3 entries" in r.output
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "4 entries verified" in ok.output
