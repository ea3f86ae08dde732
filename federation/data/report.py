"""Records shared by the hospital data loaders: a problem found, a loaded dataset, the validation report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Problem:
    """One reason to refuse a dataset. `column` is a column name or a file group ("file names")."""

    column: str
    kind: str
    message: str

    def line(self) -> str:
        return f"{self.column}: {self.message}"


@dataclass
class Loaded:
    """What a format loader read: arrays (possibly partial when there are problems) and facts."""

    x: np.ndarray | None = None
    y: np.ndarray | None = None
    ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class ValidationReport:
    """The outcome of validating a hospital's dataset for one task."""

    task: str
    ok: bool
    problems: list[Problem]
    summary: dict[str, Any]

    def lines(self) -> list[str]:
        return [p.line() for p in self.problems]
