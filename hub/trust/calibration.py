"""Calibrated confidence: temperature scaling, expected calibration error, and the words a patient reads.

Temperature scaling (Guo et al. 2017) divides the network's logits by one scalar T fitted by minimum
negative log-likelihood on a validation split; it changes how sure the model sounds, never which label
it picks, so accuracy and ROC AUC are untouched. Because softmax(log p) = p, the calibrated probabilities
are computed from the network's probabilities (no logits needed): softmax(log(p) / T).

ECE is the top-label expected calibration error with equal-width bins (Naeini et al. 2015; Guo et al.
2017): the case-weighted mean gap between a bin's mean confidence and its accuracy. scikit-learn has no
ECE function; `reliability` is cross-checked against `sklearn.calibration.calibration_curve` in the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BINS = 10
_EPS = 1e-12


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities as the network would give them with its logits divided by `temperature`."""
    p = np.asarray(proba, dtype=np.float64)
    if p.size == 0 or temperature == 1.0:
        return p
    z = np.log(np.clip(p, _EPS, 1.0)) / float(temperature)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(proba: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(np.asarray(proba, dtype=np.float64)[np.arange(len(y)), np.asarray(y, dtype=int)], _EPS, 1.0)
    return float(-np.log(p).mean())


def fit_temperature(proba: np.ndarray, y: np.ndarray) -> float:
    """The T in [0.05, 20] that minimises the negative log-likelihood of `y` (1.0 for too few cases)."""
    from scipy.optimize import minimize_scalar

    y = np.asarray(y, dtype=int)
    if len(y) < 10 or len(np.unique(y)) < 2:
        return 1.0
    # optimise log T: the likelihood is smooth and unimodal in it, and T stays positive
    res = minimize_scalar(lambda t: nll(apply_temperature(proba, float(np.exp(t))), y),
                          bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-4})
    return round(float(np.exp(res.x)), 4)


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, *, bins: int = BINS) -> float:
    """Top-label ECE with `bins` equal-width confidence bins (the last bin includes 1.0)."""
    p = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=int)
    if len(y) == 0:
        return float("nan")
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    which = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(conf[mask].mean() - correct[mask].mean())
    return float(total / len(y))


def reliability(scores: np.ndarray, truth: np.ndarray, *, bins: int = BINS) -> list[dict[str, float]]:
    """Per equal-width bin of `scores` (one class's probability): cases, mean score, share truly that class."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    which = np.minimum((scores * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append({"low": b / bins, "high": (b + 1) / bins, "n": int(mask.sum()),
                        "mean_score": round(float(scores[mask].mean()), 4),
                        "observed": round(float(truth[mask].mean()), 4)})
    return out


def calibration_profile(proba: np.ndarray, y: np.ndarray, *, labels: tuple[str, ...] | list[str],
                        folds: int = 2, seed: int = 0) -> dict[str, Any]:
    """Temperature, ECE before and after, and per-label reliability tables, from one validation split.

    The calibrated ECE is cross-fitted (T fitted on one fold, ECE measured on the other, averaged), so the
    card does not report a calibration error measured on the cases the temperature was fitted to.
    """
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y, dtype=int)
    temperature = fit_temperature(proba, y)
    order = np.random.default_rng(seed).permutation(len(y))
    parts = np.array_split(order, folds)
    crossed = np.zeros_like(proba)
    for k, held in enumerate(parts):
        rest = np.concatenate([p for j, p in enumerate(parts) if j != k])
        crossed[held] = apply_temperature(proba[held], fit_temperature(proba[rest], y[rest]))
    raw_ece = expected_calibration_error(proba, y)
    crossed_ece = expected_calibration_error(crossed, y)
    note = (f"top-label ECE, {BINS} equal-width bins, temperature fitted and ECE measured on different halves "
            f"({folds}-fold cross-fitting, seed {seed})")
    if crossed_ece >= raw_ece:
        # scaling fitted on one half did not help on the other: the network's own scores are kept (T = 1)
        temperature, crossed_ece = 1.0, raw_ece
        note += "; scaling did not lower it, so T = 1 (the network's own scores)"
    calibrated = apply_temperature(proba, temperature)
    return {
        "method": "temperature scaling",
        "temperature": temperature,
        "bins": BINS,
        "n": int(len(y)),
        "ece_uncalibrated": round(raw_ece, 4),
        "ece": round(crossed_ece, 4),
        "ece_note": note,
        "reliability": {lab: reliability(calibrated[:, k], y == k) for k, lab in enumerate(labels)},
    }


def confidence_words(label: str, score: float, calibration: dict[str, Any] | None, *, label_words: str | None = None) -> str:
    """How to read a score, for a patient: the model's score, then what validation cases scored alike had.

    Never phrased as the probability of a diagnosis: the second half is a frequency among validation
    cases, with the count it rests on.
    """
    what = label_words or label
    head = f"{score:.0%} is the model's score for {what}, not the chance that you have it"
    table = ((calibration or {}).get("reliability") or {}).get(label) or []
    hit = next((b for b in table if b["low"] <= score < b["high"] or (b["high"] >= 1.0 and score >= b["low"])), None)
    if hit is None or hit["n"] < 5:
        return head + "; too few validation cases were scored like this to say how often the model was right."
    tenths = int(round(hit["observed"] * 10))
    return (f"{head}; of the {hit['n']} validation cases scored like this ({hit['low']:.0%}-{hit['high']:.0%}), "
            f"about {tenths} in 10 had {what}.")
