"""`medhive knowledge export [TASK]`: write the generated knowledge page of each task (see
`medhive.export.pages`); hand-written pages are left alone.

    medhive knowledge export               # into ./knowledge
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    from medhive.commands._support import cli_errors

    knowledge_app = typer.Typer(help="Generate the assistant's knowledge pages from the task catalog.",
                                no_args_is_help=True)

    @knowledge_app.command("export")
    @cli_errors
    def export(
        task: Optional[str] = typer.Argument(None, help="one task; every task when omitted"),
        out: Path = typer.Option(Path("knowledge"), "--out", help="the knowledge folder"),
    ) -> None:
        """Write knowledge/model-<task>.md for tasks without a hand-written page."""
        from hub.models import get_task
        from medhive.export.pages import export_pages

        if task:
            get_task(task)
        for path in export_pages(out, [task] if task else None):
            typer.echo(f"wrote {path}")

    app.add_typer(knowledge_app, name="knowledge")
