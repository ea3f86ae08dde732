"""The `Explanation` record every explainer returns, and the helpers they share.

An explanation answers "why this output for this case": SHAP attributions of one output of the network
(the risk of the positive class for binary tasks, else the predicted class) for one case, the top
factors in words, one sentence of text, and a figure (PNG) drawn on demand. `to_dict()` is JSON-safe
and small enough for an API response: images give a coarse heatmap summary, not every pixel.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.models.base import Task, class_probabilities

if TYPE_CHECKING:  # torch only for the gradient explainers (hub.explain.gradient): tabular runs on numpy
    from torch import nn

#: colours shared by every figure: attribution towards the explained output is red, against it blue
RAISES, LOWERS = "#c0392b", "#2e86c1"


@dataclass
class Explanation:
    """SHAP attributions for one case. See the module docstring."""

    task: str
    method: str
    case_id: str
    label: str  # the predicted label
    probability: float  # probability of the predicted label
    target: str  # the label whose probability is explained
    target_probability: float
    base_value: float  # the explained probability at the background (reference) input
    values: np.ndarray  # attributions, the shape of one case's network input
    top_factors: list[dict[str, Any]]
    text: str
    summary: dict[str, Any] = field(default_factory=dict)  # kind-specific JSON-safe details
    seconds: float = 0.0
    draw: Callable[[Explanation], Any] | None = field(default=None, repr=False)
    _png: bytes | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return _json_safe({
            "task": self.task, "method": self.method, "case_id": self.case_id, "label": self.label,
            "probability": round(self.probability, 6), "explained_label": self.target,
            "explained_probability": round(self.target_probability, 6), "base_value": round(self.base_value, 6),
            "top_factors": self.top_factors, "text": self.text, **self.summary,
            "seconds": round(self.seconds, 4),
        })

    def figure(self) -> Any:
        """The explanation as a matplotlib `Figure` (no pyplot state: safe in threads)."""
        if self.draw is None:
            raise ValueError("this explanation has no figure")
        return self.draw(self)

    def figure_png(self, *, dpi: int = 110) -> bytes:
        """The figure as PNG bytes (at the default resolution drawn once, then cached)."""
        if dpi == 110 and self._png is not None:
            return self._png
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
        png = buf.getvalue()
        if dpi == 110:
            self._png = png
        return png


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return round(f, 6) if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def probabilities(network: nn.Module, x: np.ndarray) -> np.ndarray:
    """Class probabilities: the network's numpy forward where it has one (tabular), else torch's."""
    return class_probabilities(network, np.asarray(x, dtype=np.float32))


def choose_target(task: Task, proba: np.ndarray, target: str | int | None) -> int:
    """Which class to explain: the one asked for, else the positive class (binary risk), else the predicted."""
    if target is not None:
        if isinstance(target, str):
            if target not in task.labels:
                from hub.errors import InvalidInputError

                raise InvalidInputError(f"unknown label {target!r}; labels: {', '.join(task.labels)}")
            return task.labels.index(target)
        return int(target)
    if task.positive_index is not None and len(task.labels) == 2:
        return int(task.positive_index)
    return int(np.argmax(proba))


def direction_words(task: Task, target: int, value: float) -> str:
    """How an attribution reads for a person: risk for binary tasks, else for / against the class."""
    if task.positive_index is not None and target == task.positive_index and len(task.labels) == 2:
        return "raises risk" if value > 0 else "lowers risk"
    return f"points to {task.labels[target]}" if value > 0 else f"points away from {task.labels[target]}"


def headline(task: Task, label: str, probability: float) -> str:
    return f"{label.capitalize()}, {probability:.0%}"


def fmt_number(value: float) -> str:
    """A measurement as a person writes it: 3 significant digits, no exponent for usual magnitudes."""
    v = float(value)
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(v)))))
    return f"{v:.{digits}f}"


def import_shap() -> Any:
    """The shap module, imported quietly (its colour maps warn about matplotlib deprecations)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import shap
    return shap


def reference(task: Task, network: nn.Module, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The task's reference inputs for `network` (shaped like one case `like`) and the network's class
    probabilities on them, computed once per loaded network (one version) and kept on it."""
    cache = _cache(network)
    with cache["lock"]:
        if "background" not in cache:
            background = task.explain_background(network)
            if background is None:
                background = np.zeros_like(like)
            background = np.asarray(background, dtype=np.float32).reshape(-1, *like.shape[1:])
            cache["background"], cache["background_proba"] = background, probabilities(network, background)
        return cache["background"], cache["background_proba"]


def _cache(network: nn.Module) -> dict[str, Any]:
    # kept as an attribute of the network, so it lives and dies with the loaded version (a dictionary keyed by
    # network would keep every network alive: its explainers refer to it); not a buffer, never saved
    cache = network.__dict__.get("_medhive_explain")
    if cache is None:
        with _CACHE_LOCK:
            cache = network.__dict__.setdefault("_medhive_explain", {"lock": threading.Lock(), "explainers": {}})
    return cache


_CACHE_LOCK = threading.Lock()
