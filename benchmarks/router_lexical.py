"""The router's character n-gram model, out of fold, on first-contact misses: `python -m benchmarks.router_lexical`

`assistant.lexical` reads a message's character n-grams (a TF-IDF logistic regression fitted on the routing examples
and the emergency sets' messages). This reads its settings where they matter, the same way
`benchmarks.router_neighbours` reads the neighbours': every held-apart question and emergency set's first-contact
verdicts (benchmarks/results/assistant-<set>-scored.json, written once when the set was scored, before any mend).
Each set is judged by a model fitted on the other sets' messages only (no row of the set, nor any row worded as one
of its messages). Counted, for each (n-grams, C, threshold):
- the emergencies the assistant missed at first contact that the router now recognises (the n-gram model or the
  shipped neighbours' vote), with the session's gate (`safety.learned_emergency_allowed`) applied;
- the new false alarms: messages that are not emergencies, not flagged at first contact, that it flags.
The first row is the neighbours' vote alone (the router before the n-gram model).

Writes benchmarks/results/router_lexical.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from benchmarks.common import RESULTS
from benchmarks.router_neighbours import first_contact_rows

NGRAMS = ((2, 5), (1, 4))
CS = (10.0, 30.0, 100.0)
THRESHOLDS = (0.6, 0.7, 0.8)


def main() -> None:
    from assistant import lexical, safety
    from assistant.embeddings import default_embedder
    from assistant.router import Neighbours, _unit

    rows, sets, norm, first = first_contact_rows()
    texts = [r["text"] for r in rows]
    x = _unit(np.asarray(default_embedder().encode(texts), dtype=np.float64))
    source = np.array([r["source"] for r in rows])
    emergency = np.array([r["label"] == "emergency" for r in rows])
    counts: dict[tuple, list[int]] = {}  # setting -> [recognised, missed, false alarms, others]
    for name in sets:
        mine = np.where(source == name)[0]
        pool = (source != name) & ~np.isin(norm, norm[mine])
        judged = [i for i in mine if first.get((name, norm[i])) is False]
        if not judged:
            continue
        vote = Neighbours(x[pool], emergency[pool])
        allowed = [safety.learned_emergency_allowed(texts[i]) for i in judged]
        neighbours = [vote.vote(x[i]) for i in judged]
        settings: dict[tuple, list[bool]] = {("neighbours alone",): neighbours}
        pool_texts = [texts[i] for i in np.where(pool)[0]]
        for ngrams in NGRAMS:
            for c in CS:
                model = lexical.fit(pool_texts, emergency[pool], c=c, ngrams=ngrams)
                p = [model.probability(texts[i]) for i in judged]
                for threshold in THRESHOLDS:
                    settings[(ngrams, c, threshold)] = [a >= threshold or b for a, b in zip(p, neighbours)]
        for setting, says in settings.items():
            tally = counts.setdefault(setting, [0, 0, 0, 0])
            for i, flag, ok in zip(judged, says, allowed):
                flag = flag and ok
                if emergency[i]:
                    tally[0] += flag
                    tally[1] += 1
                else:
                    tally[2] += flag
                    tally[3] += 1
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shipped = (lexical.NGRAMS, lexical.C, lexical.THRESHOLD)
    lines = ["# The router's character n-gram model on first-contact misses", "",
             f"`python -m benchmarks.router_lexical`, {stamp}: {len(sets)} sets with first-contact verdicts "
             f"({', '.join(sets)}); each set is judged by a model fitted on the other sets' messages only. "
             "Each row but the first also counts the shipped neighbours' vote.", "",
             "| n-grams | C | threshold | first-contact misses recognised | new false alarms |",
             "|---|---|---|---|---|"]
    for setting, (c, m, f, o) in counts.items():
        if len(setting) == 1:
            lines.append(f"| {setting[0]} | | | {c} / {m} | {f} / {o} |")
            continue
        mark = " (shipped)" if setting == shipped else ""
        lines.append(f"| {setting[0][0]}-{setting[0][1]}{mark} | {setting[1]:g} | {setting[2]} | {c} / {m} | {f} / {o} |")
    (RESULTS / "router_lexical.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
