"""Image quality headroom (issue 16 item 6): wider networks, seed ensembles, test-time augmentation, and for
glaucoma colour/texture features, all judged on the validation split only.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.image_headroom --task pneumonia --data ../shared/data \
        [--seeds 1 2] [--variants base wide] [--cache DIR]

The shipped v1.0 network is the reference ("shipped"); other networks are trained with the task's own fit
configuration and augmentation (epoch kept by validation ROC AUC, as the baseline does) and cached in
`--cache` so a second run only evaluates. Every model is scored with and without test-time augmentation
(averaged logits over shifted / flipped copies), seed ensembles average the members' logits. For glaucoma a
logistic model on `hub.models._image_features` (C chosen by 5-fold CV on the training split) is scored alone
and averaged with the network at the log-odds level (equal weights: nothing tuned on validation).
Validation ROC AUC is near 1 for both tasks, so log loss and Brier score are reported beside it, and a
candidate counts as better only when it beats the spread between seeds of the same configuration.
Writes benchmarks/results/image_headroom-<task>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.common import RESULTS, ROOT, machine

WIDE = {"pneumonia": {"widths": [32, 64, 128]}, "glaucoma": {"widths": [32, 64, 128, 256]}}
HYBRID = {"glaucoma": {"handcrafted": True}}


def _views(task_name: str) -> dict[str, list[tuple[int, int, bool, bool]]]:
    """The TTA view sets (`hub.models._image_net.TTA_VIEWS`) worth trying: X-rays are not flipped upside down."""
    from hub.models._image_net import TTA_VIEWS

    names = ("none", "shift1", "flips") if task_name == "glaucoma" else ("none", "shift1", "hflip")
    return {n: TTA_VIEWS[n] for n in names}


def logits(network, x: np.ndarray, views) -> np.ndarray:
    """Mean logit of the positive class minus the other (binary log-odds) over the views."""
    import torch

    from hub.models._image_net import view

    network.eval()
    out = []
    with torch.inference_mode():
        xt = torch.as_tensor(x, dtype=torch.float32)
        for start in range(0, len(xt), 256):
            xb = xt[start : start + 256]
            z = torch.stack([network(view(xb, *v)) for v in views]).mean(dim=0)
            out.append((z[:, 1] - z[:, 0]).numpy())
    return np.concatenate(out).astype(np.float64)


def scores(y: np.ndarray, z: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    p = 1.0 / (1.0 + np.exp(-z))
    return {"auc": roc_auc_score(y, z), "log_loss": log_loss(y, np.clip(p, 1e-7, 1 - 1e-7)),
            "brier": brier_score_loss(y, p), "accuracy": float(((z > 0) == (y == 1)).mean())}


def train_candidate(task, splits, hp: dict, seed: int, cache: Path, progress=print):
    """The network for (hp, seed), from `cache` or trained now; returns (network, seconds or None)."""
    import safetensors.torch
    import torch

    from hub.models._image_net import fit_image, make_augment

    key = "-".join(f"{k}{'x'.join(map(str, v)) if isinstance(v, list) else v}" for k, v in sorted(hp.items())) or "base"
    path = cache / f"{task.name}-{key}-s{seed}.safetensors"
    net = task.build_network(**hp)
    if path.is_file():
        safetensors.torch.load_model(net, str(path))
        return net.eval(), None
    torch.manual_seed(seed)
    cfg = replace(task.fit_config, seed=seed)
    net.set_statistics(splits.x_train)
    started = time.perf_counter()
    net, _, _ = fit_image(net, splits.x_train, splits.y_train, splits.x_val, splits.y_val, config=cfg,
                          n_classes=len(task.labels), score=lambda y, p: (m := task.metrics(y, p)).get("roc_auc", 0.0)
                          + 0.01 * m["accuracy"], augment=make_augment(task.augment_config),
                          progress=lambda s: progress(f"[{key} s{seed}] {s}"))
    seconds = time.perf_counter() - started
    safetensors.torch.save_model(net, str(path))
    (path.with_suffix(".json")).write_text(json.dumps({"hp": hp, "seed": seed, "seconds": seconds}))
    return net.eval(), seconds


def feature_model(splits) -> tuple[np.ndarray, float]:
    """Validation log-odds of a logistic model on colour/texture features; C by 5-fold CV on train."""
    import torch
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from hub.models._image_features import colour_texture_features

    def feats(x):
        with torch.inference_mode():
            return torch.cat([colour_texture_features(torch.as_tensor(x[i : i + 64]))
                              for i in range(0, len(x), 64)]).double().numpy()

    model = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=np.logspace(-3, 2, 11), cv=5,
                                                                 scoring="roc_auc", max_iter=5000))
    model.fit(feats(splits.x_train), splits.y_train)
    return model.decision_function(feats(splits.x_val)), float(model[-1].C_[0])


def forward_ms(network, x: np.ndarray, n_views: int, repeats: int = 30) -> float:
    """Median time of one single-image forward pass over `n_views` views (the serving cost)."""
    import statistics

    import torch

    xb = torch.as_tensor(x[:1], dtype=torch.float32).repeat(n_views, 1, 1, 1)
    network.eval()
    with torch.inference_mode():
        network(xb)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            network(xb)
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=["pneumonia", "glaucoma"])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--variants", nargs="*", default=["base", "wide"])
    parser.add_argument("--wide-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/medhive-image-headroom"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from hub.models import get_task
    from hub.registry.base import load_network

    args.cache.mkdir(parents=True, exist_ok=True)
    task = get_task(args.task)
    splits = task.load_training_data(args.data)
    y = splits.y_val
    load_start = os.getloadavg()
    models: dict[str, object] = {"shipped": load_network(task.network_class, ROOT / "hub/models/weights" / args.task,
                                                          label=args.task)}
    train_seconds: dict[str, float] = {}
    for variant in args.variants:
        hp = {"base": {}, "wide": WIDE[args.task], "hybrid": HYBRID.get(args.task, {})}[variant]
        for seed in (args.seeds if variant == "base" else args.wide_seeds):
            net, secs = train_candidate(task, splits, hp, seed, args.cache)
            models[f"{variant} s{seed}"] = net
            if secs is not None:
                train_seconds[f"{variant} s{seed}"] = secs
    views = _views(args.task)
    z: dict[tuple[str, str], np.ndarray] = {}
    for name, net in models.items():
        for vname, vs in views.items():
            z[(name, vname)] = logits(net, splits.x_val, vs)
    rows = [(name, vname, len(views[vname]), scores(y, zz)) for (name, vname), zz in z.items()]
    base_members = ["shipped"] + [f"base s{s}" for s in args.seeds if f"base s{s}" in models]
    if len(base_members) > 1:
        for vname in views:
            zz = np.mean([z[(m, vname)] for m in base_members], axis=0)
            rows.append((f"ensemble of {len(base_members)} ({', '.join(base_members)})", vname,
                         len(views[vname]) * len(base_members), scores(y, zz)))
    extra = []
    if args.task == "glaucoma":
        zf, c = feature_model(splits)
        rows.append((f"colour/texture features + logistic (C={c:g})", "-", 0, scores(y, zf)))
        for name, net in models.items():  # the probability-level ensemble of each plain CNN with the features
            if getattr(net, "handcrafted", False) or getattr(net, "feature_blend", False):
                continue
            for vname in ("none", "flips"):
                zb = 0.5 * (z[(name, vname)] + zf)
                rows.append((f"{name} + features, mean log-odds", vname, len(views[vname]), scores(y, zb)))
        extra.append("features: " + ", ".join(["mean, sd, skewness per channel", "8-bin soft histogram per channel",
                                               "4 ring means per channel", "gradient energy per channel",
                                               "pale-area ratio", "9-bin soft LBP"]))
    cost = {name: forward_ms(net, splits.x_val, 1) for name, net in models.items() if name in ("shipped", *models)}
    load_end = os.getloadavg()
    lines = [f"# Image quality headroom: {args.task} (validation split only)", "",
             f"`OMP_NUM_THREADS={args.threads} python -m benchmarks.image_headroom --task {args.task} "
             f"--seeds {' '.join(map(str, args.seeds))} --variants {' '.join(args.variants)}`", "",
             f"Machine: {machine()}; 1-minute load {load_start[0]:.1f} at the start, {load_end[0]:.1f} at the end. "
             f"Validation: {len(y)} cases ({int((y == 1).sum())} positive). Training: the task's fit configuration "
             "(epoch kept by validation ROC AUC).", ""]
    lines += ["| model | TTA views | forwards per image | ROC AUC | log loss | Brier | accuracy |", "|---|---|---|---|---|---|---|"]
    for name, vname, n, s in rows:
        lines.append(f"| {name} | {vname} | {n} | {s['auc']:.4f} | {s['log_loss']:.4f} | {s['brier']:.4f} | {s['accuracy']:.4f} |")
    lines += ["", "Single-image forward pass, no TTA (1 thread): " + ", ".join(f"{k} {v:.2f} ms" for k, v in cost.items()),
              "Training seconds (this run): " + (", ".join(f"{k} {v:.0f}" for k, v in train_seconds.items()) or "all cached"),
              *extra, ""]
    text = "\n".join(lines)
    out = args.out or RESULTS / f"image_headroom-{args.task}.md"
    out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
