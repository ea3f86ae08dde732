"""Hospital data for tabular tasks: one or more CSV files with the task's feature columns and a label.

Every problem is collected (not just the first), one per offending column: identifier columns, columns
outside the task schema, missing columns, non-numeric or missing values, values outside the valid range,
and a label column that is missing or holds unknown classes.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np

from federation.data.identifiers import column_name_kind, normalise, values_kind
from federation.data.report import Loaded, Problem
from hub.models._tabular import CellError, parse_value
from hub.models.base import Task

LABEL_COLUMNS = ("diagnosis", "label", "target", "class", "outcome")


def _csv_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.csv") if not p.name.startswith("."))


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect=dialect))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return [], []
    return [c.strip() for c in rows[0]], rows[1:]


def _label_index(task: Task, raw: str) -> int | None:
    value = raw.strip().lower()
    labels = [lab.lower() for lab in task.labels]
    if value in labels:
        return labels.index(value)
    initials = [lab[0] for lab in labels]
    if len(set(initials)) == len(initials) and value in initials:  # WDBC's "B" / "M"
        return initials.index(value)
    try:
        k = float(value)
    except ValueError:
        return None
    return int(k) if k.is_integer() and 0 <= k < len(labels) else None


def load_tabular(task: Task, path: Path) -> Loaded:
    files = _csv_files(path)
    if not files:
        return Loaded(problems=[Problem("data", "format", f"no CSV file found at '{path.name}'")])
    header: list[str] = []
    rows: list[list[str]] = []
    problems: list[Problem] = []
    for f in files:
        h, r = _read(f)
        if not header:
            header = h
        elif [normalise(c) for c in h] != [normalise(c) for c in header]:
            problems.append(Problem(f.name, "format", "header differs from the first CSV file"))
            continue
        bad = [i for i, row in enumerate(r) if len(row) != len(h)]
        if bad:
            problems.append(Problem(f.name, "format", f"{len(bad)} line(s) with a different number of columns"))
            r = [row for row in r if len(row) == len(h)]
        rows += r
    if not header:
        return Loaded(problems=[Problem("data", "format", "empty CSV file")])

    fields = {normalise(f.name): (i, f) for i, f in enumerate(task.input_fields)}
    # a task module may accept other spellings of its columns (WDBC's radius_mean), as `_ALIASES`, and
    # each field may list its data set's original column names (`InputField.aliases`)
    module_aliases = getattr(sys.modules.get(type(task).__module__), "_ALIASES", {}) or {}
    aliases = {normalise(k): normalise(v) for k, v in module_aliases.items()}
    aliases.update({normalise(a): normalise(f.name) for f in task.input_fields for a in f.aliases})
    columns = {c: [row[j] for row in rows] for j, c in enumerate(header)}
    mapping: dict[str, int] = {}
    label_col: str | None = None
    for col, values in columns.items():
        norm = normalise(col)
        norm = aliases.get(norm, norm)
        if norm in fields:
            mapping[col] = fields[norm][0]
        elif norm in LABEL_COLUMNS and label_col is None:
            label_col = col
        else:
            kind = column_name_kind(col) or values_kind(values)
            if kind:
                problems.append(Problem(col, kind, f"identifier column ({kind}); remove it before training"))
            else:
                problems.append(Problem(col, "schema", "column is not part of the task schema"))
    missing = [f.name for f in task.input_fields
               if f.name not in {task.input_fields[i].name for i in mapping.values()} and not f.optional]
    for name in missing:
        problems.append(Problem(name, "schema", "required column is missing"))
    if label_col is None:
        problems.append(Problem("label", "schema", f"no label column (one of: {', '.join(LABEL_COLUMNS)})"))

    # an optional field (blank, `?`, or a column the hospital does not record) is NaN: the network imputes it
    x = np.full((len(rows), len(task.input_fields)), np.nan, dtype=np.float32)
    for col, i in mapping.items():
        f = task.input_fields[i]
        n_missing = n_text = n_range = 0
        for r, raw in enumerate(columns[col]):
            try:
                x[r, i] = parse_value(f, raw)
            except CellError as e:
                rule = str(e)
                if rule.startswith("missing"):
                    n_missing += 1
                elif "range" in rule or "finite" in rule:
                    n_range += 1
                else:
                    n_text += 1
        if n_text:
            kind = values_kind(columns[col])
            what = f" ({kind})" if kind else ""
            expected = f"one of {f.range_text()}" if f.choices else "numbers"
            problems.append(Problem(col, "type", f"{n_text} non-numeric value(s){what}; expected {expected}"))
        if n_missing:
            problems.append(Problem(col, "missing", f"{n_missing} missing value(s)"))
        if n_range:
            problems.append(Problem(col, "range", f"{n_range} value(s) outside {f.minimum:g}..{f.maximum:g} {f.unit}".rstrip()))
    y = np.zeros(len(rows), dtype=np.int64)
    if label_col is not None:
        unknown = 0
        for r, raw in enumerate(columns[label_col]):
            k = _label_index(task, raw)
            if k is None:
                unknown += 1
            else:
                y[r] = k
        if unknown:
            problems.append(Problem(label_col, "label", f"{unknown} value(s) that are not one of: {', '.join(task.labels)}"))
    return Loaded(x=x, y=y, ids=[f"row {i}" for i in range(1, len(rows) + 1)], problems=problems,
                  facts={"files": len(files), "columns": len(header)})
