"""One typo in the word that matters: `python -m benchmarks.safety_typos`

The emergency rules (`assistant.safety`) are written in correctly spelled words, and people in a hurry type
"bleding", "brige", "tabletts". For every emergency of the question and emergency sets the rules recognise as
written, this puts one typo (a letter dropped, two swapped or one doubled, seeded) into one word of four or
more letters of the words they matched, and counts how many the rules still recognise with their respelled
second pass (`safety.emergency`) and without it (`safety._match_as_written`). It also counts the messages of
the sets (emergency or not) whose verdict the respelled pass changes.

Writes benchmarks/results/safety_typos.md.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime

from benchmarks.common import RESULTS, ROOT

SETS = (sorted((ROOT / "tests" / "assistant" / "emergency").glob("*.json"))
        + sorted((ROOT / "tests" / "assistant" / "eval").glob("*.json")))


def typo(word: str, rng: random.Random) -> str:
    """`word` with one letter dropped, two neighbours swapped or one doubled (never the first letter)."""
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice("dts")
    if kind == "d":
        return word[:i] + word[i + 1:]
    if kind == "t":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]


def main() -> None:
    from assistant import safety

    rng = random.Random(0)
    tried = as_written = respelled = 0
    changed: list[str] = []
    for path in SETS:
        for q in json.loads(path.read_text(encoding="utf-8")):
            text = q["q"]
            if (safety._match_as_written(text) is None) != (safety.emergency(text) is None):
                changed.append(f"{path.stem} {q['id']} ({q['expect']})")
            if q["expect"] != "emergency" or safety._match_as_written(text) is None:
                continue
            words = re.findall(r"[A-Za-z]{4,}", safety.emergency_words(text) or "")
            if not words:
                continue
            word = rng.choice(words)
            typed = text.replace(word, typo(word, rng), 1)
            tried += 1
            as_written += safety._match_as_written(typed) is not None
            respelled += safety.emergency(typed) is not None
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# One typo in the word that matters",
        "",
        f"`python -m benchmarks.safety_typos`, {stamp}: {tried} emergencies of {len(SETS)} sets that the rules recognise "
        "as written, each with one typo (seeded) in one word of the words they matched.",
        "",
        "| rules | still recognised |",
        "|---|---|",
        f"| as written only | {as_written} / {tried} |",
        f"| with the respelled second pass (shipped) | {respelled} / {tried} |",
        "",
        f"Messages of the sets, as written, whose verdict the respelled pass changes: {len(changed)}"
        + (": " + ", ".join(changed) if changed else "") + ".",
    ]
    (RESULTS / "safety_typos.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
