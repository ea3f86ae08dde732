"""Explanations for tasks whose input is a row of named fields: Kernel SHAP over the features.

Model-agnostic `shap.KernelExplainer` on the probability of the explained class, with the task's
reference row(s) (`Task.explain_background`, for breast cancer the training mean) as background: each
SHAP value says how far that feature, at this case's value, moves the probability away from the
reference case's. The values add up to (probability - base value).

A field left blank (NaN) is imputed by the network with its training mean; for the explanation it takes
the reference case's value, so its SHAP value is zero, it is never named as a key factor, and the text
says which fields were imputed.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.explain.base import (
    LOWERS,
    RAISES,
    Explanation,
    choose_target,
    direction_words,
    fmt_number,
    headline,
    import_shap,
    probabilities,
)
from hub.models.base import Cases, Task

if TYPE_CHECKING:  # a tabular network is numpy (NumpyTabularNet); images and beats are torch modules
    from torch import nn


def _feature_names(task: Task, n: int) -> list[str]:
    names = [f.name for f in task.input_fields]
    return names if len(names) == n else [f"feature {i + 1}" for i in range(n)]


def explain_tabular(task: Task, network: nn.Module, cases: Cases, index: int = 0, *, target: str | int | None = None,
                    top_k: int = 3, nsamples: int | str = "auto", seed: int = 0, **_: Any) -> Explanation:
    shap = import_shap()
    started = time.perf_counter()
    x = np.asarray(cases.x[index : index + 1], dtype=np.float32)
    proba = probabilities(network, x)[0]
    k = choose_target(task, proba, target)
    background = task.explain_background(network)
    if background is None:
        background = np.zeros_like(x)
    background = np.asarray(background, dtype=np.float32).reshape(-1, x.shape[1])
    missing = np.isnan(x[0])
    names = _feature_names(task, x.shape[1])
    imputed = [names[i] for i in np.flatnonzero(missing)]
    if imputed:
        x = x.copy()
        x[0, missing] = background[0, missing]

    def f(z: np.ndarray) -> np.ndarray:
        return probabilities(network, z)[:, k]

    np.random.seed(seed)  # Kernel SHAP samples coalitions with numpy's global generator
    explainer = shap.KernelExplainer(f, background)
    values = np.asarray(explainer.shap_values(x, nsamples=nsamples, silent=True), dtype=np.float64).reshape(-1)
    base = float(np.asarray(explainer.expected_value).reshape(-1)[0])

    values[missing] = 0.0  # exactly: the imputed value is the reference value
    units = {f.name: f.unit for f in task.input_fields}
    words = {f.name: f for f in task.input_fields}
    order = np.argsort(-np.abs(values))
    factors = []
    for i in order[:top_k]:
        if values[i] == 0:
            break
        factors.append({
            "feature": names[i], "value": float(x[0, i]), "unit": units.get(names[i], ""),
            "shap": float(values[i]), "effect": direction_words(task, k, values[i]),
        })
    for f in factors:
        word = words[f["feature"]].word_for(f["value"]) if f["feature"] in words else None
        if word is not None:
            f["category"] = word
    label = task.labels[int(np.argmax(proba))]
    said = ", ".join(f"{f['feature']} {f.get('category') or fmt_number(f['value'])} ({f['effect']})" for f in factors)
    text = f"{headline(task, label, float(proba.max()))}" + (f" — key factors: {said}" if said else "")
    if imputed:
        text += f". Imputed (not given, the training average used): {', '.join(imputed)}"
    return Explanation(
        task=task.name, method="shap.KernelExplainer", case_id=cases.ids[index], label=label,
        probability=float(proba.max()), target=task.labels[k], target_probability=float(proba[k]),
        base_value=base, values=values, top_factors=factors, text=text,
        summary={"features": {n: {"value": float(v), "shap": float(s), **({"imputed": True} if m else {})}
                              for n, v, s, m in zip(names, x[0], values, missing)},
                 "imputed": imputed},
        seconds=time.perf_counter() - started, draw=_draw,
    )


def _draw(e: Explanation, top: int = 10) -> Any:
    from matplotlib.figure import Figure

    feats = e.summary["features"]
    names = list(feats)
    values = np.array([feats[n]["shap"] for n in names])
    order = np.argsort(-np.abs(values))[:top][::-1]
    fig = Figure(figsize=(7.0, 0.42 * len(order) + 1.3))
    ax = fig.add_subplot()
    ys = np.arange(len(order))
    ax.barh(ys, values[order], color=[RAISES if values[i] > 0 else LOWERS for i in order])
    def shown(n: str) -> str:
        return "imputed" if feats[n].get("imputed") else fmt_number(feats[n]["value"])

    ax.set_yticks(ys, [f"{names[i]} = {shown(names[i])}" for i in order], fontsize=9)
    ax.axvline(0, color="#555", lw=0.8)
    ax.set_xlabel(f"SHAP value: change in P({e.target}) from the reference case ({e.base_value:.0%})", fontsize=9)
    ax.set_title(f"{e.text.split(' — ')[0]}: what moved P({e.target})", fontsize=10, loc="left")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig
