"""Composition helpers: how MedHive's parts are built from the settings, in one place.

The CLI commands, the server and its mounts, and the standalone Spaces all get the registry, the
accounts store, the predictor and the assistant from here, so each is put together one way only. Every
import happens inside the function that needs it: importing this module costs nothing, which keeps
`medhive --help` and the light commands (listing models, validating data) free of torch and the web stack.

This module imports only `hub`, `assistant` and `medhive.settings`; nothing in `medhive/` that builds
commands or mounts is imported here, so `medhive/` has no import loops.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medhive.settings import Settings

#: the assistant's Markdown documents in a source checkout (the `knowledge_dir` setting overrides it)
REPO_KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


def _stderr(line: str) -> None:
    # looked up at call time: test runners and pipes swap sys.stderr after import
    print(line, file=sys.stderr)


def settings() -> Settings:
    """The settings as the environment gives them (the one place `medhive` reads it is medhive.settings)."""
    from medhive.settings import get_settings

    return get_settings()


def open_registry(config: Settings | None = None, *, seed: bool = True,
                  say: Callable[[str], None] = _stderr) -> Any:
    """The configured registry; on first use it is seeded with the shipped v1.0 baselines (announced)."""
    config = config or settings()
    registry = config.open_registry()
    if seed:
        from hub.registry.seed import seed_baselines

        for info in seed_baselines(registry):
            say(f"seeded {info.task} {info.version} (production)")
    return registry


def open_store(config: Settings, *, create: bool = True) -> Any:
    """The accounts database (`database_url`, default SQLite under home), migrated when `create`."""
    from hub.accounts import Store, default_url

    # the audit chain's HMAC key lives outside the database (hub.accounts.audit)
    return Store(config.database_url or default_url(config.home), create=create, audit_key=config.audit_hmac_key())


def make_predictor(registry: Any) -> Any:
    """One predictor (version cache, explanations) over `registry`; the server shares one among its mounts."""
    from hub.inference import Predictor

    return Predictor(registry)


def hub_url(config: Settings) -> str:
    """The hub's address as hospitals reach it: the `public_url` setting, else where `medhive serve` listens."""
    return config.public_url or f"http://{config.host}:{config.port}"


def build_assistant(config: Settings, *, registry: Any, predictor: Any = None, store: Any = None) -> Any:
    """The assistant configured by `config` (the CLI's `ask`, the server's chat mount and its Space)."""
    from assistant import build_assistant as build
    from assistant.ports import HubAccounts

    store = store if store is not None else open_store(config)
    return build(
        knowledge_dir=Path(config.knowledge_dir or REPO_KNOWLEDGE), home=config.home, registry=registry,
        predictor=predictor, accounts=HubAccounts(store), embedding_model=config.embedding_model or None,
        backend=config.assistant_backend, groq_api_key=config.groq_api_key, groq_model=config.groq_model,
        groq_base_url=config.groq_base_url or None, groq_max_retries=config.groq_max_retries,
        superlink=config.superlink_address, root_certificates=config.superlink_root_certificates or None,
        hub_url=hub_url(config))
