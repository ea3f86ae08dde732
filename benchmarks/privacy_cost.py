"""Cost of privacy: wall time per training round of a real federation on loopback (one `flower-superlink`,
N `flower-supernode` processes, `flwr run`), plain vs SecAgg+ vs DP-SGD vs both, as a ratio to the plain
round at the same N. Goal: SecAgg+ <= 1.15x the plain round at 10 nodes.

Task: breast_cancer (WDBC from scikit-learn, split near-IID across N hospital folders). One SuperLink and
one set of SuperNodes serve all four settings at a given N (one `flwr run` per setting, in the order of
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
    "plain": {"secure-aggregation": False, "dp": False},
    "secagg": {"secure-aggregation": True, "dp": False},
    "dp": {"secure-aggregation": False, "dp": True},
    "secagg+dp": {"secure-aggregation": True, "dp": True},
}
DP_EPSILON = 8.0  # per hospital for the whole job (the accountant calibrates the noise to it)
ALPHA = 100.0  # Dirichlet label skew of the split: near-IID, so hospitals are alike in size and work
# rounds per run, by node count
FULL = {3: 1, 5: 1, 10: 2, 20: 1}  # 2 rounds everywhere was estimated at over an hour on 2 cores; 2 at the goal N
QUICK = {3: 2}


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
    """Per training round: seconds (whole round), fit seconds (`round` -> `fitted`: the fit exchanges and
    aggregation, without the eligibility exchange), exchanges in the round, attempts."""
    started = next((e["time"] for e in events if e["event"] == "started"), None)
    if started is None:
        return []
    out, begin = [], started
    fitted = {e["round"]: e for e in events if e["event"] == "fitted"}
    for r in sorted(fitted):
        evaluated = [e["time"] for e in events if e["event"] == "evaluated" and e["round"] == r - 1]
        end = evaluated[0] if evaluated else fitted[r]["time"]
        announced = [e for e in events if e["event"] == "round" and e["round"] == r]
        exchanges = [e for e in events if e["event"] == "exchange" and e["round"] == r and begin < e["time"] <= end]
        out.append({"round": r, "seconds": end - begin,
                    "fit": fitted[r]["time"] - announced[-1]["time"] if announced else float("nan"),
                    "exchanges": len(exchanges), "attempts": len(announced)})
        begin = end
    return out


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


def measure_n(n: int, rounds: int, work: Path, home: Path) -> dict[str, dict[str, Any]]:
    from federation.errors import RunFailedError
    from federation.launcher import LocalFederation

    specs, rows = _hospitals(work / f"n{n}" / "hospitals", n)
    _say(f"N={n}: hospitals with {min(rows)}..{max(rows)} rows; starting SuperLink + {n} SuperNodes")
    results: dict[str, dict[str, Any]] = {}
    fed = LocalFederation(work / f"n{n}" / "runtime", specs, env={"MEDHIVE_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    try:
        t0 = time.monotonic()
        fed.start()
        up = _wait_online(fed, n, timeout=120 + 10 * n)
        _say(f"N={n}: all {n} SuperNodes online after {time.monotonic() - t0:.1f} s ({up:.1f} s of it waiting for them to register)")
        for name, setting in SETTINGS.items():
            label = f"N={n} {name}"
            config = {"task": TASK, "num-rounds": rounds, "min-hospitals": n, "strategy": "fedavg",
                      "secagg-max-weight": float(max(1000, max(rows))), "dp-epsilon": DP_EPSILON if setting["dp"] else 0.0,
                      "wait-timeout": max(300, 30 * n), "medhive-home": str(home), "registry": "local",
                      "job-dir": str(work / f"n{n}" / f"job-{name}"), "job-name": f"privacy-cost-n{n}-{name}",
                      **setting}
            progress = _Progress(label)
            _say(f"{label}: flwr run ({rounds} round(s))")
            started = time.monotonic()
            try:
                outcome = fed.run(config, on_event=progress, timeout=600 + 240 * n * rounds)
            except RunFailedError as exc:
                outcome = {"status": "failed", "reason": exc.message}
            times = round_times(progress.events)
            results[name] = {"outcome": outcome.get("status"), "reason": outcome.get("reason"), "rounds": times,
                             "run_s": time.monotonic() - started}
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
        pts = [(n, summary[n][name]["median"], summary[n].get("plain", {})) for n in ns
               if name in summary[n] and summary[n][name]["ok"]]
        if not pts:
            continue
        line = ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)[0]
        rel = [(n, v / p["median"]) for n, v, p in pts if p.get("ok") and p["median"] > 0]
        if rel:
            bx.plot([r[0] for r in rel], [r[1] for r in rel], marker="o", color=line.get_color(), label=name)
    bx.axhline(1.15, color="grey", linestyle="--", linewidth=1, label="goal: SecAgg+ <= 1.15x at N=10")
    for a, label in ((ax, "seconds per training round (median)"), (bx, "ratio to the plain round")):
        a.set_xlabel("SuperNodes (N)")
        a.set_ylabel(label)
        a.set_xticks(ns)
        a.set_ylim(bottom=0)
        a.grid(alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle(f"Cost of privacy per round, Flower on loopback ({TASK})")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _summarize(res: dict[str, Any], rounds: int) -> dict[str, Any]:
    secs = [t["seconds"] for t in res["rounds"]]
    ok = res["outcome"] == "published" and len(secs) == rounds and all(t["attempts"] == 1 for t in res["rounds"])
    return {"ok": ok, "reason": res["reason"] if res["outcome"] != "published" else
            (None if ok else "a round was retried or not recorded"),
            "median": _median(secs), "secs": secs, "fit": _median([t["fit"] for t in res["rounds"]]),
            "exchanges": sorted({t["exchanges"] for t in res["rounds"]}), "run_s": res["run_s"]}


def run(quick: bool) -> str:
    from federation.errors import RunFailedError

    grid = QUICK if quick else FULL
    load_before = os.getloadavg()
    wall0 = time.monotonic()
    summary: dict[int, dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="medhive-privacy-cost-") as tmp:
        home, work = Path(tmp) / "medhive-home", Path(tmp) / "work"
        _seed_registry(home)
        for n, rounds in grid.items():
            try:
                results = measure_n(n, rounds, work, home)
            except RunFailedError as exc:  # the runtime did not come up at this N: say so, go on
                _say(f"N={n}: {exc.message}")
                results = {name: {"outcome": "failed", "reason": exc.message, "rounds": [], "run_s": 0.0}
                           for name in SETTINGS}
            summary[n] = {name: _summarize(res, rounds) for name, res in results.items()}
    body = report(summary, grid, quick=quick, wall=time.monotonic() - wall0, loads=(load_before, os.getloadavg()))
    write_result("privacy_cost", "Cost of privacy: seconds per federated round, SecAgg+ and DP vs plain", body,
                 quick=quick)
    return body


def report(summary: dict[int, dict[str, dict[str, Any]]], grid: dict[int, int], *, quick: bool, wall: float,
           loads: tuple[tuple[float, ...], tuple[float, ...]]) -> str:
    import flwr

    def ratio_at(n: int, name: str) -> float | None:
        s, p = summary.get(n, {}).get(name), summary.get(n, {}).get("plain")
        if s and p and s["ok"] and p["ok"] and p["median"] > 0:
            return s["median"] / p["median"]
        return None

    rows = []
    for n in sorted(summary):
        for name in SETTINGS:
            s = summary[n].get(name)
            if s is None:
                continue
            if not s["ok"]:
                rows.append([n, name, "failed", "", "", "", "", "", f"{s['run_s']:.0f}", str(s["reason"])[:120]])
                continue
            r = ratio_at(n, name)
            rows.append([n, name, len(s["secs"]), f"{s['median']:.1f}", " / ".join(f"{x:.1f}" for x in s["secs"]),
                         f"{r:.2f}x" if r is not None else "n/a", f"{s['fit']:.1f}",
                         "/".join(str(x) for x in s["exchanges"]), f"{s['run_s']:.0f}", ""])

    r10 = ratio_at(10, "secagg")
    if r10 is not None:
        goal = f"Goal: SecAgg+ <= 1.15x at 10 nodes: {'met' if r10 <= 1.15 else 'NOT met'} (ratio {r10:.2f}x)."
    else:
        measured = [f"N={n}: {r:.2f}x" for n in sorted(summary) if (r := ratio_at(n, "secagg")) is not None]
        goal = ("Goal: SecAgg+ <= 1.15x at 10 nodes: not measured in this run (no successful N=10 plain and SecAgg+ "
                "runs" + (f"; SecAgg+ ratio measured at {', '.join(measured)}" if measured else "") + ").")

    polls = poll_intervals()
    grid_poll = f"every {polls['grid']} s" if polls["grid"] else "at a fixed interval"
    node_poll = f"every {polls['supernode']} s" if polls["supernode"] else "at a fixed interval"
    ex = {name: sorted({x for n in summary for x in summary[n].get(name, {}).get("exchanges", [])}) for name in SETTINGS}
    png = RESULTS / ("privacy_cost-quick.png" if quick else "privacy_cost.png")
    RESULTS.mkdir(parents=True, exist_ok=True)
    _plot(summary, png)

    plain_ok = [(n, summary[n]["plain"]["median"]) for n in sorted(summary) if summary[n].get("plain", {}).get("ok")]
    growth = ""
    if len(plain_ok) > 1:
        (n0, s0), (n1, s1) = plain_ok[0], plain_ok[-1]
        growth = f" A plain round takes {s0:.0f} s at N={n0} and {s1:.0f} s at N={n1}" + (
            ": the start-ups queue for the CPUs, so rounds grow with N." if s1 > 1.2 * s0 else ".")
    dp_ratios = [f"N={n}: {r:.2f}x" for n in sorted(summary) if (r := ratio_at(n, "dp")) is not None]
    reduced = [str(n) for n, r in grid.items() if r < 2]
    one_round = any(r < 2 for r in grid.values())
    multi = any(len(v["secs"]) > 1 for n in summary for v in summary[n].values())
    load_before, load_after = loads
    return (
        f"Real federations of `{TASK}` (WDBC, scikit-learn) on the Flower {flwr.__version__} Deployment Engine: one "
        "`flower-superlink` and N `flower-supernode` processes on 127.0.0.1 (`federation.launcher.LocalFederation`), "
        f"data split near-IID (Dirichlet alpha {ALPHA:g}) into N hospital folders with consent recorded, as "
        "`medhive federate` does; `min-hospitals` = N, FedAvg, app defaults otherwise (SecAgg+: every node holds a "
        "share, reconstruction threshold `secagg-threshold` of the app; DP-SGD: epsilon "
        f"{DP_EPSILON:g} per hospital for the job). At each N one SuperLink and one set of SuperNodes serve the four "
        f"settings, one `flwr run` each, in the order {', '.join(SETTINGS)}; rounds per run: "
        f"{', '.join(f'N={n}: {r}' for n, r in grid.items())}"
        + (f" (one round per run at N = {', '.join(reduced)}: two rounds at every N were estimated from the quick "
           "size at over an hour on 2 cores, against a target of about 45 minutes)" if reduced and not quick else "")
        + ".\n\n"
        "**What is timed** (from the job's own `events.jsonl`, timestamps written by the ServerApp): one training "
        "round, from the end of the previous round (round 1: the `started` event, written once the parent model is "
        "loaded and the MLflow run created, with all N SuperNodes already online) to the `evaluated` event the "
        "ServerApp writes right after the round's `fitted` event. That is the eligibility exchange "
        "(`get_properties`), the fit exchanges (each node first scores the incoming model on its held-out split, "
        "the previous round's evaluation with no extra exchange, then trains, with DP-SGD when on), aggregation "
        "and MLflow logging. Not timed: process start-up, `flwr run` submission and ServerApp start, loading the "
        "parent, the final evaluation exchange after the last round, the gate and publishing. In round 1 the "
        "eligibility exchange is also where each node first loads and validates its data (later rounds use the "
        "row count cached in the node's context), so round 1 tends to run longer than later rounds"
        + (": where a run has one round, its number is a round 1" if one_round else "")
        + ". \"fit s\" is the part from the `round` event (after the eligibility exchange) to `fitted`; \"run s\" "
        "is the whole `flwr run` for comparison.\n\n"
        + md_table(["N", "setting", "rounds", "s/round (median)", "each round s", "ratio to plain", "fit s (median)",
                    "exchanges/round", "run s", "note"], rows)
        + f"\n{goal}\n\n"
        f"![seconds per round and ratio to plain vs N]({png.name})\n\n"
        "**Where the time goes.** The model is tiny, so the cost is message latency, not cryptography or "
        f"training. A plain round here is {'/'.join(map(str, ex['plain'])) or '?'} exchanges (eligibility + one fit "
        f"exchange); with SecAgg+ it is {'/'.join(map(str, ex['secagg'])) or '?'} (eligibility + SecAgg+'s four: "
        "key set-up, key sharing, masked training, unmasking). Every exchange pays Flower's polling: the "
        f"ServerApp's grid pulls replies {grid_poll} until all have arrived and an idle SuperNode asks the SuperLink "
        f"for work {node_poll} (both read from the installed flwr source), so each exchange waits up to about one "
        "interval of each on top of the work. And each message starts a fresh `flwr-clientapp` process on its node "
        "that re-imports the app (torch for the messages that train or evaluate); with N nodes on 2 cores those "
        f"start-ups share the CPUs.{growth} DP-SGD adds no exchange, only per-example clipping and noise inside "
        "local training" + (f" (ratio to plain: {', '.join(dp_ratios)})" if dp_ratios else "")
        + ("; compare such differences with the spread between the rounds of one run (the \"each round s\" "
           "column) before reading them as a cost" if multi else
           "; with one round per run there is no within-run spread to compare with, so read differences of a few "
           "seconds as noise on this shared machine")
        + ". For context (the issue's figures, not measured here): a "
        "third-party report puts Flower's SecAgg+ overhead near 13%, and NVIDIA FLARE's homomorphic encryption "
        "costs about 2.7x.\n\n"
        f"Wall time of this benchmark ({'quick' if quick else 'full'} size): {wall / 60:.1f} min. Load average "
        f"(1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, after "
        f"{'/'.join(f'{x:.1f}' for x in load_after)}, on {os.cpu_count()} CPUs shared with other processes: "
        "absolute seconds are noisy, ratios within one N hold better.\n")


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
