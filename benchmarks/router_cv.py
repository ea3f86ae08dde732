"""Does the learned router (`assistant.router`) help on question sets it never saw? `python -m benchmarks.router_cv`

Leave-one-set-out over the seen sets (scripts/routing_examples.SEEN): for each, the router is fitted on
`assistant/routing_examples.json` without that set's questions (the other sets, tests/assistant/eval_questions
.json and the written examples), its thresholds chosen by an inner leave-one-set-out over the other four sets
only, and the left-out set is scored by `assistant.evaluation` with the router off (the rules alone) and on.
Per set: on topic, emergencies handled, false emergencies the router added (an ordinary question that then
leads with the emergency guidance), joins (onboarding started) and unknowns (the honest "I don't know").

With five sets this chose the thresholds the assistant shipped (`assistant.router.THRESHOLDS`), over all five
sets' out-of-fold probabilities; with ten, `benchmarks.router_threshold` re-reads the emergency threshold and
`benchmarks.router_gated` the onboarding and (gated) unknown ones, which this file's rule (a gain on today's
rules too) had left off. The repository's test set (test.json) is never used to fit or to choose
anything: it is scored once at the end, rules alone and with the router fitted on every example, to report.

Thresholds are chosen by what they would change, read off the rules' own answers: an emergency added is worth
+1 when the question is one and costs 1 (+1 more if it was answered well) when not; "onboarding" or "unknown"
replaces an answer from the documentation (intent "question") and counts +1 / -1 as the question's `expect`
agrees or not. Of the thresholds that gain most, the one nearest their middle is taken.

Writes benchmarks/results/router_cv.md (`--quick`: dev and fresh only, router_cv-quick.md). `--cold` instead
times a cold `medhive ask` with the router off and on (benchmarks/results/router_cold.md).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, ROOT, busy_warning, md_table, write_result
from scripts.routing_examples import FIRST_CONTACT, SEEN

EVAL = ROOT / "tests" / "assistant" / "eval"
SETS = SEEN
#: the sets scored once on first contact, their verdicts recorded before any rule was tuned on them
REPLAYED = FIRST_CONTACT
GRID = tuple(round(x, 2) for x in np.arange(0.30, 0.96, 0.05))


def choose_thresholds(probs: np.ndarray, rules: list[Any]) -> dict[str, float]:
    """The thresholds that would have gained most on out-of-fold `probs` (n, 3: emergency, onboarding,
    unknown) given the rules' scored answers `rules` (`evaluation.Scored`, same order)."""
    expect = np.array([r.expect for r in rules])
    caught = np.array([r.intent == "emergency" for r in rules])
    on = np.array([r.on_topic for r in rules], dtype=float)
    question = np.array([r.intent == "question" for r in rules])

    def emergency_gain(t: float) -> float:
        added = (probs[:, 0] >= t) & ~caught
        return float(np.sum(np.where(expect[added] == "emergency", 1.0, -1.0 - on[added])))

    t_e = _middle([(t,) for t in GRID], [emergency_gain(t) for t in GRID])[0]
    free = question & ~((probs[:, 0] >= t_e) & ~caught)
    pairs, gains = [], []
    for t_o in GRID:
        for t_u in GRID:
            p_o = np.where(probs[:, 1] >= t_o, probs[:, 1], -1)
            p_u = np.where(probs[:, 2] >= t_u, probs[:, 2], -1)
            new = np.where((p_o < 0) & (p_u < 0), "", np.where(p_o >= p_u, "onboarding", "unknown"))
            changed = free & (new != "")
            pairs.append((t_o, t_u))
            gains.append(float(np.sum((expect[changed] == new[changed]).astype(float) - on[changed])))
    t_o, t_u = _middle(pairs, gains)
    return {"emergency": float(t_e), "onboarding": float(t_o), "unknown": float(t_u)}


def _middle(points: list[tuple[float, ...]], gains: list[float]) -> tuple[float, ...]:
    """Of the thresholds that gain most, the one nearest the middle of them (the highest, of two as near):
    not the edge of the range that did best, where a new set's wordings would fall off first."""
    top = max(gains)
    best = np.array([p for p, g in zip(points, gains) if g == top])
    centre = best.mean(axis=0)
    return tuple(float(v) for v in max(best, key=lambda p: (-round(float(np.sum((p - centre) ** 2)), 9), p.sum())))


