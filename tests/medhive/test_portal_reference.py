"""Portal cards show the like-for-like reference metric (n, 95% interval) and the calibration error."""

from __future__ import annotations

import json

from hub.baselines import SHIPPED


def test_card_shows_reference_metric_with_n_and_interval(medhive_home):
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair
    from medhive.ui.portal import _card_html, model_cards

    registry = open_registry("local", home=medhive_home, signer=load_or_create_keypair(medhive_home))
    seed_baselines(registry, tasks=["breast_cancer"])
    card = next(c for c in model_cards(registry, {}) if c["task"].name == "breast_cancer")
    text = _card_html(card)
    ref = json.loads((SHIPPED / "breast_cancer" / "trust.json").read_text())["reference"]
    assert f"roc auc {ref['value']:.3f} (95% interval {ref['ci_low']:.3f}-{ref['ci_high']:.3f}, n = {ref['n']})" in text
    assert "calibration error" in text and "ECE" in text
