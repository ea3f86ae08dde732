"""Framework-free PyTorch training and evaluation, used by the baselines and the federated clients.

`fit` trains with class-weighted cross-entropy, optional augmentation and an optional proximal term
(FedProx), keeping the weights of the epoch with the best validation metric.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hub.optim import AdamW

Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass
class FitConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    balance_classes: bool = True
    proximal_mu: float = 0.0
    patience: int | None = None
    seed: int = 0


def predict_proba(network: nn.Module, x: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Class probabilities for `x` (numpy, batch first), computed in evaluation mode without grad."""
    network.eval()
    outs = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.asarray(x[start : start + batch_size]), dtype=torch.float32)
            outs.append(torch.softmax(network(xb), dim=1).numpy())
    if not outs:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(outs)


def class_weights(y: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights, normalised to mean 1; absent classes get weight 0."""
    counts = np.bincount(y.astype(int), minlength=n_classes).astype(np.float64)
    w = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / n_classes, 0.0)
    return torch.tensor(w / max(w[w > 0].mean(), 1e-12), dtype=torch.float32)


def train_epochs(
    network: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    *,
    config: FitConfig,
    n_classes: int,
    epochs: int | None = None,
    augment: Augment | None = None,
    global_params: list[torch.Tensor] | None = None,
    generator: torch.Generator | None = None,
) -> float:
    """Train in place for `epochs` passes; returns the mean loss of the last epoch."""
    gen = generator or torch.Generator().manual_seed(config.seed)
    weights = class_weights(y, n_classes) if config.balance_classes else None
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    # hub.optim.AdamW: torch's AdamW arithmetic without importing torch._dynamo (1.5 s of CPU per process)
    opt = AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    last = 0.0
    for _ in range(epochs if epochs is not None else config.epochs):
        network.train()
        order = torch.randperm(len(xt), generator=gen)
        total, seen = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            xb, yb = xt[idx], yt[idx]
            if augment is not None:
                xb = augment(xb, gen)
            loss = loss_fn(network(xb), yb)
            if config.proximal_mu > 0 and global_params is not None:
                prox = sum(((p - g) ** 2).sum() for p, g in zip(network.parameters(), global_params))
                loss = loss + config.proximal_mu / 2 * prox
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        last = total / max(seen, 1)
    return last


def fit(
    network: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    config: FitConfig,
    n_classes: int,
    score: Callable[[np.ndarray, np.ndarray], float],
    augment: Augment | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[nn.Module, float, int]:
    """Train and keep the epoch with the best `score(y_val, proba_val)`; returns (network, score, epoch)."""
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    best_state, best_score, best_epoch, since = None, -np.inf, 0, 0
    for epoch in range(1, config.epochs + 1):
        loss = train_epochs(
            network, x_train, y_train, config=config, n_classes=n_classes, epochs=1, augment=augment, generator=gen
        )
        s = score(y_val, predict_proba(network, x_val))
        progress(f"epoch {epoch}/{config.epochs}  loss {loss:.4f}  val {s:.4f}")
        if s > best_score:
            best_state, best_score, best_epoch, since = copy.deepcopy(network.state_dict()), s, epoch, 0
        else:
            since += 1
            if config.patience is not None and since >= config.patience:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    return network, float(best_score), best_epoch
