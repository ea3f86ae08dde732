"""`AdamW`: torch's AdamW update (decoupled weight decay, no AMSGrad), without `torch.optim`.

The first `torch.optim` optimiser a process creates imports `torch._dynamo` (its methods are wrapped to
disable the compiler), about 1.5 s of CPU here: as much as importing torch itself. A federated node
starts a fresh process for every Flower message and trains a network of a few thousand weights for a
few dozen steps, so that import was half of each training message's CPU. This class applies the same
arithmetic as `torch.optim.AdamW`'s single-tensor path (the one torch takes on CPU), in the same order,
with plain in-place tensor operations; `tests/hub/test_optim.py` checks it step by step against
`torch.optim.AdamW`. Only what MedHive uses is here: one parameter group, `zero_grad`, `step`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class AdamW:
    """Drop-in for `torch.optim.AdamW(params, lr, betas, eps, weight_decay)` (see the module docstring)."""

    def __init__(self, params: Iterable[torch.Tensor], *, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2) -> None:
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        self.lr, (self.beta1, self.beta2), self.eps, self.weight_decay = float(lr), betas, float(eps), float(weight_decay)
        self.steps = [0] * len(self.params)  # per parameter, as torch counts them
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for i, (p, m, v) in enumerate(zip(self.params, self.exp_avg, self.exp_avg_sq)):
            if p.grad is None:  # torch skips a parameter without a gradient, its step count too
                continue
            g = p.grad
            self.steps[i] += 1
            if self.weight_decay != 0:
                p.mul_(1 - self.lr * self.weight_decay)
            m.lerp_(g, 1 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            bias_correction1 = 1 - self.beta1 ** self.steps[i]
            bias_correction2_sqrt = (1 - self.beta2 ** self.steps[i]) ** 0.5
            denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-(self.lr / bias_correction1))
