"""Can the model judge this input? Per-field ranges and a distance to the training distribution.

Every task embeds a case as a vector (`Task.embed`: a tabular row as it is, an image as the network's
pooled convolutional features). The training embeddings give a mean and a shrunk covariance (Ledoit-Wolf,
scikit-learn), and a case's Mahalanobis distance to them (Lee et al. 2018 use the same score on network
features) says how unlike the training cases it is. The refusal threshold is set on the validation split
so that no more than `target` (1%) of its cases are refused; tabular tasks also refuse each field outside
the range seen in training (with a margin), naming the fields.

The statistics are plain lists in a JSON-ready dict that ships, signed, with each model version
(`trust.json`); nothing here reads files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

TARGET = 0.01
#: tabular ranges: the training minimum / maximum widened by a margin, the first of these that refuses no
#: more than the target share of validation rows; non-negative fields widen by a factor (min / (1 + m),
#: max * (1 + m)) so that a lower bound never drops below zero and a zero stays out where training had none
RANGE_MARGINS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 1e6)
TABULAR_SLACK = 1.5
# no validation case refused: the threshold sits this fraction above the most distant one
BOUNDARY_ROOM = 0.01


def _set_ranges(stats: dict[str, Any], z_train: np.ndarray, margin: float) -> None:
    lo, hi = z_train.min(axis=0), z_train.max(axis=0)
    span = hi - lo
    positive = lo >= 0
    stats["range_margin"] = margin
    stats["field_low"] = np.where(positive, lo / (1 + margin), lo - margin * span).tolist()
    stats["field_high"] = np.where(positive, hi * (1 + margin), hi + margin * span).tolist()


@dataclass
class Verdict:
    """One case: refused or not, its score (distance / threshold: above 1 is refused) and why."""

    out_of_distribution: bool
    score: float | None
    reason: str | None = None


# parsed arrays per statistics dict (a loaded version's trust profile lives as long as its cached model);
# the dict itself is kept in the value so an id is never mistaken for a later object's
_PARSED: dict[int, tuple[dict[str, Any], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}


def _sig(values: np.ndarray) -> list[float]:
    """Six significant digits: the JSON stays small, the distances change by far less than the margins."""
    return [float(f"{v:.6g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def _arrays(stats: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hit = _PARSED.get(id(stats))
    if hit is not None and hit[0] is stats:
        return hit[1]
    mean = np.asarray(stats["mean"], dtype=np.float64)
    scale = np.asarray(stats["scale"], dtype=np.float64)
    k = len(mean)
    precision = np.zeros((k, k))
    precision[np.triu_indices(k)] = np.asarray(stats["precision_upper"], dtype=np.float64)
    precision = precision + np.triu(precision, 1).T
    if len(_PARSED) > 64:
        _PARSED.clear()
    _PARSED[id(stats)] = (stats, (mean, scale, precision))
    return mean, scale, precision


def _distance(stats: dict[str, Any], z: np.ndarray) -> np.ndarray:
    mean, scale, precision = _arrays(stats)
    d = (np.asarray(z, dtype=np.float64) - mean) / scale
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, precision, d), 0.0))


def _range_issues(stats: dict[str, Any], x: np.ndarray, names: list[str]) -> list[list[str]]:
    lo, hi = np.asarray(stats["field_low"]), np.asarray(stats["field_high"])
    bad = (x < lo) | (x > hi)
    return [[names[j] for j in np.flatnonzero(row)] for row in bad]


def fit(z_train: np.ndarray, z_val: np.ndarray, *, field_names: list[str] | None = None,
        target: float = TARGET) -> dict[str, Any]:
    """Statistics and threshold from training and validation embeddings (rows = cases)."""
    from sklearn.covariance import LedoitWolf  # only when fitting, never on the inference path

    z_train = np.asarray(z_train, dtype=np.float64)
    z_val = np.asarray(z_val, dtype=np.float64)
    mean = z_train.mean(axis=0)
    scale = np.maximum(z_train.std(axis=0), 1e-6)
    lw = LedoitWolf().fit((z_train - mean) / scale)
    stats: dict[str, Any] = {
        "method": "Mahalanobis distance to the training embeddings (Ledoit-Wolf covariance)",
        "mean": _sig(mean), "scale": _sig(scale),
        # symmetric: the upper triangle, row by row (numpy.triu_indices order)
        "precision_upper": _sig(lw.precision_[np.triu_indices(len(mean))]),
        "train_cases": int(len(z_train)), "validation_cases": int(len(z_val)), "target_refused": target,
    }
    allowed = int(math.floor(target * len(z_val)))
    in_range = np.ones(len(z_val), dtype=bool)
    if field_names:
        stats["field_names"] = list(field_names)
        for margin in RANGE_MARGINS:  # the narrowest margin that keeps validation refusals within target
            _set_ranges(stats, z_train, margin)
            in_range = np.array([not r for r in _range_issues(stats, z_val, field_names)], dtype=bool)
            if (~in_range).sum() <= allowed:
                break
        allowed -= int((~in_range).sum())
    d = np.sort(_distance(stats, z_val[in_range]))[::-1]
    # refuse the `allowed` most distant validation cases at most; strictly above the next one's distance.
    # Tabular validation splits are small (80-150 rows), so that order statistic is itself noisy: rows
    # are refused only beyond `TABULAR_SLACK` times it (measured: other tasks' rows score far above)
    if not len(d):
        stats["threshold"] = float("inf")
    elif field_names:
        stats["threshold"] = float(d[max(allowed, 0)]) * TABULAR_SLACK
    else:
        stats["threshold"] = _boundary(d, max(allowed, 0))
    refused = assess(stats, z_val)
    stats["validation_refused"] = int(sum(v.out_of_distribution for v in refused))
    return stats


def _boundary(d_desc: np.ndarray, allowed: int) -> float:
    """A threshold refusing the `allowed` most distant of `d_desc` (sorted, largest first) with room on
    both sides: halfway between the last refused and the first accepted distance, not at the accepted
    one's distance itself. There, arithmetic noise between machines (BLAS kernels, CPU) decided that
    case: a CI run refused 6 of 524 pneumonia validation images against the profile's 5 (score 1.00002)."""
    if allowed == 0:
        return float(d_desc[0]) * (1 + BOUNDARY_ROOM)
    return float(d_desc[allowed] + d_desc[allowed - 1]) / 2


