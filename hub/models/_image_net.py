"""The small CNN, augmentation and training loop shared by pneumonia and glaucoma (`ImageTask`, the task
base, is in `hub.models._image_task` and imports this module only when a network is built or trained).

`ImageNet` takes float32 (batch, C, H, W) in [0, 1] and standardises inside the network with per-channel
statistics stored as buffers, so the saved safetensors carry their preprocessing. It also stores the
training mean image, the reference point for gradient explanations.

Augmentation runs on whole batches in torch (no torchvision): one random affine warp per image (rotation,
scale, shift, flips) through `grid_sample`, then brightness / contrast / per-channel colour jitter.
`fit_image` is `hub.training.fit` with one optimiser over all epochs and a cosine learning-rate schedule,
which small CNNs trained from scratch need to converge in a couple of CPU minutes.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from hub.models._image import AugmentConfig, ImageFitConfig
from hub.training import class_weights, predict_proba

__all__ = ["AugmentConfig", "ImageFitConfig", "ImageNet", "explain_background", "fit_image", "make_augment"]


class ImageNet(nn.Module, PyTorchModelHubMixin, library_name="medhive", tags=["medhive", "image-classification"]):
    """Conv blocks (conv-BN-ReLU x `convs`, then 2x2 max-pool), global average pool, dropout, linear.

    `stem_stride` 2 halves the resolution in the first convolution, which keeps larger (fundus) inputs
    cheap on a CPU.
    """

    def __init__(
        self,
        in_channels: int = 1,
        n_classes: int = 2,
        image_size: int = 28,
        widths: Sequence[int] = (16, 32, 64),
        convs: int = 2,
        stem_stride: int = 1,
        dropout: float = 0.2,
    ):
        super().__init__()
        self.register_buffer("channel_mean", torch.full((in_channels,), 0.5))
        self.register_buffer("channel_std", torch.full((in_channels,), 0.25))
        self.register_buffer("mean_image", torch.full((in_channels, image_size, image_size), 0.5))
        layers: list[nn.Module] = []
        width = in_channels
        for i, w in enumerate(widths):
            for j in range(convs):
                stride = stem_stride if (i, j) == (0, 0) else 1
                layers += [nn.Conv2d(width, w, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                width = w
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(width, n_classes))

    def set_statistics(self, x: np.ndarray) -> None:
        """Store the training set's per-channel mean / std and mean image (x: N, C, H, W in [0, 1])."""
        self.channel_mean.copy_(torch.as_tensor(x.mean(axis=(0, 2, 3)), dtype=torch.float32))
        self.channel_std.copy_(torch.as_tensor(np.maximum(x.std(axis=(0, 2, 3)), 1e-3), dtype=torch.float32))
        self.mean_image.copy_(torch.as_tensor(x.mean(axis=0), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.channel_mean[None, :, None, None]) / self.channel_std[None, :, None, None]
        x = self.features(x)
        return self.head(F.adaptive_avg_pool2d(x, 1))


def explain_background(network: nn.Module) -> np.ndarray:
    """Two reference images for gradient explanations: the training mean image and its flat average.

    Both are "no finding in particular" inputs; the flat one removes even the average anatomy.
    """
    mean_image = network.mean_image.detach().float().numpy()
    flat = np.broadcast_to(mean_image.mean(axis=(1, 2), keepdims=True), mean_image.shape)
    return np.stack([mean_image, flat]).astype(np.float32)


def make_augment(cfg: AugmentConfig) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor]:
    """A `hub.training.Augment`: random affine warp and intensity jitter of a (B, C, H, W) batch."""

    def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        b = x.shape[0]

        def u(lo: float = -1.0, hi: float = 1.0, *shape: int) -> torch.Tensor:
            return lo + (hi - lo) * torch.rand(shape or (b,), generator=gen)

        angle = u() * math.radians(cfg.rotate_deg)
        zoom = 1.0 + u() * cfg.scale
        sx = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if cfg.hflip else torch.ones(b)
        sy = torch.where(torch.rand(b, generator=gen) < 0.5, -1.0, 1.0) if cfg.vflip else torch.ones(b)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([
            torch.stack([cos * sx, -sin * sy, u() * 2 * cfg.shift], dim=1),
            torch.stack([sin * sx, cos * sy, u() * 2 * cfg.shift], dim=1),
        ], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode=cfg.padding, align_corners=False)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * (1.0 + u(-1, 1, b, 1, 1, 1) * cfg.contrast) + mean + u(-1, 1, b, 1, 1, 1) * cfg.brightness
        if cfg.colour > 0 and x.shape[1] > 1:
            x = x * (1.0 + u(-1, 1, b, x.shape[1], 1, 1) * cfg.colour)
        return x.clamp(0.0, 1.0)

    return augment


def fit_image(
    network: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    config: ImageFitConfig,
    n_classes: int,
    score: Callable[[np.ndarray, np.ndarray], float],
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[nn.Module, float, int]:
    """Train with AdamW, linear warm-up then cosine decay, class-weighted cross-entropy; keep the epoch
    with the best `score(y_val, proba_val)`. Returns (network, best score, best epoch)."""
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    xt = torch.as_tensor(np.asarray(x_train), dtype=torch.float32)
    yt = torch.as_tensor(np.asarray(y_train), dtype=torch.long)
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(np.asarray(y_train), n_classes), label_smoothing=config.label_smoothing)
    opt = torch.optim.AdamW(network.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(xt) / config.batch_size))
    total, warm = config.epochs * steps_per_epoch, config.warmup_epochs * steps_per_epoch

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    best_state, best_score, best_epoch = None, -np.inf, 0
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        network.train()
        order = torch.randperm(len(xt), generator=gen)
        seen, running = 0, 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            if len(idx) < 2:  # BatchNorm cannot train on a single image
                continue
            xb = augment(xt[idx], gen) if augment is not None else xt[idx]
            loss = loss_fn(network(xb), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += float(loss.detach()) * len(idx)
            seen += len(idx)
        s = score(y_val, predict_proba(network, x_val))
        elapsed = time.perf_counter() - started
        progress(f"epoch {epoch}/{config.epochs}  loss {running / max(seen, 1):.4f}  val {s:.4f}  {elapsed:.0f}s")
        if s > best_score:
            best_state, best_score, best_epoch = copy.deepcopy(network.state_dict()), s, epoch
        if config.max_seconds is not None and elapsed * (epoch + 1) / epoch > config.max_seconds:
            progress(f"stopping after epoch {epoch}: time budget of {config.max_seconds:.0f}s reached")
            break
    if best_state is not None:
        network.load_state_dict(best_state)
    return network, float(best_score), best_epoch
