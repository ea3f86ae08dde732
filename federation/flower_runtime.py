"""A hospital node's Flower processes with shorter idle polls and a lighter per-message start (flwr 1.32.1).

    python -m federation.flower_runtime supernode [--poll S] [--fork] <flower-supernode arguments>

runs Flower's own `flower-supernode` (same code, same arguments), with its fixed waits shortened.
Every message costs a SecAgg+ round an exchange, and in flwr 1.32.1 each exchange waits on constants:

- the SuperNode, after pushing a reply, finds no next message (the server is still collecting the other
  nodes' replies) and sleeps 3 s before asking again (`start_client_internal`: `time.sleep(3)`), and
  while a message is handled it checks for the app process's reply every 0.5 s;
- its `flower-superexec` child claims the stored message on a 1 s loop (`run_superexec`: `time.sleep(1)`);
- every message starts a fresh `flwr-clientapp` process, whose console script imports
  `flwr.supernode.cli`, and that package's `__init__` imports the whole SuperNode (SQLAlchemy, Alembic,
  the object store) before the ClientApp runs: about 0.55 s of CPU per message of 1.1 s in all.

None of these is an option in 1.32.1. Flower is not edited: in the processes this module starts, the
`time` name of those two Flower modules is a proxy whose `sleep` waits at most `--poll` seconds (the
SuperNode's idle wait only for `BUSY_WINDOW` s after its last message, so a node idle between jobs polls
the SuperLink as rarely as stock Flower; its wait for the reply, a check of its own memory: 0.05 s), and
the `subprocess` name of the modules that start the next process by name is a proxy that starts this
module's `superexec` / `clientapp` entry instead (the same arguments follow). `clientapp` runs Flower's
own `flwr_clientapp()` from its file, without the package `__init__`; with `--fork` the superexec asks a
`ForkServer`, which has imported that runtime once, for a fork per message instead (about 0.1 s to start
instead of 0.5 s of CPU). Polls touch only the SuperNode's loop (a pull from the SuperLink when idle) and
the superexec's local loop: what a message carries, timeouts, heartbeats and dropout handling are
Flower's.

Cost of polling, measured (SuperLink + 3 SuperNodes + their superexecs on loopback, 30 s without a
message, polls not windowed): 1.65 s of CPU with Flower's waits, 2.58 s polling every 0.5 s, 3.74 s every
0.25 s. That is what a job's waits cost (about 1 % of a core per node at 0.5 s); outside the window a
SuperNode's part is Flower's again (the superexec's local 0.5 s loop stays).

The hooks are checked against the installed source (`hooks_apply`): with any other Flower than the pinned
one, or a source that no longer has the waits, the node runs Flower unchanged and says so on stderr
(`tests/federation/test_flower_runtime.py` fails then, so an upgrade is reviewed here).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time as _time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

PINNED = "1.32.1"
#: the SuperNode's idle poll (during a job) and its superexec's claim loop, in seconds (flwr's own: 3 s and
#: 1 s). A pull is one small gRPC request to the aggregation host; 0.5 s keeps a node's wait for the next
#: message under about 0.5 + 0.5 s at about 1 % of a core per node for the polling (see above)
DEFAULT_POLL = 0.5
#: how long after its last message a SuperNode keeps polling every `poll` s (a job's exchanges follow each
#: other within seconds to a minute); idle for longer, it waits Flower's 3 s between pulls again
BUSY_WINDOW = 300.0
_SELF = [sys.executable, "-m", "federation.flower_runtime"]


class CappedSleep:
    """Stands in for the `time` module inside one Flower module: every attribute is `time`'s, except that
    `sleep(s)` waits at most `cap` seconds (shorter waits stay as they are)."""

    def __init__(self, cap: float, sleep: Callable[[float], None] = _time.sleep) -> None:
        self.cap = cap
        self._sleep = sleep

    def sleep(self, seconds: float) -> None:
        self._sleep(min(seconds, self.cap))

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)


class BusyPolls(CappedSleep):
    """The SuperNode loop's `time`. Its idle wait (no message at the SuperLink) is capped at `cap` only while
    a job is likely running: for `window` seconds after the node last received a message (`received()`);
    a node idle for longer waits Flower's own interval again, so a hospital idle between jobs costs the
    aggregation host no more than stock Flower. Its other waits (for the app process's reply, for an
    object) poll the node's own in-memory state while a message is handled: capped at `local_cap`."""

    def __init__(self, cap: float, *, window: float, local_cap: float = 0.05, idle_wait: float = 3.0,
                 sleep: Callable[[float], None] = _time.sleep, clock: Callable[[], float] = _time.monotonic) -> None:
        super().__init__(cap, sleep)
        self.window, self.local_cap, self.idle_wait, self._clock = window, local_cap, idle_wait, clock
        self.last_message = float("-inf")

    def received(self) -> None:
        self.last_message = self._clock()

    def sleep(self, seconds: float) -> None:
        if seconds < self.idle_wait:
            self._sleep(min(seconds, self.local_cap))
        elif self._clock() - self.last_message > self.window:
            self._sleep(seconds)
        else:
            self._sleep(min(seconds, self.cap))


