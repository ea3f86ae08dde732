"""The router's nearest-neighbour vote, out of fold, on first-contact misses: `python -m benchmarks.router_neighbours`

`assistant.router.Neighbours` votes beside the fit: a message is an emergency when most of its k nearest labelled
messages (the routing examples and the emergency sets' messages) are emergencies at a cosine of at least s. This
reads the choice of k and s where it matters: every held-apart question and emergency set's first-contact verdicts
(benchmarks/results/assistant-<set>-scored.json, written once when the set was scored, before any mend). Each
set's messages vote among the other sets' messages only (no row of the set, nor any row worded as one of its
messages). Counted, for each (k, s):
- the emergencies the assistant missed at first contact (neither the rules nor the fit) that the vote recognises,
  with the session's gate (`safety.learned_emergency_allowed`) applied as the session applies it;
- the new false alarms: messages that are not emergencies, not flagged at first contact, that the vote flags.

Writes benchmarks/results/router_neighbours.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from benchmarks.common import RESULTS, ROOT

GRID = ((1, 0.55), (1, 0.6), (3, 0.45), (3, 0.5), (3, 0.55), (5, 0.5))


def first_contact_rows() -> tuple[list[dict], list[str], np.ndarray, dict[tuple[str, str], bool]]:
    """The labelled messages (routing examples, then the emergency sets'), the sets with first-contact verdicts,
    each message's whitespace-normalised lower-case text, and (set, that text) -> flagged an emergency at first
    contact."""
    from assistant.router import load_emergency_examples, load_examples

    rows = load_examples() + load_emergency_examples()
    source = [r["source"] for r in rows]
    norm = np.array([" ".join(r["text"].lower().split()) for r in rows])
    sets = [s for s in dict.fromkeys(source) if (RESULTS / f"assistant-{s}-scored.json").exists()]
    first: dict[tuple[str, str], bool] = {}
    for name in sets:
        folder = "emergency" if name.startswith("emerg") else "eval"
        text_of = {q["id"]: q["q"] for q in json.loads((ROOT / "tests" / "assistant" / folder / f"{name}.json").read_text(
            encoding="utf-8"))}
        for r in json.loads((RESULTS / f"assistant-{name}-scored.json").read_text(encoding="utf-8"))["scored"]:
            first[(name, " ".join(text_of[r["id"]].lower().split()))] = r["intent"] == "emergency"
    return rows, sets, norm, first


def main() -> None:
    from assistant import safety
    from assistant.embeddings import default_embedder
    from assistant.router import NEIGHBOUR_SIMILARITY, K, Neighbours, _unit

    rows, sets, norm, first = first_contact_rows()
    embedder = default_embedder()
    x = _unit(np.asarray(embedder.encode([r["text"] for r in rows]), dtype=np.float64))
    source = np.array([r["source"] for r in rows])
    emergency = np.array([r["label"] == "emergency" for r in rows])
    results = []
    for k, s in GRID:
        caught, missed, false, others = [], 0, 0, 0
        for name in sets:
            mine = np.where(source == name)[0]
            pool = (source != name) & ~np.isin(norm, norm[mine])
            vote = Neighbours(x[pool], emergency[pool], k=k, similarity=s)
            for i in mine:
                flagged = first.get((name, norm[i]))
                if flagged is None or flagged:
                    continue
                says = vote.vote(x[i]) and safety.learned_emergency_allowed(rows[i]["text"])
                if emergency[i]:
                    missed += 1
                    if says:
                        caught.append(name)
                else:
                    others += 1
                    false += says
        results.append((k, s, len(caught), missed, false, others))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# The router's nearest-neighbour vote on first-contact misses", "",
             f"`python -m benchmarks.router_neighbours`, {stamp}: {len(sets)} sets with first-contact verdicts "
             f"({', '.join(sets)}); each set votes among the other sets' messages only.", "",
             "| k | cosine at least | first-contact misses recognised | new false alarms |", "|---|---|---|---|"]
    for k, s, c, m, f, o in results:
        mark = " (shipped)" if (k, s) == (K, NEIGHBOUR_SIMILARITY) else ""
        lines.append(f"| {k}{mark} | {s} | {c} / {m} | {f} / {o} |")
    (RESULTS / "router_neighbours.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
