"""Deterministic answer text: extracts from retrieved passages, and tool results written out in words.

`passage_answer` picks, from the best passages, the sentences, bullets and table rows that share the
most informative words with the question (IDF-weighted), in the order the documentation gives them, so
the answer is the documentation's own wording for this question, not a canned reply. The `render_*`
functions turn tool results into short Markdown.
"""

from __future__ import annotations

import math
import re
from typing import Any

from assistant.retrieval import Hit, tokens

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`\"*])")


def _units(text: str) -> list[str]:
    """Sentences, bullets, table rows and code blocks of a passage, in order."""
    units: list[str] = []
    block: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            block.append(line)
            if not fenced:
                units.append("\n".join(block))
                block = []
            continue
        if fenced:
            block.append(line)
        elif line.lstrip().startswith(("- ", "* ", "|")) or re.match(r"\s*\d+\.\s", line):
            units.append(line.strip())
        elif line.startswith("  ") and units and units[-1].startswith(("- ", "* ")):
            units[-1] += " " + line.strip()
        elif line.strip():
            units.append(line.strip())
    merged: list[str] = []
    for u in units:  # re-join wrapped paragraph lines, then split sentences
        if merged and not u.startswith(("- ", "* ", "|", "```")) and not merged[-1].startswith(("- ", "* ", "|", "```")) \
                and not re.search(r"[.!?:]$", merged[-1]):
            merged[-1] += " " + u
        else:
            merged.append(u)
    out: list[str] = []
    for u in merged:
        out.extend(_SENTENCE.split(u) if not u.startswith(("|", "```", "- ", "* ")) else [u])
    return [u for u in out if u.strip()]


def _separator(unit: str) -> bool:
    return bool(re.fullmatch(r"\|[\s|:-]+\|?", unit))


def passage_answer(question: str, hits: list[Hit], *, max_units: int = 6, max_chars: int = 1100) -> str:
    """The most relevant sentences of the best passages (the first passage first)."""
    if not hits:
        return ""
    q = set(tokens(question))
    best = hits[0]
    # a second passage joins when it scores close to the first (the question spans two sections)
    chosen = [best] + [h for h in hits[1:3] if h.score >= best.score - 0.04][:1]
    parts: list[str] = []
    for n, hit in enumerate(chosen):
        units = _units(hit.chunk.text)
        if len(hit.chunk.text) <= 700 or not q:
            picked = units
        else:
            df = {t: sum(t in tokens(u) for u in units) for t in q}
            weights = [0.0 if _separator(u) else sum(math.log(1 + len(units) / df[t]) for t in set(tokens(u)) & q if df[t])
                       for u in units]
            ranked = sorted(range(len(units)), key=lambda i: (-weights[i], i))[:max_units if n == 0 else 3]
            keep = sorted(i for i in ranked if weights[i] > 0) or [0]
            # a table row needs its header row to be read
            if any(units[i].startswith("|") for i in keep):
                first_row = next(i for i, u in enumerate(units) if u.startswith("|"))
                header = {first_row} | ({first_row + 1} if first_row + 1 < len(units) and _separator(units[first_row + 1])
                                        else set())
                keep = sorted(set(keep) | header)
            picked = [units[i] for i in keep]
        text = _join(picked)
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + " ..."
        parts.append(text)
    return "\n\n".join(parts)


def _join(units: list[str]) -> str:
    out = ""
    for u in units:
        structural = u.startswith(("- ", "* ", "|", "```"))
        prev_structural = out.splitlines()[-1].startswith(("- ", "* ", "|", "```")) if out else False
        sep = "" if not out else ("\n" if structural and prev_structural else "\n\n" if structural or prev_structural
                                  else " ")
        out += sep + u
    return out


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def render_models(result: dict[str, Any]) -> str:
    lines = ["| model | production | ROC AUC | accuracy | labels |", "|---|---|---|---|---|"]
    for m in result["models"]:
        auc = f"{m['roc_auc']:.3f}" if m.get("roc_auc") is not None else "-"
        acc = f"{m['accuracy']:.3f}" if m.get("accuracy") is not None else "-"
        lines.append(f"| {m['title']} (`{m['task']}`) | {m['production'] or '-'} | {auc} | {acc} | "
                     f"{', '.join(m['labels'])} |")
    return "\n".join(lines) + "\n\nMetrics are measured on each model's validation split (see its model card)."


def render_model_info(r: dict[str, Any]) -> str:
    out = [f"**{r['title']}** (`{r['task']}`): {r['summary']}", f"Input: {r['input']}"]
    if r.get("metrics"):
        m = r["metrics"]
        shown = ", ".join(f"{k} {v:.3f}" for k, v in m.items() if k != "n")
        out.append(f"Version {r['production']} validation metrics ({int(m.get('n', 0))} cases): {shown}.")
    if r.get("data"):
        out.append(f"Training data: {r['data']}.")
    return "\n\n".join(out)


def render_prediction(r: dict[str, Any]) -> str:
    head = f"The **{r['task']}** model ({r['model_version']}) read the {r['source']}"
    if r["cases"] == 1:
        p = r["predictions"][0]
        probs = ", ".join(f"{k} {pct(v)}" for k, v in p["probabilities"].items())
        text = f"{head}: its output is **{p['label']}** with probability {pct(p['confidence'])} ({probs})."
    else:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(r["label_counts"].items(), key=lambda kv: -kv[1]))
        text = f"{head}: {r['cases']} cases ({counts})."
        if isinstance(r.get("summary"), dict) and r["summary"].get("text"):
            text += f" {r['summary']['text']}"
    rel = [f"{lab}: sensitivity {pct(v.get('sensitivity'))}, precision {pct(v.get('precision'))}"
           for lab, v in r.get("reliability", {}).items() if v]
    if rel:
        text += "\n\nOn its validation data the model's reliability for this output was " + "; ".join(rel) + "."
    return text + "\n\nAsk me to **explain** it for the key factors, or what the result means."


def render_explanation(r: dict[str, Any]) -> str:
    out = [f"Explanation ({r['method']}, model {r['model_version']}): {r['text']}"]
    factors = r.get("top_factors") or []
    for f in factors[:5]:
        name = f.get("feature") or f.get("region") or f.get("segment") or f.get("name") or "factor"
        val = f.get("value")
        shown = f"{name} {val:g}" if isinstance(val, (int, float)) else str(name)
        out.append(f"- {shown}: {f.get('effect') or 'contributes'}")
    out.append("Red / positive attributions push towards the explained label, blue / negative away from it. "
               "An attribution says what drove this model's output, not what causes disease.")
    return "\n".join(out)


def render_interpretation(r: dict[str, Any]) -> str:
    text = f"A {r['task']} output of **{r['label']}**"
    if r.get("probability") is not None:
        text += f" at {pct(r['probability'])} is a {r['band']} score"
    text += ": it means the case resembles the model's training cases of that label, not that the condition is present."
    rel = r.get("reliability") or {}
    if rel:
        text += (f" On {int(r.get('validation_cases') or 0)} validation cases, the model found "
                 f"{pct(rel.get('sensitivity'))} of true {r['label']} cases (sensitivity), and "
                 f"{pct(rel.get('precision'))} of its {r['label']} calls were right (precision).")
    return text + " Share the result with a clinician, who can weigh it with the examination and other tests."