class RedirectedPopen:
    """Stands in for the `subprocess` module inside one Flower module: `Popen([name, *args])` for a name
    in `commands` starts `commands[name] + args` instead; everything else is `subprocess`'s."""

    def __init__(self, commands: dict[str, list[str]]) -> None:
        self.commands = commands

    def Popen(self, args: Sequence[str], *rest: Any, **kwargs: Any) -> Any:  # noqa: N802 - subprocess's name
        import subprocess

        args = list(args)
        if args and args[0] in self.commands:
            args = [*self.commands[args[0]], *args[1:]]
        return subprocess.Popen(args, *rest, **kwargs)

    def __getattr__(self, name: str) -> Any:
        import subprocess

        return getattr(subprocess, name)


def _source_has(module: ModuleType, *needles: str) -> bool:
    try:
        src = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    return all(n in src for n in needles)


def _flwr_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flwr")
    except PackageNotFoundError:
        return ""


def hooks_apply(role: str) -> str | None:
    """None when `role`'s hooks fit the installed Flower, else why not (one line)."""
    if _flwr_version() != PINNED:
        return f"flwr {_flwr_version() or 'not installed'} is not the pinned {PINNED}"
    if role == "supernode":
        from flwr.supernode import start_client_internal as sci

        ok = _source_has(sci, "time.sleep(3)", 'command = ["flower-superexec"]', "subprocess.Popen(command)",
                         "run_id = _pull_and_store_message(") and callable(getattr(sci, "_pull_and_store_message", None))
        return None if ok else "flwr.supernode.start_client_internal no longer has the waits this hooks"
    if role == "superexec":
        from flwr.supercore.superexec import run_superexec
        from flwr.supercore.superexec.executor import subprocess_executor

        ok = _source_has(run_superexec, "time.sleep(1)") and \
            _source_has(subprocess_executor, "TASK_TYPE_TO_COMMAND[spec.task_type]", "subprocess.Popen(")
        from flwr.supercore.constant import TASK_TYPE_TO_COMMAND, TaskType

        ok = ok and TASK_TYPE_TO_COMMAND.get(TaskType.CLIENT_APP) == "flwr-clientapp"
        return None if ok else "flwr's superexec no longer has the loop or the launch this hooks"
    if role == "clientapp":
        return None if _clientapp_file().is_file() else "flwr/supernode/cli/flwr_clientapp.py is missing"
    raise ValueError(f"unknown role {role!r}")


def _clientapp_file() -> Path:
    spec = importlib.util.find_spec("flwr.supernode")  # imports `flwr` and `flwr.supernode` (both light)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "cli" / "flwr_clientapp.py"


def install(role: str, poll: float, *, fork: bool = False) -> bool:
    """Apply `role`'s hooks in this process; False (and Flower unchanged) where they do not fit. `fork`:
    the superexec starts each message's app process from a `ForkServer` instead of a fresh interpreter."""
    why = hooks_apply(role)
    if why is not None:
        print(f"medhive node: Flower's own polls and start-up kept ({why})", file=sys.stderr, flush=True)
        return False
    if role == "supernode":
        from flwr.supernode import start_client_internal as sci

        clock = BusyPolls(poll, window=BUSY_WINDOW)
        pull = sci._pull_and_store_message

        def pull_and_note(*args: Any, **kwargs: Any) -> int | None:
            run_id = pull(*args, **kwargs)
            if run_id is not None:
                clock.received()
            return run_id

        sci.time = clock  # type: ignore[assignment]
        sci._pull_and_store_message = pull_and_note  # type: ignore[attr-defined]
        sci.subprocess = RedirectedPopen(  # type: ignore[assignment]
            {"flower-superexec": [*_SELF, "superexec", "--poll", repr(poll), *(["--fork"] if fork else [])]})
    elif role == "superexec":
        from flwr.supercore.superexec import run_superexec
        from flwr.supercore.superexec.executor import subprocess_executor

        run_superexec.time = CappedSleep(poll)  # type: ignore[attr-defined]
        redirect = RedirectedPopen({"flwr-clientapp": [*_SELF, "clientapp"]})
        subprocess_executor.subprocess = ForkServer(fallback=redirect) if fork else redirect  # type: ignore[attr-defined]
    return True


