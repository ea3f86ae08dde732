"""Per-task serving health: which task's production version can answer, and if not, why.

A version that fails verification is reported and isolated: only its task is unavailable, every other
task keeps serving. The check reads what listing reads (the signed manifest, model card and lineage,
digests checked) and adds what the predictor learnt when it last tried to load the weights (a tampered
`model.safetensors` shows only then). Results are cached for a few seconds: `/health` is polled.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from hub.errors import RegistryError, VersionNotFoundError
from hub.models import task_names


class TaskHealth:
    """`check()` -> {task: {"status": "ok" | "unavailable" | "no-model", "version", "reason"}}."""

    def __init__(self, registry: Any, *, predictors: list[Any] | None = None, ttl_s: float = 5.0) -> None:
        self.registry = registry
        self.predictors = list(predictors or [])
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, dict[str, Any]]] | None = None

    def _one(self, task: str, present: set[str]) -> dict[str, Any]:
        if task not in present:
            return {"status": "no-model", "version": None, "reason": "no version in the registry"}
        try:
            version = self.registry.resolve(task, "production")
        except VersionNotFoundError as exc:
            return {"status": "no-model", "version": None, "reason": exc.message}
        except RegistryError as exc:
            return {"status": "unavailable", "version": None, "reason": exc.message}
        reason = self.registry.problem(task, version)
        return {"status": "unavailable" if reason else "ok", "version": version, "reason": reason}

    def _registry_view(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            if self._cached and time.monotonic() - self._cached[0] < self.ttl_s:
                return self._cached[1]
        try:
            present = set(self.registry.tasks())
        except RegistryError as exc:
            out = {t: {"status": "unavailable", "version": None, "reason": exc.message} for t in task_names()}
        else:
            out = {t: self._one(t, present) for t in task_names()}
        with self._lock:
            self._cached = (time.monotonic(), out)
        return out

    def check(self) -> dict[str, dict[str, Any]]:
        """The registry's view (cached), overlaid with the predictor's load failures (always current)."""
        out = {t: dict(v) for t, v in self._registry_view().items()}
        for predictor in self.predictors:
            for task, view in out.items():
                failure = view["version"] and predictor.failure(task, view["version"])
                if failure and view["status"] == "ok":
                    view.update(status="unavailable", reason=failure)
        return out
