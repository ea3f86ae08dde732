"""The validation gate: does the federated candidate beat (or match) the version it started from?

Both are evaluated the same way: each hospital scores the model on its own held-out split and the
server takes the sample-weighted mean (`aggregation.weighted_metrics`). The parent is scored in round 0,
before any training, on the same hospitals. Better, or worse by at most `tolerance`, publishes the
candidate and moves `production` to it; otherwise the candidate is published under `candidate` only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    alias: str  # "production" | "candidate"
    metric: str
    candidate: float
    parent: float | None
    tolerance: float
    reason: str


def decide(*, metric: str, candidate: float | None, parent: float | None, tolerance: float = 0.005) -> GateDecision:
    if candidate is None:
        return GateDecision("candidate", metric, float("nan"), parent, tolerance,
                            f"no federated {metric} for the candidate; production unchanged")
    if parent is None:
        return GateDecision("production", metric, candidate, None, tolerance,
                            f"no parent score to compare with; {metric} {candidate:.4f}")
    if candidate >= parent - tolerance:
        verb = "better than" if candidate > parent else "within tolerance of"
        return GateDecision("production", metric, candidate, parent, tolerance,
                            f"federated {metric} {candidate:.4f} {verb} parent {parent:.4f} (tolerance {tolerance:g})")
    return GateDecision("candidate", metric, candidate, parent, tolerance,
                        f"federated {metric} {candidate:.4f} below parent {parent:.4f} - {tolerance:g}; "
                        "kept as candidate, production unchanged")
