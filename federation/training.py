"""Framework-free local training and evaluation on a hospital node (no Flower imports here).

What crosses the network is a list of float arrays: the network's trainable parameters and BatchNorm
running statistics, in state-dict order (`exchange_keys`). Preprocessing statistics stored as buffers
(TabularNet's mean / std, ImageNet's channel statistics and mean image) and integer counters stay as the
parent version set them: they describe the baseline's training data, are not learned by gradient
descent, and sending them would be sending data statistics in the clear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from federation.dp import DpConfig, dp_train
from hub.models.base import Task
from hub.training import FitConfig, predict_proba, train_epochs


def exchange_keys(network: nn.Module) -> list[str]:
    params = {k for k, _ in network.named_parameters()}
    return [k for k, v in network.state_dict().items()
            if k in params or (v.is_floating_point() and k.endswith(("running_mean", "running_var")))]


def frozen_state(network: nn.Module) -> bytes:
    """The buffers that are not exchanged (preprocessing statistics, counters) as safetensors bytes."""
    from safetensors.torch import save

    keys = set(exchange_keys(network))
    return save({k: v.detach().cpu().contiguous() for k, v in network.state_dict().items() if k not in keys})


def network_config(network: nn.Module) -> str:
    return json.dumps(getattr(network, "_hub_mixin_config", {}) or {}, sort_keys=True)


def build_network(task: Task, config_json: str, frozen: bytes) -> nn.Module:
    """The parent's architecture with its frozen buffers; exchanged arrays are set by `set_arrays`."""
    from safetensors.torch import load

    config = json.loads(config_json) if config_json else {}
    network = task.network_class(**config) if config else task.build_network()
    state = network.state_dict()
    for k, v in load(frozen).items():
        if k not in state or tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(f"frozen buffer {k} does not fit the network")
        state[k] = v
    network.load_state_dict(state)
    return network


def get_arrays(network: nn.Module) -> list[np.ndarray]:
    state = network.state_dict()
    return [state[k].detach().cpu().numpy().astype(np.float32, copy=True) for k in exchange_keys(network)]


def check_arrays(network: nn.Module, arrays: list[np.ndarray]) -> str | None:
    """Why `arrays` cannot be loaded into `network` (count, shape, non-finite), or None."""
    keys = exchange_keys(network)
    state = network.state_dict()
    if len(arrays) != len(keys):
        return f"expected {len(keys)} arrays, got {len(arrays)}"
    for k, a in zip(keys, arrays):
        if tuple(np.shape(a)) != tuple(state[k].shape):
            return f"wrong shape for {k}: {tuple(np.shape(a))} instead of {tuple(state[k].shape)}"
        if not np.all(np.isfinite(a)):
            return f"non-finite values in {k}"
    return None


def set_arrays(network: nn.Module, arrays: list[np.ndarray]) -> None:
    problem = check_arrays(network, arrays)
    if problem:
        raise ValueError(problem)
    state = network.state_dict()
    for k, a in zip(exchange_keys(network), arrays):
        state[k] = torch.as_tensor(np.asarray(a), dtype=state[k].dtype).reshape(state[k].shape)
    network.load_state_dict(state)


@dataclass
class LocalConfig:
    epochs: int = 2
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    proximal_mu: float = 0.0
    seed: int = 0
    dp: DpConfig | None = None


@dataclass
class LocalResult:
    arrays: list[np.ndarray]
    n: int
    loss: float
    metrics: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    q: float = 0.0


def local_fit(task: Task, network: nn.Module, x: np.ndarray, y: np.ndarray, config: LocalConfig) -> LocalResult:
    """Train `network` (already holding the global arrays) on the hospital's training split."""
    torch.manual_seed(config.seed)
    global_params = [p.detach().clone() for p in network.parameters()] if config.proximal_mu > 0 else None
    if config.dp is not None:
        out = dp_train(network, x, y, epochs=config.epochs, lr=config.lr, config=config.dp, seed=config.seed,
                       proximal_mu=config.proximal_mu, global_params=global_params, weight_decay=config.weight_decay)
        return LocalResult(get_arrays(network), n=len(y), loss=out.loss, steps=out.steps, q=out.q)
    x, y, augment = task.local_training(x, y, batch_size=config.batch_size)
    fit_cfg = FitConfig(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                        weight_decay=config.weight_decay, proximal_mu=config.proximal_mu, seed=config.seed)
    loss = train_epochs(network, x, y, config=fit_cfg, n_classes=len(task.labels), augment=augment,
                        global_params=global_params)
    return LocalResult(get_arrays(network), n=len(y), loss=float(loss))


def evaluate(task: Task, network: nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
    """(cross-entropy loss, task metrics) of `network` on a held-out split."""
    proba = predict_proba(network, x)
    eps = 1e-7
    loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], eps, 1.0)))) if len(y) else 0.0
    m = task.metrics(y, proba)
    return loss, {k: float(v) for k, v in m.items() if k in ("accuracy", "roc_auc", "macro_f1")}
