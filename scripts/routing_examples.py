"""Refresh assistant/routing_examples.json from the seen question sets, and assistant/emergency_examples.json from
the seen emergency sets: `python scripts/routing_examples.py`.

The router's training file holds two kinds of rows: each seen set's questions (`source`: the set's name;
`label`: its `expect`, "answer" for tests/assistant/eval_questions.json) and the wordings written for the
router (`source`: "written"), which this keeps as they are. An "answer" question also carries `sections`,
the labelled sections that answer it ("doc.md > Heading" labels only: a whole-document label says nothing
about which section), which `assistant.examples` uses to re-rank. The sets are named one by one (SEEN): the
repository's test set (test.json) and any held-apart set are never read.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "tests" / "assistant" / "eval"
OUT = ROOT / "assistant" / "routing_examples.json"
EMERGENCY_OUT = ROOT / "assistant" / "emergency_examples.json"
#: the seen sets, in the order they were written: the one list the router's tests and benchmarks read
SEEN = ("dev", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6", "fresh7", "fresh8", "fresh9", "fresh10", "fresh11",
        "fresh12", "fresh13", "fresh14", "fresh15", "fresh16", "fresh17",
        "fresh18", "fresh19", "fresh20", "fresh21", "fresh22", "fresh23", "fresh24", "fresh25", "fresh26", "fresh27",
        "fresh28", "fresh29", "fresh30", "fresh31", "fresh32", "fresh33", "fresh34", "fresh35")
#: the seen sets that were scored once on first contact (their verdicts in benchmarks/results/assistant-<set>-scored.json);
#: dev and fresh were written before first-contact verdicts were kept
FIRST_CONTACT = tuple(name for name in SEEN if name not in ("dev", "fresh"))


def set_rows() -> list[dict[str, str]]:
    rows = []
    for name in SEEN:
        for q in json.loads((EVAL / f"{name}.json").read_text(encoding="utf-8")):
            row = {"text": q["q"], "label": q["expect"], "source": name}
            sections = [s for s in q.get("relevant") or [] if " > " in s] if q["expect"] == "answer" else []
            rows.append({**row, "sections": sections} if sections else row)
    for q in json.loads((ROOT / "tests" / "assistant" / "eval_questions.json").read_text(encoding="utf-8")):
        rows.append({"text": q["q"], "label": "answer", "source": "eval_questions",
                     "sections": [f"{q['doc']} > {q['heading']}"]})
    return rows


def emergency_rows() -> list[dict[str, str]]:
    """The emergency sets' messages (tests/assistant/emergency/*.json: scored once, then seen; a set waiting in
    pending/ is not read), for the router's neighbours."""
    return [{"text": q["q"], "label": q["expect"], "source": path.stem}
            for path in sorted((ROOT / "tests" / "assistant" / "emergency").glob("*.json"))
            for q in json.loads(path.read_text(encoding="utf-8"))]


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    # one example a line, so a change reads as one line in a diff
    path.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n", encoding="utf-8")


def main() -> None:
    written = [r for r in json.loads(OUT.read_text(encoding="utf-8")) if r["source"] == "written"] if OUT.exists() else []
    rows = set_rows() + written
    _write(OUT, rows)
    print(f"{OUT.relative_to(ROOT)}: {len(rows)} examples ({len(written)} written)")
    emergencies = emergency_rows()
    _write(EMERGENCY_OUT, emergencies)
    print(f"{EMERGENCY_OUT.relative_to(ROOT)}: {len(emergencies)} messages of the emergency sets")


if __name__ == "__main__":
    main()
