"""Inference: resolve a task's version in the registry, load it once (signature verified), predict.

The predictor resolves the alias (`production` by default) on every call, so a promotion or rollback is
picked up without a restart, and caches loaded networks per (task, version): a version's files never
change once published, so the cache never needs invalidating.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hub.models import Cases, get_task
from hub.training import predict_proba


@dataclass
class CasePrediction:
    id: str
    label: str
    probabilities: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class PredictionBatch:
    task: str
    version: str
    predictions: list[CasePrediction]
    summary: dict[str, Any] | None
    seconds: float
    proba: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per case: id, label, probabilities, model version, task extras."""
        return [
            {"task": self.task, "model_version": self.version, **asdict(p)} for p in self.predictions
        ]


class Predictor:
    """Predicts with the registry's models; thread-safe; caches one network per (task, version)."""

    def __init__(self, registry: Any, *, cache_size: int = 16) -> None:
        self.registry = registry
        self.cache_size = cache_size
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def model(self, task: str, ref: str = "production") -> Any:
        """The `LoadedModel` for `task` at `ref` (alias or version), loaded and verified once."""
        get_task(task)  # unknown task -> clear error before touching the registry
        version = self.registry.resolve(task, ref)
        key = (task, version)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        loaded = self.registry.load(task, version)
        with self._lock:
            if len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = loaded
        return loaded

    def predict_cases(self, task: str, cases: Cases, *, ref: str = "production") -> PredictionBatch:
        spec = get_task(task)
        loaded = self.model(task, ref)
        started = time.perf_counter()
        proba = predict_proba(loaded.network, cases.x) if len(cases) else np.zeros((0, len(spec.labels)))
        seconds = time.perf_counter() - started
        preds = [
            CasePrediction(
                id=cid,
                label=spec.labels[int(np.argmax(p))],
                probabilities={lab: round(float(v), 6) for lab, v in zip(spec.labels, p)},
                meta=meta,
            )
            for cid, p, meta in zip(cases.ids, proba, cases.meta)
        ]
        return PredictionBatch(
            task=task, version=loaded.version, predictions=preds, summary=spec.summarize(cases, proba),
            seconds=seconds, proba=proba,
        )

    def predict_file(self, task: str, path: Path, *, ref: str = "production", **options: Any) -> PredictionBatch:
        return self.predict_cases(task, get_task(task).read_input(Path(path), **options), ref=ref)

    def predict_raw(self, task: str, raw: Any, *, ref: str = "production", **options: Any) -> PredictionBatch:
        return self.predict_cases(task, get_task(task).prepare(raw, **options), ref=ref)
