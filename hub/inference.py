"""Inference: resolve a task's version in the registry, load it once (signature verified), predict.

The predictor resolves the alias (`production` by default) on every call, so a promotion or rollback is
picked up without a restart, and caches loaded networks per (task, version): a version's files never
change once published, so the cache never needs invalidating, only trimming (least recently used).

Every prediction reports the model version it used and its timing (resolve + load, network), so a
report, an API response or a Space can say exactly which model answered and how fast. Batches of rows,
images or beats go through the network in chunks of `batch_size`.

Before any label, each case is judged against the version's trust profile (`hub.trust.judge`): a single
case the model cannot judge raises `OutOfDistributionError`; in a batch such a case is marked
`out_of_distribution` and gets no label or probabilities, and the others go on. Probabilities are the
calibrated ones (the version's temperature).

Networks are loaded for inference (`Registry.load(..., inference=True)`): a tabular task's is the numpy
twin of its torch module (`hub.models._tabular_numpy`), so a tabular prediction never imports torch.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import ModelIntegrityError, OutOfDistributionError
from hub.models import Cases, get_task
from hub.models.base import class_probabilities
from hub.trust import calibrate, judge


@dataclass
class CasePrediction:
    """One case's answer; an out-of-distribution case has no label and no probabilities, only the reason."""

    id: str
    label: str | None
    probabilities: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)
    out_of_distribution: bool = False
    #: distance to the training distribution over the refusal threshold (above 1: refused); None: not scored
    ood_score: float | None = None
    ood_reason: str | None = None

    @property
    def confidence(self) -> float:
        """The (calibrated) probability of the predicted label; NaN for a refused case."""
        return float(self.probabilities[self.label]) if self.label is not None else float("nan")


