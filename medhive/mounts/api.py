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
                predictor=getattr(app.state, "predictor", None),  # the server's one predictor, when it has one
                revenue_pool_fraction=settings.revenue_share_fraction, key_expiry_days=settings.key_expiry_days)
    _checkpoint_audit(app, store, settings)
    app.router.on_shutdown.append(store.dispose)
    # server-wide (every path, the Spaces and the portal too): the body limit before any parsing, and the
    # security headers on every response
    from hub.api.body_limit import BodyLimit
    from hub.api.security_headers import SecurityHeaders

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)


def _checkpoint_audit(app: FastAPI, store: Any, settings: Settings) -> None:
    """Signed checkpoints of the audit head: at start-up, every `audit_checkpoint_interval_s`, at shutdown."""
    import logging
    import threading


    log = settings.audit_checkpoint_log()
    app.state.medhive_api.extra["audit_checkpoints"] = log
    stop = threading.Event()

    def write() -> None:
        try:
            with store.transaction() as s:
                log.write(s)
        except Exception as exc:  # noqa: BLE001 - a failed checkpoint is logged, the server keeps serving
            logging.getLogger("medhive.audit").error("audit checkpoint failed: %s", type(exc).__name__)

    def loop() -> None:
        while not stop.wait(settings.audit_checkpoint_interval_s):
            write()

    def start() -> None:
        write()
        if settings.audit_checkpoint_interval_s:
            threading.Thread(target=loop, name="audit-checkpoints", daemon=True).start()

    def shutdown() -> None:
        stop.set()
        write()

    app.router.on_startup.append(start)
    app.router.on_shutdown.insert(0, shutdown)
