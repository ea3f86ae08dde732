"""Errors of the accounts, metering and API packages: one base class, `AccountsError`.

Each error has a machine-readable `kind` (the problem "type" suffix), an HTTP-ish `status` the API layer
uses, and a one-line message that never contains patient data (inputs are never quoted back).
"""

from __future__ import annotations

from hub.errors import HubError


class AccountsError(HubError):
    """Base class of every expected error raised by `hub.accounts` and `hub.api`."""

    kind = "accounts-error"
    status = 400
    title = "Bad request"

    def __init__(self, message: str, *, retry_after: int | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.extra = extra or {}
        self.headers: dict[str, str] = {}  # e.g. rate-limit fields the API layer adds to the response


class NotAuthenticated(AccountsError):
    kind, status, title = "not-authenticated", 401, "Authentication required"


class InvalidCredentials(NotAuthenticated):
    kind, title = "invalid-credentials", "Invalid credentials"


class TokenExpired(NotAuthenticated):
    kind, title = "token-expired", "Token expired"


class PermissionDenied(AccountsError):
    kind, status, title = "forbidden", 403, "Forbidden"


class NotFound(AccountsError):
    kind, status, title = "not-found", 404, "Not found"


class Conflict(AccountsError):
    kind, status, title = "conflict", 409, "Conflict"


class Gone(AccountsError):
    """A one-time or time-limited credential (enrollment token) is used up or expired."""

    kind, status, title = "gone", 410, "Gone"


class ValidationFailed(AccountsError):
    kind, status, title = "validation-failed", 422, "Invalid request"


class IdempotencyKeyReused(AccountsError):
    kind, status, title = "idempotency-key-reused", 422, "Idempotency-Key reused with a different request"


class RateLimited(AccountsError):
    kind, status, title = "rate-limited", 429, "Too many requests"


class BatchTooLarge(AccountsError):
    """A batch that no wait could admit (more cases than the tier's per-minute limit or monthly quota)."""

    kind, status, title = "batch-too-large", 422, "Batch larger than the tier allows"


class QuotaExceeded(AccountsError):
    kind, status, title = "quota-exceeded", 429, "Monthly quota exceeded"


class NotImplementedYet(AccountsError):
    kind, status, title = "not-implemented", 501, "Not implemented"


class UpstreamAuthError(AccountsError):
    """The external identity provider (Supabase Auth) refused or failed."""

    kind, status, title = "auth-provider-error", 502, "Identity provider error"


class AuditChainBroken(AccountsError):
    kind, status, title = "audit-chain-broken", 500, "Audit chain broken"
