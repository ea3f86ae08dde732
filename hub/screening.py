"""Screening: one patient form, every tabular model whose required inputs are present.

The form is built from the task catalog: a field whose `InputField.concept` is shared by several tasks
(age, diastolic blood pressure, ...) appears once, keyed by the concept, and feeds every task that has
it; the other fields appear once each, keyed by their own name (names are unique across the tabular
tasks; where two tasks used one name for different things the key would be `task:field`). A clinician
fills in what they have; each task then either runs (its required fields are there and no more than
it tolerates are blank: the rest is imputed) or is skipped with the fields it still needs.

    >>> form = screening_form()                       # [FormField(key, label, unit, tasks, ...)]
    >>> plan = plan_screening({"age": 61, "BMI": 31})  # which tasks run, which are skipped and why
    >>> result = run_screening(predictor, plan)       # per task: label, confidence, key factors, imputed

Values are validated against every field they feed before any model runs: a value no model can use is
refused (`InvalidInputError` naming the field and rule, never another value), so a bad form costs
nothing; a shared value only some models can judge (age 10: the kidney model, not the adult heart
model) skips the others, each saying which range it needs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hub.errors import InvalidInputError
from hub.models import Cases
from hub.models._tabular import CellError, parse_value
from hub.models.base import InputField, Task
from hub.models.catalog import tabular_tasks

#: a screening form holds at most this many values (the union of every tabular task's fields is below it)
MAX_VALUES = 400


@dataclass(frozen=True)
class FormField:
    """One box of the screening form and the task fields it feeds."""

    key: str
    label: str
    unit: str
    feeds: tuple[tuple[str, str], ...]  # (task, field name)
    choices: tuple[str, ...] = ()
    minimum: float = 0.0
    maximum: float = 0.0

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.feeds)

    @property
    def shared(self) -> bool:
        return len(self.feeds) > 1


#: form labels of shared concepts whose field names are less specific than the concept ("blood pressure"
#: beside the heart model's own resting systolic pressure)
_CONCEPT_LABELS = {"diastolic_bp": "diastolic blood pressure", "systolic_bp": "systolic blood pressure"}


def _compatible(a: InputField, b: InputField) -> bool:
    # a concept is shared only where the tasks measure it the same way (same unit, same categories)
    return a.unit == b.unit and [w for w, _ in a.choices] == [w for w, _ in b.choices]


def screening_form(tasks: Mapping[str, Task] | None = None) -> list[FormField]:
    """The form: shared concepts first (in the order first met), then each task's own fields."""
    tasks = dict(tasks if tasks is not None else tabular_tasks())
    by_concept: dict[str, list[tuple[str, InputField]]] = {}
    own: list[tuple[str, InputField]] = []
    for name, task in tasks.items():
        for f in task.input_fields:
            group = by_concept.get(f.concept) if f.concept else None
            if f.concept and (group is None or _compatible(group[0][1], f)):
                by_concept.setdefault(f.concept, []).append((name, f))
            else:
                own.append((name, f))
    out: list[FormField] = []
    for concept, members in by_concept.items():
        if len(members) == 1:
            own.insert(0, members[0])
            continue
        first = members[0][1]
        out.append(FormField(
            key=concept, label=_CONCEPT_LABELS.get(concept, first.name), unit=first.unit, feeds=tuple((t, f.name) for t, f in members),
            choices=tuple(w for w, _ in first.choices),
            minimum=max(f.minimum for _, f in members), maximum=min(f.maximum for _, f in members),
        ))
    names = [f.name for _, f in own]
    for t, f in sorted(own, key=lambda tf: list(tasks).index(tf[0])):
        key = f.name if names.count(f.name) == 1 else f"{t}:{f.name}"
        out.append(FormField(key=key, label=f.name, unit=f.unit, feeds=((t, f.name),),
                             choices=tuple(w for w, _ in f.choices), minimum=f.minimum, maximum=f.maximum))
    return out


@dataclass
class Planned:
    task: str
    title: str
    row: dict[str, Any]  # field name -> raw value, what the task's `prepare` reads
    needs: list[str] = field(default_factory=list)  # empty: the task runs

    @property
    def runs(self) -> bool:
        return not self.needs


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip().lower() in ("", "?")) or (
        isinstance(v, float) and np.isnan(v))


