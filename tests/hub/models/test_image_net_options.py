"""The image network's options: test-time augmentation inside `forward` and the colour/texture head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hub.models._image_features import HIST_BINS, colour_texture_features, n_features
from hub.models._image_net import TTA_VIEWS, ImageNet, view


def _net(**kw) -> ImageNet:
    torch.manual_seed(0)
    return ImageNet(in_channels=3, image_size=32, widths=[8, 16], stem_stride=2, **kw)


def test_view_shifts_with_replicated_edges_and_flips():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    up = view(x, 1, 0, False, False)  # read one row lower: content moves up, the bottom row repeats
    assert torch.equal(up[0, 0, :-1], x[0, 0, 1:]) and torch.equal(up[0, 0, -1], x[0, 0, -1])
    right = view(x, 0, -1, False, False)  # read one column to the left: content moves right
    assert torch.equal(right[0, 0, :, 1:], x[0, 0, :, :-1]) and torch.equal(right[0, 0, :, 0], x[0, 0, :, 0])
    assert torch.equal(view(x, 0, 0, True, True), x.flip(-1).flip(-2))


@pytest.mark.parametrize("tta", ["shift1", "flips", "hflip"])
def test_tta_averages_the_views_in_eval_mode_only(tta):
    net = _net(tta=tta)
    x = torch.rand(3, 3, 32, 32)
    net.eval()
    with torch.no_grad():
        expected = torch.stack([net._forward_once(view(x, *v)) for v in TTA_VIEWS[tta]]).mean(dim=0)
        single = net._forward_once(x)
        out = net(x)
    assert torch.allclose(out, expected, atol=1e-5) and not torch.allclose(out, single, atol=1e-5)
    net.train()
    torch.manual_seed(1)
    a = net(x)
    torch.manual_seed(1)
    assert torch.allclose(a, net._forward_once(x))  # training reads each image once


def test_unknown_tta_is_refused():
    with pytest.raises(ValueError, match="tta must be one of"):
        _net(tta="rotate")


def test_options_survive_save_and_load(tmp_path):
    net = _net(tta="flips", handcrafted=True)
    net.set_statistics(np.random.default_rng(0).random((8, 3, 32, 32), dtype=np.float32))
    net.save_pretrained(tmp_path)
    loaded = ImageNet.from_pretrained(tmp_path, strict=True).eval()
    assert loaded.tta == "flips" and loaded.handcrafted
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), net.eval()(x), atol=1e-6)


def test_features_have_the_stated_size_and_read_colour_and_texture():
    flat = torch.full((1, 3, 32, 32), 0.3)
    red = flat.clone()
    red[:, 0] = 0.8
    noisy = (flat + 0.2 * torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    f = colour_texture_features(torch.cat([flat, red, noisy]))
    assert f.shape == (3, n_features(3)) and torch.isfinite(f).all()
    assert f[1, 0] > f[0, 0] + 0.4 and torch.allclose(f[1, 1:3], f[0, 1:3])  # red channel mean only
    hist = f[0, 9 : 9 + HIST_BINS]  # channel 0's soft histogram: 0.3 falls in bin 2 of 8
    assert int(hist.argmax()) == 2
    grad = f[:, 9 + 3 * HIST_BINS + 3 * 4 : 9 + 3 * HIST_BINS + 3 * 4 + 3]  # gradient energy per channel
    assert (grad[2] > 10 * grad[0]).all()


def test_hybrid_standardises_features_on_training_images_and_passes_gradients():
    x = np.random.default_rng(1).random((16, 3, 32, 32), dtype=np.float32)
    net = _net(handcrafted=True)
    net.set_statistics(x)
    raw = colour_texture_features(torch.as_tensor(x))
    z = (raw - net.feature_mean) / net.feature_std
    assert torch.allclose(z.mean(dim=0), torch.zeros(z.shape[1]), atol=1e-4)
    assert net.head[-1].in_features == 16 + n_features(3)
    xt = torch.as_tensor(x[:2]).requires_grad_()
    net.eval()(xt)[:, 1].sum().backward()
    assert xt.grad is not None and float(xt.grad.abs().sum()) > 0


def test_feature_blend_averages_log_odds_in_eval_mode_and_trains_the_cnn_alone():
    rng = np.random.default_rng(2)
    x = rng.random((40, 3, 32, 32), dtype=np.float32)
    y = np.array([0, 1] * 20)
    x[y == 1, 0] = np.clip(x[y == 1, 0] + 0.3, 0, 1)  # the positive class is redder
    net = _net(feature_blend=True)
    c = net.fit_feature_model(x, y)
    assert c > 0 and float(net.feature_coef.abs().sum()) > 0
    xt = torch.as_tensor(x[:6])
    net.eval()
    with torch.no_grad():
        cnn = net._forward_once(xt)
        f = (colour_texture_features(xt) - net.feature_mean) / net.feature_std
        z = f @ net.feature_coef + net.feature_intercept
        out = net(xt)
    assert torch.allclose(out[:, 1] - out[:, 0], 0.5 * (cnn[:, 1] - cnn[:, 0]) + 0.5 * z, atol=1e-5)
    assert ((z > 0) == torch.as_tensor(y[:6] == 1)).all()  # the logistic model alone reads the colour
    net.train()
    torch.manual_seed(3)
    a = net(xt)
    torch.manual_seed(3)
    assert torch.allclose(a, net._forward_once(xt))
    with pytest.raises(ValueError, match="feature_blend"):
        _net(feature_blend=True, handcrafted=True)
