"""`NumpyTabularNet`: `TabularNet`'s forward pass in numpy, for predicting and explaining without torch.

Importing torch costs a one-row prediction most of its start-up (about 1.5 s of CPU here), and the tabular
networks are a few small matrix products. This class reads the same signed `model.safetensors` (through
`safetensors.numpy`) and `config.json`, checks them as strictly as `load_state_dict(strict=True)` would
(same keys, same shapes), and computes the same function as `TabularNet.forward` in evaluation mode:
a missing value (NaN) takes the stored training mean, then standardisation, then Linear / ReLU layers
(dropout is the identity at inference), in float32 as torch computes it. Training, federation and
publishing keep the torch module (`hub.models._tabular_net`); tests check that both give the same
probabilities for every tabular task's shipped weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

_CONFIG_KEYS = {"n_features", "n_classes", "hidden", "dropout"}


class NumpyTabularNet:
    """Inference-only twin of `TabularNet` (see the module docstring)."""

    def __init__(self, *, mean: np.ndarray, std: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]],
                 config: Mapping[str, Any]) -> None:
        self.mean = np.ascontiguousarray(mean, dtype=np.float32)
        self.std = np.ascontiguousarray(std, dtype=np.float32)
        self.layers = [(np.ascontiguousarray(w, dtype=np.float32), np.ascontiguousarray(b, dtype=np.float32))
                       for w, b in layers]
        self.config = dict(config)
        self.n_classes = int(self.layers[-1][0].shape[0])

    @classmethod
    def from_state(cls, config: Mapping[str, Any], tensors: Mapping[str, np.ndarray]) -> NumpyTabularNet:
        """Build from config.json and the safetensors arrays; ValueError when they do not fit each other."""
        unknown = set(config) - _CONFIG_KEYS
        if unknown:
            raise ValueError(f"unexpected config keys {sorted(unknown)}")
        n_features = int(config["n_features"])
        n_classes = int(config.get("n_classes", 2))
        hidden = [int(h) for h in config.get("hidden", (32,))]
        widths = [n_features, *hidden, n_classes]
        # TabularNet.mlp is Sequential(Linear, ReLU, Dropout, ..., Linear): the Linear layers sit at 0, 3, 6...
        names = [f"mlp.{3 * i}" for i in range(len(widths) - 1)]
        expected = {"mean": (n_features,), "std": (n_features,)}
        for name, (w_in, w_out) in zip(names, zip(widths[:-1], widths[1:])):
            expected[f"{name}.weight"] = (w_out, w_in)
            expected[f"{name}.bias"] = (w_out,)
        missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
        if missing or extra:
            raise ValueError(f"missing keys {missing}, unexpected keys {extra}")
        for key, shape in expected.items():
            if tuple(tensors[key].shape) != shape:
                raise ValueError(f"size mismatch for {key}: {tuple(tensors[key].shape)} instead of {shape}")
        layers = [(tensors[f"{n}.weight"], tensors[f"{n}.bias"]) for n in names]
        return cls(mean=tensors["mean"], std=tensors["std"], layers=layers, config=config)

    @classmethod
    def from_torch(cls, network: Any) -> NumpyTabularNet:
        """The numpy twin of an in-memory `TabularNet` (its state dict and config)."""
        state = {k: v.detach().cpu().numpy() for k, v in network.state_dict().items()}
        return cls.from_state(getattr(network, "_hub_mixin_config", None) or {}, state)

    def eval(self) -> NumpyTabularNet:  # the interface callers use on a torch module: nothing to switch here
        return self

    def logits(self, x: np.ndarray) -> np.ndarray:
        h = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
        h = np.where(np.isnan(h), self.mean, h)  # impute a missing value with the training mean
        h = (h - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h

    def predict_proba(self, x: np.ndarray, *, batch_size: int = 4096) -> np.ndarray:
        """Softmax class probabilities (float32), batch first, like `hub.training.predict_proba`."""
        x = np.asarray(x)
        outs = []
        for start in range(0, len(x), batch_size):
            z = self.logits(x[start : start + batch_size])
            z = np.exp(z - z.max(axis=1, keepdims=True))
            outs.append(z / z.sum(axis=1, keepdims=True))
        return np.concatenate(outs) if outs else np.zeros((0, self.n_classes), dtype=np.float32)
