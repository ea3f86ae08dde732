"""Cost of privacy: wall time per training round of a real federation on loopback (one `flower-superlink`,
N `flower-supernode` processes, `flwr run`), plain vs SecAgg+ vs DP-SGD vs both, as a ratio to the plain
round at the same N, and MedHive's plain round against a bare Flower app training the same network on the
same SuperNodes (`benchmarks/peer_app`). Goals: MedHive's round <= 1.05x the peer's at 3 and 10 nodes
(second and later rounds); SecAgg+ <= 1.3x MedHive's plain round at 10 nodes.

    python -m benchmarks.privacy_cost [--quick] [--nodes 3,10] [--settings peer,plain,secagg]

Task: breast_cancer (WDBC from scikit-learn, split near-IID across N hospital folders). One SuperLink and
one set of SuperNodes serve every chosen setting at a given N (one `flwr run` per setting, in the order of
`SETTINGS`); the processes are started fresh for each N and always stopped at the end.

What is timed comes from the job's own progress file (`<job-dir>/events.jsonl`, timestamps written by the
ServerApp): a round runs from the end of the previous round (round 1: the `started` event, written once
the parent is loaded and the MLflow run exists, with every SuperNode already online) to the `evaluated`
event of the incoming model, which the ServerApp writes right after the round's `fitted` event.
"""

from __future__ import annotations

import inspect
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS, md_table, write_result

TASK = "breast_cancer"
SETTINGS: dict[str, dict[str, Any]] = {
    "peer": {},  # the bare Flower app (benchmarks/peer_app): no MedHive code in the messages
    "plain": {"secure-aggregation": False, "dp": False},
    "secagg": {"secure-aggregation": True, "dp": False},
    "dp": {"secure-aggregation": False, "dp": True},
    "secagg+dp": {"secure-aggregation": True, "dp": True},
}
DP_EPSILON = 8.0  # per hospital for the whole job (the accountant calibrates the noise to it)
ALPHA = 100.0  # Dirichlet label skew of the split: near-IID, so hospitals are alike in size and work
PEER_APP = Path(__file__).resolve().parent / "peer_app"
# rounds per run, by node count: two, so that a second round (no data loading, warm caches) is timed
FULL = {3: 2, 10: 2}
QUICK = {3: 2}
QUICK_SETTINGS = ("peer", "plain", "secagg")
PEER_GOAL, SECAGG_GOAL = 1.05, 1.3


def _say(msg: str) -> None:
    print(f"[privacy_cost] {msg}", file=sys.stderr, flush=True)


# ----- what Flower itself waits between polls (read from the installed source, not assumed) -------------
def _sleep_in(obj: Any, after: str = "") -> str | None:
    try:
        src = inspect.getsource(obj)
    except (OSError, TypeError):
        return None
    m = re.search(re.escape(after) + r"[\s\S]*?time\.sleep\(([\d.]+)\)", src) if after else \
        re.search(r"time\.sleep\(([\d.]+)\)", src)
    return m.group(1) if m else None


def _runtime_poll() -> str:
    from federation.flower_runtime import DEFAULT_POLL

    return f"{DEFAULT_POLL:g}"


def _reply_poll() -> str:
    from federation.config import JobConfig

    return f"{JobConfig(task=TASK).reply_poll:g}"


def poll_intervals() -> dict[str, str | None]:
    out: dict[str, str | None] = {"grid": None, "supernode": None}
    try:
        from flwr.superlink.grid.grpc_grid import GrpcGrid

        out["grid"] = _sleep_in(GrpcGrid.send_and_receive)
    except ImportError:
        pass
    try:
        from flwr.supernode import start_client_internal as sci

        out["supernode"] = _sleep_in(sci.start_client_internal, "If no message was received")
    except ImportError:
        pass
    return out


# ----- set-up ------------------------------------------------------------------------------------------
def _seed_registry(home: Path) -> None:
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair

    seed_baselines(open_registry("local", home=home, signer=load_or_create_keypair(home)), tasks=[TASK])


def _rows(path: Path) -> int:
    return max(0, len(path.read_text().splitlines()) - 1)


