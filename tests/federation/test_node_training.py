"""Local training on a node without Flower: arrays in / out, FedProx, DP-SGD, frozen buffers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from federation.config import JobConfig
from federation.dp import DpConfig, dp_train, freeze_batchnorm
from federation.errors import FederationError
from federation.node import HospitalNode, NodeConfig
from federation.node_state import NodeState
from federation.training import (
    LocalConfig,
    build_network,
    exchange_keys,
    frozen_state,
    get_arrays,
    local_fit,
    network_config,
    set_arrays,
)
from hub.models import get_task

BC = get_task("breast_cancer")


@pytest.fixture
def parent(wdbc):
    x, y = wdbc
    net = BC.build_network()
    net.set_standardization(x)
    return net


def test_exchange_excludes_preprocessing_statistics(parent):
    keys = exchange_keys(parent)
    assert "mean" not in keys and "std" not in keys and all(k.startswith("mlp.") for k in keys)
    image = get_task("glaucoma").build_network()
    ikeys = exchange_keys(image)
    assert any(k.endswith("running_var") for k in ikeys)
    assert not any(k.endswith("num_batches_tracked") or k in ("mean_image", "channel_mean") for k in ikeys)
    # the colour/texture model (blend) and head standardisation are the parent's, like preprocessing statistics
    assert "feature_coef" in image.state_dict() and not any(k.startswith("feature_") for k in ikeys)
    hybrid = get_task("glaucoma").build_network(handcrafted=True, feature_blend=False)
    assert "feature_mean" in hybrid.state_dict() and not {"feature_mean", "feature_std"} & set(exchange_keys(hybrid))


def test_rebuilt_network_matches_parent(parent, wdbc):
    x, _ = wdbc
    clone = build_network(BC, network_config(parent), frozen_state(parent))
    set_arrays(clone, get_arrays(parent))
    clone.eval()
    parent.eval()
    with torch.no_grad():
        assert torch.allclose(clone(torch.as_tensor(x[:5])), parent(torch.as_tensor(x[:5])))
    arrays = get_arrays(parent)
    arrays[0] = arrays[0][:, :3]
    with pytest.raises(ValueError, match="wrong shape"):
        set_arrays(clone, arrays)


def _drift(a, b):
    return float(np.sqrt(sum(((p - q) ** 2).sum() for p, q in zip(a, b))))


def test_fedprox_keeps_local_model_near_the_global_one(parent, wdbc):
    x, y = wdbc
    skew = np.flatnonzero(y == 1)[:150]  # a hospital that only sees malignant cases: strong client drift
    start = get_arrays(parent)
    plain = build_network(BC, network_config(parent), frozen_state(parent))
    set_arrays(plain, start)
    prox = build_network(BC, network_config(parent), frozen_state(parent))
    set_arrays(prox, start)
    a = local_fit(BC, plain, x[skew], y[skew], LocalConfig(epochs=5, lr=0.01))
    b = local_fit(BC, prox, x[skew], y[skew], LocalConfig(epochs=5, lr=0.01, proximal_mu=5.0))
    assert _drift(b.arrays, start) < 0.8 * _drift(a.arrays, start)


def test_dp_sgd_trains(parent, wdbc):
    x, y = wdbc
    before = get_arrays(parent)
    out = dp_train(parent, x[:200], y[:200], epochs=2, lr=0.003, config=DpConfig(clip=1.0, noise_multiplier=1.0))
    assert out.steps == 2 * 7 and np.isclose(out.q, 32 / 200)
    assert _drift(get_arrays(parent), before) > 0


def test_dp_sgd_freezes_batchnorm_so_examples_stay_independent():
    """The CNNs have BatchNorm: under DP it normalises with the shipped running statistics (no batch
    statistics, no updates), so an example's output does not depend on the rest of its batch."""
    task = get_task("pneumonia")
    net = task.build_network()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():  # running statistics as a trained parent would have them
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
    x = torch.rand(40, task.channels, task.image_size, task.image_size, generator=gen).numpy()
    y = (torch.rand(40, generator=gen) < 0.5).long().numpy()
    stats = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    weights = [p.detach().clone() for p in net.parameters()]
    dp_train(net, x, y, epochs=1, lr=0.01, config=DpConfig(clip=1.0, noise_multiplier=1.0, batch_size=16))
    state = net.state_dict()
    assert stats and all(torch.equal(state[k], v) for k, v in stats.items())  # nothing learned from the batch
    assert any(not torch.equal(p, w) for p, w in zip(net.parameters(), weights))
    assert all(torch.isfinite(p).all() for p in net.parameters())
    net.train()
    freeze_batchnorm(net)
    for m in net.modules():  # dropout is per example already; switched off only to compare outputs exactly
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    xt = torch.as_tensor(x[:8])
    with torch.no_grad():
        together, alone = net(xt), torch.cat([net(xt[i:i + 1]) for i in range(8)])
    assert torch.allclose(together, alone, atol=1e-5)


