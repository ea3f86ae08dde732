"""How fast the `medhive` command line answers: a fresh process per command, as a user types it.

    python -m benchmarks.cli_latency [--quick] [--repeats 7] [--before PATH]

Each command runs `repeats` times in a new interpreter (`python -m medhive.cli ...`, the console script's
code path) after one untimed run (seeding the registry, warming the OS file cache). Timed: wall clock and
the child's CPU time (user + system, from `os.wait4`). On a machine shared with other work the wall clock
waits for a CPU while the CPU time does not, so CPU time is the estimate of the wall time on an idle
machine for these single-threaded start-ups; both are reported. `--before PATH` also times a checkout
of an earlier commit (e.g. `git archive <rev> | tar -x -C PATH`) on the same commands, interleaved run by
run so the load hits both alike.

Goals (issue 17, an idle 2-core machine): `medhive --help` <= 0.3 s, `medhive models list` <= 1 s, a
one-row tabular prediction <= 2 s cold.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, busy_warning, md_table, write_result

GOALS = {"--help": 0.3, "models list": 1.0, "predict (one row)": 2.0}


def _commands(data: Path) -> dict[str, list[str]]:
    from hub.models import get_task

    example = get_task("breast_cancer").example_inputs()[0]
    return {
        "--help": ["--help"],
        "models list": ["models", "list"],
        "models show": ["models", "show", "breast_cancer"],
        "node validate (569 rows)": ["node", "validate", str(data), "--task", "breast_cancer"],
        "audit show": ["audit", "show"],
        "predict (one row)": ["predict", "breast_cancer", str(example)],
    }


def _hospital_csv(path: Path) -> Path:
    from sklearn.datasets import load_breast_cancer

    from hub.models import get_task

    task = get_task("breast_cancer")
    d = load_breast_cancer()
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f.name for f in task.input_fields] + ["diagnosis"])
        for row, target in zip(d.data, d.target):
            w.writerow([f"{v:.6g}" for v in row] + [task.labels[int(target == 0)]])
    return path


def _time_once(args: list[str], *, code: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall s, CPU s, exit status) of one fresh `python -m medhive.cli ARGS` with `code` first on the path."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "medhive.cli", *args], cwd=code,
                            env={**env, "PYTHONPATH": str(code)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def measure(repeats: int, before: Path | None) -> tuple[list[dict], float]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="medhive-cli-latency-") as tmp:
        env = {**os.environ, "MEDHIVE_HOME": str(Path(tmp) / "home"), "HF_HUB_OFFLINE": "1"}
        # a user's first run writes the project's bytecode (`make install` compiles it too); a shell that sets
        # PYTHONDONTWRITEBYTECODE would have every timed run compile MedHive's modules again (~0.15 s here)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        commands = _commands(_hospital_csv(Path(tmp) / "hospital.csv"))
        trees = {"now": ROOT, **({"before": before} if before else {})}
        rows = []
        for name, args in commands.items():
            per: dict[str, list[tuple[float, float, int]]] = {t: [] for t in trees}
            for code in trees.values():
                _time_once(args, code=code, env=env)  # untimed: seeds the registry, warms the file cache
            for _ in range(repeats):
                for tree, code in trees.items():  # interleaved: the machine's load hits both alike
                    per[tree].append(_time_once(args, code=code, env=env))
            row = {"command": name, "args": args}
            for tree, runs in per.items():
                row[tree] = {"wall": statistics.median(r[0] for r in runs), "cpu": statistics.median(r[1] for r in runs),
                             "status": sorted({r[2] for r in runs})}
            rows.append(row)
            print(f"[cli_latency] {name}: " + ", ".join(
                f"{t} wall {row[t]['wall']:.2f} s cpu {row[t]['cpu']:.2f} s" for t in trees), file=sys.stderr)
    return rows, load_before


def report(rows: list[dict], *, repeats: int, load_before: float, before: Path | None) -> str:
    header = ["command", "wall s (median)", "CPU s (median)", "goal", "met (CPU time, idle estimate)"]
    if before:
        header[1:1] = ["before: wall s", "before: CPU s"]
    table = []
    for r in rows:
        goal = GOALS.get(r["command"])
        now = r["now"]
        cells = [f"`medhive {' '.join(a if '/' not in a else Path(a).name for a in r['args'])}`"]
        if before:
            cells += [f"{r['before']['wall']:.2f}", f"{r['before']['cpu']:.2f}"]
        cells += [f"{now['wall']:.2f}", f"{now['cpu']:.2f}", f"<= {goal:g} s" if goal else "-",
                  ("yes" if now["cpu"] <= goal else "**no**") if goal else "-"]
        if now["status"] != [0]:
            cells[-1] += f" (exit status {now['status']})"
        table.append(cells)
    verdicts = [f"- `medhive {r['command']}` <= {GOALS[r['command']]:g} s: "
                f"{'met' if r['now']['cpu'] <= GOALS[r['command']] else '**NOT met**'} "
                f"({r['now']['cpu']:.2f} s CPU, {r['now']['wall']:.2f} s wall under this run's load)"
                for r in rows if r["command"] in GOALS]
    return (
        busy_warning(load_before)
        + f"Each command in a fresh interpreter, {repeats} timed runs after one untimed run, median; "
        "`predict` reads the shipped one-row example CSV, `node validate` the 569-row WDBC file. CPU time is "
        "user + system of the child process: on an idle machine these single-threaded start-ups take about "
        "their CPU time in wall time, while on a loaded one the wall time also counts waiting for a CPU. The "
        "children run without PYTHONDONTWRITEBYTECODE, so the untimed run leaves MedHive's bytecode as a user's "
        "first run (or `make install`'s compileall) does."
        + (f" \"before\" is the tree at `{before}` timed on the same commands, interleaved run by run." if before
           else "") + "\n\n"
        + md_table(header, table)
        + "\n## Goals\n\n" + "\n".join(verdicts) + "\n\n"
        "What keeps them light: `medhive --help` lists command modules from a table without importing them and "
        "prints click's plain help (Typer's rich help costs about 0.15 s of imports); task modules import no "
        "torch (networks live in `_tabular_net`, `_ecg_net`, `_image_net`), the registry loads safetensors only "
        "to load weights, and `tests/medhive/test_import_hygiene.py` keeps `--help`, `models list/show`, "
        "`node validate`, `audit show` and a tabular `predict` free of torch, Gradio, FastAPI, Flower, SHAP and "
        "scipy.signal. A tabular prediction runs on the numpy twin of its network "
        "(`hub.models._tabular_numpy`, the signed safetensors read with `safetensors.numpy`), which saves the "
        "torch import (about 1.5 s of CPU on this machine); image and ECG predictions still load torch.\n")


def run(quick: bool, *, repeats: int | None = None, before: Path | None = None) -> str:
    repeats = repeats or (3 if quick else 7)
    rows, load_before = measure(repeats, before)
    body = report(rows, repeats=repeats, load_before=load_before, before=before)
    write_result("cli_latency", "Command-line latency: a fresh `medhive` process per command", body, quick=quick)
    return body


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--before", type=Path, help="an earlier checkout to time on the same commands")
    args = parser.parse_args()
    print(run(args.quick, repeats=args.repeats, before=args.before))


if __name__ == "__main__":
    main()
