"""Does the learned router (`assistant.router`) help on question sets it never saw? `python -m benchmarks.router_cv`

Leave-one-set-out over the seen sets (dev, fresh, fresh2, fresh3, fresh4): for each, the router is fitted on
`assistant/routing_examples.json` without that set's questions (the other sets, tests/assistant/eval_questions
.json and the written examples), its thresholds chosen by an inner leave-one-set-out over the other four sets
only, and the left-out set is scored by `assistant.evaluation` with the router off (the rules alone) and on.
Per set: on topic, emergencies handled, false emergencies the router added (an ordinary question that then
leads with the emergency guidance), joins (onboarding started) and unknowns (the honest "I don't know").

The thresholds the assistant ships (`assistant.router.THRESHOLDS`) are chosen the same way over all five
sets' out-of-fold probabilities. The repository's test set (test.json) is never used to fit or to choose
anything: it is scored once at the end, rules alone and with the router fitted on every example, to report.

Thresholds are chosen by what they would change, read off the rules' own answers: an emergency added is worth
+1 when the question is one and costs 1 (+1 more if it was answered well) when not; "onboarding" or "unknown"
replaces an answer from the documentation (intent "question") and counts +1 / -1 as the question's `expect`
agrees or not. The highest threshold among the best is taken.

Writes benchmarks/results/router_cv.md (`--quick`: dev and fresh only, router_cv-quick.md).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import ROOT, busy_warning, md_table, write_result

EVAL = ROOT / "tests" / "assistant" / "eval"
SETS = ("dev", "fresh", "fresh2", "fresh3", "fresh4")
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

    t_e = max(GRID, key=lambda t: (emergency_gain(t), t))
    free = question & ~((probs[:, 0] >= t_e) & ~caught)
    best: tuple[float, float, float, float] | None = None
    for t_o in GRID:
        for t_u in GRID:
            p_o = np.where(probs[:, 1] >= t_o, probs[:, 1], -1)
            p_u = np.where(probs[:, 2] >= t_u, probs[:, 2], -1)
            new = np.where((p_o < 0) & (p_u < 0), "", np.where(p_o >= p_u, "onboarding", "unknown"))
            changed = free & (new != "")
            gain = float(np.sum((expect[changed] == new[changed]).astype(float) - on[changed]))
            key = (gain, t_o + t_u, t_o, t_u)
            if best is None or key > best:
                best = key
    assert best is not None
    return {"emergency": float(t_e), "onboarding": float(best[2]), "unknown": float(best[3])}


def counts(scored: list[Any], off: list[Any] | None = None) -> dict[str, Any]:
    """What the table reports of one scoring (`off`: the rules' scoring of the same questions, for the
    false emergencies and the answers lost that the router caused)."""
    from assistant import evaluation

    s = evaluation.summary(scored)
    by = {e: [x for x in scored if x.expect == e] for e in ("emergency", "onboarding", "unknown", "answer")}
    out = {"on_topic": s["on_topic"], "ok": sum(x.on_topic for x in scored), "n": len(scored),
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


def run(quick: bool) -> str:
    from assistant import evaluation
    from assistant.router import C, THRESHOLDS, Router, load_examples
    from benchmarks.assistant import offline_bot

    sets = SETS[:2] if quick else SETS
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="medhive-router-cv-"))
    try:
        bot, store = offline_bot(tmp / "home")
        bot.router = None
        embedder = bot.index.embedder
        examples = load_examples()
        vectors = np.asarray(embedder.encode([e["text"] for e in examples]), dtype=np.float64)
        source = np.array([e["source"] for e in examples])
        questions = {name: evaluation.load(EVAL / f"{name}.json") for name in SETS}
        for name in SETS:  # the training file holds each set's questions, in the set's order
            assert [e["text"] for e in examples if e["source"] == name] == [q["q"] for q in questions[name]], name
        rules = {name: evaluation.score(bot, questions[name]) for name in SETS}

        norm = np.array([" ".join(e["text"].lower().split()) for e in examples])

        def fit(excluded: set[str], thresholds: dict[str, float] | None = None) -> Router:
            # nothing of a left-out set is fitted on, not even the same wording where another set repeats it
            keep = ~np.isin(source, list(excluded)) & ~np.isin(norm, norm[np.isin(source, list(excluded))])
            return Router.fit([e for e, k in zip(examples, keep) if k], embedder, c=C, thresholds=thresholds,
                              vectors=vectors[keep])

        def out_of_fold(names: list[str], excluded: set[str]) -> tuple[np.ndarray, list[Any]]:
            """Each set's probabilities from a router fitted without it (nor `excluded`), with the rules' scoring."""
            probs, scored = [], []
            for name in names:
                probs.append(fit(excluded | {name}).probabilities(vectors[source == name]))
                scored += rules[name]
            return np.vstack(probs), scored

        solo_rows: list[list[Any]] = []
        rows, details, totals = [], [], {"off": 0, "on": 0, "n": 0, "false": 0, "emergencies_lost": 0}
        chosen = {}
        for name in sets:
            inner = [s for s in SETS if s != name]
            thresholds = choose_thresholds(*out_of_fold(inner, {name}))
            chosen[name] = thresholds
            bot.router = fit({name}, thresholds)
            alone = bot.router.probabilities(vectors[source == name]) >= np.array(
                [thresholds[k] for k in ("emergency", "onboarding", "unknown")])
            expect = np.array([q["expect"] for q in questions[name]])
            # the router by itself, whatever the rules say: of the set's questions of each class, how many it
            # recognises, and how many of the others it would call that class
            solo = {k: (int(alone[expect == k, i].sum()), int((expect == k).sum()), int(alone[expect != k, i].sum()))
                    for i, k in enumerate(("emergency", "onboarding", "unknown"))}
            on = evaluation.score(bot, questions[name])
            bot.router = None
            a, b = counts(rules[name]), counts(on, rules[name])
            totals["off"] += a["ok"]
            totals["on"] += b["ok"]
            totals["n"] += a["n"]
            totals["false"] += len(b["false_emergencies"])
            totals["emergencies_lost"] += len(b["emergencies_lost"])
            frac = lambda c: f"{c[0]}/{c[1]}"  # noqa: E731
            rows.append([name, a["n"], f"{a['on_topic']:.3f}", f"{b['on_topic']:.3f}",
                         f"{frac(a['emergency'])} -> {frac(b['emergency'])}", len(b["false_emergencies"]),
                         f"{frac(a['onboarding'])} -> {frac(b['onboarding'])}",
                         f"{frac(a['unknown'])} -> {frac(b['unknown'])}",
                         f"{frac(a['answer'])} -> {frac(b['answer'])}",
                         f"{thresholds['emergency']:.2f} / {thresholds['onboarding']:.2f} / {thresholds['unknown']:.2f}"])
            solo_rows.append([name] + [f"{solo[k][0]}/{solo[k][1]} (+{solo[k][2]} others)"
                                       for k in ("emergency", "onboarding", "unknown")])
            details.append(f"### {name}\n\n" + "".join(
                f"- {what}: {q!r}\n" for what, key in (("gained", "gained"), ("lost", "lost"),
                                                       ("false emergency", "false_emergencies"))
                for q in b[key]) + ("" if b["gained"] or b["lost"] or b["false_emergencies"] else "no change\n"))

        # the shipped thresholds: the same choice over all the sets' out-of-fold probabilities
        ship = choose_thresholds(*out_of_fold(list(sets), set()))
        test_q = evaluation.load(EVAL / "test.json")
        test_off = evaluation.score(bot, test_q)
        bot.router = fit(set(), ship)
        test_on = evaluation.score(bot, test_q)
        bot.router = None
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    t_a, t_b = counts(test_off), counts(test_on, test_off)
    helps = totals["on"] > totals["off"]
    safe = totals["emergencies_lost"] == 0 and totals["false"] <= len(sets)
    same = all(abs(ship[k] - THRESHOLDS[k]) < 1e-9 for k in ship)
    body = (
        busy_warning(load_before)
        + f"Offline backend, embedder all-MiniLM-L6-v2 in numpy; router: one-versus-rest logistic regression "
        f"(C = {C}) over the sentence embedding, {len(examples)} labelled examples "
        f"({int(np.sum(source == 'written'))} written for the router). {time.perf_counter() - started:.0f} s.\n\n"
        "## Leave one set out\n\n"
        "Each row: the set left out of the router's training and of its threshold choice (inner leave-one-set-out "
        "over the other sets), scored with the rules alone (off) and with the router (on). Emergencies / joins / "
        "unknowns / answers: questions of that `expect` on topic, off -> on. False emergencies: ordinary questions "
        "the router made lead with the emergency guidance.\n\n"
        + md_table(["left out", "questions", "on topic off", "on topic on", "emergencies", "false emergencies",
                    "joins", "unknowns", "answers", "thresholds e / j / u"], rows)
        + "\nThe rules were written while reading every one of these sets (their emergencies are all caught), so "
        "what the router adds here is what it adds to rules that already know the left-out set's wordings. The "
        "router by itself, fitted without the left-out set, at its thresholds, recognises (of the set's questions "
        "of that class; + how many of the set's other questions it calls that class):\n\n"
        + md_table(["left out", "emergencies", "joins", "unknowns"], solo_rows)
        + f"\nAll left-out sets: {totals['off']}/{totals['n']} on topic off, {totals['on']}/{totals['n']} on; "
        f"{totals['emergencies_lost']} emergency lost, {totals['false']} false emergencies added.\n\n"
        f"## What ships\n\nThresholds chosen over all {len(sets)} sets' out-of-fold probabilities: emergency "
        f"{ship['emergency']:.2f}, onboarding {ship['onboarding']:.2f}, unknown {ship['unknown']:.2f} "
        f"({'the same as' if same else 'NOT the same as'} `assistant.router.THRESHOLDS`: {THRESHOLDS}).\n\n"
        f"- helps on the left-out sets: {'yes' if helps else 'no'} ({totals['off']} -> {totals['on']} on topic)\n"
        f"- no emergency lost and at most one false emergency per set: {'yes' if safe else 'no'}\n\n"
        "## Test set (report only: never fitted on, never used to choose)\n\n"
        + md_table(["test.json", "questions", "on topic", "emergencies", "joins", "unknowns", "answers"],
                   [[label, c["n"], f"{c['on_topic']:.3f}", "%d/%d" % c["emergency"], "%d/%d" % c["onboarding"],
                     "%d/%d" % c["unknown"], "%d/%d" % c["answer"]]
                    for label, c in (("rules alone", t_a), ("rules + router (all examples)", t_b))])
        + f"\nFalse emergencies added on test: {len(t_b['false_emergencies'])}; lost: {t_b['lost']}; "
        f"gained: {t_b['gained']}.\n\n"
        "## What changed per left-out set\n\n" + "\n".join(details)
    )
    write_result("router_cv-quick" if quick else "router_cv", "Learned router beside the rules: leave one set out",
                 body, quick=False)
    return body


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