@dataclass
class PredictionBatch:
    task: str
    version: str
    predictions: list[CasePrediction]
    summary: dict[str, Any] | None
    seconds: float
    proba: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    #: seconds spent resolving the reference and (on a cache miss) loading and verifying the model
    load_seconds: float = 0.0
    #: True when the model came from the predictor's cache
    cached: bool = False

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per case: id, label, probabilities, model version, task extras."""
        return [
            {"task": self.task, "model_version": self.version, **asdict(p)} for p in self.predictions
        ]

    def timing(self) -> dict[str, float]:
        """Milliseconds: resolve/load, network, total; and per case."""
        n = max(len(self.predictions), 1)
        return {"load_ms": round(self.load_seconds * 1000, 2), "predict_ms": round(self.seconds * 1000, 2),
                "total_ms": round((self.load_seconds + self.seconds) * 1000, 2),
                "per_case_ms": round(self.seconds * 1000 / n, 3)}

    def to_dict(self) -> dict[str, Any]:
        """The whole batch, JSON-ready: version, timing, summary, one record per case."""
        return {"task": self.task, "model_version": self.version, "timing": self.timing(),
                "summary": self.summary, "predictions": [asdict(p) for p in self.predictions]}


class Predictor:
    """Predicts with the registry's models; thread-safe; caches one network per (task, version)."""

    def __init__(self, registry: Any, *, cache_size: int = 16, batch_size: int = 256) -> None:
        self.registry = registry
        self.cache_size = cache_size
        self.batch_size = batch_size
        self._cache: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()
        # one lock per (task, version) so two threads asking for a cold model load it once
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self.loads = 0  # registry loads performed (cache misses), for monitoring and tests
        # (task, version) -> why its last load failed verification: /health reports it, other tasks serve on
        self._failures: dict[tuple[str, str], str] = {}

    def resolve(self, task: str, ref: str = "production") -> str:
        """The version `ref` names now (alias, `latest` or a version tag)."""
        get_task(task)  # unknown task -> clear error before touching the registry
        return self.registry.resolve(task, ref)

    def _cached(self, key: tuple[str, str]) -> Any | None:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        return None

    def model(self, task: str, ref: str = "production") -> Any:
        """The `LoadedModel` for `task` at `ref` (alias or version), loaded and verified once."""
        return self._model(task, ref)[0]

    def _model(self, task: str, ref: str) -> tuple[Any, bool]:
        key = (task, self.resolve(task, ref))
        hit = self._cached(key)
        if hit is not None:
            return hit, True
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            hit = self._cached(key)
            if hit is not None:
                return hit, True
            try:
                loaded = self.registry.load(task, key[1], inference=True)
            except ModelIntegrityError as exc:
                with self._lock:
                    self._failures[key] = exc.message
                    self._loading.pop(key, None)
                raise
            loaded.network.eval()
            with self._lock:
                self._failures.pop(key, None)
                self.loads += 1
                self._cache[key] = loaded
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
                self._loading.pop(key, None)
        return loaded, False

    def failure(self, task: str, version: str) -> str | None:
        """Why the last load of (task, version) failed verification; None if it did not fail."""
        with self._lock:
            return self._failures.get((task, version))

    def cached_versions(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._cache)

    def predict_cases(self, task: str, cases: Cases, *, ref: str = "production") -> PredictionBatch:
        """Class probabilities for every case (rows, images or beats), in chunks of `batch_size`."""
        spec = get_task(task)
        started = time.perf_counter()
        loaded, cached = self._model(task, ref)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        trust = getattr(loaded, "trust", None)
        verdicts = judge(spec, loaded.network, trust, cases)
        if len(cases) == 1 and verdicts[0].out_of_distribution:
            v = verdicts[0]
            raise OutOfDistributionError(
                f"{cases.ids[0]}: out of distribution for the {task} model ({v.reason}"
                + (f"; score {v.score:.2f}, refused above 1.00" if v.score is not None else "") + "); no prediction made",
                score=v.score)
        accepted = np.array([not v.out_of_distribution for v in verdicts], dtype=bool)
        proba = np.zeros((len(cases), len(spec.labels)))
        if accepted.any():
            raw = class_probabilities(loaded.network, cases.x[accepted], batch_size=self.batch_size)
            proba[accepted] = calibrate(trust, raw)
        seconds = time.perf_counter() - started
        preds = [
            CasePrediction(id=cid, label=spec.labels[int(np.argmax(p))],
                           probabilities={lab: round(float(q), 6) for lab, q in zip(spec.labels, p)}, meta=meta,
                           ood_score=v.score)
            if ok else
            CasePrediction(id=cid, label=None, probabilities={}, meta=meta, out_of_distribution=True,
                           ood_score=v.score, ood_reason=v.reason)
            for cid, p, meta, v, ok in zip(cases.ids, proba, cases.meta, verdicts, accepted)
        ]
        return PredictionBatch(
            task=task, version=loaded.version, predictions=preds, summary=spec.summarize(cases, proba),
            seconds=seconds, proba=proba, load_seconds=load_seconds, cached=cached,
        )

    def predict_file(self, task: str, path: Path, *, ref: str = "production", **options: Any) -> PredictionBatch:
        return self.predict_cases(task, get_task(task).read_input(Path(path), **options), ref=ref)

    def predict_raw(self, task: str, raw: Any, *, ref: str = "production", **options: Any) -> PredictionBatch:
        return self.predict_cases(task, get_task(task).prepare(raw, **options), ref=ref)

    def predict_many(self, task: str, inputs: list[Any], *, ref: str = "production",
                     **options: Any) -> PredictionBatch:
        """One batch from many inputs (file paths or in-memory inputs), read separately, predicted together.

        The model is resolved once, so every case of the batch is answered by the same version even if a
        promotion lands meanwhile. Case ids are prefixed with the input's position where inputs give
        overlapping ids (two single-row CSVs both call their row "row 1").
        """
        spec = get_task(task)
        version = self.resolve(task, ref)
        parts = [spec.read_input(Path(i), **options) if isinstance(i, (str, Path)) else spec.prepare(i, **options)
                 for i in inputs]
        if not parts:
            return self.predict_cases(task, Cases(x=np.zeros((0,), dtype=np.float32), ids=[]), ref=version)
        ids = [cid for p in parts for cid in p.ids]
        if len(set(ids)) < len(ids):
            ids = [f"{k}: {cid}" for k, p in enumerate(parts, start=1) for cid in p.ids]
        # batch-level context (an ECG record's signal) only means something for a single input
        merged = Cases(x=np.concatenate([p.x for p in parts]), ids=ids, meta=[m for p in parts for m in p.meta],
                       context=parts[0].context if len(parts) == 1 else {})
        return self.predict_cases(task, merged, ref=version)
