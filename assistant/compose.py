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


def units(text: str) -> list[str]:
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


def _blocks(units: list[str]) -> list[list[str]]:
    """Units grouped so that a whole list, a whole table or a code block is one block: an answer takes a
    block whole or not at all, so a list or a table is never cut."""
    blocks: list[list[str]] = []
    for u in units:
        kind = _kind(u)
        if blocks and kind in ("list", "table") and _kind(blocks[-1][-1]) == kind:
            blocks[-1].append(u)
        else:
            blocks.append([u])
    return blocks


def _kind(unit: str) -> str:
    if unit.startswith("|"):
        return "table"
    if unit.startswith(("- ", "* ")) or re.match(r"\d+\.\s", unit):
        return "list"
    return "code" if unit.startswith("```") else "text"


def passage_answer(question: str, hits: list[Hit], *, max_units: int = 6, max_chars: int = 1400,
                   tables: bool = True) -> str:
    """The most relevant sentences, lists and tables of the best passages (the first passage first).

    Sentences are picked by the informative words they share with the question (IDF-weighted); a list or
    a table counts as one block, taken whole when any of its lines is relevant. Blocks stay in the
    documentation's order, and the length budget drops whole blocks, never part of one. `tables=False` leaves
    the tables out (the answer already shows the same data, fresher, from a tool)."""
    if not hits:
        return ""
    q = set(tokens(question))
    best = hits[0]
    # a second passage joins when it scores close to the first (the question spans two sections)
    chosen = [best] + [h for h in hits[1:3] if h.score >= best.score - 0.04][:1]
    parts: list[str] = []
    for n, hit in enumerate(chosen):
        blocks = [b for b in _blocks(units(hit.chunk.text)) if tables or _kind(b[0]) != "table"]
        budget = max_chars if n == 0 else max_chars // 2
        if len(hit.chunk.text) <= 700 or not q:
            keep = list(range(len(blocks)))
        else:
            every = [u for b in blocks for u in b]
            df = {t: sum(t in tokens(u) for u in every) for t in q}

            weights = [max((0.0 if _separator(u) else _weight(u, q, df, len(every))) for u in b) for b in blocks]
            limit = max_units if n == 0 else 3
            ranked = sorted(range(len(blocks)), key=lambda i: (-weights[i], i))[:limit]
            keep = sorted(i for i in ranked if weights[i] > 0) or [0]
            # a list or table is introduced by the sentence before it ("... for, among others:")
            keep = sorted(set(keep) | {i - 1 for i in keep if i > 0 and len(blocks[i]) > 1
                                       and blocks[i - 1][-1].endswith(":")})
        picked: list[str] = []
        used = 0
        for i in keep:
            size = sum(len(u) for u in blocks[i])
            if picked and used + size > budget:
                continue  # drop the whole block rather than cut it
            picked.extend(blocks[i])
            used += size
        parts.append(_join(picked))
    return "\n\n".join(parts)


def _weight(unit: str, q: set[str], df: dict[str, int], n: int) -> float:
    return sum(math.log(1 + n / df[t]) for t in set(tokens(unit)) & q if df[t])


def section_text(hit: Hit) -> str:
    """A whole section as the documentation gives it (used where nothing may be left out)."""
    return _join(units(hit.chunk.text))


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


def _per_100(x: float) -> str:
    return f"{round(100 * x)} of every 100"


def plain_reliability(label: str, rel: dict[str, float], cases: int | None = None) -> list[str]:
    """Sensitivity and precision for one output label, said as counts a patient can read."""
    on = f" on its {int(cases)} validation cases" if cases else " on its validation cases"
    out = []
    if rel.get("sensitivity") is not None:
        s = rel["sensitivity"]
        out.append(f"Of the cases that truly were **{label}**, the model called {_per_100(s)} {label}{on} "
                   f"(sensitivity {pct(s)}); it missed the rest.")
    if rel.get("precision") is not None:
        p = rel["precision"]
        out.append(f"Of the cases it called **{label}**, {_per_100(p)} truly were (precision {pct(p)}); the others "
                   "were false alarms. This is about the model's calls in general, not the chance for this one case: "
                   "where the condition is rarer than in the validation data, more of its calls are false alarms.")
    return out


def score_meaning(label: str, probability: float | None, band: str | None) -> str:
    """What a score is and is not: calibrated wording, never a chance of having the disease."""
    if probability is None:
        return (f"A **{label}** output means the case resembles the cases of that label the model learned from; "
                "it is not a diagnosis.")
    return (f"A score of {pct(probability)} for **{label}** is a {band} score: it says how closely this case "
            f"resembles the {label} cases the model learned from. It is **not** a {pct(probability)} chance of having "
            f"{label}: that also depends on symptoms, examination, other tests and how common {label} is among "
            "people like this patient, none of which the model knows.")


NEXT_STEPS = ("**What to do next:** take the result to a clinician, who can weigh it with the examination and "
              "other tests; do not start, stop or change a treatment because of it. If symptoms are severe or "
              "getting worse (for example trouble breathing or chest pain), call your local emergency number.")


def render_prediction(r: dict[str, Any]) -> str:
    head = f"The **{r['task']}** model ({r['model_version']}) read the {r['source']}"
    rel_all = r.get("reliability", {})
    if r["cases"] == 1:
        p = r["predictions"][0]
        probs = ", ".join(f"{k} {pct(v)}" for k, v in p["probabilities"].items())
        text = f"{head}: its output is **{p['label']}** with a score of {pct(p['confidence'])} ({probs})."
        band = _band(p["confidence"], len(p["probabilities"]))
        lines = [score_meaning(p["label"], p["confidence"], band)]
        lines += plain_reliability(p["label"], rel_all.get(p["label"]) or {}, r.get("validation_cases"))
        text += "\n\n" + "\n\n".join(lines)
    else:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(r["label_counts"].items(), key=lambda kv: -kv[1]))
        text = f"{head}: {r['cases']} cases ({counts})."
        if isinstance(r.get("summary"), dict) and r["summary"].get("text"):
            text += f" {r['summary']['text']}"
        for lab, v in rel_all.items():
            if v:
                text += "\n\n" + " ".join(plain_reliability(lab, v, r.get("validation_cases")))
    return (text + "\n\n" + NEXT_STEPS + "\n\nAsk me to **explain** it for the key factors, or what the result "
            "means.")


def _band(p: float, labels: int) -> str:
    return "uncertain (close to chance)" if abs(p - 1 / max(labels, 2)) < 0.15 else "high" if p >= 0.85 else "moderate"


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
    parts = [score_meaning(r["label"], r.get("probability"), r.get("band"))]
    parts += plain_reliability(r["label"], r.get("reliability") or {}, r.get("validation_cases"))
    if r.get("ece") is not None:
        parts.append(f"On validation data the model's scores were off by {pct(r['ece'])} on average from the observed "
                     "rates (expected calibration error, on its model card).")
    return "\n\n".join(parts + [NEXT_STEPS])
