"""How a hospital's data lies on disk, by kind of input: the one table federation keeps on a task's kind.

Each row says how a node loads its folder (`load`, with the checks of `federation.data`), how
`medhive federate` splits the public data into hospital folders in that same format (`split`), and how
many cases a folder holds, counted cheaply before any loading (`count`). Everything else federation
needs from a task is a method on the task itself (`Task.local_training`, `Task.feature_summary`,
`Task.rare_labels_expected`), so a new task of an existing kind touches nothing here, and a new kind of
input adds one row.

    >>> node_format(get_task("heart_disease")).split(task, out, None, data_root=root)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from federation.data.media import load_images, load_wfdb
from federation.data.report import Loaded
from federation.data.tabular import load_tabular
from federation.errors import FederationError
from federation.partition import split_arrays_to_images, split_image_folders, split_records, split_tabular
from hub.models.base import Task

Split = Callable[..., list[Path]]


@dataclass(frozen=True)
class NodeFormat:
    """A kind of input's on-disk format at a hospital."""

    load: Callable[[Task, Path], Loaded]
    split: Split
    count: Callable[[Path], int]


def _split_tables(task: Task, out: Path, n: int | None, *, data_root: Path | None, alpha: float = 1.0,
                  seed: int = 0, per_hospital: int | None = None) -> list[Path]:
    return split_tabular(task, out, n, alpha=alpha, seed=seed, data_root=data_root)


def _split_images(task: Task, out: Path, n: int | None, *, data_root: Path | None, alpha: float = 1.0,
                  seed: int = 0, per_hospital: int | None = None) -> list[Path]:
    n, source = n or 3, task.data_path(data_root)
    if all((source / label).is_dir() for label in task.labels):
        return split_image_folders(task, source, out, n, alpha=alpha, seed=seed, per_hospital=per_hospital)
    splits = task.load_training_data(data_root, seed=seed)  # array formats (.npz)
    return split_arrays_to_images(task, np.concatenate([splits.x_train, splits.x_val]),
                                  np.concatenate([splits.y_train, splits.y_val]), out, n, alpha=alpha, seed=seed,
                                  per_hospital=per_hospital)


def _split_records(task: Task, out: Path, n: int | None, *, data_root: Path | None, alpha: float = 1.0,
                   seed: int = 0, per_hospital: int | None = None) -> list[Path]:
    return split_records(task.data_path(data_root), out, n or 3, seed=seed)


def _count_rows(path: Path) -> int:
    files = [path] if path.is_file() else list(path.glob("*.csv"))
    return sum(max(0, len(f.read_text().splitlines()) - 1) for f in files)


def _count_images(path: Path) -> int:
    return sum(1 for p in path.rglob("*") if p.is_file())


def _count_beats(path: Path) -> int:
    return 2500 * len(list(path.glob("*.hea")))  # beats per half-hour record, roughly


FORMATS: dict[str, NodeFormat] = {
    "tabular": NodeFormat(load=load_tabular, split=_split_tables, count=_count_rows),
    "image": NodeFormat(load=load_images, split=_split_images, count=_count_images),
    "signal": NodeFormat(load=load_wfdb, split=_split_records, count=_count_beats),
}


def node_format(task: Task) -> NodeFormat:
    """The on-disk format of `task`'s hospital data; a clear error for a kind of input with no row here."""
    try:
        return FORMATS[task.input_kind]
    except KeyError:
        raise FederationError(f"task {task.name!r}: federation has no data format for its kind of input") from None


def split_task(task: Task, out: Path, n: int | None, *, data_root: Path | None, **options: Any) -> list[Path]:
    """Hospital folders for `task` under `out` (the data of each lies where its node would read it);
    `n` None: the task's natural split where it has one, else 3 hospitals."""
    return node_format(task).split(task, out, n, data_root=data_root, **options)
