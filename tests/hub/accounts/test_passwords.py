"""Passwords: argon2id at OWASP's cost, scrypt hashes of earlier releases re-hashed at the next sign-in."""

from __future__ import annotations

import base64
import hashlib
import secrets

from argon2 import PasswordHasher, Type, extract_parameters

from hub.accounts import users
from hub.accounts.models import User
from hub.accounts.security import hash_password, needs_rehash, verify_password

PW = "correct horse battery staple"


def _old_scrypt_hash(password: str) -> str:
    """A hash exactly as releases before argon2id stored it (scrypt n=2^14, r=8, p=1)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def test_argon2id_at_owasp_cost_and_verified_by_the_library():
    stored = hash_password(PW)
    params = extract_parameters(stored)
    assert (params.type, params.memory_cost, params.time_cost, params.parallelism) == (Type.ID, 19 * 1024, 2, 1)
    assert PasswordHasher().verify(stored, PW)  # argon2-cffi's own verifier agrees
    assert verify_password(PW, stored) and not verify_password(PW + "x", stored)
    assert not needs_rehash(stored)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PW)
    assert verify_password(PW, weaker) and needs_rehash(weaker)
    assert not verify_password(PW, "garbage") and not verify_password(PW, None)


def test_scrypt_hash_is_replaced_at_next_sign_in(store):
    with store.transaction() as s:
        u = users.sign_up(s, email="old@example.org", password=PW)
        s.get(User, u.id).password_hash = _old_scrypt_hash(PW)
    with store.transaction() as s:
        assert s.get(User, u.id).password_hash.startswith("scrypt$")
        try:
            users.check_password(s, "old@example.org", PW + "wrong")
        except Exception:  # noqa: BLE001 - a wrong password must not touch the stored hash
            pass
    with store.transaction() as s:
        assert s.get(User, u.id).password_hash.startswith("scrypt$")
        users.check_password(s, "old@example.org", PW)
    with store.transaction() as s:
        stored = s.get(User, u.id).password_hash
        assert stored.startswith("$argon2id$") and verify_password(PW, stored)
        assert users.check_password(s, "old@example.org", PW).id == u.id
