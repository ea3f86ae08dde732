"""Where a message's time goes on a node: process start-up versus work (for benchmarks/privacy_cost).

When the run config names a `timing-dir`, every app process appends one JSON line per message to
`<timing-dir>/<pid>.jsonl`: when the process was created (from /proc, so it includes the interpreter and
every import before the handler runs), when the handler started and when it ended, with the message type.
Only times and the message type are written: nothing about the data or the node.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def process_created() -> float:
    """Wall-clock time this process was created (Linux /proc); the current time where unknown.

    From the process's age (system uptime now minus its start, both in /proc at 10 ms resolution), not from
    the boot time: /proc/stat's `btime` is whole seconds, which put a creation up to 1 s too early and made
    a message seem created before the exchange that sent it."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        now, uptime = time.time(), float(Path("/proc/uptime").read_text().split()[0])
        return now - max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.time()


def record(folder: str, *, kind: str, started: float, ended: float) -> None:
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"kind": kind, "created": process_created(), "started": started, "ended": ended,
                       "pid": os.getpid()})
    with open(path / f"{os.getpid()}.jsonl", "a") as fh:
        fh.write(line + "\n")
