"""Diagnostic tasks. Each module here that defines `TASK` is a task; adding one is adding a module.

    >>> from hub.models import get_task, task_names
    >>> get_task("breast_cancer").labels
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from hub.errors import UnknownTaskError
from hub.models.base import Cases, DataSplits, InputField, Task, TrainResult

__all__ = ["Cases", "DataSplits", "InputField", "Task", "TrainResult", "all_tasks", "get_task", "task_names"]

# modules in this package that are infrastructure, not tasks
_NOT_TASKS = {"base"}


@cache
def all_tasks() -> dict[str, Task]:
    """Every task module in this package, by task name, in alphabetical order."""
    found: dict[str, Task] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _NOT_TASKS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        task = getattr(module, "TASK", None)
        if isinstance(task, Task):
            found[task.name] = task
    return found


def task_names() -> list[str]:
    return list(all_tasks())


def get_task(name: str) -> Task:
    tasks = all_tasks()
    if name not in tasks:
        raise UnknownTaskError(f"unknown task {name!r}; known tasks: {', '.join(tasks)}")
    return tasks[name]
