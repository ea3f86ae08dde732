"""What makes a prediction trustworthy: plausibility, calibration and a like-for-like reference metric.

`build_profile` computes, for one trained network, everything inference and the model card need, as a
JSON-ready dict that ships signed with the version (`trust.json`): the plausibility statistics
(`plausibility`), the temperature and reliability tables (`calibration`) and the reference-split metric
with its interval (`reference`). It runs when a baseline is trained and when a federated version is
published, on the hub's public reference split (`reference_split`), never on hospital data.
`judge` applies a profile to a batch of cases before any label is produced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hub.models.base import Cases, DataSplits
from hub.trust import calibration, plausibility, reference
from hub.trust.calibration import apply_temperature, confidence_words, expected_calibration_error
from hub.trust.plausibility import Verdict

TRUST_FILE = "trust.json"
FORMAT = 1

__all__ = ["TRUST_FILE", "Verdict", "apply_temperature", "build_profile", "confidence_words",
           "expected_calibration_error", "judge", "reference_split"]


def reference_split(task: Any, data_root: Path | None) -> DataSplits:
    """The hub's fixed public split of `task` (training part: plausibility statistics; validation part:
    the reference cases). Raises `DataNotFoundError` where the public data is not available."""
    return task.load_training_data(data_root, seed=reference.REFERENCE_SEED)


def build_profile(task: Any, network: Any, splits: DataSplits, *, resamples: int = reference.BOOTSTRAP) -> dict[str, Any]:
    """trust.json for `network`: plausibility, calibration and the reference metric on `splits`."""
    from hub.training import predict_proba  # torch: only where a network is scored
    network.eval()
    raw = predict_proba(network, splits.x_val)
    profile: dict[str, Any] = {"format": FORMAT}
    z_val = task.embed(network, splits.x_val)
    if z_val is not None:
        names = [f.name for f in task.input_fields] or None
        profile["plausibility"] = plausibility.fit(task.embed(network, splits.x_train), z_val, field_names=names)
    profile["calibration"] = calibration.calibration_profile(raw, splits.y_val, labels=task.labels)
    calibrated = apply_temperature(raw, profile["calibration"]["temperature"])
    profile["reference"] = reference.evaluate(task, calibrated, splits.y_val, description=splits.description,
                                              resamples=resamples, groups=splits.groups_val)
    return profile


def summary(profile: dict[str, Any] | None) -> dict[str, Any]:
    """The small part of a profile the model card, the portal and the API show."""
    if not profile:
        return {}
    cal = profile.get("calibration") or {}
    pl = profile.get("plausibility") or {}
    out: dict[str, Any] = {}
    if profile.get("reference"):
        out["reference"] = dict(profile["reference"])
    if cal:
        out["calibration"] = {k: cal[k] for k in ("method", "temperature", "ece", "ece_uncalibrated", "n", "ece_note")
                              if k in cal}
    if pl:
        out["plausibility"] = {"method": pl.get("method"), "validation_refused": pl.get("validation_refused"),
                               "validation_cases": pl.get("validation_cases"), "target_refused": pl.get("target_refused")}
    return out


def judge(task: Any, network: Any, profile: dict[str, Any] | None, cases: Cases) -> list[Verdict]:
    """A verdict per case: refused (with the reason) or accepted, with its distance score when known."""
    n = len(cases)
    verdicts = [Verdict(False, None) for _ in range(n)]
    stats = (profile or {}).get("plausibility")
    if stats and n:
        z = task.embed(network, cases.x)
        if z is not None:
            verdicts = plausibility.assess(stats, z)
    for i, issue in enumerate(task.input_issues(cases)):
        if issue:
            verdicts[i] = Verdict(True, verdicts[i].score, issue)
    return verdicts


def calibrate(profile: dict[str, Any] | None, proba: np.ndarray) -> np.ndarray:
    """Calibrated probabilities (the network's own where the version has no calibration)."""
    t = ((profile or {}).get("calibration") or {}).get("temperature")
    return apply_temperature(proba, float(t)) if t else np.asarray(proba, dtype=np.float64)
