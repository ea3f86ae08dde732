"""Stopping a SuperLink ends what it started: no `flwr-serverapp` (or superexec) outlives the stop.

Flower's children exit on their own when their parent goes, but only eventually (a parent-pid monitor, exit
handlers that still talk to the stopped SuperLink); a stop that waits for the SuperLink alone returns while
a `flwr-serverapp` still runs, and a test session could leave it behind.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from federation import flower_cli
from federation.launcher import APP_DIR, LocalFederation, toml_value
from federation.processes import alive, cmdline, descendants, group_members, stop_groups

# a leader that exits on SIGTERM at once, with a child (and grandchild) that ignore SIGTERM: what a stop
# that signals the group and waits only for the leader leaves running
_LEADER = """
import signal, subprocess, sys, time
stubborn = "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \\
           "subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)']); " \\
           "time.sleep(120)"
subprocess.Popen([sys.executable, "-c", stubborn])
print("up", flush=True)
time.sleep(120)
"""


def _wait_for(what, predicate, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout:.0f}s")


def test_stop_groups_waits_for_every_member_and_kills_the_stubborn_ones():
    leader = subprocess.Popen([sys.executable, "-c", _LEADER], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    assert leader.stdout.readline().strip() == "up"
    members = _wait_for("three group members", lambda: (m := group_members(leader.pid)) and len(m) == 3 and m)
    t0 = time.monotonic()
    assert stop_groups([leader], grace=1.0) == []
    assert not any(alive(m) for m in members) and group_members(leader.pid) == []
    assert leader.returncode is not None and time.monotonic() - t0 < 10  # reaped, SIGKILL after the grace


def test_a_reaped_leader_is_not_signalled_again():
    """Its pid may belong to someone else by now: only unreaped leaders' groups are signalled."""
    done = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    done.wait()
    assert stop_groups([done], grace=0.1) == []


@pytest.mark.integration
@pytest.mark.slow
def test_no_serverapp_outlives_a_stopped_superlink(tmp_path):
    """A real SuperLink with a run whose ServerApp is waiting for hospitals (none come): after `stop()`
    neither the `flwr-serverapp` nor the superexec that started it is alive."""
    fed = LocalFederation(tmp_path / "fed", [])
    fed.start()
    try:
        config = {"job-dir": str(tmp_path / "job"), "min-hospitals": 3, "wait-timeout": 300,
                  "medhive-home": str(tmp_path / "home")}
        overrides = tmp_path / "run-config.toml"
        overrides.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in config.items()))
        fed._spawn("flwr-run", flower_cli.flwr_run_args(APP_DIR, "local", overrides))
        serverapps = _wait_for("flwr-serverapp", lambda: [m for m in descendants(fed.superlink.pid)
                                                          if b"flwr-serverapp" in cmdline(m)], timeout=120)
        started = [fed.superlink.pid, *descendants(fed.superlink.pid)]
        assert len(started) >= 3  # the SuperLink, its superexec, the ServerApp
    finally:
        fed.stop()
    assert not any(alive(p) for p in serverapps), "a flwr-serverapp outlived the stop"
    assert not any(alive(p) for p in started), "a process the SuperLink started outlived the stop"
