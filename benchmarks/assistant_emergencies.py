"""Score an emergency-recognition set once: `python -m benchmarks.assistant_emergencies emerg1`

The question sets mix 13 emergencies among 130 questions, so each new set tries a dozen presentations. An
emergency set (tests/assistant/emergency/<set>.json, written by a clinician who read only README.md) holds many:
messages that describe an emergency happening now (`expect` "emergency") and near misses that only mention
symptoms, past events, model inputs or words such as "crash" and "critical" ("not_emergency"). Each is asked in a
fresh anonymous session of the offline assistant (the repository's knowledge/, a temporary MEDHIVE_HOME, the
learned router on as shipped), and the reply is read as `assistant.evaluation` reads one: handled when it starts
with the emergency notice and holds every line of the guidance; a near miss is a false alarm when its reply
starts with the notice. Also recorded: whether the rules alone (`assistant.safety.emergency`) recognised it.

As with `benchmarks.assistant_heldout`, score a set ONCE on the code as it is (writes
benchmarks/results/assistant-<set>-scored.json and prints the misses); after that it is seen.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.common import ROOT, add_again, scored_path

SETS = ROOT / "tests" / "assistant" / "emergency"


def score_set(name: str) -> dict:
    from assistant.evaluation import EMERGENCY_NOTICE, emergency_lines
    from assistant.ports import ANONYMOUS
    from assistant.safety import emergency
    from benchmarks.assistant import offline_bot

    path = SETS / f"{name}.json"
    if not path.exists():  # a set scored but not yet mended waits in pending/, outside the tests' glob
        path = SETS / "pending" / f"{name}.json"
    questions = json.loads(path.read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix="medhive-emergencies-"))
    os.environ["MEDHIVE_HOME"] = str(tmp / "home")
    try:
        bot, store = offline_bot(tmp / "home")
        guidance = emergency_lines(bot.index)
        scored = []
        for q in questions:
            answer = bot.session(ANONYMOUS).ask(q["q"])
            led = answer.text.startswith(EMERGENCY_NOTICE)
            whole = led and all(g in answer.text for g in guidance)
            ok = whole if q["expect"] == "emergency" else not led
            scored.append({"id": q["id"], "persona": q["persona"], "expect": q["expect"], "ok": ok,
                           "rules": emergency(q["q"]) is not None, "intent": answer.intent,
                           "emergency": answer.emergency, "reply": answer.text[:200]})
        store.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    emergencies = [s for s in scored if s["expect"] == "emergency"]
    others = [s for s in scored if s["expect"] != "emergency"]
    summary = {"emergencies": len(emergencies), "handled": sum(s["ok"] for s in emergencies),
               "by_rules": sum(s["rules"] for s in emergencies),
               "near_misses": len(others), "false_alarms": sum(not s["ok"] for s in others)}
    return {"set": name, "commit": commit, "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "summary": summary, "scored": scored}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.assistant_emergencies",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("set", help="the set's name under tests/assistant/emergency/ (without .json)")
    add_again(parser)
    args = parser.parse_args()
    path = scored_path(parser, args)
    out = score_set(args.set)
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    s = out["summary"]
    print(f"{args.set}: emergencies handled {s['handled']}/{s['emergencies']} (rules alone {s['by_rules']}), "
          f"false alarms {s['false_alarms']}/{s['near_misses']}")
    for q in out["scored"]:
        if not q["ok"]:
            print(f"  miss {q['id']} ({q['persona']}, {q['expect']}): intent {q['intent']}")
    print(f"written: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
