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
import warnings
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
    cheap on a CPU. `handcrafted` adds colour/texture statistics of the input (`hub.models._image_features`,
    standardised with training-set buffers) beside the pooled features in front of the linear head, so
    one network, trained by one loop, also sees what a colour/texture classifier sees. `feature_blend`
    instead keeps the CNN as it is and, in evaluation mode, averages its log-odds with those of a logistic
    model on the same statistics (fitted on the training images by `fit_feature_model`; its coefficients and
    standardisation are buffers, so they ship in the safetensors and stay frozen in federated training,
    where the CNN trains alone). `tta` names the
    test-time augmentation of evaluation mode (`TTA_VIEWS`): the logits averaged over flipped or shifted
    copies, inside `forward`, so serving, calibration, explanations and federated evaluation all see the
    same function; training mode always reads the image once.
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
        handcrafted: bool = False,
        tta: str = "none",
        feature_blend: bool = False,
    ):
        super().__init__()
        if tta not in TTA_VIEWS:
            raise ValueError(f"tta must be one of {', '.join(TTA_VIEWS)}")
        if feature_blend and (handcrafted or n_classes != 2):
            raise ValueError("feature_blend is for two classes and excludes handcrafted")
        self.handcrafted, self.tta, self.feature_blend = handcrafted, tta, feature_blend
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
        n_extra = 0
        if handcrafted or feature_blend:
            from hub.models._image_features import n_features

            n = n_features(in_channels)
            n_extra = n if handcrafted else 0
            self.register_buffer("feature_mean", torch.zeros(n))
            self.register_buffer("feature_std", torch.ones(n))
        if feature_blend:
            self.register_buffer("feature_coef", torch.zeros(n))
            self.register_buffer("feature_intercept", torch.zeros(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(width + n_extra, n_classes))

    def set_statistics(self, x: np.ndarray) -> None:
        """Store the training set's per-channel mean / std and mean image (x: N, C, H, W in [0, 1])."""
        self.channel_mean.copy_(torch.as_tensor(x.mean(axis=(0, 2, 3)), dtype=torch.float32))
        self.channel_std.copy_(torch.as_tensor(np.maximum(x.std(axis=(0, 2, 3)), 1e-3), dtype=torch.float32))
        self.mean_image.copy_(torch.as_tensor(x.mean(axis=0), dtype=torch.float32))
        if self.handcrafted:
            f = self._raw_features(torch.as_tensor(np.asarray(x), dtype=torch.float32))
            self.feature_mean.copy_(f.mean(dim=0))
            self.feature_std.copy_(f.std(dim=0).clamp_min(1e-4))

    def fit_feature_model(self, x: np.ndarray, y: np.ndarray) -> float:
        """Fit the blended logistic model on training images (standardised features, L2 penalty chosen by
        5-fold cross-validated ROC AUC on these images only); returns the chosen C."""
        from sklearn.linear_model import LogisticRegressionCV

        f = self._raw_features(torch.as_tensor(np.asarray(x), dtype=torch.float32)).double().numpy()
        mean, std = f.mean(axis=0), np.maximum(f.std(axis=0), 1e-4)
        model = LogisticRegressionCV(Cs=np.logspace(-3, 2, 11), cv=5, scoring="roc_auc", max_iter=5000)
        with warnings.catch_warnings():  # scikit-learn 1.8's notices of future defaults, not about this fit
            warnings.simplefilter("ignore", FutureWarning)
            model.fit((f - mean) / std, np.asarray(y))
        for name, value in (("feature_mean", mean), ("feature_std", std), ("feature_coef", model.coef_[0]),
                            ("feature_intercept", model.intercept_)):
            getattr(self, name).copy_(torch.as_tensor(value, dtype=torch.float32))
        return float(model.C_[0])

    @staticmethod
    def _raw_features(x: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
        from hub.models._image_features import colour_texture_features

        with torch.no_grad():
            return torch.cat([colour_texture_features(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = TTA_VIEWS[self.tta]
        if self.training:
            return self._forward_once(x)
        if len(views) == 1:
            out = self._forward_once(x)
        else:  # one pass over all views (BatchNorm in evaluation mode treats each image alone)
            out = self._forward_once(torch.cat([view(x, *v) for v in views])).view(len(views), x.shape[0], -1).mean(dim=0)
        if self.feature_blend:
            from hub.models._image_features import colour_texture_features

            f = (colour_texture_features(x) - self.feature_mean) / self.feature_std
            z = f @ self.feature_coef + self.feature_intercept
            # log-odds: the mean of the network's and the logistic model's
            out = 0.5 * out + 0.5 * torch.stack([torch.zeros_like(z), z], dim=1)
        return out

    def _forward_once(self, x: torch.Tensor) -> torch.Tensor:
        h = (x - self.channel_mean[None, :, None, None]) / self.channel_std[None, :, None, None]
        h = F.adaptive_avg_pool2d(self.features(h), 1).flatten(1)
        if self.handcrafted:
            from hub.models._image_features import colour_texture_features

            h = torch.cat([h, (colour_texture_features(x) - self.feature_mean) / self.feature_std], dim=1)
        return self.head(h)


#: test-time views as (dy, dx, horizontal flip, vertical flip), the identity first
_SHIFTS = [(0, 0, False, False), (1, 0, False, False), (-1, 0, False, False), (0, 1, False, False), (0, -1, False, False)]
TTA_VIEWS: dict[str, list[tuple[int, int, bool, bool]]] = {
    "none": [(0, 0, False, False)],
    "hflip": [(0, 0, False, False), (0, 0, True, False)],
    "shift1": _SHIFTS,
    "flips": [(0, 0, h, v) for h in (False, True) for v in (False, True)],
}


def view(x: torch.Tensor, dy: int, dx: int, hflip: bool, vflip: bool) -> torch.Tensor:
    """`x` (B, C, H, W) read at (row + dy, column + dx) (edges replicated, size kept), then flipped."""
    if dy or dx:
        p = max(abs(dy), abs(dx))
        h, w = x.shape[-2:]
        x = F.pad(x, (p, p, p, p), mode="replicate")[..., p + dy : p + dy + h, p + dx : p + dx + w]
    if hflip:
        x = x.flip(-1)
    if vflip:
        x = x.flip(-2)
    return x


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


def image_embedding(network: nn.Module, x: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
    """Per image: a 6x6 thumbnail of the input, and each conv stage's channel means (before pooling).

    The network's own features tell X-rays from fundus photographs and noise; the thumbnail adds the
    layout of the input itself, which features trained to separate two classes can ignore.
    """
    out = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb = torch.as_tensor(np.asarray(x[start : start + batch_size]), dtype=torch.float32)
            feats = [F.adaptive_avg_pool2d(xb, 6).flatten(1)]
            h = (xb - network.channel_mean[None, :, None, None]) / network.channel_std[None, :, None, None]
            last = len(network.features) - 1
            for i, layer in enumerate(network.features):
                h = layer(h)
                if isinstance(layer, nn.MaxPool2d) or i == last:
                    feats.append(h.mean(dim=(2, 3)))
            out.append(torch.cat(feats, dim=1).numpy())
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 0))
