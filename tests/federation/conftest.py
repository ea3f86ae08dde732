"""Fixtures for the federation tests: hospital partitions written as each node's local files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest


def write_wdbc_csv(path: Path, x: np.ndarray, y: np.ndarray, *, extra: dict[str, list[str]] | None = None,
                   drop: tuple[str, ...] = ()) -> Path:
    """A WDBC-format CSV (our feature names + diagnosis) with optional extra columns."""
    from hub.models import get_task

    task = get_task("breast_cancer")
    names = [f.name for f in task.input_fields]
    keep = [i for i, n in enumerate(names) if n not in drop]
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = extra or {}
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(extra) + [names[i] for i in keep] + ["diagnosis"])
        for r, (row, label) in enumerate(zip(x, y)):
            w.writerow([extra[k][r] for k in extra] + [f"{row[i]:.6g}" for i in keep] + [task.labels[int(label)]])
    return path


@pytest.fixture(scope="session")
def wdbc() -> tuple[np.ndarray, np.ndarray]:
    """The real WDBC data (scikit-learn), labels in the task's order (1 = malignant)."""
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return d.data.astype(np.float32), (d.target == 0).astype(np.int64)


@pytest.fixture
def wdbc_csv(tmp_path, wdbc) -> Path:
    x, y = wdbc
    return write_wdbc_csv(tmp_path / "hospital" / "data.csv", x, y)
