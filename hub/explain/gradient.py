"""Expected-gradients SHAP (`shap.GradientExplainer`) for the torch networks: images and ECG beats.

Kept apart from `hub.explain.base` so that explaining a tabular case (Kernel SHAP on the numpy forward)
never imports torch.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

from hub.explain.base import _cache, import_shap


class Target(nn.Module):
    """The probability of one class as a (batch, 1) output: what SHAP explains."""

    def __init__(self, network: nn.Module, index: int) -> None:
        super().__init__()
        self.network, self.index = network, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.network(x), dim=1)[:, self.index : self.index + 1]



def gradient_shap(network: nn.Module, x: np.ndarray, background: np.ndarray, target: int, *,
                  nsamples: int, seed: int = 0, batch_size: int = 64) -> np.ndarray:
    """Expected-gradients SHAP values (`shap.GradientExplainer`) of P(target) for one case x (1, ...).

    The explainer (which runs the network over the background when built) is built once per network,
    background and target, and reused; one explanation per network at a time (the explainer is stateful).
    """
    shap = import_shap()

    network.eval()
    cache = _cache(network)
    with cache["lock"]:
        background = np.ascontiguousarray(background, dtype=np.float32)
        key = (target, batch_size, background.shape, hashlib.blake2b(background.tobytes(), digest_size=16).digest())
        explainer = cache["explainers"].get(key)
        if explainer is None:
            if len(cache["explainers"]) >= 16:  # a caller passing ever new backgrounds: stay bounded
                cache["explainers"].clear()
            explainer = shap.GradientExplainer(Target(network, target), torch.as_tensor(background),
                                               batch_size=batch_size)
            cache["explainers"][key] = explainer
        with torch.enable_grad():
            values = explainer.shap_values(torch.as_tensor(x, dtype=torch.float32), nsamples=nsamples, rseed=seed)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == x.ndim + 1:  # (1, ..., n_outputs=1)
        values = values[..., 0]
    return values[0]
