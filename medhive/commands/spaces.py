"""`medhive spaces export [TASK]`: write the Hugging Face Space folders from the task catalog.

    medhive spaces export                 # every task into ./spaces
    medhive spaces export heart_disease --out /tmp/spaces
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    from medhive.commands._support import cli_errors

    spaces_app = typer.Typer(help="Generate the Hugging Face Space folders (spaces/<task>/) from the task catalog.",
                             no_args_is_help=True)

    @spaces_app.command("export")
    @cli_errors
    def export(
        task: Optional[str] = typer.Argument(None, help="one task; every task when omitted"),
        out: Path = typer.Option(Path("spaces"), "--out", help="folder that holds one sub-folder per Space"),
    ) -> None:
        """Write app.py, README.md and requirements.txt of each task's Space."""
        from hub.models import get_task
        from medhive.export.spaces import export_spaces

        if task:
            get_task(task)  # an unknown task is a one-line error before anything is written
        for folder in export_spaces(out, [task] if task else None):
            typer.echo(f"wrote {folder}")

    app.add_typer(spaces_app, name="spaces")
