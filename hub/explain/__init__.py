"""Explanations with SHAP for every task: why a network gave this output for this case.

    >>> from hub.explain import explain
    >>> e = explain("breast_cancer", loaded.network, cases, index=0)
    >>> e.text        # "Malignant, 87% — key factors: worst concave points 0.21 (raises risk), ..."
    >>> e.to_dict()   # JSON-safe: method, per-feature values or a heatmap summary, top factors, text
    >>> e.figure_png()

The method is the task's own (`Task.explain_case`, shared by each kind of input): Kernel SHAP over named
features (tabular), expected-gradients SHAP as a heatmap (image), expected-gradients SHAP along the beat
(ECG signal). Options: `target` (label
or class index to explain; default the positive class of a binary task, else the predicted class),
`nsamples`, `seed`, `top_k`. Explanations are deterministic for a given seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.errors import InvalidInputError
from hub.explain.base import Explanation
from hub.models import Cases, get_task

if TYPE_CHECKING:  # a tabular network is numpy (NumpyTabularNet); images and beats are torch modules
    from torch import nn

__all__ = ["Explanation", "explain"]


def explain(task_name: str, network: nn.Module, cases: Cases, index: int = 0, **opts: Any) -> Explanation:
    """Explain the network's output for case `index` of `cases` (see the module docstring)."""
    task = get_task(task_name)
    if not 0 <= index < len(cases):
        raise InvalidInputError(f"case index {index} out of range: {len(cases)} case(s)")
    network.eval()
    # the task knows its kind's explainer (Kernel SHAP on fields, gradients on images and beats)
    return task.explain_case(network, cases, index, **opts)