def plan_screening(values: Mapping[str, Any], *, tasks: Mapping[str, Task] | None = None) -> list[Planned]:
    """Which tasks can judge these values; `InvalidInputError` for unknown keys or invalid values."""
    tasks = dict(tasks if tasks is not None else tabular_tasks())
    if len(values) > MAX_VALUES:
        raise InvalidInputError(f"a screening form holds at most {MAX_VALUES} values")
    form = {f.key: f for f in screening_form(tasks)}
    unknown = [k for k in values if k not in form]
    if unknown:
        raise InvalidInputError(f"unknown field(s): {', '.join(map(str, unknown[:5]))}; see the screening form")
    rows: dict[str, dict[str, Any]] = {name: {} for name in tasks}
    out_of_range: dict[str, list[str]] = {name: [] for name in tasks}
    for key, raw in values.items():
        if _blank(raw):
            continue
        rules = []
        for task_name, field_name in form[key].feeds:
            f = next(x for x in tasks[task_name].input_fields if x.name == field_name)
            try:
                parse_value(f, raw)
            except CellError as e:
                # the field and the rule, not the value (the form may hold other patient values)
                rule = re.sub(r"^\S+ (is outside)", r"\1", str(e))
                rules.append(re.sub(r",? got .*$", "", rule))
                out_of_range[task_name].append(f"{f.name} within {f.range_text()}")
                continue
            rows[task_name][field_name] = raw
        if len(rules) == len(form[key].feeds):  # no model can use this value: the form is wrong
            if "valid range" in rules[0] and form[key].shared:
                lo = min(next(x for x in tasks[t].input_fields if x.name == n).minimum for t, n in form[key].feeds)
                hi = max(next(x for x in tasks[t].input_fields if x.name == n).maximum for t, n in form[key].feeds)
                rules[0] = f"is outside every model's valid range ({lo:g}..{hi:g} {form[key].unit})".replace(" )", ")")
            raise InvalidInputError(f"{form[key].label} {rules[0]}")
    plans = []
    for name, task in tasks.items():
        row = rows[name]
        needs = [f.name for f in task.input_fields if not f.optional and f.name not in row]
        limit = getattr(task, "max_imputed", None)
        blank = [f.name for f in task.input_fields if f.name not in row]
        if not needs and limit is not None and len(blank) > limit:
            needs = [f"{len(blank) - limit} more of: {', '.join(blank)}"]
        if not row:
            needs = needs or ["at least one of its fields"]
        if out_of_range[name]:  # a shared value this model cannot judge (age 10 for an adults-only model)
            needs = out_of_range[name] + needs
        plans.append(Planned(task=name, title=task.title, row=row, needs=needs))
    return plans


@dataclass
class Screened:
    """One model's answer in a screening."""

    task: str
    title: str
    version: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    key_factors: list[dict[str, Any]]
    imputed: list[str]
    explanation: str
    cases: Cases | None = None  # kept for the PDF, never serialised
    prediction: Any = None
    explained: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "title": self.title, "model_version": self.version, "label": self.label,
                "confidence": round(self.confidence, 6),
                "probabilities": {k: round(v, 6) for k, v in self.probabilities.items()},
                "key_factors": self.key_factors, "imputed": self.imputed, "explanation": self.explanation}


@dataclass
class ScreeningResult:
    used: list[Screened]
    skipped: list[Planned]

    def to_dict(self) -> dict[str, Any]:
        return {"models_used": [s.to_dict() for s in self.used],
                "models_skipped": [{"task": p.task, "title": p.title, "needs": p.needs} for p in self.skipped]}


def run_screening(predictor: Any, plans: list[Planned], *, explain: bool = True, nsamples: int | str = 300
                  ) -> ScreeningResult:
    """Run every planned task that can run (production versions) and explain each answer."""
    from hub.explain import explain as explain_case
    from hub.models import get_task

    used, skipped = [], []
    for plan in plans:
        if not plan.runs:
            skipped.append(plan)
            continue
        task = get_task(plan.task)
        cases = task.prepare(plan.row)
        batch = predictor.predict_cases(plan.task, cases)
        pred = batch.predictions[0]
        e = None
        if explain:
            e = explain_case(plan.task, predictor.model(plan.task, batch.version).network, cases, 0, nsamples=nsamples)
        used.append(Screened(
            task=plan.task, title=plan.title, version=batch.version, label=pred.label,
            confidence=float(pred.probabilities[pred.label]), probabilities=dict(pred.probabilities),
            key_factors=[{**{k: v for k, v in f.items() if k in ("feature", "unit", "effect", "category")},
                          "value": float(f"{f['value']:.6g}")}  # as written (0.158), not float32 (0.15800000727)
                         for f in (e.top_factors if e else [])],
            imputed=list(cases.meta[0].get("imputed", [])), explanation=e.text if e else "",
            cases=cases, prediction=pred, explained=e,
        ))
    return ScreeningResult(used=used, skipped=skipped)