def _hospitals(root: Path, n: int):
    """N hospital folders (as `medhive federate` makes them): data split, consent recorded, node specs."""
    from federation.config import load_task
    from federation.launcher import NodeSpec
    from federation.node_state import NodeState
    from federation.partition import split_task

    paths = split_task(load_task(TASK), root, n, data_root=None, alpha=ALPHA, seed=0)
    rows = [_rows(p) for p in paths]
    min_rows = min(200, max(20, min(rows)))  # the public data split N ways: a demo, as `medhive federate` does
    specs = []
    for p in paths:
        state = p.parent / ".medhive-node"
        NodeState(state).grant(TASK, by="benchmarks.privacy_cost")
        # one budget for all runs at this N: the two DP runs must not make a node decline
        specs.append(NodeSpec(data_path=str(p), state_dir=str(state), min_rows=min_rows, epsilon_budget=1e6))
    return specs, rows


def _wait_online(fed: Any, n: int, timeout: float) -> float:
    """Wait until the SuperLink's own state lists N SuperNodes online; the seconds it took."""
    from federation.errors import RunFailedError

    db = fed.workdir / "superlink.db"
    t0 = time.monotonic()
    online = 0
    while time.monotonic() - t0 < timeout:
        for i, p in enumerate(fed.supernodes):
            if p is not None and p.poll() is not None:
                raise RunFailedError(f"SuperNode {i} exited at start (see {fed.logs / f'supernode-{i}.log'})")
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            try:
                online = con.execute("SELECT count(*) FROM node WHERE status = 'online'").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            online = 0
        if online >= n:
            return time.monotonic() - t0
        time.sleep(1.0)
    raise RunFailedError(f"only {online} of {n} SuperNodes online after {timeout:.0f}s (see {fed.logs})")


