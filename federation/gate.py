"""The validation gate: does the federated candidate beat (or match) the version it started from?

Two comparisons, both like for like. The hospitals': each hospital scores the model on its own held-out
split and the server takes the sample-weighted mean (`aggregation.weighted_metrics`); the parent is scored
in round 0, before any training, on the same hospitals. The hub's: parent and candidate are scored on the
same fixed public reference split (`hub.trust.reference`). Better, or worse by at most the tolerance, on
both publishes the candidate and moves `production` to it; otherwise the candidate is published under
`candidate` only and production is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class GateDecision:
    alias: str  # "production" | "candidate"
    metric: str
    candidate: float
    parent: float | None
    tolerance: float
    reason: str
    reference_candidate: float | None = None
    reference_parent: float | None = None
    reference_tolerance: float | None = None


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


def with_reference(decision: GateDecision, *, candidate: float | None, parent: float | None,
                   tolerance: float = 0.01) -> GateDecision:
    """`decision` checked against the reference split too: a drop there beyond `tolerance` (or no
    reference score for the candidate) keeps the candidate off production."""
    fields = {"reference_candidate": candidate, "reference_parent": parent, "reference_tolerance": tolerance}
    if candidate is None:
        return replace(decision, alias="candidate", **fields,
                       reason=f"{decision.reason}; no reference-split score for the candidate, production unchanged")
    if parent is not None and candidate < parent - tolerance:
        return replace(decision, alias="candidate", **fields,
                       reason=f"{decision.reason}; but reference {decision.metric} {candidate:.4f} is below the "
                              f"parent's {parent:.4f} - {tolerance:g}: kept as candidate, production unchanged")
    note = f"reference {decision.metric} {candidate:.4f}" + (f" vs parent {parent:.4f}" if parent is not None else "")
    return replace(decision, **fields, reason=f"{decision.reason}; {note}")
