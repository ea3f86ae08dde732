"""Hand-made colour and texture features of a fundus crop, in torch (differentiable) so a network can use them.

ACRIMA's classes differ in the optic disc's colour and in how much of it is pale (the cup), which simple
statistics capture (Diaz-Pinto et al. 2019 and later work separate them well with colour/texture features).
Per image (B, 3, H, W) in [0, 1] this gives, per RGB channel: mean, standard deviation and skewness; a soft
8-bin histogram; the mean in 4 concentric rings around the centre (disc crops are centred); the mean
gradient magnitude; plus, on the grey image, a soft "pale area" ratio (share of pixels brighter than the
image's own mean + 1 sd over share brighter than its mean: a cup-to-disc-like brightness ratio) and a soft
local-binary-pattern histogram (how many of the 8 neighbours are brighter, 9 bins). Soft (sigmoid or
Gaussian-kernel) counts keep every feature differentiable, so gradient explanations stay faithful.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

HIST_BINS = 8
RINGS = 4
LBP_BINS = 9


def n_features(channels: int = 3) -> int:
    return channels * (3 + HIST_BINS + RINGS + 1) + 1 + LBP_BINS


def _ring_masks(h: int, w: int, device: torch.device) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h, device=device), torch.linspace(-1, 1, w, device=device),
                            indexing="ij")
    r = torch.sqrt(xx**2 + yy**2) / (2**0.5)  # 0 at the centre, 1 in the corners
    edges = torch.linspace(0, 1, RINGS + 1, device=device)
    masks = torch.stack([((r >= lo) & (r < hi)).float() for lo, hi in zip(edges[:-1], edges[1:])])
    masks[-1] += (r >= 1).float()
    return masks / masks.sum(dim=(1, 2), keepdim=True).clamp_min(1.0)


def colour_texture_features(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) in [0, 1] -> (B, n_features(C)) float32."""
    b, c, h, w = x.shape
    flat = x.flatten(2)  # B, C, HW
    mean = flat.mean(dim=2)
    std = flat.std(dim=2).clamp_min(1e-4)
    skew = (((flat - mean[..., None]) / std[..., None]) ** 3).mean(dim=2)
    centres = (torch.arange(HIST_BINS, device=x.device, dtype=x.dtype) + 0.5) / HIST_BINS
    kernel = torch.exp(-0.5 * ((flat[..., None] - centres) * HIST_BINS) ** 2)  # B, C, HW, bins
    hist = (kernel / kernel.sum(dim=3, keepdim=True).clamp_min(1e-6)).mean(dim=2).flatten(1)
    rings = torch.einsum("bchw,rhw->bcr", x, _ring_masks(h, w, x.device)).flatten(1)
    gx, gy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
    grad = torch.sqrt(gx[..., :-1, :] ** 2 + gy[..., :, :-1] ** 2 + 1e-8).mean(dim=(2, 3))
    grey = x.mean(dim=1)  # B, H, W
    g_mean = grey.mean(dim=(1, 2), keepdim=True)
    g_std = grey.std(dim=(1, 2), keepdim=True).clamp_min(1e-4)
    bright = torch.sigmoid((grey - g_mean) / (0.1 * g_std)).mean(dim=(1, 2))
    pale = torch.sigmoid((grey - g_mean - g_std) / (0.1 * g_std)).mean(dim=(1, 2))
    pale_ratio = (pale / bright.clamp_min(1e-4))[:, None]
    padded = F.pad(grey[:, None], (1, 1, 1, 1), mode="replicate")
    ups = [padded[:, 0, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
           for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    brighter = torch.stack([torch.sigmoid((u - grey) / 0.01) for u in ups]).sum(dim=0)  # B, H, W in 0..8
    codes = torch.arange(LBP_BINS, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * ((brighter[..., None] - codes) / 0.5) ** 2)
    lbp = (k / k.sum(dim=-1, keepdim=True).clamp_min(1e-6)).mean(dim=(1, 2))
    return torch.cat([mean, std, skew, hist, rings, grad, pale_ratio, lbp], dim=1)
