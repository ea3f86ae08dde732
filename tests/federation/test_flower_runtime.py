"""`federation.flower_runtime`: Flower's own SuperNode with shorter idle polls and a lighter ClientApp start.

The hooks are checked against the installed (pinned) Flower: a Flower upgrade that moves the waits fails
here, so the hooks are reviewed rather than silently doing nothing.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from federation import flower_cli, flower_runtime
from federation.flower_runtime import BusyPolls, CappedSleep, RedirectedPopen


def test_capped_sleep_shortens_long_waits_only_and_is_time_otherwise():
    waited: list[float] = []
    clock = CappedSleep(0.25, sleep=waited.append)
    clock.sleep(3)
    clock.sleep(0.1)
    assert waited == [0.25, 0.1]
    assert abs(clock.time() - time.time()) < 1.0 and clock.monotonic is time.monotonic


def test_redirected_popen_starts_the_replacement_with_the_same_arguments():
    sub = RedirectedPopen({"flwr-clientapp": [sys.executable, "-c", "import sys; print(sys.argv[1:])"]})
    out = sub.Popen(["flwr-clientapp", "--token", "t1"], stdout=subprocess.PIPE, text=True).communicate()[0]
    assert out.strip() == "['--token', 't1']"
    other = sub.Popen([sys.executable, "-c", "print('untouched')"], stdout=sub.PIPE, text=True).communicate()[0]
    assert other.strip() == "untouched"


@pytest.mark.parametrize("role", ["supernode", "superexec", "clientapp"])
def test_hooks_fit_the_pinned_flower(role):
    assert flower_runtime.hooks_apply(role) is None


def test_install_shortens_the_supernode_and_superexec_waits(monkeypatch):
    from flwr.supercore.superexec import run_superexec
    from flwr.supercore.superexec.executor import subprocess_executor
    from flwr.supernode import start_client_internal as sci

    for module, name in [(sci, "time"), (sci, "subprocess"), (sci, "_pull_and_store_message"),
                         (run_superexec, "time"), (subprocess_executor, "subprocess")]:
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after the test
    assert flower_runtime.install("supernode", 0.3) and flower_runtime.install("superexec", 0.3)
    assert sci.time.cap == 0.3 and run_superexec.time.cap == 0.3 and isinstance(sci.time, BusyPolls)
    assert sci.subprocess.commands["flower-superexec"][-3:] == ["superexec", "--poll", "0.3"]
    assert subprocess_executor.subprocess.commands["flwr-clientapp"][-1] == "clientapp"


def test_install_leaves_flower_alone_when_the_hooks_do_not_fit(monkeypatch, capsys):
    from flwr.supernode import start_client_internal as sci

    monkeypatch.setattr(flower_runtime, "_flwr_version", lambda: "9.9.9")
    before = sci.time
    assert not flower_runtime.install("supernode", 0.3)
    assert sci.time is before
    assert "not the pinned 1.32.1" in capsys.readouterr().err


def test_parse_takes_only_our_poll_and_passes_flowers_arguments_on():
    assert flower_runtime.parse(["supernode", "--poll", "0.5", "--insecure", "--poll-x"]) == \
        ("supernode", 0.5, False, ["--insecure", "--poll-x"])
    assert flower_runtime.parse(["superexec", "--poll", "0.3", "--fork", "--insecure"]) == \
        ("superexec", 0.3, True, ["--insecure"])
    assert flower_runtime.parse(["clientapp", "--token", "t"]) == ("clientapp", flower_runtime.DEFAULT_POLL,
                                                                    False, ["--token", "t"])
    for bad in (["nodes"], ["supernode", "--poll", "0"], ["supernode", "--poll"]):
        with pytest.raises(SystemExit):
            flower_runtime.parse(bad)


def test_clientapp_entry_is_flowers_without_the_supernode_imports():
    code = ("import sys; from federation.flower_runtime import _flwr_clientapp; f = _flwr_clientapp(); "
            "print(f.__module__, f.__name__, 'sqlalchemy' in sys.modules, "
            "'flwr.supernode.start_client_internal' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["_medhive_flwr_clientapp", "flwr_clientapp", "False", "False"]
    # and it is Flower's command: its own argument parser answers
    helped = subprocess.run([sys.executable, "-m", "federation.flower_runtime", "clientapp", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "--clientappio-api-address" in helped.stdout


def test_supernode_command_line_runs_through_the_runtime():
    args = flower_cli.supernode_args(superlink="127.0.0.1:1", clientappio="127.0.0.1:2", node_config="a=1",
                                     root_certificates=None, private_key=None, poll=0.4)
    assert args[:7] == [sys.executable, "-m", "federation.flower_runtime", "supernode", "--poll", "0.4", "--fork"]
    assert args[7:] == ["--superlink", "127.0.0.1:1", "--clientappio-api-address", "127.0.0.1:2",
                        "--node-config", "a=1", "--insecure"]
    fresh = flower_cli.supernode_args(superlink="127.0.0.1:1", clientappio="127.0.0.1:2", node_config="a=1",
                                      root_certificates=None, private_key=None, fork=False)
    assert "--fork" not in fresh


def test_busy_polls_are_short_only_within_the_window_after_a_message():
    now = [1000.0]
    waited: list[float] = []
    clock = BusyPolls(0.5, window=60.0, local_cap=0.05, sleep=waited.append, clock=lambda: now[0])
    clock.sleep(3)  # idle, never had a message: Flower's own wait
    clock.received()
    now[0] += 59
    clock.sleep(3)  # a job is on: the short poll
    clock.sleep(0.5)  # waiting for the app process's reply (the node's own state): the local cap, always
    now[0] += 2
    clock.sleep(3)  # idle past the window: Flower's wait again
    clock.sleep(0.5)
    clock.sleep(0.01)
    assert waited == [3, 0.5, 0.05, 3, 0.05, 0.01]


def test_the_supernode_hook_notes_each_received_message(monkeypatch):
    from flwr.supernode import start_client_internal as sci

    for name in ("time", "subprocess", "_pull_and_store_message"):
        monkeypatch.setattr(sci, name, getattr(sci, name))
    answers = iter([None, 7])
    monkeypatch.setattr(sci, "_pull_and_store_message", lambda **kw: next(answers))
    assert flower_runtime.install("supernode", 0.5)
    assert sci._pull_and_store_message() is None and sci.time.last_message == float("-inf")
    assert sci._pull_and_store_message() == 7 and sci.time.last_message > float("-inf")


def test_the_fork_server_runs_flowers_clientapp_in_a_fork_per_request():
    server = subprocess.Popen([sys.executable, "-m", "federation.flower_runtime", "forkserver"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the server ends when its superexec (here: this test) closes the pipe, as communicate() does
    out, err = server.communicate('["--help"]\n["--help"]\n', timeout=120)
    assert server.returncode == 0, err
    assert out.count("usage: flwr-clientapp") == 2  # Flower's own command, once per request


def test_a_fork_server_request_falls_back_to_a_process_once_the_server_is_gone():
    fallback = RedirectedPopen({"flwr-clientapp": [sys.executable, "-c", "import sys; print('spawned', sys.argv[1:])"]})
    forks = flower_runtime.ForkServer(fallback=fallback)
    forks.server.stdin.close()
    forks.server.wait(timeout=120)
    proc = forks.Popen(["flwr-clientapp", "--token", "t"], stdout=subprocess.PIPE, text=True)
    assert proc.communicate(timeout=60)[0].strip() == "spawned ['--token', 't']"


def test_each_fork_draws_its_own_random_numbers():
    """SecAgg+'s stochastic rounding draws from numpy's global generator: forks of one server must not
    share its state (nor Python's `random`)."""
    # one write(2) per fork, so that concurrent forks' lines cannot interleave
    code = ("import os, random, numpy as np; from federation.flower_runtime import serve_forks; np.random.seed(7); "
            "serve_forks(['[]', '[]', '[]'], "
            "entry=lambda: os.write(1, f'{np.random.rand()} {random.random()}\\n'.encode()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    draws = [tuple(line.split()) for line in out.stdout.splitlines()]
    assert len(draws) == 3 and len({d[0] for d in draws}) == 3 and len({d[1] for d in draws}) == 3


def test_flower_processes_start_with_telemetry_off_unless_the_operator_turns_it_on():
    """Flower sends start/exit events to telemetry.flower.ai unless told not to: every process MedHive starts
    has it off, an operator's own setting wins, and the installed Flower reads that very variable."""
    env = flower_cli.process_env({"PATH": "/usr/bin"})
    assert env[flower_cli.TELEMETRY_VARIABLE] == "0"
    assert flower_cli.process_env({flower_cli.TELEMETRY_VARIABLE: "1"})[flower_cli.TELEMETRY_VARIABLE] == "1"
    probe = subprocess.run(
        [sys.executable, "-c", "from flwr.supercore import telemetry; print(telemetry.FLWR_TELEMETRY_ENABLED)"],
        env=env, capture_output=True, text=True, timeout=300, check=True)
    assert probe.stdout.strip() == "0"
