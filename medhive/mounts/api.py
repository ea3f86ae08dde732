"""Mounts the metered `/v1` REST API (accounts, keys, predictions, usage, admin) on the hub server.

The accounts database is `MEDHIVE_DATABASE_URL` (default: SQLite under MEDHIVE_HOME), migrated to the
latest schema at start-up; sign-up and login go through Supabase Auth when SUPABASE_URL and a key are set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from medhive.settings import Settings
from medhive.wiring import open_store

__all__ = ["mount", "open_store"]


def mount(app: FastAPI, *, settings: Settings, registry: Any) -> None:
    from hub.accounts.security import Tokens, load_or_create_secret
    from hub.accounts.supabase_auth import SupabaseAuth
    from hub.api import install_api

    store = open_store(settings)
    tokens = Tokens(settings.jwt_secret or load_or_create_secret(settings.home),
                    ttl=timedelta(minutes=settings.jwt_ttl_minutes))
    identity = (SupabaseAuth(settings.supabase_url, settings.supabase_key)
                if settings.supabase_url and settings.supabase_key else None)
    install_api(app, store=store, registry=registry, tokens=tokens, identity=identity,
                revenue_pool_fraction=settings.revenue_share_fraction)
    app.router.on_shutdown.append(store.dispose)