def counts(scored: list[Any], off: list[Any] | None = None) -> dict[str, Any]:
    """What the table reports of one scoring (`off`: the rules' scoring of the same questions, for the
    false emergencies and the answers lost that the router caused)."""
    by = {e: [x for x in scored if x.expect == e] for e in ("emergency", "onboarding", "unknown", "answer")}
    out = {"on_topic": sum(x.on_topic for x in scored) / len(scored), "ok": sum(x.on_topic for x in scored), "n": len(scored),
           "emergency": (sum(x.on_topic for x in by["emergency"]), len(by["emergency"])),
           "onboarding": (sum(x.on_topic for x in by["onboarding"]), len(by["onboarding"])),
           "unknown": (sum(x.on_topic for x in by["unknown"]), len(by["unknown"])),
           "answer": (sum(x.on_topic for x in by["answer"]), len(by["answer"]))}
    if off is not None:
        out["false_emergencies"] = [x.q for x, o in zip(scored, off)
                                    if x.expect != "emergency" and x.intent == "emergency" and o.intent != "emergency"]
        out["lost"] = [x.q for x, o in zip(scored, off) if o.on_topic and not x.on_topic]
        out["gained"] = [x.q for x, o in zip(scored, off) if x.on_topic and not o.on_topic]
        out["emergencies_lost"] = [x.q for x, o in zip(scored, off)
                                   if x.expect == "emergency" and o.on_topic and not x.on_topic]
    return out


def by_class(scored: list[Any], off: list[Any]) -> dict[str, list[int]]:
    """Per class the router can add: [questions it put on topic, questions it put off topic], each change
    counted for the class the answer changed to."""
    out = {k: [0, 0] for k in ("emergency", "onboarding", "unknown")}
    for x, o in zip(scored, off):
        if x.intent != o.intent and x.intent in out and x.on_topic != o.on_topic:
            out[x.intent][0 if x.on_topic else 1] += 1
    return out


def embedded_examples(embedder: Any) -> tuple[list[dict[str, str]], np.ndarray, np.ndarray, np.ndarray]:
    """The router's examples, their vectors, their sources and their texts normalised (to leave out, with a set,
    any example worded as one of its questions)."""
    from assistant.router import load_examples

    examples = load_examples()
    vectors = np.asarray(embedder.encode([e["text"] for e in examples]), dtype=np.float64)
    source = np.array([e["source"] for e in examples])
    norm = np.array([" ".join(e["text"].lower().split()) for e in examples])
    return examples, vectors, source, norm


def first_contact(name: str) -> list[Any]:
    """The verdicts the rules gave `name` when it was first scored, before any rule was written for it
    (benchmarks/results/assistant-<name>-scored.json, from `benchmarks.assistant_heldout`)."""
    data = json.loads((RESULTS / f"assistant-{name}-scored.json").read_text(encoding="utf-8"))
    return [SimpleNamespace(**{k: r[k] for k in ("q", "expect", "intent", "on_topic")}) for r in data["scored"]]


def replay(probs: np.ndarray, verdicts: list[Any], thresholds: dict[str, float]) -> list[Any]:
    """What the rules' `verdicts` become with the router's `probs` at `thresholds`, by the combination the
    assistant applies (an emergency added; "onboarding" / "unknown" in place of an answer from the documents)."""
    out = []
    for p, v in zip(probs, verdicts):
        intent = v.intent
        if thresholds.get("emergency") is not None and p[0] >= thresholds["emergency"] and v.intent != "emergency":
            intent = "emergency"
        elif v.intent == "question":
            over = [(p[i], k) for i, k in ((1, "onboarding"), (2, "unknown")) if p[i] >= thresholds[k]]
            intent = max(over)[1] if over else intent
        on = v.on_topic if intent == v.intent else v.expect == intent
        out.append(SimpleNamespace(q=v.q, expect=v.expect, intent=intent, on_topic=on))
    return out


def _row(name: str, a: dict[str, Any], b: dict[str, Any], thresholds: dict[str, float]) -> list[Any]:
    def frac(c: tuple[int, int]) -> str:
        return f"{c[0]}/{c[1]}"

    return [name, a["n"], f"{a['on_topic']:.3f}", f"{b['on_topic']:.3f}",
            f"{frac(a['emergency'])} -> {frac(b['emergency'])}", len(b["false_emergencies"]),
            f"{frac(a['onboarding'])} -> {frac(b['onboarding'])}", f"{frac(a['unknown'])} -> {frac(b['unknown'])}",
            f"{frac(a['answer'])} -> {frac(b['answer'])}",
            f"{thresholds['emergency']:.2f} / {thresholds['onboarding']:.2f} / {thresholds['unknown']:.2f}"]


def _changes(name: str, b: dict[str, Any]) -> str:
    lines = "".join(f"- {what}: {q!r}\n" for what, key in (("gained", "gained"), ("lost", "lost"),
                                                            ("false emergency", "false_emergencies")) for q in b[key])
    return f"### {name}\n\n" + (lines or "no change\n")


