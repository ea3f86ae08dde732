"""`medhive ask "..."`: one question to the assistant from a shell; `--json` for the answer, the sources
and the tool calls.

    medhive ask "How accurate is the pneumonia model?"
    medhive ask "predict pneumonia" --file xray.png --json
    medhive ask "how much of my quota is left?" --api-key mh_...

Without `--api-key` the command acts as the local operator (the administrator of this installation) when
the accounts database is the local SQLite file, and as an anonymous user otherwise. The backend is Groq
when GROQ_API_KEY is set, else the offline backend; the answer says which.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

REPO_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge"


def build_from_settings(settings: Any, *, registry: Any, predictor: Any = None, store: Any = None) -> Any:
    """The assistant configured by `settings` (shared by the CLI, the server mount and the Space)."""
    from assistant import build_assistant
    from assistant.ports import HubAccounts

    if store is None:
        from medhive.mounts.api import open_store

        store = open_store(settings)
    return build_assistant(
        knowledge_dir=Path(settings.knowledge_dir or REPO_KNOWLEDGE), home=settings.home, registry=registry,
        predictor=predictor, accounts=HubAccounts(store), embedding_model=settings.embedding_model or None,
        backend=settings.assistant_backend, groq_api_key=settings.groq_api_key, groq_model=settings.groq_model,
        groq_base_url=settings.groq_base_url or None, groq_max_retries=settings.groq_max_retries,
        superlink=settings.superlink_address, root_certificates=settings.superlink_root_certificates or None,
        hub_url=settings.hub_url())


def local_caller(settings: Any, assistant: Any, api_key: str | None) -> Any:
    from assistant.ports import ANONYMOUS, Caller

    if api_key:
        return assistant.caller_from_api_key(api_key)
    if not settings.database_url:
        # the embedded default: whoever runs the CLI owns the SQLite file, i.e. administers this installation
        return Caller(role="admin", actor="cli:local-operator")
    return ANONYMOUS


def register(app: typer.Typer) -> None:
    from medhive.cli import cli_errors

    @app.command()
    @cli_errors
    def ask(
        question: str = typer.Argument(..., help="your question or request"),
        as_json: bool = typer.Option(False, "--json", help="print the answer, sources and tool calls as JSON"),
        file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="attach an input file (repeatable)"),
        api_key: Optional[str] = typer.Option(None, "--api-key", help="act as the account owning this API key"),
    ) -> None:
        """Ask the MedHive assistant (documentation with sources, predictions, onboarding, usage)."""
        from assistant.errors import AssistantError
        from assistant.session import render
        from medhive.cli import open_registry
        from medhive.settings import get_settings

        settings = get_settings()
        for f in file or []:
            if not f.is_file() and not f.is_dir():
                raise AssistantError(f"file not found: {f}")
        bot = build_from_settings(settings, registry=open_registry(settings))
        session = bot.session(local_caller(settings, bot, api_key))
        answer = session.ask(question, files=tuple(file or ()))
        if as_json:
            typer.echo(json.dumps(answer.to_dict(), indent=2, default=str))
        else:
            typer.echo(render(answer))
