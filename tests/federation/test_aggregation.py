"""Aggregation rules and the strategy's defences against malformed updates (no Flower processes)."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays

from federation.aggregation import aggregate, check_update, median, trimmed_mean, weighted_mean, weighted_metrics
from federation.strategy import MedHiveStrategy

SHAPES = [(2, 3), (3,)]


def _update(value: float, n: int = 1) -> list[np.ndarray]:
    return [np.full(s, value, dtype=np.float32) for s in SHAPES]


def test_weighted_mean_weights_by_samples():
    out = weighted_mean([_update(1.0), _update(4.0)], [300, 100])
    assert np.allclose(out[0], 1.75) and out[0].dtype == np.float32


def test_robust_rules_resist_one_outlier():
    updates = [_update(1.0), _update(1.1), _update(0.9), _update(1000.0)]
    assert np.allclose(median(updates)[0], 1.05)
    assert np.allclose(trimmed_mean(updates, fraction=0.25)[1], 1.05)
    assert weighted_mean(updates, [1, 1, 1, 1])[0].mean() > 200
    with pytest.raises(ValueError):
        aggregate("krum", updates, [1] * 4)


def test_check_update_names_the_problem():
    assert check_update(_update(1.0), SHAPES) is None
    nan = _update(1.0)
    nan[1][0] = np.nan
    assert "non-finite" in check_update(nan, SHAPES)
    inf = _update(1.0)
    inf[0][0, 0] = np.inf
    assert "non-finite" in check_update(inf, SHAPES)
    assert "shape" in check_update([np.zeros((3, 2)), np.zeros(3)], SHAPES)
    assert "arrays instead of" in check_update(_update(1.0)[:1], SHAPES)


def test_weighted_metrics():
    m = weighted_metrics([(100, {"roc_auc": 0.9}), (300, {"roc_auc": 0.7, "accuracy": 0.5})], ["roc_auc", "accuracy"])
    assert np.isclose(m["roc_auc"], 0.75) and m["accuracy"] == 0.5


def _res(arrays, n, hospital, auc=0.9):
    metrics = {"hospital": hospital, "loss": 0.5, "global_roc_auc": auc, "global_n": n / 4}
    return (None, FitRes(Status(Code.OK, ""), ndarrays_to_parameters(arrays), n, metrics))


def test_strategy_rejects_poisoned_updates_and_keeps_the_model_clean():
    strategy = MedHiveStrategy(shapes=SHAPES, min_hospitals=3, rule="fedavg", secure=False)
    strategy.set_global(1, _update(10.0))
    bad_nan = _update(1.0)
    bad_nan[0][0, 0] = np.nan
    results = [_res(_update(1.0), 100, "h-a"), _res(_update(2.0), 100, "h-b"), _res(_update(3.0), 200, "h-c"),
               _res(bad_nan, 100, "h-d"), _res([np.ones((9, 9))], 100, "h-e")]
    params, _ = strategy.aggregate_fit(1, results, [RuntimeError("<class 'x'>:<'hospital h-f declines: budget'>")])
    merged = parameters_to_ndarrays(params)
    assert np.allclose(merged[0], 12.25) and np.all(np.isfinite(merged[0]))  # global + mean update
    assert np.allclose(strategy.last_aggregate[0], 2.25)
    log = strategy.fit_log[1]
    assert [r.split(":")[0] for r in log["rejected"]] == ["h-d", "h-e"]
    assert log["failures"] == ["hospital h-f declines: budget"]
    assert {h["hospital"] for h in log["hospitals"]} == {"h-a", "h-b", "h-c"}
    assert set(log["global_eval"]["hospitals"]) == {"h-a", "h-b", "h-c"}


def test_strategy_below_minimum_returns_nothing():
    strategy = MedHiveStrategy(shapes=SHAPES, min_hospitals=3, rule="trimmed_mean", secure=False)
    strategy.set_global(2, _update(0.0))
    bad = _update(1.0)
    bad[1][:] = np.inf
    params, _ = strategy.aggregate_fit(2, [_res(_update(1.0), 10, "a"), _res(_update(1.0), 10, "b"),
                                           _res(bad, 10, "c")], [])
    assert params is None and not strategy.fit_log[2]["ok"]
    assert "at least 3 hospitals" in strategy.fit_log[2]["reason"]


def test_secure_aggregate_is_checked_once_and_discarded_when_malformed():
    strategy = MedHiveStrategy(shapes=SHAPES, min_hospitals=2, rule="fedavg", secure=True)
    strategy.set_global(1, _update(0.0))
    strategy.set_global(2, _update(0.0))
    total = _update(0.5)
    params, _ = strategy.aggregate_fit(1, [_res(total, 12, "a", 0.8), _res(total, 36, "b", 0.6)], [])
    assert np.allclose(parameters_to_ndarrays(params)[0], 0.5)
    assert np.isclose(strategy.fit_log[1]["global_eval"]["metrics"]["roc_auc"], 0.65)  # weighted by held-out n
    poisoned = _update(0.5)
    poisoned[0][1, 1] = np.nan
    params, _ = strategy.aggregate_fit(2, [_res(poisoned, 10, "a"), _res(poisoned, 20, "b")], [])
    assert params is None and "malformed" in strategy.fit_log[2]["reason"]
    with pytest.raises(ValueError, match="secure aggregation off"):
        MedHiveStrategy(shapes=SHAPES, min_hospitals=2, rule="median", secure=True)


def test_weighted_mean_matches_a_float64_reference_across_block_edges():
    # sizes that straddle the kernel's block boundary, 2-D and 0-D arrays, non-contiguous and float64 inputs
    rng = np.random.default_rng(7)
    shapes = [(3, 40_000), (1,), ()]
    updates = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(9)]
    updates[3][0] = np.asfortranarray(updates[3][0])
    updates[5][1] = updates[5][1].astype(np.float64)
    weights = rng.integers(1, 900, size=9)
    got = weighted_mean(updates, weights)
    w = weights / weights.sum()
    for i, s in enumerate(shapes):
        want = sum(wi * np.asarray(u[i], dtype=np.float64) for wi, u in zip(w, updates))
        assert got[i].shape == s and got[i].dtype == np.float32
        np.testing.assert_allclose(got[i], want, rtol=0, atol=1e-6)
