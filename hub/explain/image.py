"""Explanations for image tasks: expected-gradients SHAP (`shap.GradientExplainer`) as a heatmap.

The background is the task's reference images (`Task.explain_background`: the training mean image and
its flat average). Attributions of the explained probability are summed over colour channels, lightly
smoothed for display, and overlaid on the input: red where the image raises the explained probability,
blue where it lowers it. `to_dict()` carries a coarse grid of the heatmap and the region that holds the
strongest evidence in words.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from torch import nn

from hub.explain.base import Explanation, choose_target, headline, probabilities, reference
from hub.explain.gradient import gradient_shap
from hub.models.base import Cases, Task

GRID = 7  # the heatmap summary in to_dict(): GRID x GRID cells
# expected-gradients samples: on the shipped models 32 give heatmaps that correlate >= 0.987 with 512
# samples (64: >= 0.991) at half the forward / backward work (benchmarks/explain_latency.py)
NSAMPLES = 32
_ROWS, _COLS = ("upper", "middle", "lower"), ("left", "centre", "right")


def region_words(heat: np.ndarray) -> tuple[str, float]:
    """The third-by-third region of the image holding most positive attribution, and its share."""
    pos = np.clip(heat, 0, None)
    total = float(pos.sum())
    h, w = heat.shape
    best, share = (1, 1), 0.0
    for r in range(3):
        for c in range(3):
            cell = float(pos[r * h // 3 : (r + 1) * h // 3, c * w // 3 : (c + 1) * w // 3].sum())
            if total > 0 and cell / total > share:
                best, share = (r, c), cell / total
    r, c = best
    name = "centre" if best == (1, 1) else (_ROWS[r] if c == 1 else f"{_ROWS[r]} {_COLS[c]}" if r != 1 else _COLS[c])
    return name, share


def coarse(heat: np.ndarray, cells: int = GRID) -> np.ndarray:
    h, w = heat.shape
    rows = np.array_split(np.arange(h), cells)
    cols = np.array_split(np.arange(w), cells)
    return np.array([[heat[np.ix_(r, c)].sum() for c in cols] for r in rows])


def explain_image(task: Task, network: nn.Module, cases: Cases, index: int = 0, *, target: str | int | None = None,
                  nsamples: int = NSAMPLES, seed: int = 0, **_: Any) -> Explanation:
    started = time.perf_counter()
    x = np.asarray(cases.x[index : index + 1], dtype=np.float32)
    proba = probabilities(network, x)[0]
    k = choose_target(task, proba, target)
    background, background_proba = reference(task, network, x)  # computed once per loaded version
    values = gradient_shap(network, x, background, k, nsamples=nsamples, seed=seed)  # (C, H, W)
    heat = values.sum(axis=0)
    base = float(background_proba[:, k].mean())
    region, share = region_words(heat)
    label = task.labels[int(np.argmax(proba))]
    target_label = task.labels[k]
    raising = float(np.clip(heat, 0, None).sum())
    if raising > 0:
        detail = (f"the evidence raising the {target_label} score is strongest in the {region} of the image "
                  f"({share:.0%} of it)")
    else:
        detail = f"no part of the image raises the {target_label} score above the reference"
    factors = [{"region": region, "share_of_positive_attribution": share, "effect": f"raises {target_label} score"}]
    grid = coarse(heat)
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    summary = {"heatmap": {
        "shape": list(heat.shape), "grid": grid.round(6).tolist(), "grid_cells": GRID,
        "peak_pixel": {"row": int(peak[0]), "col": int(peak[1])},
        "sum_positive": raising, "sum_negative": float(np.clip(heat, None, 0).sum()),
        "strongest_region": region,
    }}
    return Explanation(
        task=task.name, method="shap.GradientExplainer", case_id=cases.ids[index], label=label,
        probability=float(proba.max()), target=target_label, target_probability=float(proba[k]), base_value=base,
        values=values, top_factors=factors, text=f"{headline(task, label, float(proba.max()))} — {detail}",
        summary=summary, seconds=time.perf_counter() - started, draw=_drawer(cases, index),
    )


def _display_image(cases: Cases, index: int) -> np.ndarray:
    shown = cases.context.get("display_images")
    if shown is not None and len(shown) > index:
        return np.asarray(shown[index])
    x = np.asarray(cases.x[index])
    img = x.transpose(1, 2, 0) if x.shape[0] in (1, 3) else x
    img = img[..., 0] if img.shape[-1] == 1 else img
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def _drawer(cases: Cases, index: int):
    image = _display_image(cases, index)

    def draw(e: Explanation) -> Any:
        from matplotlib.figure import Figure
        from scipy.ndimage import gaussian_filter

        heat = e.values.sum(axis=0)
        smooth = gaussian_filter(heat, sigma=max(heat.shape) / 56)
        lim = float(np.abs(smooth).max()) or 1.0
        grey = image if image.ndim == 2 else image.mean(axis=2)
        fig = Figure(figsize=(7.2, 3.7))
        ax1, ax2 = fig.subplots(1, 2)
        ax1.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
        ax1.set_title("input (as the model sees it)", fontsize=9)
        ax2.imshow(grey, cmap="gray", vmin=0, vmax=255)
        im = ax2.imshow(smooth, cmap="RdBu_r", vmin=-lim, vmax=lim, alpha=0.55, interpolation="bilinear")
        ax2.set_title(f"SHAP: red raises, blue lowers P({e.target})", fontsize=9)
        for ax in (ax1, ax2):
            ax.set_xticks([])
            ax.set_yticks([])
        cb = fig.colorbar(im, ax=ax2, fraction=0.046, pad=0.04)
        cb.ax.tick_params(labelsize=7)
        fig.suptitle(e.text.split(" — ")[0], fontsize=11, x=0.02, ha="left")
        fig.tight_layout()
        return fig

    return draw
