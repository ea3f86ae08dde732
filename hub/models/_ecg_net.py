"""The ECG task's network (`EcgNet`) and its training loop: the torch half of `hub.models.ecg`.

Kept apart from the task module so that reading records, validating data and listing tasks never import
torch; `EcgTask.network_class` and `train_baseline` import this module when they need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from hub.models import _ecg_signal as sig
from hub.models._ecg_trees import TreeEnsemble


class EcgNet(nn.Module, PyTorchModelHubMixin, library_name="medhive",
             tags=["medhive", "ecg", "arrhythmia", "time-series-classification"]):
    """1-D CNN on the beat window, concatenated with standardised RR features, then a dense head; with
    `n_trees`, an ensemble with boosted trees on the scalar features `tree_columns` (`_ecg_trees`): the
    output is the log of `tree_weight` x the trees' probabilities + the rest x the CNN's."""

    def __init__(self, window: int = sig.WINDOW, n_channels: int = sig.N_CHANNELS, n_rr: int = sig.N_SCALARS,
                 n_classes: int = 5,
                 channels: list[int] | tuple[int, ...] = (16, 32, 32), pooled: int = 8, hidden: int = 32,
                 dropout: float = 0.3, tree_columns: list[int] | tuple[int, ...] = (), n_trees: int = 0,
                 n_nodes: int = 1, tree_depth: int = 1, tree_weight: float = 0.5):
        super().__init__()
        self.window, self.n_channels, self.n_rr = window, n_channels, n_rr
        self.n_wave = window * n_channels
        # RR statistics travel with the weights, so a saved model carries its own preprocessing
        self.register_buffer("rr_mean", torch.zeros(n_rr))
        self.register_buffer("rr_std", torch.ones(n_rr))
        layers: list[nn.Module] = []
        width = n_channels
        for k, c in enumerate(channels):
            layers += [nn.Conv1d(width, c, 7 if k == 0 else 5, padding=3 if k == 0 else 2), nn.BatchNorm1d(c), nn.ReLU()]
            if k < len(channels) - 1:
                layers.append(nn.MaxPool1d(2))
            width = c
        layers.append(nn.AdaptiveAvgPool1d(pooled))
        self.cnn = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(width * pooled + n_rr, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes)
        )
        self.tree_columns, self.tree_weight = [int(c) for c in tree_columns], float(tree_weight)
        self.trees = (TreeEnsemble(n_trees, n_nodes, len(self.tree_columns), n_classes, tree_depth)
                      if n_trees else None)

    def set_trees(self, arrays: dict[str, np.ndarray], x: np.ndarray) -> None:
        """Load exported trees (`_ecg_trees.fit_trees` on the scalar columns `tree_columns`)."""
        assert self.trees is not None, "built without trees (n_trees=0)"
        cols = self.n_wave + np.asarray(self.tree_columns)
        self.trees.load_arrays(arrays, x[:, cols].std(axis=0))

    def set_standardization(self, x: np.ndarray) -> None:
        rr = x[:, self.n_wave :]
        self.rr_mean.copy_(torch.as_tensor(rr.mean(axis=0), dtype=torch.float32))
        self.rr_std.copy_(torch.as_tensor(np.maximum(rr.std(axis=0), 1e-3), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wave = x[:, : self.n_wave].reshape(len(x), self.n_channels, self.window)
        rr = (x[:, self.n_wave :] - self.rr_mean) / self.rr_std
        logits = self.head(torch.cat([self.cnn(wave).flatten(1), rr], dim=1))
        if self.trees is None:
            return logits
        trees = torch.softmax(self.trees(x[:, [self.n_wave + c for c in self.tree_columns]]), dim=1)
        mixed = self.tree_weight * trees + (1.0 - self.tree_weight) * torch.softmax(logits, dim=1)
        return torch.log(mixed.clamp_min(1e-12))


def augment(xb: torch.Tensor, gen: torch.Generator, window: int) -> torch.Tensor:
    """Per-beat amplitude scaling and a little noise: patients differ in QRS amplitude and noise level."""
    scale = 0.75 + 0.5 * torch.rand(len(xb), 1, generator=gen)
    noise = 0.02 * torch.randn(len(xb), window, generator=gen)
    return torch.cat([xb[:, :window] * scale + noise, xb[:, window:]], dim=1)


def fit(net: EcgNet, x: np.ndarray, y: np.ndarray, cfg: dict[str, Any], *, n_classes: int, seed: int,
        progress: Callable[[str], None]) -> None:
    """A fixed number of epochs (no per-epoch selection on the validation records, so their metrics stay
    an honest estimate); class weights are inverse frequency to the power `class_weight_power` (1.0
    measured best for S sensitivity on the validation records; 0.5 softens it if F / Q dominate)."""
    gen = torch.Generator().manual_seed(seed)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1)) ** cfg["class_weight_power"], 0.0)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(w / w[w > 0].mean(), dtype=torch.float32))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps = cfg["epochs"] * -(-len(y) // cfg["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=max(steps, 1))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    for epoch in range(1, cfg["epochs"] + 1):
        started, total = time.perf_counter(), 0.0
        net.train()
        order = torch.randperm(len(yt), generator=gen)
        for start in range(0, len(order), cfg["batch_size"]):
            idx = order[start : start + cfg["batch_size"]]
            loss = loss_fn(net(augment(xt[idx], gen, net.n_wave)), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        progress(f"epoch {epoch}/{cfg['epochs']}  loss {total / max(len(yt), 1):.4f}  "
                 f"{time.perf_counter() - started:.1f} s")
