"""`medhive chat`: a conversation with the assistant in the terminal, with history.

    medhive chat                       # a new conversation, kept in memory until you leave
    medhive chat --session intake-7    # saved after every turn; `medhive ask --session intake-7 ...` continues it

Type a message and press Enter; `/file PATH` attaches an input file to the next message, `/new` starts
over, `/quit` (or Ctrl-D) leaves. Onboarding, "explain that" after a prediction and follow-up questions
continue across turns. Answers are printed whole, with their sources and the backend that answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

PROMPT = "you> "
HELP = "Type your question. /file PATH attaches a file to the next message, /new starts over, /quit leaves."


def register(app: typer.Typer) -> None:
    from medhive.commands._support import cli_errors

    @app.command()
    @cli_errors
    def chat(
        api_key: Optional[str] = typer.Option(None, "--api-key", help="act as the account owning this API key"),
        session_id: Optional[str] = typer.Option(None, "--session", "-s", help="save the conversation under this "
                                                 "id (continue it later with chat or ask --session)"),
    ) -> None:
        """Talk with the MedHive assistant: a conversation with history (onboarding, predictions, follow-ups)."""
        from assistant.session import render
        from medhive import wiring
        from medhive.commands.ask import open_session, session_store

        settings = wiring.settings()
        store = session_store(settings) if session_id else None
        if store is not None:
            store._path(session_id)
        session = open_session(settings, api_key)
        resumed = store.load(session_id, session) if store is not None else False
        typer.echo(f"MedHive assistant{' (session ' + session_id + ', resumed)' if resumed else ''}. {HELP}")
        files: list[Path] = []
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                typer.echo("")
                break
            text = line.strip()
            if not text:
                continue
            if text in ("/quit", "/exit", "/q"):
                break
            if text == "/new":
                session = open_session(settings, api_key)
                files = []
                typer.echo("Started a new conversation.")
                continue
            if text.startswith("/file"):
                path = Path(text[5:].strip()).expanduser()
                if not path.is_file():
                    typer.echo(f"file not found: {path}")
                else:
                    files.append(path)
                    typer.echo(f"attached {path.name} to your next message")
                continue
            answer = session.ask(text, files=tuple(files))
            files = []
            if store is not None:
                store.save(session_id, session)
            typer.echo("\n" + render(answer) + "\n")
