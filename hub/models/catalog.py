"""The task catalog as the surfaces read it: which task a text names, label words, task lists in words.

Every surface that used to name tasks (the assistant's intents, prompts and tools, the API examples, the
Spaces export, the knowledge pages, the screening form) asks here, and here only the task modules'
own words are read (`Task.keywords`, `labels`, `input_words`, `input_fields`...). A new task module is
therefore picked up everywhere with no other file touched.
"""

from __future__ import annotations

import re
from functools import cache

from hub.models import all_tasks
from hub.models.base import Task

#: label words too generic to point at one task ("what does normal mean?")
_GENERIC_LABELS = {"normal", "healthy", "disease", "no disease"}


def _keyword_regex(word: str) -> str:
    # a keyword matches at a word start; separators are optional ("x-ray" = "xray" = "x ray"); short
    # keywords must end at a word end (plural allowed) so "eye" does not match "eyebrow"
    parts = [re.escape(p) for p in re.split(r"[\s\-]+", word.strip().lower()) if p]
    body = r"[-\s]?".join(parts)
    return rf"\b{body}" + (r"s?\b" if len(word) <= 4 else "")


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    out = {}
    for name, task in all_tasks().items():
        words = [*task.keywords, name.replace("_", " ")]
        out[name] = re.compile("|".join(_keyword_regex(w) for w in words), re.I)
    return out


def detect_task(text: str) -> str | None:
    """The task a text names: the earliest mention; at the same place the longer match ("heart disease"
    before "heart beat" cannot both start there, but "chest pain" vs "chest" can)."""
    found = []
    for name, pattern in _patterns().items():
        m = pattern.search(text)
        if m:
            found.append((m.start(), -(m.end() - m.start()), name))
    return min(found)[2] if found else None


@cache
def _mention_patterns() -> dict[str, re.Pattern[str]]:
    # longest keyword first, so "breast cancer" is one mention rather than "breast" and a stray "cancer"
    out = {}
    for name, task in all_tasks().items():
        words = sorted({*task.keywords, name.replace("_", " ")}, key=len, reverse=True)
        out[name] = re.compile("|".join(_keyword_regex(w) for w in words), re.I)
    return out


_WORD_CHAR = re.compile(r"[\w'-]")


def task_mentions(text: str) -> list[tuple[int, int, str]]:
    """Every place a text names a task, as (start, end, task), widened to whole words ("x-rays", "kidneys",
    "parkinson's"): the words a search can set aside to see what a question asks about the task."""
    out = []
    for name, pattern in _mention_patterns().items():
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            while start > 0 and _WORD_CHAR.match(text[start - 1]):
                start -= 1
            while end < len(text) and _WORD_CHAR.match(text[end]):
                end += 1
            out.append((start, end, name))
    return sorted(out)


def label_words() -> dict[str, str]:
    """Single-word labels that belong to exactly one task ("malignant" -> breast_cancer)."""
    seen: dict[str, list[str]] = {}
    for name, task in all_tasks().items():
        for label in task.labels:
            word = label.lower()
            if re.fullmatch(r"[a-z]{4,}", word) and word not in _GENERIC_LABELS:
                seen.setdefault(word, []).append(name)
    return {w: names[0] for w, names in seen.items() if len(names) == 1}


@cache
def outcome_pattern() -> str:
    """A regex alternation (no groups) of what a quoted model result is said about: every task's labels of
    four or more characters ("malignant", "no chronic kidney disease"), its keywords and its name, so "82%
    pneumonia" or "the heart model said 70%" are recognised for every task in the catalog."""
    alternatives: list[str] = []
    for name, task in all_tasks().items():
        alternatives += [rf"\b{re.escape(label.lower())}\b" for label in task.labels if len(label) >= 4]
        alternatives += [_keyword_regex(w) for w in (*task.keywords, name.replace("_", " "))]
    return "|".join(dict.fromkeys(alternatives))


def task_choices_text(*, backticks: bool = True) -> str:
    """Every task with what it reads, as one sentence part: "`a` (what a reads), ... or `z` (...)"."""
    items = [f"`{n}` ({t.input_words or t.title})" if backticks else f"{n} ({t.input_words or t.title})"
             for n, t in all_tasks().items()]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def task_names_text() -> str:
    """"breast_cancer, chronic_kidney_disease, ..., pneumonia" for tool and API descriptions."""
    return ", ".join(all_tasks())


def tabular_tasks() -> dict[str, Task]:
    return {n: t for n, t in all_tasks().items() if t.input_kind == "tabular"}


def knowledge_doc(task: str) -> str:
    """The file name of a task's generated knowledge page (see `hub.models.pages`)."""
    return f"model-{task.replace('_', '-')}.md"


def clear() -> None:
    """Forget cached patterns (tests that add a task module at run time call this)."""
    _patterns.cache_clear()
    _mention_patterns.cache_clear()
    outcome_pattern.cache_clear()
