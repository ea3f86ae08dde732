"""The learned router's emergency threshold on every seen set, out of fold: `python -m benchmarks.router_threshold`

`benchmarks.router_cv` chose the emergency threshold (0.55) when the router had five sets of examples. Each
new seen set adds emergencies in new words, and the fit grows more eager. This re-reads the choice with every
seen set now in `assistant/routing_examples.json` (scripts/routing_examples.py): each set's messages are
scored by a router fitted without that set (leave one set out), and for each threshold it counts the set
messages labelled emergency that the router flags (the rules may miss any of them on first contact: each
held-apart set so far had one to four that only the router caught) and the messages it flags that are not
emergencies (an ordinary question that would then lead with the emergency guidance). A threshold's gain is
+1 per emergency flagged and -2 per false one (a false emergency costs the answer too), as in router_cv. The
repository's test set is reported beside it, never used to choose.

Writes benchmarks/results/router_threshold.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from benchmarks.common import RESULTS, ROOT

EVAL = ROOT / "tests" / "assistant" / "eval"
GRID = tuple(round(x, 2) for x in np.arange(0.45, 0.96, 0.05))


def main() -> None:
    from assistant.embeddings import default_embedder
    from assistant.router import THRESHOLDS, Router, load_examples
    from scripts.routing_examples import SEEN

    examples = load_examples()
    embedder = default_embedder()
    x = np.asarray(embedder.encode([e["text"] for e in examples]), dtype=np.float64)
    source = np.array([e["source"] for e in examples])
    label = np.array([e["label"] for e in examples])
    out_of_fold = np.full(len(examples), np.nan)
    for name in SEEN:
        held = source == name
        router = Router.fit([e for e, keep in zip(examples, ~held) if keep], embedder, vectors=x[~held])
        out_of_fold[held] = router.probabilities(x[held])[:, 0]
    test = json.loads((EVAL / "test.json").read_text(encoding="utf-8"))
    everything = Router.fit(examples, embedder, vectors=x)
    p_test = everything.probabilities(np.asarray(embedder.encode([q["q"] for q in test])))[:, 0]
    test_label = np.array([q["expect"] for q in test])
    seen = np.isin(source, SEEN)
    n_emergency, n_other = int(np.sum(seen & (label == "emergency"))), int(np.sum(seen & (label != "emergency")))
    rows, gains = [], {}
    for t in GRID:
        flagged = seen & (out_of_fold >= t)
        hits = int(np.sum(flagged & (label == "emergency")))
        false = int(np.sum(flagged & (label != "emergency")))
        gains[t] = hits - 2 * false
        rows.append((t, hits, false, gains[t], int(np.sum((p_test >= t) & (test_label != "emergency"))),
                     int(np.sum((p_test >= t) & (test_label == "emergency")))))
    best = max(gains.values())
    chosen = min(t for t, g in gains.items() if g == best)
    lines = [
        "# The learned router's emergency threshold, out of fold over every seen set",
        "",
        f"`python -m benchmarks.router_threshold`, {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}: "
        f"{len(SEEN)} seen sets ({', '.join(SEEN)}), {n_emergency} emergency messages and {n_other} others, each "
        "scored by a router fitted without its own set. Gain = emergencies flagged - 2 x false ones. "
        f"test.json ({int(np.sum(test_label == 'emergency'))} emergencies of {len(test)}) by the router fitted "
        "on every example, reported only.",
        "",
        "| threshold | emergencies flagged | false emergencies | gain | test: false | test: emergencies flagged |",
        "|---|---|---|---|---|---|",
    ]
    for t, hits, false, gain, t_false, t_hits in rows:
        mark = " (chosen)" if t == chosen else ""
        lines.append(f"| {t:.2f}{mark} | {hits} / {n_emergency} | {false} / {n_other} | {gain} | {t_false} | {t_hits} |")
    lines += ["", f"Best gain at {chosen:.2f} (the lowest threshold with it); shipped "
              f"(`assistant.router.THRESHOLDS`): {THRESHOLDS['emergency']}."]
    (RESULTS / "router_threshold.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
