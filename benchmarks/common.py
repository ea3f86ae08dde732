"""Shared pieces of the benchmarks: machine description, result files, timing helpers."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def machine() -> str:
    """One line saying what the numbers were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    import numpy
    import torch

    return (f"{cpu or 'unknown CPU'}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, torch {torch.__version__}")


def command() -> str:
    """The command that is running, as typed from the repository root (`python -m benchmarks.<module> ...`)."""
    module = f"benchmarks.{Path(sys.argv[0]).stem}" if sys.argv and sys.argv[0].endswith(".py") else "benchmarks.run"
    return " ".join(shlex.quote(a) for a in ["python", "-m", module, *sys.argv[1:]])


def git_revision() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def write_result(name: str, title: str, body: str, *, quick: bool) -> Path:
    """benchmarks/results/<name>.md (or <name>-quick.md) with the machine, commit and command on top."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / (f"{name}-quick.md" if quick else f"{name}.md")
    header = (f"# {title}\n\n"
              f"- measured: {datetime.now(UTC).replace(microsecond=0).isoformat()} at commit {git_revision()}\n"
              f"- machine: {machine()}\n- command: `{command()}`\n- size: {'quick' if quick else 'full'}\n\n")
    path.write_text(header + body.rstrip() + "\n")
    return path


def busy_warning(load_before: float) -> str:
    """A warning line when other processes kept the CPUs busy during the run (the numbers then mislead)."""
    load = max(load_before, os.getloadavg()[0])
    cpus = os.cpu_count() or 1
    if load <= cpus:
        return ""
    return (f"**Warning: the 1-minute load average reached {load:.1f} on {cpus} CPUs during this run: other "
            "processes competed for the CPUs, so latencies are inflated and erratic. Rerun on a quiet machine "
            "before drawing conclusions.**\n\n")


def timeit(fn: Callable[[], object], *, repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def md_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def add_again(parser: argparse.ArgumentParser) -> None:
    """The `--again` flag of a benchmark that scores a held-apart set once (`scored_path`)."""
    parser.add_argument("--again", action="store_true", help="score a set already scored (after its mends): writes "
                        "assistant-<set>-rescored.json and leaves the first scoring as it is")


def scored_path(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """Where a set's verdicts go: assistant-<set>-scored.json once (a second scoring is refused), or
    assistant-<set>-rescored.json with `--again`."""
    path = RESULTS / f"assistant-{args.set}-{'rescored' if args.again else 'scored'}.json"
    if not args.again and path.exists():
        parser.error(f"{args.set} was scored once already ({path.name}); --again scores it after its mends")
    return path
