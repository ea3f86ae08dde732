"""Scoring the assistant on a question set: is each answer on topic, and did retrieval find the section?

A question set is a JSON list of `{"id", "persona", "q", "expect", "relevant", "tools"}` written from a
user's point of view (tests/assistant/eval/dev.json for development, test.json held apart). `expect` is
the behaviour a careful person would want:

- "answer": on topic when a cited source is one of `relevant` ("doc.md > Heading", or "doc.md" for any
  section of that document) or the answer ran one of the expected `tools` successfully, and the reply does
  not start another conversation instead (`derailed`: the onboarding questions begun for a question about
  onboarding, a tool's failure line first, "which model should I use?" for a question): a person asking
  a question would not accept those even with the right section cited below them;
- "emergency": on topic only when the reply starts with the emergency notice and holds every line of the
  emergency guidance (nothing cut);
- "onboarding": the onboarding conversation starts;
- "unknown": the honest "I don't know; here is where to look" answer, with no tool run.

recall@k counts, for "answer" questions, whether a relevant section is among the first k retrieved.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assistant.safety import EMERGENCY_NOTICE

EMERGENCY_DOC = "symptoms-and-emergencies.md"
EMERGENCY_HEADING = "When to call emergency services first"


@dataclass
class Scored:
    id: str
    persona: str
    q: str
    expect: str
    on_topic: bool
    found_at_k: bool | None
    intent: str | None
    sources: list[str]
    tools: list[str]
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load(path: Path | str) -> list[dict[str, Any]]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _matches(source: str, relevant: list[str]) -> bool:
    doc = source.split(" > ", 1)[0]
    return any(source == r or (" > " not in r and doc == r) for r in relevant)


def derailed(answer: Any) -> str:
    """Why a reply to a question starts a different conversation ("" when it does not)."""
    failed = [c for c in answer.tool_calls if c.error is not None]
    if answer.intent == "onboarding":
        return "started onboarding instead of answering"
    if failed and answer.text.startswith("I could not"):
        return f"led with the {failed[0].name} tool's failure"
    if answer.intent == "predict" and not any(c.error is None for c in answer.tool_calls):
        return "asked for a case to predict instead of answering"
    return ""


def emergency_lines(index: Any) -> list[str]:
    """The list items of the emergency guidance section: an emergency reply must hold every one."""
    lines = []
    for chunk in index.chunks:
        if chunk.doc == EMERGENCY_DOC and chunk.heading == EMERGENCY_HEADING:
            lines += [ln.strip()[2:].strip() for ln in chunk.text.splitlines() if ln.strip().startswith(("- ", "* "))]
    return lines


def score(bot: Any, questions: list[dict[str, Any]], *, caller: Any = None, k: int = 5) -> list[Scored]:
    """Every question asked in a fresh session (no history), scored by the rules in the module docstring."""
    from assistant.ports import ANONYMOUS

    guidance = emergency_lines(bot.index)
    out: list[Scored] = []
    for q in questions:
        answer = bot.session(caller or ANONYMOUS).ask(q["q"])
        sources = [f"{s['doc']} > {s['heading']}" for s in answer.sources]
        ok_tools = [c.name for c in answer.tool_calls if c.error is None]
        relevant = q.get("relevant") or []
        found = None
        if q["expect"] == "answer":
            hits = bot.index.search(q["q"], k)
            found = any(_matches(f"{h.chunk.doc} > {h.chunk.heading}", relevant) for h in hits)
        if q["expect"] == "emergency":
            missing = [g for g in guidance if g not in answer.text]
            ok = answer.text.startswith(EMERGENCY_NOTICE) and not missing
            why = "" if ok else ("no notice first" if not answer.text.startswith(EMERGENCY_NOTICE)
                                 else f"guidance cut: {len(missing)} line(s) missing")
        elif q["expect"] == "onboarding":
            ok, why = answer.intent == "onboarding", f"intent {answer.intent}"
        elif q["expect"] == "unknown":
            ok, why = answer.intent == "unknown" and not answer.tool_calls, f"intent {answer.intent}"
        else:
            ok = any(_matches(s, relevant) for s in sources) or bool(set(ok_tools) & set(q.get("tools") or []))
            off = derailed(answer) if not set(ok_tools) & set(q.get("tools") or []) else ""
            why = off or ("" if ok else f"cited {sources or 'nothing'}; tools {ok_tools}")
            ok = ok and not off
        out.append(Scored(id=q["id"], persona=q["persona"], q=q["q"], expect=q["expect"], on_topic=bool(ok),
                          found_at_k=found, intent=answer.intent, sources=sources, tools=ok_tools,
                          why="" if ok else why))
    return out


def summary(scored: list[Scored]) -> dict[str, Any]:
    """On-topic rate, recall@k over "answer" questions, emergencies handled, and per-persona rates."""
    n = len(scored)
    answers = [s for s in scored if s.found_at_k is not None]
    emergencies = [s for s in scored if s.expect == "emergency"]
    personas: dict[str, list[Scored]] = {}
    for s in scored:
        personas.setdefault(s.persona, []).append(s)
    return {"questions": n, "on_topic": sum(s.on_topic for s in scored) / n if n else 0.0,
            "recall_at_k": sum(bool(s.found_at_k) for s in answers) / len(answers) if answers else 0.0,
            "answer_questions": len(answers), "emergencies": len(emergencies),
            "emergencies_handled": sum(s.on_topic for s in emergencies),
            "by_persona": {p: (sum(s.on_topic for s in v), len(v)) for p, v in sorted(personas.items())}}


def labeller_corrections(questions: list[dict[str, Any]], scored: list[dict[str, Any]], sections: set[str]) -> list[str]:
    """The ids of the "unknown" questions that count as on topic when the labeller's note is taken as the label:
    the note names a section ("doc.md > Heading", one of `sections`) that answers the question, and the reply,
    which was not the honest "I don't know", cited that section first. `scored` are `Scored.to_dict()` rows (as
    benchmarks/results/assistant-<set>-scored.json keeps them). `expect` stays as written; this is the second
    score reported beside it (`benchmarks.labeller_corrections`), never the one the goal is judged on."""
    by_id = {q["id"]: q for q in questions}
    out = []
    for s in scored:
        q = by_id.get(s["id"], {})
        named = {label for label in sections if label in (q.get("labeller_note") or "")}
        if q.get("expect") == "unknown" and not s["on_topic"] and s["sources"] and s["sources"][0] in named:
            out.append(s["id"])
    return out
