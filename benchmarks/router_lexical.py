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

A second table reads which of the router's three emergency readers to combine (the embedding fit at a threshold,
the n-gram model at a threshold, the neighbours' vote), where the emergency sets allow it: their first-contact
verdicts record what the rules alone said, so every message the rules missed is judged, not only those the whole
router missed (a set scored but waiting in pending/ counts too). The fit never reads the emergency sets, so it is
out of fold there as it is; the n-gram model and the neighbours are refitted without the set.

Writes benchmarks/results/router_lexical.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from benchmarks.common import RESULTS, ROOT
from benchmarks.router_neighbours import first_contact_rows

NGRAMS = ((2, 5), (1, 4))
CS = (10.0, 30.0, 100.0)
THRESHOLDS = (0.6, 0.7, 0.8)
#: the combinations of the second table: the fit's threshold (None: not taken), the n-gram model's, the neighbours
COMBINATIONS = tuple((fit, grams, neighbours) for fit in (0.55, 0.7, 0.9, None) for grams in (0.6, 0.7, 0.8, None)
                     for neighbours in (True, False) if fit is not None or grams is not None or neighbours)
EMERGENCY_SETS = ROOT / "tests" / "assistant" / "emergency"


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
    lines += ["", *combinations(), ""]
    (RESULTS / "router_lexical.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def combinations() -> list[str]:
    """The second table: every combination of the router's emergency readers on the emergency sets' rule misses."""
    from assistant import lexical, safety
    from assistant.embeddings import default_embedder
    from assistant.router import THRESHOLDS, Neighbours, Router, _unit, load_emergency_examples, load_examples

    examples = load_examples()
    rows = examples + load_emergency_examples()
    seen = {r["source"] for r in rows}
    pending = sorted(p for p in (EMERGENCY_SETS / "pending").glob("*.json") if p.stem not in seen
                     and (RESULTS / f"assistant-{p.stem}-scored.json").exists())
    rows += [{"text": q["q"], "label": q["expect"], "source": p.stem} for p in pending
             for q in json.loads(p.read_text(encoding="utf-8"))]
    texts = [r["text"] for r in rows]
    x = _unit(np.asarray(default_embedder().encode(texts), dtype=np.float64))
    fit = Router.fit(examples, None, vectors=x[:len(examples)])
    p_fit = fit.probabilities(x)[:, 0]
    source = np.array([r["source"] for r in rows])
    emergency = np.array([r["label"] == "emergency" for r in rows])
    norm = np.array([" ".join(t.lower().split()) for t in texts])
    sets = [s for s in dict.fromkeys(source) if s.startswith("emerg") and (RESULTS / f"assistant-{s}-scored.json").exists()]
    counts = {c: [0, 0, 0, 0] for c in COMBINATIONS}
    for name in sets:
        path = EMERGENCY_SETS / f"{name}.json"
        path = path if path.exists() else EMERGENCY_SETS / "pending" / f"{name}.json"
        text_of = {q["id"]: " ".join(q["q"].lower().split()) for q in json.loads(path.read_text(encoding="utf-8"))}
        rules = {text_of[r["id"]]: r["rules"] for r in
                 json.loads((RESULTS / f"assistant-{name}-scored.json").read_text(encoding="utf-8"))["scored"]}
        mine = np.where(source == name)[0]
        pool = (source != name) & ~np.isin(norm, norm[mine])
        judged = [i for i in mine if rules.get(norm[i]) is False]
        vote = Neighbours(x[pool], emergency[pool])
        model = lexical.fit([texts[i] for i in np.where(pool)[0]], emergency[pool])
        for i in judged:
            allowed = safety.learned_emergency_allowed(texts[i])
            p_grams, says_neighbours = model.probability(texts[i]), vote.vote(x[i])
            for combination, tally in counts.items():
                t_fit, t_grams, use_neighbours = combination
                flag = allowed and ((t_fit is not None and p_fit[i] >= t_fit) or (t_grams is not None and p_grams >= t_grams)
                                    or (use_neighbours and says_neighbours))
                tally[0 if emergency[i] else 2] += flag
                tally[1 if emergency[i] else 3] += 1
    shipped = (THRESHOLDS["emergency"], lexical.THRESHOLD, True)
    lines = ["## Which readers, on the emergency sets' rule misses", "",
             f"{len(sets)} emergency sets ({', '.join(sets)}): the messages the rules alone missed at first contact, "
             "each set judged by an n-gram model and neighbours made without it; gain = emergencies recognised - 2 x "
             "false alarms.", "",
             "| the fit at | the n-gram model at | neighbours | emergencies recognised | false alarms | gain |",
             "|---|---|---|---|---|---|"]
    for combination, (c, m, f, o) in counts.items():
        t_fit, t_grams, use_neighbours = combination
        mark = " (shipped)" if combination == shipped else ""
        lines.append(f"| {'not taken' if t_fit is None else t_fit}{mark} | {'not taken' if t_grams is None else t_grams} "
                     f"| {'yes' if use_neighbours else 'no'} | {c} / {m} | {f} / {o} | {c - 2 * f} |")
    return lines


if __name__ == "__main__":
    main()
