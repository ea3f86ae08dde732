"""Score one assistant question set once: `python -m benchmarks.assistant_heldout fresh2`.

For a held-apart set (written by someone who had not seen the tuning material): score it ONCE on the code
as it is, record the result (benchmarks/results/assistant-<set>-scored.json: every question's verdict, the
scorer's reason, intent, cited sources and the first 400 characters of the reply), and from then on treat
the set as seen. Offline backend, the repository's knowledge/, a temporary MEDHIVE_HOME (index built
fresh, registry seeded with the baselines), anonymous caller, a fresh session per question; the same setup
as benchmarks/assistant.py's dev/test scoring. Not in `benchmarks.run`: running it again is not a new
measurement of generalisation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import ROOT, add_again, scored_path

EVAL = ROOT / "tests" / "assistant" / "eval"


def score_set(name: str) -> dict:
    from assistant import evaluation
    from assistant.ports import ANONYMOUS
    from benchmarks.assistant import offline_bot

    tmp = Path(tempfile.mkdtemp(prefix="medhive-heldout-"))
    home = tmp / "home"
    os.environ["MEDHIVE_HOME"] = str(home)
    load_before = os.getloadavg()
    try:
        home.mkdir(parents=True)
        bot, store = offline_bot(home)
        if bot.index.examples is not None:  # a set is never scored with its own questions as examples
            bot.index.examples = bot.index.examples.without(name)
        questions = evaluation.load(EVAL / f"{name}.json")
        started = time.perf_counter()
        scored = evaluation.score(bot, questions)
        seconds = time.perf_counter() - started
        replies = {q["id"]: bot.session(ANONYMOUS).ask(q["q"]).text[:400] for q in questions}
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    return {"set": name, "commit": commit, "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "load_before": load_before, "load_after": os.getloadavg(), "seconds": round(seconds, 1),
            "summary": evaluation.summary(scored),
            "scored": [{**s.to_dict(), "reply": replies[s.id]} for s in scored]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.assistant_heldout", description=__doc__.splitlines()[0])
    parser.add_argument("set", help="the set's name under tests/assistant/eval/ (without .json)")
    add_again(parser)
    args = parser.parse_args()
    path = scored_path(parser, args)
    out = score_set(args.set)
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    s = out["summary"]
    print(f"{args.set}: {s['questions']} questions, on topic {s['on_topic']:.3f}, recall@5 {s['recall_at_k']:.3f}, "
          f"emergencies {s['emergencies_handled']}/{s['emergencies']}; by persona {s['by_persona']}")
    for q in out["scored"]:
        if not q["on_topic"]:
            print(f"  miss {q['id']} ({q['persona']}, {q['expect']}): intent {q['intent']}; {q['why']}")
    print(f"written: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
