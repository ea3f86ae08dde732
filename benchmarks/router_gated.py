"""The learned router's "onboarding" and "unknown" in place of an answer: `python -m benchmarks.router_gated`

`benchmarks.router_cv` ships a class only when it also gains on today's rules, and with five sets neither class
did. With ten seen sets this reads both choices again, out of fold: each set's questions get the probabilities of
a router fitted without that set (nor any example worded as one of its questions), and each set is scored by the
offline assistant with the router off and, for the set's own scoring, without its own questions as examples.

Two sets of verdicts are replayed, as `router_cv` does:
- first contact: the verdicts each held-apart set (routing_examples.FIRST_CONTACT) got when it was scored once, before any rule
  was written for it (benchmarks/results/assistant-<set>-scored.json). What the router adds to rules that had
  not read the set.
- today's rules, which were written while reading every seen set. What it adds to rules that already know the
  set's wordings: here it can mostly lose, so a class that loses little here and wins at first contact is one
  a new set should gain from.

A class replaces an answer from the documentation (intent "question") only: +1 when the question's `expect` is
that class and it was not answered on topic, -1 when it was answered on topic. "unknown" is read alone and
gated by the offline backend's own signals (`assistant.llm.offline._unknown_agreed`: a word the documents never
use, and no passage within `UNKNOWN_GATE_RELEVANCE`). The repository's test set is reported with the router
fitted on every example, never used to choose.

Writes benchmarks/results/router_gated.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, busy_warning, md_table, write_result

GRID = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9)


def _gain(rows: list[Any], which: str, cls: str, take: Any) -> tuple[int, int]:
    """(won, lost) when `cls` replaces the answers from the documentation that `take(row)` selects."""
    won = lost = 0
    for r in rows:
        v = getattr(r, which)
        if v is None or v.intent != "question" or not take(r):
            continue
        won += r.expect == cls and not v.on_topic
        lost += r.expect != cls and v.on_topic
    return won, lost


def main() -> None:
    from assistant import evaluation, scope
    from assistant.router import THRESHOLDS, UNKNOWN_GATE_RELEVANCE, C, Router
    from benchmarks.assistant import offline_bot
    from benchmarks.router_cv import EVAL, embedded_examples, first_contact
    from scripts.routing_examples import SEEN

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="medhive-router-gated-"))
    rows: list[Any] = []
    try:
        bot, store = offline_bot(tmp / "home")
        bot.router = None
        embedder = bot.index.embedder
        examples, vectors, source, norm = embedded_examples(embedder)
        every = bot.index.examples
        for name in SEEN:
            keep = (source != name) & ~np.isin(norm, norm[source == name])
            router = Router.fit([e for e, k in zip(examples, keep) if k], embedder, c=C, vectors=vectors[keep])
            probs = router.probabilities(vectors[source == name])
            questions = evaluation.load(EVAL / f"{name}.json")
            bot.index.examples = every.without(name) if every is not None else None
            today = evaluation.score(bot, questions)
            first = first_contact(name) if (RESULTS / f"assistant-{name}-scored.json").exists() else None
            for i, q in enumerate(questions):
                hits = bot.index.search(q["q"], bot.top_k)
                gate = (max((h.relevance for h in hits), default=0.0) < UNKNOWN_GATE_RELEVANCE
                        and bool(scope.unknown_terms(q["q"], bot.index)))
                rows.append(SimpleNamespace(set=name, q=q["q"], expect=q["expect"], p=probs[i], gate=gate,
                                            today=today[i], first=first[i] if first else None))
        bot.index.examples = every
        test = evaluation.load(EVAL / "test.json")
        test_off = evaluation.score(bot, test)
        bot.router = Router.fit(examples, embedder, c=C, vectors=vectors)
        test_on = evaluation.score(bot, test)
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    table = []
    for cls, col, gated in (("onboarding", 1, False), ("unknown", 2, False), ("unknown", 2, True)):
        for t in GRID:
            def take(r: Any, t: float = t, col: int = col, gated: bool = gated) -> bool:
                return r.p[col] >= t and (r.gate or not gated)
            f, d = _gain(rows, "first", cls, take), _gain(rows, "today", cls, take)
            shipped = THRESHOLDS.get(cls) == t and (cls != "unknown" or gated)
            table.append([cls + (" (gated)" if gated else ""), f"{t:.2f}" + (" (shipped)" if shipped else ""),
                          f"{f[0]} / {f[1]}", f"{d[0]} / {d[1]}", f[0] - f[1] + d[0] - d[1]])
    changed = [[q["id"], q["expect"], o.intent, n.intent, "yes" if n.on_topic else "no"]
               for q, o, n in zip(test, test_off, test_on) if o.intent != n.intent]
    first_sets = sorted({r.set for r in rows if r.first is not None})
    body = (busy_warning(load_before)
            + f"{len(SEEN)} seen sets ({', '.join(SEEN)}; {len(rows)} questions), first-contact verdicts of "
            f"{', '.join(first_sets)}. {time.perf_counter() - started:.0f} s.\n\n"
            "Won / lost: questions the class would put on topic / off topic when it replaces an answer from the "
            "documentation, out of fold; net: both columns' won minus lost.\n\n"
            + md_table(["class", "threshold", "first contact won / lost", "today's rules won / lost", "net"], table)
            + f"\nShipped (`assistant.router.THRESHOLDS`): {THRESHOLDS}; the router's unknown needs the gate "
            f"(a word the documents never use, best passage relevance < {UNKNOWN_GATE_RELEVANCE}).\n\n"
            "## Test set (report only)\n\n"
            f"Rules alone {sum(s.on_topic for s in test_off)}/{len(test)}; with the shipped router fitted on every "
            f"example {sum(s.on_topic for s in test_on)}/{len(test)}. Questions whose intent the router changed:\n\n"
            + (md_table(["id", "expect", "rules", "with router", "on topic"], changed) if changed else "none\n"))
    write_result("router_gated", "The learned router's onboarding and unknown, out of fold", body, quick=False)
    print(body)


if __name__ == "__main__":
    main()
