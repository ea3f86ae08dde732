"""On topic as written, and with the labeller's corrections: `python -m benchmarks.labeller_corrections`

A held-apart set's `expect` is kept as its writer wrote it, who read only README.md and DESIGN.md; the labeller,
who read every knowledge page, notes where a question marked "unknown" is in fact answered by a page (the
regulatory status, an SDK, a price in euros, the languages). The assistant answering such a question from that
page counts as a miss as written. This reads each set's first-contact verdicts
(benchmarks/results/assistant-<set>-scored.json, written once by `benchmarks.assistant_heldout`) and reports,
beside the as-written rate, the rate with those questions counted on topic when the reply cited the section the
note names first (`assistant.evaluation.labeller_corrections`). The goal is judged on the first column.

Writes benchmarks/results/labeller_corrections.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from benchmarks.common import RESULTS, ROOT

EVAL = ROOT / "tests" / "assistant" / "eval"


def main() -> None:
    from assistant.evaluation import labeller_corrections
    from assistant.knowledge import load_corpus
    from scripts.routing_examples import FIRST_CONTACT

    chunks, _ = load_corpus(ROOT / "knowledge")
    sections = {f"{c.doc} > {c.heading}" for c in chunks}
    names = [n for n in (*FIRST_CONTACT, *sorted(p.stem for p in EVAL.glob("fresh*.json")))
             if (RESULTS / f"assistant-{n}-scored.json").exists()]
    rows = []
    for name in dict.fromkeys(names):
        data = json.loads((RESULTS / f"assistant-{name}-scored.json").read_text(encoding="utf-8"))
        questions = json.loads((EVAL / f"{name}.json").read_text(encoding="utf-8"))
        scored = data["scored"]
        fixed = labeller_corrections(questions, scored, sections)
        hits = sum(r["on_topic"] for r in scored)
        rows.append((name, data.get("commit", "?"), len(scored), hits, len(fixed), ", ".join(fixed)))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# On topic as written, and with the labeller's corrections", "",
             f"`python -m benchmarks.labeller_corrections`, {stamp}: each held-apart set's first-contact verdicts. "
             "A question marked `unknown` whose labeller's note names a section that answers it counts on topic in the "
             "second column when the reply cited that section first. The goal is judged on the first.", "",
             "| set | scored at | as written | with the labeller's corrections | corrected |", "|---|---|---|---|---|"]
    for name, commit, n, hits, k, ids in rows:
        lines.append(f"| {name} | {commit} | {hits / n:.3f} ({hits}/{n}) | {(hits + k) / n:.3f} ({hits + k}/{n}) | {ids or '-'} |")
    (RESULTS / "labeller_corrections.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
