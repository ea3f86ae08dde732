"""Accounts, roles, API keys, usage tiers, metering, billing, consent, node enrollment and the audit trail.

Plain services over SQLAlchemy sessions; they know nothing of HTTP (`hub.api` turns them into routes).

    >>> from hub.accounts import Store
    >>> store = Store("sqlite:///accounts.db")          # or any PostgreSQL / Supabase URL
    >>> with store.transaction() as s:
    ...     user = users.sign_up(s, email="a@example.org", password="correct horse battery")
"""

from __future__ import annotations

from hub.accounts.db import Store, default_url, migrate, normalize_url
from hub.accounts.errors import AccountsError
from hub.accounts.users import Principal

__all__ = ["AccountsError", "Principal", "Store", "default_url", "migrate", "normalize_url"]