HEADER = ["left out", "questions", "on topic off", "on topic on", "emergencies", "false emergencies", "joins",
          "unknowns", "answers", "thresholds e / j / u"]


def run(quick: bool) -> str:
    from assistant import evaluation
    from assistant.router import THRESHOLDS, C, Router
    from benchmarks.assistant import offline_bot

    sets = SETS[:2] if quick else SETS
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="medhive-router-cv-"))
    try:
        bot, store = offline_bot(tmp / "home")
        bot.router = None
        embedder = bot.index.embedder
        examples, vectors, source, norm = embedded_examples(embedder)
        questions = {name: evaluation.load(EVAL / f"{name}.json") for name in SETS}
        for name in SETS:  # the training file holds each set's questions, in the set's order
            assert [e["text"] for e in examples if e["source"] == name] == [q["q"] for q in questions[name]], name
        verdicts = {name: first_contact(name) for name in REPLAYED}

        def fit(excluded: set[str], thresholds: dict[str, float] | None = None, written: bool = True) -> Router:
            # nothing of a left-out set is fitted on, not even the same wording where another set repeats it
            out = np.isin(source, list(excluded) + ([] if written else ["written"]))
            keep = ~out & ~np.isin(norm, norm[np.isin(source, list(excluded))])
            return Router.fit([e for e, k in zip(examples, keep) if k], embedder, c=C, thresholds=thresholds,
                              vectors=vectors[keep])

        def probs_without(name: str, excluded: set[str] = frozenset(), written: bool = True) -> np.ndarray:
            return fit(set(excluded) | {name}, written=written).probabilities(vectors[source == name])

        def replay_thresholds(names: list[str], excluded: set[str], written: bool = True) -> dict[str, float]:
            """Thresholds chosen on the first-contact verdicts of `names`, each set's probabilities from a
            router fitted without it (nor `excluded`)."""
            return choose_thresholds(np.vstack([probs_without(n, excluded, written) for n in names]),
                                     sum((verdicts[n] for n in names), []))

        # 1. first contact: the rules as they were before each set was read, the router fitted without it
        replay_rows: dict[bool, list[list[Any]]] = {True: [], False: []}
        replay_details, replay_totals = [], {True: [0, 0, 0, 0, 0], False: [0, 0, 0, 0, 0]}
        first_net = {k: [0, 0] for k in ("emergency", "onboarding", "unknown")}
        pairs: dict[str, list[tuple[Any, Any]]] = {"first": [], "today": []}  # (router on, rules alone)
        today_net = {k: [0, 0] for k in ("emergency", "onboarding", "unknown")}
        for written in (True, False):
            for name in REPLAYED:
                thresholds = replay_thresholds([r for r in REPLAYED if r != name], {name}, written)
                after = replay(probs_without(name, written=written), verdicts[name], thresholds)
                a, b = counts(verdicts[name]), counts(after, verdicts[name])
                replay_rows[written].append(_row(name, a, b, thresholds))
                t = replay_totals[written]
                t[0], t[1], t[2] = t[0] + a["ok"], t[1] + b["ok"], t[2] + a["n"]
                t[3] += len(b["false_emergencies"])
                t[4] += len(b["emergencies_lost"])
                if written:
                    replay_details.append(_changes(name, b))
                    pairs["first"] += list(zip(after, verdicts[name]))
                    for k, (won, lost) in by_class(after, verdicts[name]).items():
                        first_net[k][0] += won
                        first_net[k][1] += lost

        # 2. today's rules (written while reading every seen set), each set left out of the router's fit, scored
        rules = {name: evaluation.score(bot, questions[name]) for name in sets}
        rows, details, solo_rows = [], [], []
        totals = {"off": 0, "on": 0, "n": 0, "false": 0, "emergencies_lost": 0}
        for name in sets:
            thresholds = replay_thresholds([r for r in REPLAYED if r != name], {name})
            bot.router = fit({name}, thresholds)
            alone = bot.router.probabilities(vectors[source == name]) >= np.array(
                [thresholds[k] for k in ("emergency", "onboarding", "unknown")])
            expect = np.array([q["expect"] for q in questions[name]])
            # the router by itself, whatever the rules say: of the set's questions of each class, how many it
            # recognises, and how many of the others it would call that class
            solo = {k: (int(alone[expect == k, i].sum()), int((expect == k).sum()), int(alone[expect != k, i].sum()))
                    for i, k in enumerate(("emergency", "onboarding", "unknown"))}
            solo_rows.append([name] + [f"{solo[k][0]}/{solo[k][1]} (+{solo[k][2]} others)"
                                       for k in ("emergency", "onboarding", "unknown")])
            on = evaluation.score(bot, questions[name])
            bot.router = None
            a, b = counts(rules[name]), counts(on, rules[name])
            totals["off"] += a["ok"]
            totals["on"] += b["ok"]
            totals["n"] += a["n"]
            totals["false"] += len(b["false_emergencies"])
            totals["emergencies_lost"] += len(b["emergencies_lost"])
            rows.append(_row(name, a, b, thresholds))
            details.append(_changes(name, b))
            pairs["today"] += list(zip(on, rules[name]))
            for k, (won, lost) in by_class(on, rules[name]).items():
                today_net[k][0] += won
                today_net[k][1] += lost

        r_false = totals["false"]
        # 3. the shipped thresholds: the same choice over every first-contact set; the test set, to report
        ship = replay_thresholds(list(REPLAYED), set())
        # a class ships when it won more than it lost at first contact, and, on today's rules, lost no more than
        # it won (joins, unknowns) or lost no emergency and added at most one false emergency per set
        verdict = {k: first_net[k][0] > first_net[k][1] and (today_net[k][0] >= today_net[k][1] if k != "emergency"
                                                             else totals["emergencies_lost"] == 0 and r_false <= len(sets))
                   for k in ship}
        shipped = {k: ship[k] if verdict[k] else None for k in ship}
        # the same runs with only the shipped classes: a change to a class that does not ship is the rules' answer
        kept = {part: (sum(o.on_topic if (x.intent != o.intent and x.intent in verdict and not verdict[x.intent])
                           else x.on_topic for x, o in v), sum(o.on_topic for _, o in v), len(v))
                for part, v in pairs.items()}
        test_q = evaluation.load(EVAL / "test.json")
        test_off = evaluation.score(bot, test_q)
        bot.router = fit(set(), shipped)
        test_on = evaluation.score(bot, test_q)
        bot.router = None
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    t_a, t_b = counts(test_off), counts(test_on, test_off)
    r = replay_totals[True]
    same = shipped == THRESHOLDS
    body = (
        busy_warning(load_before)
        + f"Offline backend, embedder all-MiniLM-L6-v2 in numpy; router: one-versus-rest logistic regression "
        f"(C = {C}) over the sentence embedding, {len(examples)} labelled examples "
        f"({int(np.sum(source == 'written'))} written for the router). {time.perf_counter() - started:.0f} s.\n\n"
        "Columns: on topic with the rules alone (off) and with the router (on); emergencies / joins / unknowns / "
        "answers: that set's questions of that `expect` on topic, off -> on; false emergencies: ordinary questions "
        "the router made lead with the emergency guidance; the thresholds the router used for that set, chosen "
        "without it (inner leave-one-set-out over the other first-contact sets).\n\n"
        "## 1. First contact: the rules before they were tuned on the set\n\n"
        f"{', '.join(REPLAYED)} were each scored once by `benchmarks.assistant_heldout` before any rule was written "
        "for them (benchmarks/results/assistant-<set>-scored.json). Here those verdicts are replayed with the "
        "router fitted without the set: an emergency it adds makes the reply the emergency guidance (on topic "
        "exactly when the question is an emergency); \"onboarding\" or \"unknown\" replaces an answer from the "
        "documents. This is what the router would have added on a set nobody had read, as each of these was.\n\n"
        "Router fitted on the other sets and the written examples:\n\n"
        + md_table(HEADER, replay_rows[True])
        + f"\nTotal: {r[0]}/{r[2]} -> {r[1]}/{r[2]} on topic; {r[4]} emergency lost, {r[3]} false emergencies.\n\n"
        "The written examples were written after reading all five seen sets, so they may echo these sets' "
        "wordings. Router fitted on the other sets only (no written example):\n\n"
        + md_table(HEADER, replay_rows[False])
        + f"\nTotal: {replay_totals[False][0]}/{replay_totals[False][2]} -> {replay_totals[False][1]}/"
        f"{replay_totals[False][2]} on topic; {replay_totals[False][4]} emergency lost, {replay_totals[False][3]} "
        "false emergencies.\n\n"
        "## 2. Today's rules, leave one set out (scored by `assistant.evaluation`)\n\n"
        "The rules were written while reading every one of these sets, so what the router adds here is what it "
        "adds to rules that already know the left-out set's wordings.\n\n"
        + md_table(HEADER, rows)
        + f"\nAll left-out sets: {totals['off']}/{totals['n']} on topic off, {totals['on']}/{totals['n']} on; "
        f"{totals['emergencies_lost']} emergency lost, {totals['false']} false emergencies added.\n\n"
        "The router by itself, fitted without the left-out set, at that set's thresholds, recognises (of the "
        "set's questions of that class; + how many of the set's other questions it calls that class):\n\n"
        + md_table(["left out", "emergencies", "joins", "unknowns"], solo_rows)
        + f"\n## What ships\n\nThresholds chosen over all first-contact sets ({', '.join(REPLAYED)}): emergency "
        f"{ship['emergency']:.2f}, onboarding {ship['onboarding']:.2f}, unknown {ship['unknown']:.2f}. Per class, the "
        "questions the router put on topic / off topic (each change counted for the class the answer changed to):\n\n"
        + md_table(["class", "first contact (won / lost)", "today's rules (won / lost)", "ships"],
                   [[k, "{} / {}".format(*first_net[k]), "{} / {}".format(*today_net[k]), "yes" if verdict[k] else "no"]
                    for k in ship])
        + f"\nWith only the shipped classes: first contact {kept['first'][1]}/{kept['first'][2]} -> "
        f"{kept['first'][0]}/{kept['first'][2]} on topic; today's rules {kept['today'][1]}/{kept['today'][2]} -> "
        f"{kept['today'][0]}/{kept['today'][2]}.\n\nShipped thresholds {shipped} ({'the same as' if same else 'NOT the same as'} "
        f"`assistant.router.THRESHOLDS`: {THRESHOLDS}). A class ships when it won more than it lost at first contact "
        "and, on today's rules, lost no more than it won (joins, unknowns), or lost no emergency and added at most "
        "one false emergency per set (emergencies).\n\n"
        "## Test set (report only: never fitted on, never used to choose)\n\n"
        + md_table(["test.json", "questions", "on topic", "emergencies", "joins", "unknowns", "answers"],
                   [[label, c["n"], f"{c['on_topic']:.3f}"] + ["{}/{}".format(*c[k]) for k in
                                                                 ("emergency", "onboarding", "unknown", "answer")]
                    for label, c in (("rules alone", t_a), ("rules + shipped router (all examples)", t_b))])
        + f"\nFalse emergencies added on test: {t_b['false_emergencies']}; lost: {t_b['lost']}; "
        f"gained: {t_b['gained']}.\n\n"
        "## What changed\n\n#### First contact (router with the written examples)\n\n" + "\n".join(replay_details)
        + "\n#### Today's rules, leave one set out\n\n" + "\n".join(details)
    )
    write_result("router_cv-quick" if quick else "router_cv", "Learned router beside the rules: leave one set out",
                 body, quick=False)
    return body


