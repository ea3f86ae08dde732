"""Calibration: the ECE on every card equals a recomputation; temperature scaling; the patient's words."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from hub.models import get_task
from hub.trust import calibration as cal
from hub.trust.reference import rank_auc


def _ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """An independent top-label ECE: sort into bins with numpy.digitize, weight each gap by its share."""
    edges = np.linspace(0, 1, bins + 1)[1:-1]
    which = np.digitize(conf, edges, right=False)
    return float(sum((which == b).mean() * abs(conf[which == b].mean() - correct[which == b].mean())
                     for b in range(bins) if (which == b).any()))


def test_ece_matches_an_independent_recomputation_and_sklearn_bins():
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(0)
    p1 = rng.uniform(0, 1, 500)
    y = (rng.uniform(0, 1, 500) < p1 ** 1.5).astype(int)
    proba = np.stack([1 - p1, p1], axis=1)
    conf, correct = proba.max(axis=1), (proba.argmax(axis=1) == y)
    assert cal.expected_calibration_error(proba, y) == pytest.approx(_ece(conf, correct), abs=1e-12)
    # the reliability table's observed shares are sklearn's calibration_curve on the same uniform bins
    table = cal.reliability(p1, y == 1)
    frac, mean = calibration_curve(y, p1, n_bins=10, strategy="uniform")
    assert [b["observed"] for b in table] == pytest.approx(frac, abs=1e-4)
    assert [b["mean_score"] for b in table] == pytest.approx(mean, abs=1e-4)


def test_temperature_scaling_fixes_an_overconfident_model_and_keeps_the_ranking():
    rng = np.random.default_rng(1)
    logit = rng.normal(0, 2, 2000)
    y = (rng.uniform(size=2000) < 1 / (1 + np.exp(-logit))).astype(int)
    sharp = 1 / (1 + np.exp(-3 * logit))  # three times too sure of itself
    proba = np.stack([1 - sharp, sharp], axis=1)
    t = cal.fit_temperature(proba, y)
    assert t == pytest.approx(3.0, rel=0.15)
    calibrated = cal.apply_temperature(proba, t)
    assert cal.expected_calibration_error(calibrated, y) < cal.expected_calibration_error(proba, y) / 2
    assert (calibrated.argmax(axis=1) == proba.argmax(axis=1)).all()


def test_rank_auc_is_sklearns_roc_auc():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.normal(y, 1.0), 1)  # ties included
    assert rank_auc(y == 1, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_the_card_ece_of_v1_is_a_recomputation_from_the_model(medhive_home):
    """Seed v1.0, read the ECE off its README, recompute it from the model's own probabilities on the
    reference split with the documented procedure (2-fold cross-fitting, seed 0) and an independent ECE."""
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair
    from hub.training import predict_proba
    from hub.trust import reference_split

    registry = open_registry("local", home=medhive_home, signer=load_or_create_keypair(medhive_home))
    seed_baselines(registry, tasks=["breast_cancer"])
    loaded = registry.load("breast_cancer")
    card = (loaded.path / "README.md").read_text()
    shown = re.search(r"expected calibration error ([0-9.]+) after temperature scaling \(T = ([0-9.]+); ([0-9.]+) before\)", card)
    assert shown, card
    ece_card, t_card, raw_card = map(float, shown.groups())
    splits = reference_split(get_task("breast_cancer"), None)
    raw = predict_proba(loaded.network, splits.x_val).astype(np.float64)
    y = splits.y_val
    assert _ece(raw.max(axis=1), raw.argmax(axis=1) == y) == pytest.approx(raw_card, abs=6e-5)
    parts = np.array_split(np.random.default_rng(0).permutation(len(y)), 2)
    crossed = np.zeros_like(raw)
    for k in (0, 1):
        crossed[parts[k]] = cal.apply_temperature(raw[parts[k]], cal.fit_temperature(raw[parts[1 - k]], y[parts[1 - k]]))
    crossed_ece = _ece(crossed.max(axis=1), crossed.argmax(axis=1) == y)
    raw_ece = _ece(raw.max(axis=1), raw.argmax(axis=1) == y)
    if crossed_ece < raw_ece:  # scaling helped on held-out halves: the card reports it with the fitted T
        assert crossed_ece == pytest.approx(ece_card, abs=6e-5)
        assert cal.fit_temperature(raw, y) == pytest.approx(t_card, abs=1e-3)
    else:  # it did not: the network's own scores are kept and their ECE is the card's
        assert t_card == 1.0 and ece_card == pytest.approx(raw_ece, abs=6e-5)
    assert json.loads((loaded.path / "trust.json").read_text())["calibration"]["ece"] == ece_card


def test_words_are_a_frequency_among_validation_cases_never_a_diagnosis():
    table = {"reliability": {"pneumonia": [{"low": 0.8, "high": 0.9, "n": 40, "mean_score": 0.85, "observed": 0.8}]}}
    text = cal.confidence_words("pneumonia", 0.82, table)
    assert text.startswith("82% is the model's score for pneumonia, not the chance that you have it")
    assert "of the 40 validation cases scored like this (80%-90%), about 8 in 10 had pneumonia" in text
    assert "too few validation cases" in cal.confidence_words("pneumonia", 0.55, table)
