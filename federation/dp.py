"""DP-SGD on the hospital node: per-example gradient clipping plus Gaussian noise (no Opacus needed).

Per-example gradients come from `torch.func` (`vmap(grad(...))`), each is clipped to L2 norm `clip`,
the clipped gradients of a Poisson-sampled batch are summed, Gaussian noise of standard deviation
`noise_multiplier * clip` is added, and the sum is divided by the expected batch size. The optimiser
only ever sees the noisy gradient, so the accountant's guarantee covers the whole update. The FedProx
term does not depend on data and is added after the noise.

BatchNorm layers are frozen during DP training: they normalise with the running statistics the parent
version shipped (public model content) instead of the batch's, so no example's output depends on another
example and per-example clipping bounds each example's influence; their running statistics are not
updated (in non-DP training they are, from local data, and sent with the update). Their affine weights
still train, under DP like every other parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from federation.accountant import steps_for
from hub.optim import AdamW


@dataclass
class DpConfig:
    clip: float = 1.0
    noise_multiplier: float = 1.0
    batch_size: int = 32


@dataclass
class DpOutcome:
    loss: float
    steps: int
    q: float


def freeze_batchnorm(network: nn.Module) -> int:
    """Put every BatchNorm layer in eval mode (running statistics, no updates); returns how many."""
    frozen = 0
    for m in network.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
            frozen += 1
    return frozen


def dp_train(network: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, config: DpConfig,
             seed: int = 0, proximal_mu: float = 0.0, global_params: list[torch.Tensor] | None = None,
             weight_decay: float = 0.0) -> DpOutcome:
    """Train `network` in place with DP-SGD; returns the mean loss, the number of steps and q."""
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    n = len(xt)
    steps, q = steps_for(n, batch_size=config.batch_size, epochs=epochs)
    names = [k for k, p in network.named_parameters() if p.requires_grad]
    params = dict(network.named_parameters())
    buffers = dict(network.named_buffers())
    opt = AdamW([params[k] for k in names], lr=lr, weight_decay=weight_decay)  # no torch._dynamo import

    def sample_loss(p: dict[str, torch.Tensor], xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        out = functional_call(network, (p, buffers), (xb.unsqueeze(0),))
        return nn.functional.cross_entropy(out, yb.unsqueeze(0))

    per_example = vmap(grad(sample_loss), in_dims=(None, 0, 0), randomness="different")
    network.train()
    freeze_batchnorm(network)
    losses = []
    for _ in range(steps):
        mask = torch.rand(n, generator=gen) < q
        idx = torch.nonzero(mask).flatten()
        summed = {k: torch.zeros_like(params[k]) for k in names}
        if len(idx):
            detached = {k: v.detach() for k, v in params.items()}
            grads = per_example(detached, xt[idx], yt[idx])
            norms = torch.sqrt(sum(grads[k].flatten(1).pow(2).sum(1) for k in names))
            factor = (config.clip / (norms + 1e-12)).clamp(max=1.0)
            for k in names:
                summed[k] = (grads[k] * factor.view(-1, *[1] * (grads[k].dim() - 1))).sum(0)
            with torch.no_grad():
                losses.append(float(nn.functional.cross_entropy(network(xt[idx]), yt[idx])))
        expected = q * n
        opt.zero_grad()
        for k in names:
            noise = torch.normal(0.0, config.noise_multiplier * config.clip, size=summed[k].shape, generator=gen)
            g = (summed[k] + noise) / expected
            if proximal_mu > 0 and global_params is not None:
                g = g + proximal_mu * (params[k].detach() - global_params[names.index(k)])
            params[k].grad = g
        opt.step()
    return DpOutcome(loss=float(np.mean(losses)) if losses else 0.0, steps=steps, q=q)
