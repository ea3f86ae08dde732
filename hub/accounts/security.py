"""Secrets: password hashing (argon2id), API keys and enrollment tokens (random, stored as SHA-256), JWTs.

API keys look like `mh_<prefix>_<secret>`: the prefix (8 characters) is stored in the clear and shown in
listings so a user can tell keys apart; the whole key is shown once, at creation, and only its SHA-256 is
stored (a 256-bit random secret needs no slow hash). Passwords, low-entropy, use argon2id through
argon2-cffi at OWASP's recommended cost (19 MiB, 2 passes, 1 lane); hashes made by earlier releases
(scrypt) still verify and `needs_rehash` tells the sign-in to replace them with argon2id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.accounts.errors import InvalidCredentials, NotAuthenticated, TokenExpired

KEY_PREFIX = "mh_"
ISSUER = "medhive"
AUDIENCE = "medhive-api"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # what releases before argon2id stored; verified, then re-hashed
# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1
_ARGON2 = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _ARGON2.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _ARGON2.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str | None) -> bool:
    """True when a (verified) stored hash is not argon2id at the current parameters."""
    if not stored:
        return False
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _ARGON2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@dataclass(frozen=True)
class NewKey:
    """A freshly generated API key: `secret` is the full key (shown once), `prefix` and `hash` are stored."""

    secret: str
    prefix: str
    hash: str


def new_api_key() -> NewKey:
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(secret=secret, prefix=prefix, hash=sha256_hex(secret))


def key_prefix(secret: str) -> str | None:
    """The stored prefix of a presented key, or None when it is not shaped like a MedHive key."""
    if not secret.startswith(KEY_PREFIX):
        return None
    prefix, sep, rest = secret[len(KEY_PREFIX):].partition("_")
    return prefix if sep and len(prefix) == 8 and rest else None


def new_token() -> tuple[str, str]:
    """A one-time token (enrollment) and the SHA-256 to store."""
    token = f"mhe_{secrets.token_urlsafe(32)}"
    return token, sha256_hex(token)


def load_or_create_secret(home: Path) -> str:
    """The JWT signing secret kept under `home/keys/jwt-secret` (created, mode 0600, on first use)."""
    path = Path(home) / "keys" / "jwt-secret"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    tmp.replace(path)
    return path.read_text().strip()


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: str
    expires_at: datetime
    jti: str | None = None  # absent only in tokens minted before revocation existed


class Tokens:
    """Issues and verifies the API's HS256 access tokens (sub = user, org, role, exp)."""

    def __init__(self, secret: str, *, ttl: timedelta = timedelta(hours=1)) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.ttl = ttl

    def mac(self, text: str) -> str:
        """An HMAC-SHA256 of `text` under the signing secret (the portal's CSRF tokens)."""
        return hmac.new(self._secret.encode(), text.encode(), hashlib.sha256).hexdigest()

    def issue(self, user_id: uuid.UUID, org_id: uuid.UUID, role: str, *, now: datetime | None = None,
              ttl: timedelta | None = None) -> tuple[str, datetime]:
        now = now or datetime.now(UTC)
        exp = now + (ttl if ttl is not None else self.ttl)
        claims = {"sub": str(user_id), "org": str(org_id), "role": role, "iat": int(now.timestamp()),
                  "exp": int(exp.timestamp()), "iss": ISSUER, "aud": AUDIENCE, "jti": secrets.token_hex(8)}
        return jwt.encode(claims, self._secret, algorithm="HS256"), exp

    def verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "sub", "iat"]})
        except jwt.ExpiredSignatureError:
            raise TokenExpired("the access token has expired; log in again") from None
        except jwt.PyJWTError:
            raise InvalidCredentials("the access token is invalid") from None
        try:
            return TokenClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["org"]), str(claims["role"]),
                               datetime.fromtimestamp(claims["exp"], UTC), claims.get("jti"))
        except (KeyError, ValueError):
            raise NotAuthenticated("the access token lacks its claims") from None