class ForkServer:
    """Stands in for `subprocess` in Flower's `SubprocessExecutor`: `Popen(["flwr-clientapp", *args])`
    asks a forking server (`python -m federation.flower_runtime forkserver`, started once, which has
    imported Flower's ClientApp runtime: 0.5 s of CPU) for a fork that runs Flower's `flwr_clientapp()`
    with those arguments, instead of starting and importing a new interpreter for every message. The
    executor ignores what `Popen` returns. If the server is gone, `fallback` starts the process as usual.

    The server imports Flower only: each fork loads the ClientApp itself, from the installed package,
    as a fresh process would. A fork gets fresh seeds for numpy's global generator (SecAgg+'s stochastic
    rounding draws from it) and Python's `random` (reseeded by Python at fork); SecAgg+'s keys and mask
    seeds come from `os.urandom`. The server creates no gRPC channel, so no gRPC state is forked."""

    def __init__(self, *, fallback: RedirectedPopen) -> None:
        import subprocess

        self.fallback = fallback
        self.server = subprocess.Popen([*_SELF, "forkserver"], stdin=subprocess.PIPE)

    def Popen(self, args: Sequence[str], *rest: Any, **kwargs: Any) -> Any:  # noqa: N802 - subprocess's name
        import json

        args = list(args)
        if args[:1] == ["flwr-clientapp"] and self.server.poll() is None:
            try:
                assert self.server.stdin is not None
                self.server.stdin.write((json.dumps(args[1:]) + "\n").encode())
                self.server.stdin.flush()
                return None
            except (BrokenPipeError, OSError):
                pass
        return self.fallback.Popen(args, *rest, **kwargs)

    def __getattr__(self, name: str) -> Any:
        import subprocess

        return getattr(subprocess, name)


def serve_forks(requests: Any = None, *, entry: Callable[[], None] | None = None) -> None:
    """The forking server: one JSON list of `flwr-clientapp` arguments per line on stdin (or `requests`),
    one fork each, which runs `entry` (Flower's `flwr_clientapp`). Ends when stdin closes (its superexec
    is gone)."""
    import json
    import os
    import signal

    import flwr.supernode.runtime.run_clientapp  # noqa: F401 - what every message's process imports
    import numpy as np

    entry = entry or _flwr_clientapp()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forks are reaped by the kernel
    for line in requests if requests is not None else sys.stdin:
        args = json.loads(line)
        if os.fork() != 0:
            continue
        # the message's process
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)  # the server's request pipe is not the app's
            np.random.seed()  # a fresh seed from the OS, not the server's state shared by every fork
            sys.argv = ["flwr-clientapp", *args]
            code = 0
            entry()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - reported, then the fork ends with a failure status
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001 - a closed stream must not keep the fork alive
                    pass
            os._exit(code)


def _flwr_clientapp() -> Callable[[], None]:
    """Flower's `flwr_clientapp()` from its own file: the file imports only `flwr.supernode.runtime` and
    `flwr.common` names, so loading it outside its package skips the package `__init__` (the SuperNode)."""
    spec = importlib.util.spec_from_file_location("_medhive_flwr_clientapp", _clientapp_file())
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.flwr_clientapp


def parse(argv: list[str]) -> tuple[str, float, bool, list[str]]:
    """`ROLE [--poll S] [--fork] FLOWER-ARGS...` -> (role, poll, fork, Flower's own arguments, untouched)."""
    roles = ("supernode", "superexec", "clientapp", "forkserver")
    if not argv or argv[0] not in roles:
        raise SystemExit(f"usage: python -m federation.flower_runtime {{{'|'.join(roles)}}} "
                         "[--poll S] [--fork] <Flower's arguments>")
    role, rest, poll, fork = argv[0], argv[1:], DEFAULT_POLL, False
    while rest[:1] in (["--poll"], ["--fork"]):
        if rest[0] == "--fork":
            fork, rest = True, rest[1:]
            continue
        try:
            poll = float(rest[1])
        except (IndexError, ValueError):
            raise SystemExit("--poll needs a number of seconds") from None
        rest = rest[2:]
    if not poll > 0:
        raise SystemExit("--poll must be a positive number of seconds")
    return role, poll, fork, rest


def main(argv: list[str] | None = None) -> None:
    role, poll, fork, flower_args = parse(list(sys.argv[1:] if argv is None else argv))
    if role == "forkserver":
        serve_forks()
        return
    if role == "clientapp":
        entry = _flwr_clientapp if hooks_apply("clientapp") is None else _stock_clientapp
        sys.argv = ["flwr-clientapp", *flower_args]
        entry()()
        return
    install(role, poll, fork=fork)
    if role == "supernode":
        from flwr.supernode.cli.flower_supernode import flower_supernode as run
    else:
        from flwr.supercore.cli.flower_superexec import flower_superexec as run
    sys.argv = [f"flower-{role}", *flower_args]
    run()


def _stock_clientapp() -> Callable[[], None]:
    from flwr.supernode.cli import flwr_clientapp

    return flwr_clientapp


if __name__ == "__main__":
    main()
