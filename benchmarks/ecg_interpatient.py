"""ECG beat classes on unseen patients: leave-records-out cross-validation on MIT-BIH DS1.

    python -m benchmarks.ecg_interpatient [--models NAME ...] [--quick]

Every fold holds out whole records (two per fold, 11 folds over the 22 DS1 records of de Chazal et al.
2004, grouped so that the records rich in S or V beats fall in different folds); each model is trained
on the other 20 records with reference beat positions and scored on the held-out ones. Reported: S and
V sensitivity (Se) and positive predictivity (+P) per fold and pooled over all out-of-fold beats (the
AAMI EC57 gross statistics). Only DS1 is used; DS2 is kept apart for independent evaluation.

Models (names for --models): the classical ones read the scalar beat features (RR intervals relative
to the patient's own rhythm and morphology relative to the patient's own median beat, `_ecg_signal`):
`lda` (de Chazal's linear discriminants, equal priors), `logreg` (class-balanced logistic regression),
`hgb` (the shipped class-balanced boosted trees on `TREE_FEATURES`), `hgb_all` (the same on every
scalar feature, P-wave ones included); the networks read the beat
window too: `cnn_v1` (the v1.0 network: its 7 scalar features), `cnn` (all scalar features; both
trained on every non-N beat and a third of the N beats); `ens_A+B@W` mixes the probabilities of two of
them, W x A's + (1 - W) x B's (the shipped model is such a mix of `hgb` and `cnn`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, write_result
from hub.models import _ecg_signal as sig
from hub.models.ecg import DS1, LABELS, load_record

# two records per fold; the S-rich (209, 201, 207, 118, 220, 223, 124) and V-rich (208, 119, 203, 106,
# 215) records each in a fold of their own
FOLDS = ((209, 122), (201, 115), (207, 112), (118, 230), (220, 109), (223, 101), (124, 116), (114, 106),
         (208, 108), (119, 205), (203, 215))
assert sorted(r for f in FOLDS for r in f) == sorted(DS1)
N_WAVE = sig.N_CHANNELS * sig.WINDOW
V1_SCALARS = ("pre_rr/median", "post_rr/median", "local_rr/median", "pre_rr/local_rr", "post_rr/pre_rr",
              "template_corr", "ptp/template_ptp")


def _cache(kind: str) -> Path:
    """A file in the temp folder named by the feature code's digest (features change: cache misses)."""
    digest = hashlib.sha256(Path(sig.__file__).read_bytes()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"medhive-ecg-{kind}-{digest}.npz"


def load_ds1(folder: Path) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Features and labels of every DS1 record, cached in the temp folder by the feature code's digest."""
    cache = _cache("ds1")
    if cache.is_file():
        z = np.load(cache)
        return {r: (z[f"x{r}"], z[f"y{r}"]) for r in DS1}
    data = {r: load_record(folder, r)[:2] for r in DS1}
    np.savez(cache, **{f"x{r}": x for r, (x, _) in data.items()}, **{f"y{r}": y for r, (_, y) in data.items()})
    return data


def scalar_columns(names: tuple[str, ...] = sig.SCALARS) -> np.ndarray:
    return np.array([N_WAVE + sig.SCALARS.index(n) for n in names])


def balanced_weights(y: np.ndarray, power: float = 1.0) -> np.ndarray:
    counts = np.bincount(y, minlength=len(LABELS)).astype(float)
    w = np.where(counts > 0, (len(y) / np.maximum(counts, 1)) ** power, 0.0)
    return w[y] / w[y].mean()


def subsample_n(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Indices keeping every non-N beat and a random `fraction` of the N beats (class-balanced sampling,
    and a third of the training time)."""
    from hub.models.ecg import subsample_normal

    return subsample_normal(y, fraction, seed)


# ----- models: fit(x_train, y_train) -> predict_proba(x) ----------------------------------------------
def _proba_full(model, p: np.ndarray) -> np.ndarray:
    out = np.zeros((len(p), len(LABELS)))
    out[:, model.classes_] = p
    return out


def fit_lda(x, y, *, seed):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    cols = scalar_columns()
    classes = np.unique(y)
    m = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto", priors=np.full(len(classes), 1 / len(classes)))
    m.fit(x[:, cols], y)
    return lambda xv: _proba_full(m, m.predict_proba(xv[:, cols]))


def fit_logreg(x, y, *, seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cols = scalar_columns()
    m = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    m.fit(x[:, cols], y, logisticregression__sample_weight=balanced_weights(y))
    return lambda xv: _proba_full(m[-1], m.predict_proba(xv[:, cols]))


def fit_hgb(x, y, *, seed, features: tuple[str, ...] | None = None):
    """The shipped trees (`_ecg_trees.fit_trees` on `TREE_FEATURES`), evaluated by their torch module."""
    import torch

    from hub.models._ecg_trees import TreeEnsemble, fit_trees
    from hub.models.ecg import TREE_FEATURES

    cols = scalar_columns(features or TREE_FEATURES)
    arrays = fit_trees(x[:, cols], y, n_classes=len(LABELS), seed=seed)
    trees = TreeEnsemble(*arrays["feature"].shape, len(cols), len(LABELS), int(arrays["depth"]))
    trees.load_arrays(arrays, x[:, cols].std(axis=0))

    def predict(xv):
        with torch.no_grad():
            return torch.softmax(trees(torch.as_tensor(xv[:, cols])), dim=1).numpy()

    return predict


def fit_hgb_all(x, y, *, seed):
    """The same trees on every scalar feature, the P-wave ones included (the ablation behind TREE_FEATURES)."""
    return fit_hgb(x, y, seed=seed, features=sig.SCALARS)


def _fit_net(x, y, *, seed, scalars: tuple[str, ...], epochs: int = 10, n_fraction: float = 1 / 3):
    import torch

    from hub.models._ecg_net import EcgNet, fit
    from hub.models.ecg import TASK
    from hub.training import predict_proba

    cols = np.concatenate([np.arange(N_WAVE), scalar_columns(scalars)])
    keep = subsample_n(y, n_fraction, seed)
    x, y = x[keep], y[keep]
    torch.manual_seed(seed)
    net = EcgNet(n_rr=len(scalars), n_classes=len(LABELS), **TASK.hyperparameters)
    net.set_standardization(x[:, cols])
    fit(net, np.ascontiguousarray(x[:, cols]), y, {**TASK.train_config, "epochs": epochs}, n_classes=len(LABELS),
        seed=seed, progress=lambda s: None)
    return lambda xv: predict_proba(net, np.ascontiguousarray(xv[:, cols]))


def fit_cnn_v1(x, y, *, seed):
    return _fit_net(x, y, seed=seed, scalars=V1_SCALARS)


def fit_cnn(x, y, *, seed):
    return _fit_net(x, y, seed=seed, scalars=sig.SCALARS)


MODELS: dict[str, Callable] = {"lda": fit_lda, "logreg": fit_logreg, "hgb": fit_hgb, "hgb_all": fit_hgb_all,
                               "cnn_v1": fit_cnn_v1,
                               "cnn": fit_cnn}


# ----- scoring -----------------------------------------------------------------------------------------
def se_pp(y: np.ndarray, pred: np.ndarray, k: int) -> tuple[float, float, int]:
    """(sensitivity, positive predictivity, number of true beats) of class k; NaN where undefined."""
    tp = int(((pred == k) & (y == k)).sum())
    pos, called = int((y == k).sum()), int((pred == k).sum())
    return (tp / pos if pos else float("nan")), (tp / called if called else float("nan")), pos


def cross_validate(data, name: str, *, seed: int = 0, log=print, reuse: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold (labels, probabilities, record of each beat) of one model over FOLDS; with `reuse`, the
    ones saved by an earlier run on the same feature code (the temp folder keeps them)."""
    cache = _cache(f"oof-{name}-seed{seed}")
    if reuse and cache.is_file():
        z = np.load(cache)
        log(f"[{name}] out-of-fold predictions reused from {cache}")
        return z["y"], z["p"], z["g"]
    ys, ps, gs = [], [], []
    for k, held in enumerate(FOLDS, start=1):
        started = time.perf_counter()
        train = [r for r in DS1 if r not in held]
        x = np.concatenate([data[r][0] for r in train])
        y = np.concatenate([data[r][1] for r in train])
        predict = MODELS[name](x, y, seed=seed)
        for r in held:
            ys.append(data[r][1])
            ps.append(predict(data[r][0]))
            gs.append(np.full(len(data[r][1]), r))
        log(f"[{name}] fold {k}/{len(FOLDS)} {held}: {time.perf_counter() - started:.0f} s", flush=True)
    out = np.concatenate(ys), np.concatenate(ps), np.concatenate(gs)
    np.savez(cache, y=out[0], p=out[1], g=out[2])
    return out


def table(rows: list[tuple[str, np.ndarray, np.ndarray]]) -> str:
    out = ["| model / fold | beats | S beats | S Se | S +P | V beats | V Se | V +P | N Se | N +P |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for label, y, pred in rows:
        s, v, n = se_pp(y, pred, 1), se_pp(y, pred, 2), se_pp(y, pred, 0)
        out.append(f"| {label} | {len(y)} | {s[2]} | {s[0]:.3f} | {s[1]:.3f} | {v[2]} | {v[0]:.3f} | {v[1]:.3f} "
                   f"| {n[0]:.3f} | {n[1]:.3f} |")
    return "\n".join(out)


def run(quick: bool = False, models: list[str] | None = None, data_root: Path | None = None, *,
        reuse: bool = False) -> str:
    import torch

    torch.set_num_threads(1)
    folder = Path(data_root or ROOT.parent / "shared" / "data") / "mitbih"
    load = os.getloadavg()[0]
    data = load_ds1(folder)
    from hub.models.ecg import TASK

    shipped = f"ens_hgb+cnn@{TASK.train_config['tree_weight']:g}"
    names = models or (["lda", "logreg", "hgb"] if quick else ["lda", "logreg", "hgb", "hgb_all", "cnn", "ens_hgb+cnn@0.5", shipped])
    results, reused = {}, []
    for name in names:
        if name.startswith("ens_"):
            continue
        results[name] = cross_validate(data, name, reuse=reuse, log=lambda m, **kw: (
            reused.append(m.split("]")[0][1:]) if "reused" in m else None, print(m, **kw)))
    for name in names:
        if name.startswith("ens_"):
            pair, _, weight = name[4:].partition("@")
            a, b = pair.split("+")
            w = float(weight or 0.5)
            y, pa, g = results[a]
            results[name] = (y, w * pa + (1 - w) * results[b][1], g)
    body = [f"Load average at the start: {load:.2f}. Folds (records held out together): "
            + ", ".join("+".join(map(str, f)) for f in FOLDS) + "."
            + (f" Out-of-fold predictions of {', '.join(reused)} reused from earlier runs of the same feature "
               "code (same folds, seed 0)." if reused else "") + "\n",
            "## Pooled over all out-of-fold beats (22 records)\n",
            table([(n, r[0], r[1].argmax(axis=1)) for n, r in results.items()]), ""]
    if shipped in results:
        y, p, _ = results[shipped]
        (s_se, s_pp, _), (v_se, v_pp, _) = se_pp(y, p.argmax(axis=1), 1), se_pp(y, p.argmax(axis=1), 2)
        body += ["## Goals\n", f"Shipped model: `{shipped}` (boosted trees and the CNN, weight "
                 f"{TASK.train_config['tree_weight']:g} on the trees). Cross-validated, pooled:\n",
                 f"- S sensitivity >= 0.60 with +P >= 0.40: {'met' if s_se >= 0.6 and s_pp >= 0.4 else 'NOT met'} "
                 f"(Se {s_se:.3f}, +P {s_pp:.3f})",
                 f"- V sensitivity and +P >= 0.90: {'met' if v_se >= 0.9 and v_pp >= 0.9 else 'NOT met'} "
                 f"(Se {v_se:.3f}, +P {v_pp:.3f})", ""]
    for name, (y, p, g) in results.items():
        pred = p.argmax(axis=1)
        rows = [(f"{'+'.join(map(str, f))}", y[np.isin(g, f)], pred[np.isin(g, f)]) for f in FOLDS]
        body += [f"## {name}: per fold\n", table(rows), ""]
    text = "\n".join(body)
    write_result("ecg_interpatient", "ECG beat classes on unseen patients (leave-records-out CV on MIT-BIH DS1)",
                 text, quick=quick)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ecg_interpatient", description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--reuse", action="store_true", help="reuse saved out-of-fold predictions (same feature code)")
    args = parser.parse_args()
    print(run(args.quick, args.models, args.data, reuse=args.reuse))


if __name__ == "__main__":
    main()
