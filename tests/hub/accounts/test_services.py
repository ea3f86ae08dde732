"""Accounts services on SQLite and PostgreSQL: sign-up/login, roles, tiers, API keys, consent, enrollment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hub.accounts import governance, keys, users
from hub.accounts.errors import Conflict, Gone, InvalidCredentials, TokenExpired, ValidationFailed
from hub.accounts.models import ApiKey, AuditEntry, User
from hub.accounts.security import Tokens

PW = "correct horse battery staple"


def test_sign_up_login_and_roles(store):
    with store.transaction() as s:
        u = users.sign_up(s, email="Ana@Example.org", password=PW)
        e = users.sign_up(s, email="buyer@corp.example", password=PW, account_type="enterprise", organization="Corp")
    with store.transaction() as s:
        assert users.check_password(s, "ana@example.org", PW).id == u.id
        with pytest.raises(InvalidCredentials):
            users.check_password(s, "ana@example.org", PW + "x")
        with pytest.raises(InvalidCredentials):
            users.check_password(s, "nobody@example.org", PW)
        stored = s.get(User, u.id)
        assert stored.role == "user" and stored.password_hash.startswith("$argon2id$") and PW not in stored.password_hash
        ent = s.get(User, e.id)
        assert ent.role == "enterprise"
        orgs = {a["id"]: a for a in users.list_accounts(s)}
        assert orgs[str(u.org_id)]["tier"] == "free" and orgs[str(e.org_id)]["tier"] == "pay_per_use"
    with store.transaction() as s, pytest.raises(Conflict):
        users.sign_up(s, email="ana@example.org", password=PW)
    with store.transaction() as s, pytest.raises(ValidationFailed):
        users.sign_up(s, email="x@example.org", password=PW, account_type="admin")
    with store.transaction() as s, pytest.raises(ValidationFailed):
        users.sign_up(s, email="short@example.org", password="short")
    with store.transaction() as s:
        users.set_role(s, u.id, "clinician", actor="test")
        users.set_tier(s, e.org_id, "enterprise", actor="test", monthly_quota=1000, rate_limit_per_minute=5)
    with store.transaction() as s:
        assert s.get(User, u.id).role == "clinician"
        actions = [a.action for a in s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars()]
        assert actions.count("user.create") == 2 and "user.role" in actions and "org.tier" in actions


def test_jwt_expiry_and_tampering():
    tokens = Tokens("s" * 40, ttl=timedelta(minutes=5))
    import uuid

    uid, org = uuid.uuid4(), uuid.uuid4()
    tok, _ = tokens.issue(uid, org, "user")
    assert tokens.verify(tok).user_id == uid
    old, _ = tokens.issue(uid, org, "user", now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(TokenExpired):
        tokens.verify(old)
    with pytest.raises(InvalidCredentials):
        Tokens("t" * 40).verify(tok)  # signed with another secret
    with pytest.raises(InvalidCredentials):
        tokens.verify(tok[:-3] + "abc")


def test_api_keys_hashed_shown_once_revocable_expiring(store):
    with store.transaction() as s:
        u = users.sign_up(s, email="k@corp.example", password=PW, account_type="enterprise", organization="K")
        p = users.Principal(u.id, u.org_id, u.role, u.email)
        view, secret = keys.create_key(s, p, name="ci")
        _, short_secret = keys.create_key(s, p, name="short", expires_in_days=1)
    assert secret.startswith(view["prefix"] + "_") and view["status"] == "active"
    with store.transaction() as s:
        rows = list(s.execute(select(ApiKey)).scalars())
        assert all(secret not in (r.key_hash, r.prefix) for r in rows)  # only a hash is stored
        listed = keys.list_keys(s, p)
        assert {k["prefix"] for k in listed} == {view["prefix"], listed[1]["prefix"]}
        assert all("secret" not in k and "key" not in k for k in listed)
        assert users.principal_from_key(s, secret).user_id == u.id
        with pytest.raises(InvalidCredentials):
            users.principal_from_key(s, secret[:-2] + "xx")
        later = datetime.now(UTC) + timedelta(days=2)
        with pytest.raises(InvalidCredentials, match="expired"):
            users.principal_from_key(s, short_secret, now=later)
        keys.revoke_key(s, p, __import__("uuid").UUID(view["id"]))
    with store.transaction() as s, pytest.raises(InvalidCredentials, match="revoked"):
        users.principal_from_key(s, secret)
    with store.transaction() as s:
        audit = [(a.action, a.details) for a in s.execute(select(AuditEntry)).scalars()]
        assert any(a == "key.create" for a, _ in audit) and any(a == "key.revoke" for a, _ in audit)
        assert all(secret not in d for _, d in audit)


def test_enrollment_tokens_one_time_and_expiring(store):
    with store.transaction() as s:
        org = users.create_org(s, name="St Mary", kind="hospital")
        _, token = governance.create_enrollment_token(s, org_id=org.id, actor="admin", valid_hours=1)
        _, stale = governance.create_enrollment_token(s, org_id=org.id, actor="admin", valid_hours=1,
                                                      now=datetime.now(UTC) - timedelta(hours=2))
    with store.transaction() as s:
        node = governance.enroll(s, token=token, node_name="node-1")
        assert node.org_id == org.id
    with store.transaction() as s, pytest.raises(Gone, match="already been used"):
        governance.enroll(s, token=token, node_name="node-2")
    with store.transaction() as s, pytest.raises(Gone, match="expired"):
        governance.enroll(s, token=stale, node_name="node-3")
    with store.transaction() as s, pytest.raises(InvalidCredentials):
        governance.enroll(s, token="mhe_forged", node_name="node-4")


def test_consent_history_and_current_state(store):
    with store.transaction() as s:
        org = users.create_org(s, name="General", kind="hospital")
        governance.record_consent(s, org_id=org.id, subject_ref="cohort-2024-a", scope="federated_training",
                                  status="granted", actor="h")
        governance.record_consent(s, org_id=org.id, subject_ref="cohort-2024-a", scope="federated_training",
                                  status="withdrawn", actor="h")
        with pytest.raises(ValidationFailed):
            governance.record_consent(s, org_id=org.id, subject_ref="Jane Doe 1970-01-01", scope="research",
                                      status="granted", actor="h")
    with store.transaction() as s:
        assert [c["status"] for c in governance.consents(s, org.id)] == ["withdrawn"]
        assert len(governance.consents(s, org.id, current_only=False)) == 2
