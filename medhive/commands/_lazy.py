"""A Typer group whose command modules are imported only when one of their commands runs.

`medhive --help` lists every command from a table of names and one-line helps (no module imported);
`medhive node validate ...` imports `medhive.commands.node` alone. Typer has no lazy loading of its own
(click documents this pattern: subclass the group, override `list_commands` / `get_command`).

A command module defines `register(app: typer.Typer)`; it is registered on a scratch Typer app whose
click group gives the real commands. A module in `medhive/commands/` missing from the table is still
loaded (eagerly, when the group lists or resolves commands), so a command is never lost; a test asks for
it to be added to the table.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, ClassVar

import click
import typer
from typer.core import TyperGroup

PACKAGE = "medhive.commands"

# click commands of each loaded module, per process: `register` runs once per module even when the
# group is rebuilt (each `app()` call, each CliRunner invocation builds a new one)
_loaded: dict[str, dict[str, click.Command]] = {}


def load_module(module: str) -> dict[str, click.Command]:
    """Import `medhive.commands.<module>`, register its commands on a scratch app, return them by name."""
    if module not in _loaded:
        scratch = typer.Typer()
        importlib.import_module(f"{PACKAGE}.{module}").register(scratch)
        _loaded[module] = dict(typer.main.get_group(scratch).commands)
    return _loaded[module]


def command_modules() -> list[str]:
    """The command modules in the package folder (a directory listing, nothing imported)."""
    package = importlib.import_module(PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


class _Commands(dict):
    """The group's commands by name; looking up a lazy one that is not loaded yet loads its module
    (so `group.commands["node"]` works as on any click group), while `in` stays a plain check."""

    def __init__(self, commands: dict[str, click.Command], lazy: dict[str, tuple[str, str]]) -> None:
        super().__init__(commands)
        self.lazy = lazy

    def __missing__(self, name: str) -> click.Command:
        if name not in self.lazy:
            raise KeyError(name)
        for n, command in load_module(self.lazy[name][0]).items():
            self.setdefault(n, command)
        return dict.__getitem__(self, name)


class LazyGroup(TyperGroup):
    """Set `lazy` to {command name: (module, one-line help)} in a subclass."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands, self.lazy)
        self._unlisted_done = False

    def _add_unlisted(self) -> None:
        if self._unlisted_done:
            return
        self._unlisted_done = True
        listed = {module for module, _ in self.lazy.values()}
        for module in command_modules():
            if module not in listed:
                for name, command in load_module(module).items():
                    self.commands.setdefault(name, command)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_unlisted()
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name in self.lazy:
            # for help listings only: resolve_command loads the real command before it runs
            return click.Command(cmd_name, help=self.lazy[cmd_name][1])
        return None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else None
        if name in self.lazy:
            self.commands[name]  # noqa: B018 - loads the module of a lazy command
        elif name not in self.commands:
            self._add_unlisted()
        return super().resolve_command(ctx, args)
