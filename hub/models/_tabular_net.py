"""`TabularNet`: standardisation buffers followed by an MLP, for tasks whose input is a row of fields.

It standardises inputs with stored mean / std buffers, so the saved safetensors carry their
preprocessing, then applies a small MLP. Kept apart from `hub.models._tabular` (reading rows) so that
validating or listing never imports torch.
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
        self.mean.copy_(torch.as_tensor(x.mean(axis=0), dtype=torch.float32))
        self.std.copy_(torch.as_tensor(np.maximum(x.std(axis=0), 1e-6), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp((x - self.mean) / self.std)
