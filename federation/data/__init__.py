"""A hospital's local data: load it in the task's format, validate it, split it for training / held-out.

    >>> report = validate(get_task("breast_cancer"), Path("/data/wdbc"), min_rows=200)
    >>> report.ok, report.lines()
    >>> data = load_hospital_data(task, path)          # raises DataValidationError when refused

Nothing here sends anything anywhere; the node runs the same checks before every training round that
`medhive node validate` runs by hand. Summaries hold counts and per-feature ranges only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from federation.data.report import Loaded, Problem, ValidationReport
from federation.errors import DataValidationError
from hub.models.base import Task

__all__ = ["HospitalData", "Problem", "ValidationReport", "load_hospital_data", "validate"]

DEFAULT_MIN_ROWS = 200
DEFAULT_MIN_CLASS_FRACTION = 0.05


@dataclass
class HospitalData:
    """Validated arrays of one hospital, split into a training part and a held-out part."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    summary: dict[str, Any]


def _load(task: Task, path: Path) -> Loaded:
    if not path.exists():
        return Loaded(problems=[Problem("data", "format", f"path not found: {path.name or path}")])
    from federation.formats import node_format  # the formats table imports this package's loaders

    return node_format(task).load(task, path)


def _summary(task: Task, loaded: Loaded) -> dict[str, Any]:
    out: dict[str, Any] = {"task": task.name, **loaded.facts}
    if loaded.y is None:
        return out
    counts = np.bincount(loaded.y, minlength=len(task.labels))
    out["rows"] = int(len(loaded.y))
    out["class_counts"] = {lab: int(c) for lab, c in zip(task.labels, counts)}
    features = task.feature_summary(loaded.x) if loaded.x is not None else None
    if features is not None:
        out["features"] = features
    return out


def validate(task: Task, path: Path, *, min_rows: int = DEFAULT_MIN_ROWS,
             min_class_fraction: float = DEFAULT_MIN_CLASS_FRACTION) -> ValidationReport:
    """Every check on a hospital dataset: format, schema, identifiers, values, size and class balance."""
    return _check(task, _load(task, Path(path)), min_rows=min_rows, min_class_fraction=min_class_fraction)


def _check(task: Task, loaded: Loaded, *, min_rows: int, min_class_fraction: float) -> ValidationReport:
    problems = list(loaded.problems)
    summary = _summary(task, loaded)
    if not problems and loaded.y is not None:
        n = len(loaded.y)
        if n < min_rows:
            problems.append(Problem("rows", "size", f"{n} rows; at least {min_rows} needed"))
        counts = np.bincount(loaded.y, minlength=len(task.labels))
        present = int((counts > 0).sum())
        if present < 2:
            problems.append(Problem("label", "balance", "only one class present; at least two needed"))
        elif not task.rare_labels_expected:  # e.g. ECG's S, F, Q beats: a hospital need not have all of them
            scarce = [lab for lab, c in zip(task.labels, counts) if n and c / n < min_class_fraction]
            if scarce:
                problems.append(Problem("label", "balance",
                                        f"class(es) {', '.join(scarce)} below {min_class_fraction:.0%} of rows"))
    return ValidationReport(task=task.name, ok=not problems, problems=problems, summary=summary)


def split_holdout(x: np.ndarray, y: np.ndarray, *, fraction: float = 0.2, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stratified held-out split made on the node (the validation gate evaluates on it)."""
    rng = np.random.default_rng(seed)
    val_idx: list[int] = []
    for k in np.unique(y):
        idx = np.flatnonzero(y == k)
        rng.shuffle(idx)
        val_idx += idx[: max(1, int(round(fraction * len(idx))))].tolist()
    mask = np.zeros(len(y), dtype=bool)
    mask[val_idx] = True
    return x[~mask], y[~mask], x[mask], y[mask]


def load_hospital_data(task: Task, path: Path, *, min_rows: int = DEFAULT_MIN_ROWS,
                       min_class_fraction: float = DEFAULT_MIN_CLASS_FRACTION, seed: int = 0) -> HospitalData:
    """Validated, split data; `DataValidationError` (one line per offending column) when refused."""
    loaded = _load(task, Path(path))
    report = _check(task, loaded, min_rows=min_rows, min_class_fraction=min_class_fraction)
    if not report.ok:
        raise DataValidationError(f"dataset refused for task {task.name}: {len(report.problems)} problem(s)",
                                  report.lines())
    assert loaded.x is not None and loaded.y is not None
    x_tr, y_tr, x_va, y_va = split_holdout(loaded.x, loaded.y, seed=seed)
    return HospitalData(x_tr, y_tr, x_va, y_va, {**report.summary, "train_rows": int(len(y_tr)),
                                                  "holdout_rows": int(len(y_va))})
