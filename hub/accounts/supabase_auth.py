"""Supabase Auth (GoTrue) as the identity provider, through the `supabase` client.

When a Supabase URL and key are configured, sign-up and password sign-in are delegated to Supabase Auth
(`POST /auth/v1/signup`, `POST /auth/v1/token?grant_type=password`); the local `users` row takes the
Supabase user id, so `auth.uid()` in the row-level-security policies of `supabase/migrations` is the same
id. The hub then issues its own short-lived access token for the API. A fresh client per call keeps
one user's session out of another's request.
"""

from __future__ import annotations

import uuid
from typing import Any

from hub.accounts.errors import Conflict, InvalidCredentials, UpstreamAuthError, ValidationFailed


class SupabaseAuth:
    def __init__(self, url: str, key: str) -> None:
        self.url = url.rstrip("/")
        self.key = key

    def _client(self) -> Any:
        from supabase import create_client

        return create_client(self.url, self.key)

    def _call(self, fn: Any, credentials: dict[str, Any]) -> uuid.UUID:
        from supabase_auth.errors import AuthError

        try:
            response = fn(credentials)
        except AuthError as exc:
            status, code = getattr(exc, "status", 0) or 0, (getattr(exc, "code", None) or "").lower()
            if code == "email_not_confirmed":
                raise InvalidCredentials("confirm your e-mail address first") from None
            if code in ("invalid_credentials", "invalid_grant") or status in (400, 401) and not code:
                raise InvalidCredentials("wrong e-mail or password") from None
            if code in ("user_already_exists", "email_exists") or status == 409:
                raise Conflict("an account with this e-mail already exists") from None
            if code == "weak_password" or status == 422:
                raise ValidationFailed(f"the identity provider refused the request ({code or status})") from None
            raise UpstreamAuthError(f"the identity provider failed ({code or status or 'unreachable'})") from None
        if response.user is None:
            raise UpstreamAuthError("the identity provider returned no user")
        return uuid.UUID(response.user.id)

    def sign_up(self, email: str, password: str, *, data: dict[str, Any] | None = None) -> uuid.UUID:
        """Create the user in Supabase Auth; returns its id (auth.users.id)."""
        client = self._client()
        return self._call(client.auth.sign_up, {"email": email, "password": password, "options": {"data": data or {}}})

    def sign_in(self, email: str, password: str) -> uuid.UUID:
        """Check the password with Supabase Auth; returns the user's id."""
        client = self._client()
        return self._call(client.auth.sign_in_with_password, {"email": email, "password": password})
