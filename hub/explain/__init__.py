"""Explanations with SHAP for every task: why a network gave this output for this case.

    >>> from hub.explain import explain
    >>> e = explain("breast_cancer", loaded.network, cases, index=0)
    >>> e.text        # "Malignant, 87% — key factors: worst concave points 0.21 (raises risk), ..."
    >>> e.to_dict()   # JSON-safe: method, per-feature values or a heatmap summary, top factors, text
    >>> e.figure_png()

The method follows the task's input kind: Kernel SHAP over named features (tabular), expected-gradients
SHAP as a heatmap (image), expected-gradients SHAP along the beat (ECG signal). Options: `target` (label
or class index to explain; default the positive class of a binary task, else the predicted class),
`nsamples`, `seed`, `top_k`. Explanations are deterministic for a given seed.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from hub.errors import InvalidInputError
from hub.explain.base import Explanation
from hub.models import Cases, get_task

__all__ = ["Explanation", "explain"]


def explain(task_name: str, network: nn.Module, cases: Cases, index: int = 0, **opts: Any) -> Explanation:
    """Explain the network's output for case `index` of `cases` (see the module docstring)."""
    task = get_task(task_name)
    if not 0 <= index < len(cases):
        raise InvalidInputError(f"case index {index} out of range: {len(cases)} case(s)")
    network.eval()
    if task.input_kind == "tabular":
        from hub.explain.tabular import explain_tabular

        return explain_tabular(task, network, cases, index, **opts)
    if task.input_kind == "image":
        from hub.explain.image import explain_image

        return explain_image(task, network, cases, index, **opts)
    if task.input_kind == "signal":
        from hub.explain.signal import explain_signal

        return explain_signal(task, network, cases, index, **opts)
    raise InvalidInputError(f"no explainer for input kind {task.input_kind!r}")