def test_hospital_node_fit_and_evaluate(tmp_path, wdbc_csv, parent):
    state = NodeState(tmp_path / "state")
    state.grant("breast_cancer")
    node = HospitalNode(NodeConfig(data_path=str(wdbc_csv), state_dir=str(state.folder)),
                        JobConfig(task="breast_cancer", dp=True, dp_epsilon=2.0, num_rounds=2))
    config = {"server-round": 1, "run-name": "t", "network-config": network_config(parent),
              "frozen": frozen_state(parent)}
    start = get_arrays(parent)
    update, n, metrics = node.fit(start, config)
    assert 0 < _drift(update, [np.zeros_like(a) for a in update]) < 10  # an update (delta), not weights
    arrays = [a + d for a, d in zip(start, update)]
    assert n == len(node.data().y_train) and metrics["hospital"] == state.pseudonym()
    assert 0 < metrics["epsilon_round"] <= metrics["epsilon_total"] <= 2.0
    assert set(metrics) == {"hospital", "loss", "epsilon_round", "epsilon_total", "delta", "noise_multiplier",
                            "global_loss", "global_n", "global_roc_auc", "global_accuracy", "global_macro_f1"}
    assert metrics["global_n"] == len(node.data().y_val)  # the parent's score on the held-out split
    loss, n_val, m = node.evaluate(arrays, config)
    assert n_val == len(node.data().y_val) and 0.5 < m["roc_auc"] <= 1.0
    assert state.contributions()[0]["samples"] == n


def test_a_diverged_node_sits_the_round_out_instead_of_sending_it(tmp_path, wdbc_csv, parent):
    # with SecAgg+ the server cannot check one update, so the honest node checks its own before sending
    state = NodeState(tmp_path / "state")
    state.grant("breast_cancer")
    node = HospitalNode(NodeConfig(data_path=str(wdbc_csv), state_dir=str(state.folder)),
                        JobConfig(task="breast_cancer", lr=1e37, local_epochs=3))
    config = {"server-round": 1, "run-name": "t", "network-config": network_config(parent),
              "frozen": frozen_state(parent)}
    with pytest.raises(FederationError, match="diverged"):
        node.fit(get_arrays(parent), config)
    assert state.contributions() == []


def test_shipped_ecg_network_trains_on_a_node_and_keeps_its_trees():
    """The ECG baseline mixes a CNN with boosted trees held as buffers: a hospital rebuilds it from the
    parent's config and frozen buffers, trains the CNN half (plain and DP-SGD) and never changes the trees."""
    from pathlib import Path

    from hub.registry.base import load_network

    ecg = get_task("ecg")
    folder = Path(__file__).resolve().parents[2] / "hub" / "models" / "weights" / "ecg"
    parent = load_network(ecg.network_class, folder, label="shipped ecg")
    assert parent.trees is not None and not any(k.startswith("trees.") for k in exchange_keys(parent))
    cases = ecg.read_input(next(p for p in ecg.example_inputs() if p.suffix == ".hea"))
    x = np.asarray(cases.x, dtype=np.float32)
    with torch.no_grad():
        y = parent(torch.as_tensor(x)).argmax(dim=1).numpy()
    for dp in (None, DpConfig(clip=1.0, noise_multiplier=0.5, batch_size=16)):
        clone = build_network(ecg, network_config(parent), frozen_state(parent))
        set_arrays(clone, get_arrays(parent))
        clone.eval()
        with torch.no_grad():
            assert torch.allclose(clone(torch.as_tensor(x)), parent(torch.as_tensor(x)), atol=1e-5)
        trees = {k: v.clone() for k, v in clone.trees.state_dict().items()}
        out = local_fit(ecg, clone, x, (y + 1) % 3, LocalConfig(epochs=2, batch_size=16, lr=0.01, dp=dp))
        assert _drift(out.arrays, get_arrays(parent)) > 0
        assert all(torch.equal(v, clone.trees.state_dict()[k]) for k, v in trees.items())


def test_calibrated_noise_is_computed_once_per_job_settings_and_kept_in_the_memo(tmp_path, monkeypatch):
    """The DP noise calibrated to a job's epsilon (a bisection) is memoised by its inputs: a later message's
    node (a fresh process, same context.state record) reuses it; other settings compute their own."""
    from flwr.app import ConfigRecord

    import federation.node as node_module

    calls = []
    real = node_module.calibrate_sigma
    monkeypatch.setattr(node_module, "calibrate_sigma", lambda **kw: calls.append(kw) or real(**kw))
    memo = ConfigRecord()  # what the ClientApp passes: a record of the node's context.state
    cfg = NodeConfig(data_path=str(tmp_path / "none.csv"), state_dir=str(tmp_path / "state"))
    job = JobConfig(task="breast_cancer", dp=True, dp_epsilon=2.0, num_rounds=3)
    first = HospitalNode(cfg, job, memo=memo).round_cost(300)
    again = HospitalNode(cfg, job, memo=memo).round_cost(300)
    assert len(calls) == 1 and again.sigma == first.sigma and np.array_equal(again.rdp, first.rdp)
    assert first.sigma == real(target_epsilon=2.0, q=first.q, steps=first.steps * 3, delta=job.dp_delta)
    HospitalNode(cfg, JobConfig(task="breast_cancer", dp=True, dp_epsilon=4.0, num_rounds=3), memo=memo).round_cost(300)
    HospitalNode(cfg, job, memo=memo).round_cost(150)  # fewer rows: another sampling rate
    assert len(calls) == 3
    HospitalNode(cfg, job).round_cost(300)  # no memo: computed again
    assert len(calls) == 4
