"""`hub.optim.AdamW` follows `torch.optim.AdamW` step by step, and creating it imports no `torch._dynamo`."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from hub.optim import AdamW


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


@pytest.mark.parametrize(("lr", "weight_decay"), [(3e-3, 1e-3), (1e-2, 0.0), (1e-3, 0.1)])
def test_same_weights_as_torch_adamw_after_many_steps(lr, weight_decay):
    ours_net, ref_net = _net(1), _net(1)
    ours = AdamW(ours_net.parameters(), lr=lr, weight_decay=weight_decay)
    ref = torch.optim.AdamW(ref_net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(0)
    for step in range(60):
        x = torch.randn(16, 6, generator=gen)
        y = torch.randint(0, 3, (16,), generator=gen)
        for net, opt in ((ours_net, ours), (ref_net, ref)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            if step % 7 == 3:  # a parameter without a gradient this step: skipped, its step count too
                net[2].bias.grad = None
            opt.step()
    for a, b in zip(ours_net.parameters(), ref_net.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    assert any((a - p).abs().max() > 1e-3 for a, p in zip(ours_net.parameters(), _net(1).parameters()))


def test_empty_parameter_list_is_refused():
    with pytest.raises(ValueError, match="empty"):
        AdamW([])


def test_training_with_it_does_not_import_dynamo():
    code = ("import sys, torch\nfrom hub.optim import AdamW\nnet = torch.nn.Linear(3, 2)\nopt = AdamW(net.parameters())\n"
            "net(torch.ones(4, 3)).sum().backward()\nopt.step()\nprint('torch._dynamo' in sys.modules)\n"
            "torch.optim.AdamW(net.parameters())\nprint('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]  # the probe sees torch.optim's import, so it can fail
