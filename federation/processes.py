"""Ending a Flower process with everything it started (Linux /proc; no psutil needed).

A SuperLink starts `flower-superexec`, which starts one `flwr-serverapp` per run; a SuperNode starts its
own `flower-superexec` and a `flwr-clientapp` per message. Those children watch their parent's pid and
shut down on their own when it goes, but a `flwr-serverapp` busy in a run, or one whose exit handlers
still talk to the stopped SuperLink, can outlive it for long. MedHive starts each SuperLink / SuperNode
as the leader of its own process group, so the group still names every descendant after the leader is
gone (children reparented to init keep their group), and a stop waits until that group is empty.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, pgrp, ...); None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie waiting to be reaped has exited)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _all() -> dict[int, list[str]]:
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                out[int(entry.name)] = fields
    return out


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, ...) right now."""
    kids: dict[int, list[int]] = {}
    for child, fields in _all().items():
        kids.setdefault(int(fields[1]), []).append(child)
    out, todo = [], [pid]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def group_members(pgid: int) -> list[int]:
    """Live processes (zombies excluded) in process group `pgid`."""
    return sorted(p for p, f in _all().items() if int(f[2]) == pgid and f[0] not in ("Z", "X"))


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to `timeout` s for `pids` to exit; the ones still alive."""
    end = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < end:
        time.sleep(0.05)
        left = [p for p in left if alive(p)]
    return left


def stop_groups(leaders: list[subprocess.Popen], *, grace: float = 10.0, first: int = signal.SIGTERM) -> list[int]:
    """Stop each leader's whole process group: send `first` to the groups, wait up to `grace` s until no
    member is left, SIGKILL the groups that still have members, then reap the leaders. Returns the pids
    still alive after that (empty unless the kernel is stuck).

    Only leaders not yet reaped are signalled: an unreaped leader (alive or a zombie) keeps its pid, so its
    group id cannot have been handed to someone else's processes."""
    groups = [p.pid for p in leaders if p.returncode is None]
    for pgid in groups:
        _killpg(pgid, first)
    end = time.monotonic() + grace
    while time.monotonic() < end and any(group_members(g) for g in groups):
        time.sleep(0.05)
    left = [g for g in groups if group_members(g)]
    for pgid in left:
        _killpg(pgid, signal.SIGKILL)
    still = wait_gone([m for g in left for m in group_members(g)], 10.0)
    for p in leaders:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            still.append(p.pid)
    return still
