"""Score the assistant on question sets without recording anything: `python -m benchmarks.assistant_sets dev fresh2`.

A development aid for tuning retrieval and composition on the seen sets (dev, fresh, fresh2, fresh3; test
only to report, never to tune on): prints on-topic and recall@5 per set, and the CPU time of retrieval per
query (`time.process_time` over every "answer" question, the embedder's cache emptied before each, so the
number holds on a loaded machine where wall time does not). Nothing is written into benchmarks/results;
`--misses FILE` writes the off-topic questions (id, question, cited sources, expected) as JSON for reading.
Same setup as benchmarks/assistant.py: offline backend, the repository's knowledge/, a MEDHIVE_HOME in a
temporary folder (or `--home`, to reuse a built index between runs), anonymous caller, a fresh session per
question.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT

EVAL = ROOT / "tests" / "assistant" / "eval"


def retrieval_cpu_ms(index, questions: list[str], passes: int = 2) -> float:
    """Mean CPU milliseconds of one uncached `index.search` over `passes` passes of the questions."""
    clear = getattr(index.embedder, "cache_clear", lambda: None)
    for q in questions[:5]:
        index.search(q, 5)
    started = time.process_time()
    for _ in range(passes):
        for q in questions:
            clear()
            index.search(q, 5)
    return 1000 * (time.process_time() - started) / (passes * len(questions))


def main() -> None:
    from assistant import evaluation
    from benchmarks.assistant import offline_bot

    parser = argparse.ArgumentParser(prog="python -m benchmarks.assistant_sets", description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="*", default=["dev", "fresh", "fresh2", "fresh3", "test"])
    parser.add_argument("--home", type=Path, help="MEDHIVE_HOME to reuse (default: a new temporary folder)")
    parser.add_argument("--misses", type=Path, help="write the off-topic questions here (JSON)")
    parser.add_argument("--cpu", action="store_true", help="also time retrieval (CPU ms per query)")
    args = parser.parse_args()
    tmp = None if args.home else Path(tempfile.mkdtemp(prefix="medhive-sets-"))
    home = args.home or tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    misses: dict[str, list] = {}
    try:
        bot, store = offline_bot(home)
        asked: list[str] = []
        every = bot.index.examples
        for name in args.sets:
            # scored as if new: the set's own questions are not among the re-ranking examples (`assistant.examples`)
            bot.index.examples = every.without(name) if every is not None else None
            questions = evaluation.load(EVAL / f"{name}.json")
            scored = evaluation.score(bot, questions)
            s = evaluation.summary(scored)
            print(f"{name:7s} n={s['questions']:3d} on_topic={s['on_topic']:.3f} recall@5={s['recall_at_k']:.3f} "
                  f"emergencies={s['emergencies_handled']}/{s['emergencies']}", flush=True)
            by_id = {q["id"]: q for q in questions}
            misses[name] = [{"id": m.id, "q": m.q, "expect": m.expect, "why": m.why, "found_at_k": m.found_at_k,
                             "sources": m.sources, "relevant": by_id[m.id].get("relevant")}
                            for m in scored if not m.on_topic]
            asked += [q["q"] for q in questions if q["expect"] == "answer"]
        if args.cpu:
            print(f"retrieval CPU per query: {retrieval_cpu_ms(bot.index, asked):.2f} ms over {len(asked)} questions")
        store.dispose()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.misses:
        args.misses.write_text(json.dumps(misses, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
