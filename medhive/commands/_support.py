"""What every `medhive` command shares: `cli_errors` (one line and an exit status, never a traceback) and
`err` (a line on stderr). Command modules import this, never `medhive.cli`, so the CLI root can load
them lazily without an import loop.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer


def err(message: str) -> None:
    typer.echo(message, err=True)


def cli_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn errors into one line on stderr and a non-zero exit, never a traceback (unless debugging)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # imported here, not at module level: `medhive --help` must not pay for pydantic-settings
        from hub.errors import HubError

        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except HubError as exc:
            from hub.redact import redact  # input values never reach the terminal (the API redacts alike)

            err(f"error: {redact(exc.message)}")
            raise typer.Exit(2) from None
        except BrokenPipeError:
            # output piped into `head` and the reader went away: not an error worth a message
            sys.stderr.close()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            err("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - last resort: one line, no trace, no data
            from medhive.settings import get_settings

            if get_settings().debug:
                raise
            err(f"internal error: {type(exc).__name__} (run with MEDHIVE_DEBUG=1 for details)")
            raise typer.Exit(1) from None

    return wrapper