def _most_unusual(stats: dict[str, Any], row: np.ndarray) -> str:
    """For named fields: the (up to) three that add most to the row's squared distance."""
    names = stats.get("field_names")
    if not names:
        return ""
    mean, scale, precision = _arrays(stats)
    d = (row - mean) / scale
    share = d * (precision @ d)
    top = [names[j] for j in np.argsort(share)[::-1][:3] if share[j] > 0]
    return f" (most unusual as a combination: {', '.join(top)})" if top else ""


def assess(stats: dict[str, Any], z: np.ndarray) -> list[Verdict]:
    """A verdict per case of `z` (the task's embeddings)."""
    z = np.asarray(z, dtype=np.float64)
    threshold = float(stats["threshold"])
    scores = _distance(stats, z) / max(threshold, 1e-12)
    issues = _range_issues(stats, z, stats["field_names"]) if stats.get("field_names") else [[] for _ in z]
    out = []
    for row, score, fields in zip(z, scores, issues):
        s = round(float(score), 4) if math.isfinite(score) else None
        if fields:
            shown = ", ".join(fields[:6]) + (f" and {len(fields) - 6} more" if len(fields) > 6 else "")
            out.append(Verdict(True, s, f"outside the range seen in training: {shown}"))
        elif s is None or score > 1.0:
            out.append(Verdict(True, s, "unlike the cases the model was trained on" + _most_unusual(stats, row)))
        else:
            out.append(Verdict(False, s))
    return out