# ----- timing from the job's events ---------------------------------------------------------------------
def round_times(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per training round: seconds (whole round), fit seconds (`round` -> `fitted`; with SecAgg+ the `round`
    event comes after key set-up), exchanges in the round, attempts."""
    started = next((e["time"] for e in events if e["event"] == "started"), None)
    if started is None:
        return []
    out, begin = [], started
    fitted = {e["round"]: e for e in events if e["event"] == "fitted"}
    has_exchanges = any(e["event"] == "exchange" for e in events)  # the peer app records none: one a round
    for r in sorted(fitted):
        evaluated = [e["time"] for e in events if e["event"] == "evaluated" and e["round"] == r - 1]
        end = evaluated[0] if evaluated else fitted[r]["time"]
        announced = [e for e in events if e["event"] == "round" and e["round"] == r]
        exchanges = [e for e in events if e["event"] == "exchange" and e["round"] == r and begin < e["time"] <= end]
        out.append({"round": r, "seconds": end - begin, "end": end,
                    "fit": fitted[r]["time"] - announced[-1]["time"] if announced else float("nan"),
                    "exchanges": len(exchanges) if has_exchanges else 1, "attempts": len(announced) or 1})
        begin = end
    return out


def read_timing(folder: Path) -> list[dict[str, Any]]:
    """The app processes' per-message times (`federation.timing`), one dict per message."""
    import json

    out = []
    for f in sorted(Path(folder).glob("*.jsonl")) if Path(folder).is_dir() else []:
        out += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return out


def exchange_split(events: list[dict[str, Any]], timing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per round, where the exchanges' time went, summed over the round's exchanges (median node each):
    poll wait (message created -> app process created: the SuperNode's poll and `flower-superexec`; handler
    done -> exchange done: pushing the reply and the grid's poll), process start-up (process created ->
    handler entered: interpreter, imports, app set-up) and work (the handler itself, lazy imports included)."""
    # exchange events carry wall-clock `began` / `ended` (their `time` is relative to the job's start, the
    # clock of the round ends); an exchange after its round's end is the final evaluation, not the round's
    round_end = {t["round"]: t["end"] for t in round_times(events)}
    ends = [(e["round"], e.get("began"), e.get("ended")) for e in events
            if e["event"] == "exchange" and e["time"] <= round_end.get(e["round"], float("inf")) + 1e-6]
    if not ends:  # an app without exchange events (the peer): one exchange per round, the whole round
        rt = round_times(events)
        ends = [(t["round"], t["end"] - t["seconds"], t["end"]) for t in rt]
    out: dict[int, dict[str, Any]] = {}
    for r, began, end in ends:
        if began is None or end is None:
            continue
        msgs = [m for m in timing if began <= m["created"] and m["ended"] <= end + 0.5]
        if not msgs:
            continue

        def med(xs: list[float]) -> float:
            return statistics.median(xs)

        row = out.setdefault(r, {"round": r, "exchanges": 0, "seconds": 0.0, "poll": 0.0, "startup": 0.0,
                                 "work": 0.0})
        row["exchanges"] += 1
        row["seconds"] += end - began
        row["poll"] += med([m["created"] - began for m in msgs]) + med([end - m["ended"] for m in msgs])
        row["startup"] += med([m["started"] - m["created"] for m in msgs])
        row["work"] += med([m["ended"] - m["started"] for m in msgs])
    return [out[r] for r in sorted(out)]


def exchange_kinds(events: list[dict[str, Any]], timing: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per kind of exchange (`train:setup`, `train:share_keys`, ...; rounds >= 2), the median over rounds of:
    the exchange's seconds (sent -> last reply in), and for its median node the wait for the SuperNode's poll
    (sent -> app process created), process start-up, work and the reply's way back (handler done -> exchange
    done). Where the per-exchange floor of this runtime is read from."""
    round_end = {t["round"]: t["end"] for t in round_times(events)}
    rows: dict[str, list[dict[str, float]]] = {}
    for e in events:
        if e["event"] != "exchange" or e["round"] < 2 or e.get("began") is None or \
                e["time"] > round_end.get(e["round"], float("-inf")) + 1e-6:
            continue
        began, end = e["began"], e["ended"]
        msgs = [m for m in timing if began <= m["created"] and m["ended"] <= end + 0.5]
        if not msgs:
            continue
        kind = statistics.mode(m["kind"] for m in msgs)
        rows.setdefault(kind, []).append({
            "seconds": end - began, "nodes": float(len(msgs)),
            "poll_in": statistics.median(m["created"] - began for m in msgs),
            "startup": statistics.median(m["started"] - m["created"] for m in msgs),
            "work": statistics.median(m["ended"] - m["started"] for m in msgs),
            "reply": statistics.median(end - m["ended"] for m in msgs)})
    return {k: {f: statistics.median(r[f] for r in v) for f in v[0]} for k, v in rows.items()}


class _Progress:
    def __init__(self, label: str) -> None:
        self.label, self.events = label, []

    def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        kind = event.get("event")
        if kind in ("evaluated", "failed", "retry"):
            done = round_times(self.events)
            if kind == "evaluated" and done and done[-1]["round"] == event["round"] + 1:
                t = done[-1]
                _say(f"{self.label}: round {t['round']}: {t['seconds']:.1f} s (fit exchanges {t['fit']:.1f} s, "
                     f"{t['exchanges']} exchanges)")
            elif kind != "evaluated":
                _say(f"{self.label}: {kind}: {event.get('reason', '')}")


def measure_n(n: int, rounds: int, work: Path, home: Path, settings: tuple[str, ...], *,
              fork: bool = True) -> dict[str, dict[str, Any]]:
    from federation.errors import RunFailedError
    from federation.launcher import LocalFederation

    specs, rows = _hospitals(work / f"n{n}" / "hospitals", n)
    _say(f"N={n}: hospitals with {min(rows)}..{max(rows)} rows; starting SuperLink + {n} SuperNodes")
    results: dict[str, dict[str, Any]] = {}
    fed = LocalFederation(work / f"n{n}" / "runtime", specs, env={"MEDHIVE_HOME": str(home), "HF_HUB_OFFLINE": "1"},
                          fork=fork)
    try:
        t0 = time.monotonic()
        fed.start(wait=600)  # a loaded machine can take minutes to bring the SuperLink up
        up = _wait_online(fed, n, timeout=120 + 10 * n)
        _say(f"N={n}: all {n} SuperNodes online after {time.monotonic() - t0:.1f} s ({up:.1f} s of it waiting for them to register)")
        for name in settings:
            setting = SETTINGS[name]
            label = f"N={n} {name}"
            job_dir, timing_dir = work / f"n{n}" / f"job-{name}", work / f"n{n}" / f"timing-{name}"
            if name == "peer":
                app_dir = PEER_APP
                config = {"num-rounds": rounds, "min-hospitals": n, "job-dir": str(job_dir),
                          "timing-dir": str(timing_dir)}
            else:
                from federation.launcher import APP_DIR as app_dir

                config = {"task": TASK, "num-rounds": rounds, "min-hospitals": n, "strategy": "fedavg",
                          "secagg-max-weight": float(max(1000, max(rows))),
                          "dp-epsilon": DP_EPSILON if setting["dp"] else 0.0,
                          "wait-timeout": max(300, 30 * n), "medhive-home": str(home), "registry": "local",
                          "job-dir": str(job_dir), "job-name": f"privacy-cost-n{n}-{name}",
                          "timing-dir": str(timing_dir), **setting}
            progress = _Progress(label)
            _say(f"{label}: flwr run ({rounds} round(s))")
            started = time.monotonic()
            try:
                outcome = fed.run(config, app_dir=app_dir, on_event=progress, timeout=600 + 240 * n * rounds)
            except RunFailedError as exc:
                outcome = {"status": "failed", "reason": exc.message}
            times = round_times(progress.events)
            results[name] = {"outcome": outcome.get("status"), "reason": outcome.get("reason"), "rounds": times,
                             "run_s": time.monotonic() - started,
                             "split": exchange_split(progress.events, read_timing(timing_dir)),
                             "kinds": exchange_kinds(progress.events, read_timing(timing_dir))}
            ok = outcome.get("status") == "published"
            _say(f"{label}: {'published' if ok else 'FAILED: ' + str(outcome.get('reason'))}; round times "
                 f"{[round(t['seconds'], 1) for t in times]} s; whole run {results[name]['run_s']:.0f} s")
    finally:
        fed.stop()
    return results


# ----- report ---------------------------------------------------------------------------------------------
def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def _plot(summary: dict[int, dict[str, dict[str, Any]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=110)
    ns = sorted(summary)
    for name in SETTINGS:
        pts = [(n, summary[n][name]["later"]) for n in ns if name in summary[n] and summary[n][name]["ok"]]
        if not pts:
            continue
        line = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)[0]
        base = "peer" if name == "plain" else "plain"
        rel = [(n, v / summary[n][base]["later"]) for n, v in pts
               if name != base and summary[n].get(base, {}).get("ok") and summary[n][base]["later"] > 0]
        if rel:
            bx.plot([r[0] for r in rel], [r[1] for r in rel], marker="o", color=line.get_color(),
                    label=f"{name} / {base}")
    bx.axhline(PEER_GOAL, color="grey", linestyle=":", linewidth=1, label=f"goal plain/peer <= {PEER_GOAL}")
    bx.axhline(SECAGG_GOAL, color="grey", linestyle="--", linewidth=1, label=f"goal secagg/plain <= {SECAGG_GOAL} (N=10)")
    for a, label in ((ax, "seconds per round (rounds >= 2, median)"), (bx, "ratio")):
        a.set_xlabel("SuperNodes (N)")
        a.set_ylabel(label)
        a.set_xticks(ns)
        a.set_ylim(bottom=0)
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle(f"Cost of privacy and of MedHive per round, Flower on loopback ({TASK})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _summarize(res: dict[str, Any], rounds: int) -> dict[str, Any]:
    secs = [t["seconds"] for t in res["rounds"]]
    ok = res["outcome"] == "published" and len(secs) == rounds and all(t["attempts"] == 1 for t in res["rounds"])
    later = [t for t in res["split"] if t["round"] >= 2] or res["split"]
    split = {k: _median([t[k] for t in later]) for k in ("poll", "startup", "work")} if later else {}
    return {"ok": ok, "reason": res["reason"] if res["outcome"] != "published" else
            (None if ok else "a round was retried or not recorded"),
            "median": _median(secs), "later": _median(secs[1:] or secs), "secs": secs,
            "fit": _median([t["fit"] for t in res["rounds"]]),
            "exchanges": sorted({t["exchanges"] for t in res["rounds"]}), "run_s": res["run_s"], "split": split,
            "kinds": res.get("kinds", {})}


def run(quick: bool, *, grid: dict[int, int] | None = None, settings: tuple[str, ...] | None = None,
        name: str = "privacy_cost", fork: bool = True) -> str:
    from federation.errors import RunFailedError

    grid = grid or (QUICK if quick else FULL)
    settings = settings or (QUICK_SETTINGS if quick else tuple(SETTINGS))
    load_before = os.getloadavg()
    wall0 = time.monotonic()
    summary: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="medhive-privacy-cost-") as tmp:
        home, work = Path(tmp) / "medhive-home", Path(tmp) / "work"
        _seed_registry(home)
        for n, rounds in grid.items():
            try:
                results = measure_n(n, rounds, work, home, settings, fork=fork)
            except RunFailedError as exc:  # the runtime did not come up at this N: say so, go on
                _say(f"N={n}: {exc.message}")
                results = {name: {"outcome": "failed", "reason": exc.message, "rounds": [], "run_s": 0.0,
                                  "split": [], "kinds": {}} for name in settings}
            summary[n] = {name: _summarize(res, rounds) for name, res in results.items()}
    body = report(summary, grid, settings, quick=quick, wall=time.monotonic() - wall0,
                  loads=(load_before, os.getloadavg()), result_name=name, fork=fork)
    write_result(name, "Cost of privacy and of MedHive: seconds per federated round", body, quick=quick)
    return body


def _ratio(summary: dict[int, dict[str, dict[str, Any]]], n: int, name: str, base: str) -> float | None:
    s, p = summary.get(n, {}).get(name), summary.get(n, {}).get(base)
    if s and p and s["ok"] and p["ok"] and p["later"] > 0:
        return s["later"] / p["later"]
    return None


def _goal_line(summary: dict[int, dict[str, dict[str, Any]]], label: str, n: int, name: str, base: str,
               goal: float) -> str:
    r = _ratio(summary, n, name, base)
    if r is None:
        return f"- {label} at N={n}: not measured in this run (no successful {name} and {base} runs)"
    return f"- {label} at N={n}: {'met' if r <= goal else '**NOT met**'} ({r:.2f}x, goal <= {goal}x)"


def report(summary: dict[int, dict[str, dict[str, Any]]], grid: dict[int, int], settings: tuple[str, ...], *,
           quick: bool, wall: float, loads: tuple[tuple[float, ...], tuple[float, ...]],
           result_name: str = "privacy_cost", fork: bool = True) -> str:
    import flwr

    rows = []
    for n in sorted(summary):
        for name in settings:
            s = summary[n].get(name)
            if s is None:
                continue
            if not s["ok"]:
                rows.append([n, name, "failed", "", "", "", "", "", "", "", f"{s['run_s']:.0f}", str(s["reason"])[:120]])
                continue
            base = "peer" if name == "plain" else "plain"
            r = _ratio(summary, n, name, base) if name != "peer" else None
            sp = s["split"]
            rows.append([n, name, len(s["secs"]), f"{s['later']:.1f}", " / ".join(f"{x:.1f}" for x in s["secs"]),
                         f"{r:.2f}x {base}" if r is not None else "-",
                         "/".join(str(x) for x in s["exchanges"]),
                         f"{sp['poll']:.1f}" if sp else "", f"{sp['startup']:.1f}" if sp else "",
                         f"{sp['work']:.1f}" if sp else "", f"{s['run_s']:.0f}", ""])

    goals = []
    for n in (3, 10):
        if n in summary and {"plain", "peer"} <= set(settings):
            goals.append(_goal_line(summary, "MedHive plain round vs the bare Flower peer", n, "plain", "peer",
                                    PEER_GOAL))
    if 10 in summary and {"plain", "secagg"} <= set(settings):
        goals.append(_goal_line(summary, "SecAgg+ round vs MedHive's plain round", 10, "secagg", "plain", SECAGG_GOAL))
    others = [f"N={n}: {r:.2f}x" for n in sorted(summary) if n != 10 and (r := _ratio(summary, n, "secagg", "plain"))]
    dp = [f"N={n}: {r:.2f}x" for n in sorted(summary) if (r := _ratio(summary, n, "dp", "plain")) is not None]

    polls = poll_intervals()
    grid_poll = f"every {polls['grid']} s" if polls["grid"] else "at a fixed interval"
    node_poll = f"every {polls['supernode']} s" if polls["supernode"] else "at a fixed interval"
    png = RESULTS / (f"{result_name}-quick.png" if quick else f"{result_name}.png")
    kinds = [[n, setting, kind, f"{k['nodes']:.0f}", f"{k['seconds']:.1f}", f"{k['poll_in']:.1f}",
              f"{k['startup']:.1f}", f"{k['work']:.1f}", f"{k['reply']:.1f}"]
             for n in sorted(summary) for setting in settings
             for kind, k in sorted(summary[n].get(setting, {}).get("kinds", {}).items())
             if summary[n][setting]["ok"]]
    RESULTS.mkdir(parents=True, exist_ok=True)
    _plot(summary, png)
    load_before, load_after = loads
    busy = max(load_before[0], load_after[0]) > (os.cpu_count() or 1)
    return (
        f"Real federations of `{TASK}` (WDBC, scikit-learn) on the Flower {flwr.__version__} Deployment Engine: one "
        "`flower-superlink` and N `flower-supernode` processes on 127.0.0.1 (`federation.launcher.LocalFederation`, "
        "which gives each node its share of the cores: torch threads and OMP_NUM_THREADS = cores / N, at least 1, "
        "and runs each SuperNode through `federation.flower_runtime`, as `medhive node start` does: Flower's own "
        f"SuperNode, polling every {_runtime_poll()} s during a job instead of its fixed 3 s (superexec: 1 s), "
        + ("and each message's `flwr-clientapp` forked from a server that has imported Flower's ClientApp runtime, "
           "as `medhive node start` does by default), " if fork else "and each message's `flwr-clientapp` a fresh "
           "interpreter, started without the SuperNode's imports: `--no-fork-server`), ") +
        f"data split near-IID (Dirichlet alpha {ALPHA:g}) into N hospital folders with consent recorded, as "
        "`medhive federate` does; `min-hospitals` = N, FedAvg, app defaults otherwise (SecAgg+: every node holds a "
        f"share; DP-SGD: epsilon {DP_EPSILON:g} per hospital for the job). At each N one SuperLink and one set of "
        f"SuperNodes serve every setting, one `flwr run` each, in the order {', '.join(settings)}; rounds per run: "
        f"{', '.join(f'N={n}: {r}' for n, r in grid.items())}.\n\n"
        "**peer** is a bare Flower app (`benchmarks/peer_app`, the shape of Flower's PyTorch quickstart): the same "
        "network (`TabularMLP`, TabularNet without the Hugging Face mixin, as MedHive's nodes build it), optimiser "
        "settings and local epochs (with `torch.optim.Adam`, as the quickstart has it), on the same SuperNodes and "
        "hospital files, with plain FedAvg and nothing else (no consent or data checks, no scoring of the incoming "
        "model, no privacy ledger, tracking or publishing), and Flower's own grid. It is a bare app on this "
        "runtime (the same SuperNodes, so their shorter polls serve it too). What MedHive does differently to be "
        f"cheap per message: its ServerApp pulls replies every `reply-poll` ({_reply_poll()} s) through the Grid's "
        "`push_messages` / `pull_messages` instead of the grid's fixed "
        "interval, its nodes train with `hub.optim.AdamW` (torch's AdamW arithmetic; the first `torch.optim` "
        "optimiser of a process imports `torch._dynamo`, about 1.5 s of CPU) and log MLflow metrics in one batch "
        "per round.\n\n"
        "**What is timed** (timestamps the ServerApps write in `events.jsonl`): a training round, from the end of the "
        "previous one to the end of its fit exchange(s) and aggregation; \"s/round\" is the median of the second "
        "and later rounds (round 1 also loads the data, the parent and warms caches), and every ratio compares "
        "those; MedHive's final evaluation exchange, after its last round, is in no round. MedHive's plain round is one exchange and its SecAgg+ round "
        "Flower's four (key set-up, key sharing, masked training, unmasking): a node that must decline fails the "
        "round's first message (the fit message, or SecAgg+'s key set-up), with no exchange of its own. **Split per "
        "round** (rounds >= 2, summed over the round's exchanges, median node; from `federation.timing`, which each "
        "app process writes when the run config names a `timing-dir`): *poll wait* is message sent -> app process "
        f"created (a SuperNode waiting for its next message asks every {_runtime_poll()} s during a job, Flower's "
        f"own SuperNode {node_poll}) plus handler done -> exchange done (the peer's "
        f"grid pulls replies {grid_poll}, MedHive's every `reply-poll` s); *start-up* is process created -> handler entered (interpreter and the "
        "app's module imports; the peer imports torch at module level, MedHive inside the handler, so MedHive's "
        "torch import counts as work); *work* is the handler itself.\n\n"
        + md_table(["N", "setting", "rounds", "s/round (rounds >= 2)", "each round s", "ratio", "exchanges/round",
                    "poll wait s", "start-up s", "work s", "run s", "note"], rows)
        + ("\n## Per exchange (rounds >= 2, median over rounds; the node columns are the median node)\n\n"
           "*exchange s*: sent -> last reply in (the slowest node sets it); *poll in*: sent -> the node's app "
           "process created; *start-up*: process created -> handler entered; *work*: the handler (with SecAgg+'s "
           "mod); *reply*: handler done -> exchange done.\n\n"
           + md_table(["N", "setting", "exchange", "nodes", "exchange s", "poll in s", "start-up s", "work s",
                       "reply s"], kinds) if kinds else "")
        + "\n## Goals\n\n" + "\n".join(goals) + "\n"
        + (f"- For information: SecAgg+ / plain at {', '.join(others)}\n" if others else "")
        + (f"- For information: DP-SGD / plain at {', '.join(dp)}\n" if dp else "")
        + f"\n![seconds per round and ratios vs N]({png.name})\n\n"
        f"Wall time of this benchmark ({'quick' if quick else 'full'} size): {wall / 60:.1f} min. Load average "
        f"(1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, after "
        f"{'/'.join(f'{x:.1f}' for x in load_after)}, on {os.cpu_count()} CPUs"
        + (" shared with other engineers' test runs: absolute seconds are inflated and noisy; the ratios compare "
           "runs made minutes apart on the same SuperNodes, so they hold better, but a load that changes between "
           "two runs moves them too." if busy else ".") + "\n")


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.privacy_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--nodes", help="comma-separated node counts (default: 3,10; quick: 3)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--settings", help=f"comma-separated, of {', '.join(SETTINGS)}")
    parser.add_argument("--no-fork-server", action="store_true",
                        help="SuperNodes start a fresh interpreter for each message's app process instead of forking "
                             "it from a server that has imported Flower (federation.flower_runtime.ForkServer)")
    parser.add_argument("--name", default="privacy_cost",
                        help="results file name: benchmarks/results/<name>[-quick].md (default: privacy_cost)")
    args = parser.parse_args(argv)
    grid = {int(n): args.rounds for n in args.nodes.split(",")} if args.nodes else None
    settings = tuple(x for x in args.settings.split(",") if x) if args.settings else None
    if settings and not set(settings) <= set(SETTINGS):
        parser.error(f"settings are {', '.join(SETTINGS)}")
    print(run(args.quick, grid=grid, settings=settings, name=args.name, fork=not args.no_fork_server))


if __name__ == "__main__":
    main()
