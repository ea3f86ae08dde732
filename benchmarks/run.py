"""Run the benchmarks: `python -m benchmarks.run [--quick] [--only NAME ...]` (make bench / make bench-quick).

Each benchmark is a module here with `run(quick) -> str` that writes benchmarks/results/<name>[-quick].md
(and its plots). One that is missing or fails is reported in one line and the others still run; the exit
status is then 1. At the end benchmarks/results/README.md indexes every result file with its goal lines.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

_GOAL = re.compile(r"goal|\b(?:NOT )?met\b", re.I)
BENCHMARKS = ["aggregation", "federated_quality", "parkinsons_heads", "privacy_cost", "serving", "retrieval", "hostile_input", "cli_latency",
              "assistant", "ecg_interpatient"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes in all")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=BENCHMARKS, help="run only these benchmarks")
    args = parser.parse_args(argv)

    failed = []
    started_all = time.perf_counter()
    for name in args.only or BENCHMARKS:
        started = time.perf_counter()
        print(f"[{name}] running ({'quick' if args.quick else 'full'})...", file=sys.stderr, flush=True)
        try:
            importlib.import_module(f"benchmarks.{name}").run(args.quick)
        except Exception as exc:  # noqa: BLE001 - one line per failed benchmark, then the others
            failed.append(name)
            print(f"[{name}] FAILED after {time.perf_counter() - started:.0f} s: {type(exc).__name__}: "
                  f"{str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr, flush=True)
            continue
        print(f"[{name}] done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    from benchmarks.common import RESULTS

    index = write_index(RESULTS)
    print(f"{len(args.only or BENCHMARKS) - len(failed)} benchmark(s) done in {time.perf_counter() - started_all:.0f} s; "
          f"index: {index}" + (f"; FAILED: {', '.join(failed)}" if failed else ""), file=sys.stderr)
    return 1 if failed else 0


def _goal_status(text: str) -> str:
    """The result's goal verdicts: lines that start with "Goal", and the top-level bullets of a "## Goals"
    section (each goal with its met / NOT met count), joined with "; "."""
    found, in_goals = [], False
    for line in text.splitlines():
        if line.startswith("#"):
            in_goals = line.strip().lower() == "## goals"
            continue
        if line.startswith("Goal") or (in_goals and line.startswith("- ") and _GOAL.search(line)
                                       and not line.startswith("- For information")):
            found.append(line.lstrip("- ").strip().replace("**", ""))
    return "; ".join(found) or "-"


def _measured(path: Path, text: str) -> str:
    m = re.search(r"^- measured: (\S+)", text, re.M)
    if m:
        return m.group(1)[:10]
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d")


def write_index(results: Path) -> Path:
    """benchmarks/results/README.md: every result file, quick or full, its date and its goal lines."""
    results.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in sorted(results.glob("*.md")):
        if path.name == "README.md":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        title = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), path.stem)
        size = "quick" if path.stem.endswith("-quick") else "full"
        status = _goal_status(text).replace("|", "/")
        rows.append(f"| [{path.name}]({path.name}) | {title} | {size} | {_measured(path, text)} | {status} |")
    out = results / "README.md"
    out.write_text(
        "# Benchmark results\n\n"
        "Written by `python -m benchmarks.run` (`make bench`; `make bench-quick` for the quick sizes). Each file "
        "says the machine, the commit and the exact command it was measured with.\n\n"
        "| file | benchmark | size | measured | goal status |\n|---|---|---|---|---|\n"
        + "\n".join(rows) + "\n")
    return out


if __name__ == "__main__":
    sys.exit(main())