def cold(runs: int = 5) -> str:
    """`medhive ask` in a new process, the index and the router's fit already in MEDHIVE_HOME, with the router
    off and on (MEDHIVE_ASSISTANT_ROUTER), interleaved run by run so the machine's load hits both alike: wall
    and CPU seconds (user + sys of the child, `os.wait4`), medians."""
    load_before = os.getloadavg()[0]
    questions = ["what does epsilon mean for our hospital?", "my grandmother is slumped in her chair and not answering"]
    tmp = Path(tempfile.mkdtemp(prefix="medhive-router-cold-"))
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        env = {**os.environ, "MEDHIVE_HOME": str(tmp / "home"), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}

        def once(question: str, router: str) -> tuple[float, float]:
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "medhive.cli", "ask", question], cwd=str(ROOT),
                                    env={**env, "MEDHIVE_ASSISTANT_ROUTER": router}, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            assert proc.returncode == 0, f"medhive ask exited {proc.returncode}"
            return time.perf_counter() - started, usage.ru_utime + usage.ru_stime

        once(questions[0], "on")  # untimed: builds the index and fits the router, seeds the registry
        for _ in range(runs):
            for q in questions:
                for router in ("off", "on"):
                    times.setdefault((q, router), []).append(once(q, router))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [[q, router, runs, f"{statistics.median(w for w, _ in v):.2f}", f"{statistics.median(c for _, c in v):.2f}"]
            for (q, router), v in times.items()]
    body = (busy_warning(load_before) + f"1-minute load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after. "
            "`medhive ask QUESTION` in a new process each time (offline backend, index and router fit present), "
            "medians:\n\n" + md_table(["question", "router", "runs", "wall s", "CPU s (user + sys)"], rows))
    write_result("router_cold", "Cold `medhive ask` with the learned router off and on", body, quick=False)
    return body


if __name__ == "__main__":
    print(cold() if "--cold" in sys.argv else run("--quick" in sys.argv))
