"""`TabularNet`: standardisation buffers followed by an MLP, for tasks whose input is a row of fields.

It standardises inputs with stored mean / std buffers, so the saved safetensors carry their
preprocessing, then applies a small MLP. A missing value (NaN) is replaced by the stored training mean
first: imputation is part of the signed weights. Kept apart from `hub.models._tabular` (reading rows) so that
validating or listing never imports torch; predictions and explanations run on its numpy twin
(`hub.models._tabular_numpy`), which reads the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn


class TabularNet(nn.Module, PyTorchModelHubMixin, library_name="medhive", tags=["medhive", "tabular-classification"]):
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
