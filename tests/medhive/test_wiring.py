"""How `medhive/` is put together: no import loops, explicit command and mount tables (the light commands'
import hygiene is in test_import_hygiene.py)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MEDHIVE = REPO / "medhive"


def _module_name(path: Path, root: Path = REPO) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str], root: Path = REPO) -> set[str]:
    """Modules in `known` that `path` imports anywhere in its body (module level or inside functions)."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = f"{base}.{alias.name}"
                out.add(target if target in known else base)
    return {m for m in out if m in known and m != module}


def _import_graph(package: Path, root: Path) -> dict[str, set[str]]:
    files = sorted(package.rglob("*.py"))
    known = {_module_name(p, root) for p in files}
    return {_module_name(p, root): _imports(p, known, root) for p in files}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_medhive_has_no_import_loops():
    graph = _import_graph(MEDHIVE, REPO)
    assert "medhive.wiring" in graph["medhive.cli"], "the import scan found nothing"
    loop = _cycle(graph)
    assert loop is None, f"import loop in medhive/: {' -> '.join(loop)}"


def test_the_loop_check_sees_a_loop_inside_functions(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "cli.py").write_text("def main():\n    import pkg.sub.cmd\n")
    (pkg / "sub" / "cmd.py").write_text("def register():\n    from ..cli import main\n")
    graph = _import_graph(pkg, tmp_path)
    assert graph["pkg.cli"] == {"pkg.sub.cmd"} and graph["pkg.sub.cmd"] == {"pkg.cli"}
    assert _cycle(graph) is not None


def test_every_command_module_is_in_the_lazy_table_with_its_own_help():
    from medhive.cli import COMMANDS
    from medhive.commands._lazy import command_modules, load_module

    listed = {module for module, _ in COMMANDS.values()}
    missing = set(command_modules()) - listed
    assert not missing, f"add the commands of medhive/commands/{sorted(missing)} to COMMANDS in medhive/cli.py"
    for name, (module, help_line) in COMMANDS.items():
        real = load_module(module).get(name)
        assert real is not None, f"medhive.commands.{module} registers no command {name!r}"
        first = (real.help or "").strip().split("\n\n")[0].replace("\n", " ")
        assert help_line == first, f"{name}: the table says {help_line!r}, the command {first!r}"


def test_lazy_commands_run_and_unknown_ones_are_refused():
    from typer.testing import CliRunner

    from medhive.cli import app

    runner = CliRunner()
    listing = runner.invoke(app, ["--help"])
    assert listing.exit_code == 0 and "node" in listing.stdout and "federate" in listing.stdout
    consent = runner.invoke(app, ["node", "consent", "list"])
    assert consent.exit_code == 0 and "no consent recorded" in consent.stdout
    typo = runner.invoke(app, ["nod", "consent", "list"])
    assert typo.exit_code == 2 and "No such command" in typo.output


def test_every_mount_is_mounted_in_an_explicit_order():
    import pkgutil

    import medhive.mounts
    from medhive.server import MOUNTS

    modules = {m.name for m in pkgutil.iter_modules(medhive.mounts.__path__) if not m.name.startswith("_")}
    assert set(MOUNTS) == modules, f"MOUNTS in medhive/server.py lists {MOUNTS}, the folder has {sorted(modules)}"
    assert MOUNTS[0] == "api" and MOUNTS[-1] == "zz_portal"  # the assistant uses the API's store; "/" last
