"""`TabularMLP`: standardisation buffers followed by an MLP, as a plain torch module (no Hugging Face mixin).

This is the network itself; `hub.models._tabular_net.TabularNet` adds `PyTorchModelHubMixin` (config.json,
`save_pretrained`) for the registry. A federated node builds this class for training and scoring: it only
exchanges arrays, and the mixin's import (huggingface_hub's HTTP client and API, about 0.5 s of CPU) would
be paid again by every Flower message, each a fresh process. Same state-dict keys as `TabularNet`.

It standardises inputs with stored mean / std buffers, so the saved safetensors carry their
preprocessing, then applies a small MLP. A missing value (NaN) is replaced by the stored training mean
first: imputation is part of the signed weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class TabularMLP(nn.Module):
    """Standardisation buffers followed by an MLP (no hidden layer = logistic regression)."""

    def __init__(self, n_features: int, n_classes: int = 2, hidden: Sequence[int] = (32,), dropout: float = 0.1):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.mlp = nn.Sequential(*layers)

    def set_standardization(self, x: np.ndarray) -> None:
        # nan-aware: missing values (NaN) neither move the mean nor the spread
        x = np.asarray(x, dtype=np.float64)
        seen = ~np.isnan(x)
        mean = np.where(seen.any(axis=0), np.nanmean(np.where(seen, x, 0.0), axis=0, where=seen), 0.0)
        std = np.sqrt(np.nanmean(np.where(seen, (x - mean) ** 2, 0.0), axis=0, where=seen)) if seen.any() else 1.0
        std = np.where(seen.any(axis=0), std, 1.0)
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.std.copy_(torch.as_tensor(np.maximum(std, 1e-6), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.where(torch.isnan(x), self.mean, x)  # impute a missing value with the training mean
        return self.mlp((x - self.mean) / self.std)
