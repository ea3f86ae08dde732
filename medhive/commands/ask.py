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

from medhive.commands._support import cli_errors


def local_caller(settings: Any, assistant: Any, api_key: str | None) -> Any:
    from assistant.ports import ANONYMOUS, Caller

    if api_key:
        return assistant.caller_from_api_key(api_key)
    if not settings.database_url:
        # the embedded default: whoever runs the CLI owns the SQLite file, i.e. administers this installation
        return Caller(role="admin", actor="cli:local-operator")
    return ANONYMOUS


def open_session(settings: Any, api_key: str | None) -> Any:
    """A chat session as the CLI's caller; the registry and the accounts are opened only if a tool needs them
    (they import torch and SQLAlchemy, which an answer from the documents never needs)."""
    from assistant.factory import Deferred
    from medhive import wiring

    bot = wiring.build_assistant(settings, registry=Deferred(lambda: wiring.open_registry(settings)),
                                 store=Deferred(lambda: wiring.open_store(settings)))
    session = bot.session(local_caller(settings, bot, api_key))
    session.tools.reports_dir = Path.cwd()  # "make a PDF" saves the report where the command runs
    return session


def session_store(settings: Any) -> Any:
    from assistant.sessions import SessionStore

    return SessionStore(Path(settings.home) / "assistant" / "sessions")


def register(app: typer.Typer) -> None:
    @app.command()
    @cli_errors
    def ask(
        question: str = typer.Argument(..., help="your question or request"),
        as_json: bool = typer.Option(False, "--json", help="print the answer, sources and tool calls as JSON"),
        file: Optional[list[Path]] = typer.Option(None, "--file", "-f", help="attach an input file (repeatable)"),
        api_key: Optional[str] = typer.Option(None, "--api-key", help="act as the account owning this API key"),
        session_id: Optional[str] = typer.Option(None, "--session", "-s", help="continue (or start) the conversation "
                                                 "with this id: onboarding, 'explain that', follow-ups"),
    ) -> None:
        """Ask the MedHive assistant (documentation with sources, predictions, onboarding, usage)."""
        from assistant.errors import AssistantError
        from assistant.session import render
        from medhive import wiring

        settings = wiring.settings()
        for f in file or []:
            if not f.is_file() and not f.is_dir():
                raise AssistantError(f"file not found: {f}")
        store = session_store(settings) if session_id else None
        if store is not None:
            store._path(session_id)  # a malformed id is refused before anything is loaded
        session = open_session(settings, api_key)
        if store is not None:
            store.load(session_id, session)
        answer = session.ask(question, files=tuple(file or ()))
        if store is not None:
            store.save(session_id, session)
        if as_json:
            typer.echo(json.dumps(answer.to_dict(), indent=2, default=str))
        else:
            typer.echo(render(answer))
