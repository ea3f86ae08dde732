"""`TabularNet`: `TabularMLP` (standardisation buffers, then an MLP) with `PyTorchModelHubMixin`, for tasks
whose input is a row of fields: what the registry saves (config.json + model.safetensors) and loads.

Kept apart from `hub.models._tabular` (reading rows) so that validating or listing never imports torch;
predictions and explanations run on its numpy twin (`hub.models._tabular_numpy`), which reads the same
weights, and federated nodes train the plain `TabularMLP` (`hub.models._tabular_mlp`).
"""

from __future__ import annotations

from huggingface_hub import PyTorchModelHubMixin

from hub.models._tabular_mlp import TabularMLP


class TabularNet(TabularMLP, PyTorchModelHubMixin, library_name="medhive", tags=["medhive", "tabular-classification"]):
    """Standardisation buffers followed by an MLP (no hidden layer = logistic regression)."""
