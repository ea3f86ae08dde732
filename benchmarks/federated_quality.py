"""Federated model quality against centralized and local-only training (issue "Benchmarks", part 1).

For breast_cancer, pneumonia and ecg the task's training split is dealt to 3, 5 or 10 simulated
hospitals (IID, or non-IID with a Dirichlet label skew of alpha 0.5 / 0.1); UCI heart disease uses its
4 real centres. Every method is scored by ROC AUC on the same evaluation split, which no hospital trains
on (the task's validation split; for heart disease a stratified 25% of each centre's file):

- centralized: one model trained on the pooled training data;
- local: each hospital alone on its own rows (mean and worst over hospitals);
- FedAvg and FedProx (proximal mu 0.01, the federation's default);
- heart disease only: FedAdam and FedYogi, Flower's server-side adaptive optimizers (Reddi et al. 2021;
  FLamby found them best on these 4 centres), run by `flwr.server.strategy.FedAdam` / `FedYogi` themselves
  with Flower's default settings (not tuned here);
- FedAvg with SecAgg+ (the fixed-point quantization of Flower's SecAgg+, see `secagg_mean`);
- FedAvg with DP-SGD at epsilon 1, 3 and 8 per hospital for the whole job (delta 1e-5, clip 1); networks
  without BatchNorm only (see `DP_BATCHNORM`).

The federation is simulated in-process with the code a hospital node runs (`federation.training.local_fit`,
`federation.dp`, `federation.accountant`) and the server's aggregation (`federation.aggregation.weighted_mean`):
each round every hospital trains from the global weights and sends its update (local minus global), the
server adds the sample-weighted mean update. No Flower processes: the Deployment Engine is measured by a
separate benchmark. Every model starts from the same initial weights; centralized and local models get
as many epochs as a federated example sees (rounds x local epochs), with no epoch selection for any method.

    .venv/bin/python -m benchmarks.federated_quality [--quick]
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import RESULTS, ROOT, md_table, write_result

NAME = "federated_quality"
SEED = 0
EPSILONS = (1.0, 3.0, 8.0)
DP_DELTA = 1e-5
DP_CLIP = 1.0
PROXIMAL_MU = 0.01  # federation/app/pyproject.toml proximal-mu
# "FedAvg, other seed": the same federation with other local-training random draws (batch order, dropout,
# augmentation), same initial weights: how much AUC moves for reasons that have nothing to do with the method
SEED_OFFSET = 100
# DP-SGD freezes BatchNorm at the statistics of the parent version; this benchmark trains from scratch, so
# there is no parent and the statistics would be the untrained ones (a trial gave pneumonia AUC 0.30-0.44
# at epsilon 1-8): DP rows for BatchNorm networks (pneumonia, ecg) are not run unless this is True
DP_BATCHNORM = False
# SecAgg+ parameters: federation/app/pyproject.toml (clipping range, max weight) and the defaults of
# flwr 1.32.1's SecAggPlusWorkflow (quantization range 2**22, modulus 2**32)
SECAGG_CLIPPING_RANGE = 8.0
SECAGG_MAX_WEIGHT = 1000.0
SECAGG_QUANTIZATION_RANGE = 2**22
SECAGG_MODULUS_RANGE = 2**32

HOSPITALS_FULL = (3, 5, 10)
HOSPITALS_QUICK = (3,)
SPLITS_FULL: tuple[str | float, ...] = ("iid", 0.5, 0.1)
SPLITS_QUICK: tuple[str | float, ...] = ("iid", 0.5)
TASKS_FULL = ("breast_cancer", "pneumonia", "ecg", "heart_disease")
TASKS_QUICK = ("breast_cancer", "heart_disease")
ECG_CLASSES = ("N", "S", "V", "F")

# goals of the issue
GOAL_IID = 0.99
GOAL_ALPHA05 = 0.97
GOAL_SECAGG = 0.002


@dataclass(frozen=True)
class Plan:
    """How one task is trained: rounds x local epochs (centralized and local: rounds x epochs epochs)."""

    rounds: int
    epochs: int
    batch_size: int
    lr: float
    #: pneumonia: stratified subsample of the training split; ecg: keep 1 in `n_keep_every` N beats
    max_train: int | None = None
    n_keep_every: int | None = None

    @property
    def total_epochs(self) -> int:
        return self.rounds * self.epochs

    def describe(self) -> str:
        return (f"{self.rounds} rounds x {self.epochs} local epoch(s) (centralized and local: {self.total_epochs} "
                f"epochs), batch {self.batch_size}, AdamW lr {self.lr:g}, weight decay 1e-4")


PLANS_FULL = {
    "breast_cancer": Plan(rounds=20, epochs=2, batch_size=32, lr=3e-3),
    "heart_disease": Plan(rounds=20, epochs=2, batch_size=32, lr=3e-3),
    "pneumonia": Plan(rounds=6, epochs=1, batch_size=64, lr=3e-3, max_train=1500),
    "ecg": Plan(rounds=10, epochs=1, batch_size=64, lr=2e-3, n_keep_every=16),
}
PLANS_QUICK = {**PLANS_FULL, "breast_cancer": Plan(rounds=10, epochs=2, batch_size=32, lr=3e-3),
               "heart_disease": Plan(rounds=10, epochs=2, batch_size=32, lr=3e-3)}


def say(message: str) -> None:
    print(f"[fq] {message}", file=sys.stderr, flush=True)


def data_root() -> Path:
    try:
        from medhive.settings import get_settings

        configured = get_settings().data_root
    except Exception:  # settings are optional here: a benchmark without them uses the default folder
        configured = None
    return Path(configured) if configured else ROOT.parent / "shared" / "data"


# ----- data ------------------------------------------------------------------------------------------
@dataclass
class Arm:
    """What one model (centralized, or one hospital alone) trains on and is scored on."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_eval: np.ndarray


@dataclass
class Setting:
    """One (hospitals, split) configuration of a task, preprocessed for every method."""

    n: int
    split: str | float
    central: Arm
    locals: list[Arm]
    hospitals: list[tuple[np.ndarray, np.ndarray]]  # federated training rows per hospital
    x_eval_fed: np.ndarray

    @property
    def sizes(self) -> list[int]:
        return [len(y) for _, y in self.hospitals]


@dataclass
class Bench:
    name: str
    task: Any
    plan: Plan
    y_eval: np.ndarray
    notes: list[str]
    make_setting: Callable[[int, str | float], Setting]
    grid: list[tuple[int, str | float]]
    #: ecg: report per-class sensitivity
    sensitivity: bool = False
    #: also run the server-side adaptive optimizers (FedAdam, FedYogi)
    adaptive: bool = False


def iid_split(y: np.ndarray, n: int, *, seed: int) -> list[np.ndarray]:
    """Stratified random equal shares: each class is shuffled and dealt evenly to the `n` hospitals."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(n)]
    offset = 0
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        for j, i in enumerate(idx):
            parts[(j + offset) % n].append(int(i))
        offset += len(idx)
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def record_dirichlet_split(y: np.ndarray, groups: np.ndarray, n: int, *, alpha: float, seed: int) -> list[np.ndarray]:
    """Whole records (patients) to `n` hospitals with a Dirichlet skew: the record-level analogue of
    `federation.partition.dirichlet_split`. Each record's dominant class is the class of which it holds
    the largest share of all training beats; every hospital first gets one random record, then the
    other records of each dominant class go to hospitals drawn from one Dirichlet(alpha) share vector."""
    rng = np.random.default_rng(seed)
    records = np.unique(groups)
    if len(records) < n:
        raise ValueError(f"{len(records)} records cannot fill {n} hospitals")
    classes = np.unique(y)
    counts = np.array([[np.sum((groups == r) & (y == k)) for k in classes] for r in records], dtype=np.float64)
    dominant = (counts / np.maximum(counts.sum(axis=0), 1)).argmax(axis=1)
    order = rng.permutation(len(records))
    owner = np.full(len(records), -1)
    owner[order[:n]] = np.arange(n)
    for k in np.unique(dominant):
        shares = rng.dirichlet([alpha] * n)
        shares = shares / shares.sum()
        for i in order[n:]:
            if dominant[i] == k:
                owner[i] = rng.choice(n, p=shares)
    return [np.flatnonzero(np.isin(groups, records[owner == h])) for h in range(n)]


def split_label(split: str | float) -> str:
    return "IID" if split == "iid" else f"alpha {split:g}" if isinstance(split, float) else str(split)


def _array_bench(name: str, task: Any, plan: Plan, x_tr: np.ndarray, y_tr: np.ndarray, x_ev: np.ndarray,
                 y_ev: np.ndarray, groups: np.ndarray | None, grid: list[tuple[int, str | float]],
                 notes: list[str], sensitivity: bool = False) -> Bench:
    """A task whose preprocessing lives in the network (standardization buffers): the same arrays for all."""

    def make(n: int, split: str | float) -> Setting:
        if split == "iid":
            parts = iid_split(y_tr, n, seed=SEED)
        elif groups is not None:
            parts = record_dirichlet_split(y_tr, groups, n, alpha=float(split), seed=SEED)
        else:
            from federation.partition import dirichlet_split

            parts = dirichlet_split(y_tr, n, alpha=float(split), seed=SEED)
        hospitals = [(x_tr[p], y_tr[p]) for p in parts]
        return Setting(n=n, split=split, central=Arm(x_tr, y_tr, x_ev),
                       locals=[Arm(x, y, x_ev) for x, y in hospitals], hospitals=hospitals, x_eval_fed=x_ev)

    return Bench(name, task, plan, y_ev, notes, make, grid, sensitivity)


def counts_text(y: np.ndarray, labels: tuple[str, ...]) -> str:
    return ", ".join(f"{lab} {int((y == k).sum())}" for k, lab in enumerate(labels))


def load_breast_cancer(plan: Plan, grid: list[tuple[int, str | float]]) -> Bench:
    from hub.models import get_task

    task = get_task("breast_cancer")
    s = task.load_training_data(None, seed=SEED)
    notes = [f"Data: WDBC (scikit-learn), the task's split (seed {SEED}): {len(s.y_train)} training rows "
             f"({counts_text(s.y_train, task.labels)}) dealt to the hospitals, {len(s.y_val)} evaluation rows.",
             f"Training: {plan.describe()}."]
    return _array_bench("breast_cancer", task, plan, s.x_train, s.y_train, s.x_val, s.y_val, None, grid, notes)


def load_pneumonia(plan: Plan, grid: list[tuple[int, str | float]], root: Path) -> Bench:
    from sklearn.model_selection import train_test_split

    from hub.models import get_task

    task = get_task("pneumonia")
    s = task.load_training_data(root, seed=SEED)
    x, y = s.x_train, s.y_train
    if plan.max_train is not None and len(y) > plan.max_train:
        keep, _ = train_test_split(np.arange(len(y)), train_size=plan.max_train, stratify=y, random_state=SEED)
        keep = np.sort(keep)
        x, y = x[keep], y[keep]
    notes = [f"Data: PneumoniaMNIST official splits; a stratified random {len(y)} of the {len(s.y_train)} training "
             f"images ({counts_text(y, task.labels)}) are dealt to the hospitals (to fit the CPU time budget); "
             f"all {len(s.y_val)} validation images are the evaluation split.",
             f"Training: {plan.describe()}; the task's augmentation runs in local training as on a node."]
    return _array_bench("pneumonia", task, plan, x, y, s.x_val, s.y_val, None, grid, notes)


def load_ecg(plan: Plan, grid: list[tuple[int, str | float]], root: Path) -> Bench:
    from hub.models import get_task

    task = get_task("ecg")
    s = task.load_training_data(root, seed=SEED)
    x, y, g = s.x_train, s.y_train, s.groups_train
    assert g is not None
    if plan.n_keep_every:
        rng = np.random.default_rng(SEED)
        keep = (y != 0) | (rng.random(len(y)) < 1.0 / plan.n_keep_every)
        x, y, g = x[keep], y[keep], g[keep]
    records = ", ".join(str(int(r)) for r in np.unique(g))
    f = task.labels.index("F")
    f_records, f_counts = np.unique(g[y == f], return_counts=True)
    f_top = f"{int(f_counts.max())} of {int(f_counts.sum())} from record {int(f_records[f_counts.argmax()])}"
    f_eval = f"{int((s.y_val == f).sum())} evaluation beats from {len(np.unique(s.groups_val[s.y_val == f]))} records"
    notes = [f"Data: MIT-BIH DS1 beats from the task's loader (lead MLII). Training: records {records} "
             f"({len(np.unique(g))} patients); every S, V, F, Q beat and a random 1 in {plan.n_keep_every} N beats "
             f"are kept, {len(y)} of {len(s.y_train)} beats ({counts_text(y, task.labels)}). Evaluation: the task's "
             f"validation records {', '.join(str(int(r)) for r in np.unique(s.groups_val))}, held out whole, "
             f"all {len(s.y_val)} beats ({counts_text(s.y_val, task.labels)}).",
             f"Splits: IID deals beats (stratified random) regardless of record; the alpha settings deal whole "
             "records (hospitals = patients, no patient at two hospitals) with a record-level Dirichlet skew: "
             "each hospital first gets one random record, then the records of each dominant class (the class of "
             "which a record holds the largest share of all training beats) go to hospitals drawn from one "
             f"Dirichlet(alpha) share vector ({len(np.unique(g))} training records: with 10 hospitals, most hold a "
             "single patient).",
             f"Training: {plan.describe()}; no augmentation (local_fit as on a node). AUC is the macro one-vs-rest "
             "AUC of `hub.metrics` over the classes present in the evaluation split "
             f"({', '.join(lab for k, lab in enumerate(task.labels) if (s.y_val == k).any())}); "
             "sensitivities are of the arg-max prediction. The F class has "
             f"{f_eval} and its training beats are concentrated in one patient ({f_top}), so F and with it the "
             "macro AUC move by a few hundredths between seeds: read the ecg goals against the other-seed column."]
    return _array_bench("ecg", task, plan, x, y, s.x_val, s.y_val, g, grid, notes, sensitivity=True)


# UCI heart disease: the MedHive task `heart_disease` on its natural split (one hospital per centre)
HEART_CENTRES = (("Cleveland", "cleveland"), ("Hungary", "hungarian"), ("Switzerland", "switzerland"),
                 ("VA Long Beach", "va"))


def _fill(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(x), values[None, :], x).astype(np.float32)


def load_heart(plan: Plan, root: Path) -> Bench:
    from sklearn.model_selection import train_test_split

    from hub.errors import DataNotFoundError
    from hub.models import get_task

    task = get_task("heart_disease")
    if not (root / "uci-heart-disease").is_dir():
        raise DataNotFoundError(f"{root / 'uci-heart-disease'} not found")
    # the task's reader: its valid ranges, with a cholesterol or blood pressure of 0 read as not recorded
    parts = task.natural_partitions(root)
    columns = [f.aliases[0] for f in task.input_fields]
    tr, ev = [], []
    for _, key in HEART_CENTRES:
        x, y = parts[key]
        x = x.astype(np.float64)
        i_tr, i_ev = train_test_split(np.arange(len(y)), test_size=0.25, stratify=y, random_state=SEED)
        tr.append((x[i_tr], y[i_tr]))
        ev.append((x[i_ev], y[i_ev]))
    x_ev_raw = np.concatenate([x for x, _ in ev])
    y_ev = np.concatenate([y for _, y in ev])
    ev_centre = np.concatenate([np.full(len(y), h) for h, (_, y) in enumerate(ev)])
    x_tr_raw = np.concatenate([x for x, _ in tr])
    y_tr = np.concatenate([y for _, y in tr])

    with warnings.catch_warnings():  # a column a centre never records has no median: NaN, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        pooled_median = np.nanmedian(x_tr_raw, axis=0)
        centre_median = [np.nanmedian(x, axis=0) for x, _ in tr]
    observed_mean = np.nanmean(x_tr_raw, axis=0)  # a secure sum of per-hospital sums and counts gives this

    def make(n: int, split: str | float) -> Setting:
        central = Arm(_fill(x_tr_raw, pooled_median), y_tr, _fill(x_ev_raw, pooled_median))
        locals_ = []
        for (x, y), med in zip(tr, centre_median):
            # a column this centre never records carries no information for its own model: a constant
            fill = np.where(np.isnan(med), 0.0, med)
            xt, xe = _fill(x, fill), _fill(x_ev_raw, fill)
            xt[:, np.isnan(med)] = 0.0
            xe[:, np.isnan(med)] = 0.0
            locals_.append(Arm(xt, y, xe))
        fed_fill = [np.where(np.isnan(med), observed_mean, med) for med in centre_median]
        hospitals = [(_fill(x, f), y) for (x, y), f in zip(tr, fed_fill)]
        x_ev_fed = np.empty_like(x_ev_raw, dtype=np.float32)
        for h, f in enumerate(fed_fill):
            x_ev_fed[ev_centre == h] = _fill(x_ev_raw[ev_centre == h], f)
        return Setting(n=n, split=split, central=central, locals=locals_, hospitals=hospitals, x_eval_fed=x_ev_fed)

    never = [f"{HEART_CENTRES[h][0]}: {', '.join(columns[j] for j in np.flatnonzero(np.isnan(m)))}"
             for h, m in enumerate(centre_median) if np.isnan(m).any()]
    sizes = ", ".join(f"{c} {len(y)} ({int(y.sum())} with disease)" for (c, _), (_, y) in zip(HEART_CENTRES, tr))
    notes = [f"Data: UCI heart disease, the 4 processed centre files of ../shared/data/uci-heart-disease (80% of each "
             f"centre's rows are there), label num > 0. A stratified 25% of each centre's file (seed {SEED}) is held "
             f"out and pooled as the evaluation split ({len(y_ev)} rows, {int(y_ev.sum())} with disease); the "
             f"hospitals are the 4 centres with the other 75%: {sizes}.",
             "Model: the MedHive task `heart_disease` (`hub.models.heart_disease`: its centre reader and valid "
             "ranges, a cholesterol or resting blood pressure of 0 read as not recorded, its TabularNet with one "
             "hidden layer of 32 and dropout 0.1, the network `medhive federate --task heart_disease` trains on "
             "these same 4 centres).",
             "Missing values: centralized imputes with the medians of the pooled training rows; each hospital alone "
             "imputes with its own training medians, and a column it never records "
             f"({'; '.join(never) if never else 'none'}) is set to a constant, so its own model ignores it; "
             "federated: each hospital imputes its rows with its own medians (a column it never records gets the "
             "mean of the values recorded anywhere, one statistic a secure sum provides), and each evaluation row "
             "is imputed by its own centre the same way. Each model's evaluation rows are imputed with that model's "
             "own rule, so the evaluation rows are the same patients for every method.",
             f"Training: {plan.describe()}.",
             "FedAdam and FedYogi: Flower's own strategies (`flwr.server.strategy.FedAdam` / `FedYogi`, whose "
             "`aggregate_fit` takes each hospital's weights) with Flower's default settings, chosen before any run "
             "and not tuned on the evaluation split: FedAdam server learning rate 0.1, tau 1e-9; FedYogi 0.01, "
             "tau 1e-3; betas 0.9 / 0.99. FLamby (Fed-Heart-Disease) found these best after tuning them."]
    return Bench("heart_disease", task, plan, y_ev, notes, make, [(4, "centres")], adaptive=True)


# ----- training ----------------------------------------------------------------------------------------
def new_network(task: Any, x_stats: np.ndarray) -> Any:
    """The task's network with the same initial weights for every method, preprocessing from `x_stats`."""
    import torch

    torch.manual_seed(SEED)
    net = task.build_network()
    if hasattr(net, "set_standardization"):
        net.set_standardization(x_stats)
    elif hasattr(net, "set_statistics"):
        net.set_statistics(x_stats)
    return net


def score(bench: Bench, net: Any, x_eval: np.ndarray) -> dict[str, float]:
    from hub.training import predict_proba

    return bench.task.metrics(bench.y_eval, predict_proba(net, x_eval))


def train_alone(bench: Bench, arm: Arm, seed: int) -> dict[str, float]:
    """Centralized (pooled arm) or one hospital alone: rounds x epochs epochs of the node's local training."""
    from federation.training import LocalConfig, local_fit

    p = bench.plan
    net = new_network(bench.task, arm.x_train)
    local_fit(bench.task, net, arm.x_train, arm.y_train,
              LocalConfig(epochs=p.total_epochs, batch_size=p.batch_size, lr=p.lr, seed=seed))
    return score(bench, net, arm.x_eval)


def secagg_mean(updates: list[list[np.ndarray]], weights: list[int], *, max_weight: float, seed: int
                ) -> tuple[list[np.ndarray], int]:
    """The sample-weighted mean update exactly as flwr 1.32.1's SecAgg+ computes it, without the masks.

    Client (secaggplus_mod._collect_masked_vectors): ratio = num_examples / max_weight, q_ratio =
    round(ratio * quantization_range), the update times q_ratio / quantization_range is clipped to
    +-clipping_range and stochastically quantized (`quantize`), and q_ratio is prepended
    (`factor_combine`). The pairwise and private masks added next cancel exactly in the modular sum, so
    the server's sum mod 2**32 is the sum of these integer vectors. Server (SecAggPlusWorkflow): mod,
    `factor_extract`, `dequantize`, shift by -(n - 1) * clipping_range, multiply by quantization_range /
    sum of q_ratio. Returns the mean and the number of coordinates the clipping cut.
    """
    from flwr.common.secure_aggregation.ndarrays_arithmetic import (
        factor_combine,
        factor_extract,
        parameters_addition,
        parameters_mod,
        parameters_multiply,
    )
    from flwr.common.secure_aggregation.quantization import dequantize, quantize

    np.random.seed(seed)  # flwr's stochastic rounding draws from numpy's global generator
    total: list[np.ndarray] | None = None
    clipped = 0
    for update, n in zip(updates, weights):
        q_ratio = round(n / max_weight * SECAGG_QUANTIZATION_RANGE)
        scaled = parameters_multiply([np.asarray(a, dtype=np.float32) for a in update],
                                     q_ratio / SECAGG_QUANTIZATION_RANGE)
        clipped += sum(int((np.abs(a) > SECAGG_CLIPPING_RANGE).sum()) for a in scaled)
        vector = factor_combine(q_ratio, quantize(scaled, SECAGG_CLIPPING_RANGE, SECAGG_QUANTIZATION_RANGE))
        vector = [np.asarray(a, dtype=np.int64) for a in vector]
        total = vector if total is None else parameters_addition(total, vector)
    assert total is not None
    total = parameters_mod(total, SECAGG_MODULUS_RANGE)
    q_total_ratio, summed = factor_extract(total)
    inv_dq_total_ratio = SECAGG_QUANTIZATION_RANGE / q_total_ratio
    out = dequantize(summed, SECAGG_CLIPPING_RANGE, SECAGG_QUANTIZATION_RANGE)
    offset = -(len(updates) - 1) * SECAGG_CLIPPING_RANGE
    for vec in out:
        vec += offset
        vec *= inv_dq_total_ratio
    return [np.asarray(a, dtype=np.float32) for a in out], clipped


def secagg_max_weight(sizes: list[int]) -> float:
    """The federation default (1000), raised to the next thousand when a hospital has more training rows
    (the config says max-weight must be at least the largest hospital's rows)."""
    return max(SECAGG_MAX_WEIGHT, 1000.0 * math.ceil(max(sizes) / 1000.0))


def dp_noise(bench: Bench, setting: Setting, epsilon: float) -> list[float] | str:
    """Per-hospital noise multipliers that reach `epsilon` over the whole job, or why DP is not available."""
    from torch import nn

    import federation.dp
    from federation.accountant import calibrate_sigma, steps_for
    from federation.errors import FederationError

    network = bench.task.build_network()
    check = getattr(federation.dp, "check_supported", None)  # releases whose DP-SGD refused BatchNorm
    if check is not None:
        try:
            check(network)
        except FederationError as e:
            return f"n/a: {e}"
    if not DP_BATCHNORM and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules()):
        return "n/a: BatchNorm (see DP notes)"
    sigmas = []
    for n in setting.sizes:
        steps, q = steps_for(n, batch_size=bench.plan.batch_size, epochs=bench.plan.epochs)
        try:
            sigmas.append(calibrate_sigma(target_epsilon=epsilon, q=q, steps=steps * bench.plan.rounds, delta=DP_DELTA))
        except ValueError:
            return f"n/a: epsilon {epsilon:g} out of reach for a hospital of {n} rows"
    return sigmas


def flower_server_optimizer(name: str, initial: list[np.ndarray]) -> Any:
    """Flower's own FedAdam / FedYogi with its default settings, started at the initial weights."""
    from flwr.common import ndarrays_to_parameters
    from flwr.server.strategy import FedAdam, FedYogi

    cls = {"fedadam": FedAdam, "fedyogi": FedYogi}[name]
    return cls(initial_parameters=ndarrays_to_parameters(initial), min_fit_clients=1, min_available_clients=1)


def server_step(strategy: Any, rnd: int, local_arrays: list[list[np.ndarray]], weights: list[int]) -> list[np.ndarray]:
    """One round of a Flower strategy's `aggregate_fit` on the hospitals' local weights."""
    from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays

    results = [(None, FitRes(status=Status(Code.OK, ""), parameters=ndarrays_to_parameters(a), num_examples=n,
                             metrics={})) for a, n in zip(local_arrays, weights)]
    parameters, _ = strategy.aggregate_fit(rnd, results, [])
    return [np.asarray(a, dtype=np.float32) for a in parameters_to_ndarrays(parameters)]


def federate(bench: Bench, setting: Setting, *, mu: float = 0.0, secagg: bool = False,
             sigmas: list[float] | None = None, seed_offset: int = 0, server: str | None = None
             ) -> tuple[dict[str, float], dict[str, Any]]:
    """Simulated federation: every round each hospital trains from the global weights (local_fit, as a node
    does), sends local minus global, and the server adds the sample-weighted mean (or SecAgg+'s); with
    `server` ("fedadam" / "fedyogi") Flower's strategy of that name turns the hospitals' weights into the
    next global weights instead (its server-side Adam / Yogi step on the mean update)."""
    from federation.aggregation import weighted_mean
    from federation.dp import DpConfig
    from federation.training import LocalConfig, get_arrays, local_fit, set_arrays

    p = bench.plan
    net = new_network(bench.task, np.concatenate([x for x, _ in setting.hospitals]))
    global_arrays = get_arrays(net)
    strategy = flower_server_optimizer(server, global_arrays) if server else None
    info: dict[str, Any] = {"clipped": 0, "max_weight": secagg_max_weight(setting.sizes)}
    for r in range(p.rounds):
        updates, weights = [], []
        for h, (x, y) in enumerate(setting.hospitals):
            local = copy.deepcopy(net)
            set_arrays(local, global_arrays)
            dp = DpConfig(clip=DP_CLIP, noise_multiplier=sigmas[h], batch_size=p.batch_size) if sigmas else None
            res = local_fit(bench.task, local, x, y, LocalConfig(epochs=p.epochs, batch_size=p.batch_size, lr=p.lr,
                                                                 proximal_mu=mu, seed=SEED + 1000 * (h + 1) + r + seed_offset,
                                                                 dp=dp))
            updates.append([a - g for a, g in zip(res.arrays, global_arrays)])
            weights.append(res.n)
        if strategy is not None:
            local = [[g + d for g, d in zip(global_arrays, u)] for u in updates]
            global_arrays = server_step(strategy, r + 1, local, weights)
            continue
        if secagg:
            mean, clipped = secagg_mean(updates, weights, max_weight=info["max_weight"], seed=SEED + r)
            info["clipped"] += clipped
        else:
            mean = weighted_mean(updates, weights)
        global_arrays = [g + d for g, d in zip(global_arrays, mean)]
    set_arrays(net, global_arrays)
    return score(bench, net, setting.x_eval_fed), info


# ----- one setting -------------------------------------------------------------------------------------
@dataclass
class Row:
    n: int
    split: str | float
    sizes: list[int] = field(default_factory=list)
    auc: dict[str, float | str] = field(default_factory=dict)
    sens: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


def _sens(m: dict[str, float]) -> dict[str, float]:
    return {c: m.get(f"sensitivity_{c}", float("nan")) for c in ECG_CLASSES}


def run_setting(bench: Bench, n: int, split: str | float, central: dict[str, float]) -> Row:
    started = time.perf_counter()
    tag = f"{bench.name} n={n} {split_label(split)}"
    row = Row(n=n, split=split)
    setting = bench.make_setting(n, split)
    row.sizes = setting.sizes
    say(f"{tag} hospitals of {', '.join(map(str, row.sizes))} rows")
    row.auc["central"] = central["roc_auc"]
    row.sens["central"] = _sens(central)

    t = time.perf_counter()
    local = [train_alone(bench, arm, seed=SEED + 1000 * (h + 1)) for h, arm in enumerate(setting.locals)]
    aucs = [m.get("roc_auc", float("nan")) for m in local]
    row.auc["local_mean"], row.auc["local_worst"] = float(np.nanmean(aucs)), float(np.nanmin(aucs))
    if bench.sensitivity:
        row.sens["local_mean"] = {c: float(np.mean([_sens(m)[c] for m in local])) for c in ECG_CLASSES}
    say(f"{tag} local auc mean {row.auc['local_mean']:.4f} worst {row.auc['local_worst']:.4f} "
        f"({time.perf_counter() - t:.1f} s)")

    runs: tuple[tuple[str, dict[str, Any]], ...] = (
        ("fedavg", {}), ("fedavg_seed", {"seed_offset": SEED_OFFSET}), ("fedprox", {"mu": PROXIMAL_MU}),
        ("secagg", {"secagg": True}))
    if bench.adaptive:
        runs += (("fedadam", {"server": "fedadam"}), ("fedyogi", {"server": "fedyogi"}))
    for key, kwargs in runs:
        t = time.perf_counter()
        m, info = federate(bench, setting, **kwargs)
        row.auc[key] = m["roc_auc"]
        row.sens[key] = _sens(m)
        extra = f", max weight {info['max_weight']:g}, {info['clipped']} coordinates clipped" if key == "secagg" else ""
        say(f"{tag} {key} auc {m['roc_auc']:.4f} ({time.perf_counter() - t:.1f} s{extra})")

    for eps in EPSILONS:
        key = f"dp{eps:g}"
        sigmas = dp_noise(bench, setting, eps)
        if isinstance(sigmas, str):
            row.auc[key] = sigmas
            say(f"{tag} {key} {sigmas}")
            continue
        t = time.perf_counter()
        m, _ = federate(bench, setting, sigmas=sigmas)
        row.auc[key] = m["roc_auc"]
        say(f"{tag} {key} auc {m['roc_auc']:.4f} (noise multipliers {', '.join(f'{s:.2f}' for s in sigmas)}; "
            f"{time.perf_counter() - t:.1f} s)")
    row.seconds = time.perf_counter() - started
    return row


def load_bench(name: str, quick: bool, root: Path) -> Bench:
    plans = PLANS_QUICK if quick else PLANS_FULL
    grid = [(n, s) for n in (HOSPITALS_QUICK if quick else HOSPITALS_FULL)
            for s in (SPLITS_QUICK if quick else SPLITS_FULL)]
    if name == "breast_cancer":
        return load_breast_cancer(plans[name], grid)
    if name == "pneumonia":
        return load_pneumonia(plans[name], grid, root)
    if name == "ecg":
        return load_ecg(plans[name], grid, root)
    if name == "heart_disease":
        return load_heart(plans[name], root)
    raise ValueError(name)


def central_metrics(bench: Bench) -> dict[str, float]:
    """Centralized training does not depend on how the rows are dealt: trained once per task."""
    t = time.perf_counter()
    setting = bench.make_setting(*bench.grid[0])
    m = train_alone(bench, setting.central, seed=SEED)
    say(f"{bench.name} centralized auc {m['roc_auc']:.4f} ({time.perf_counter() - t:.1f} s)")
    return m


# ----- report ------------------------------------------------------------------------------------------
COLUMNS = (("central", "centralized"), ("local_mean", "local mean"), ("local_worst", "local worst"),
           ("fedavg", "FedAvg"), ("fedavg_seed", "FedAvg, other seed"), ("fedprox", "FedProx"),
           ("fedadam", "FedAdam"), ("fedyogi", "FedYogi"), ("secagg", "FedAvg + SecAgg+"),
           ("dp1", "DP eps 1"), ("dp3", "DP eps 3"), ("dp8", "DP eps 8"))


def fmt(v: float | str | None) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    return "nan" if not np.isfinite(v) else f"{v:.4f}"


def ratio(row: Row, key: str = "fedavg") -> float:
    a, c = row.auc.get(key), row.auc.get("central")
    return float(a) / float(c) if isinstance(a, float) and isinstance(c, float) and c > 0 else float("nan")


def task_table(rows: list[Row]) -> str:
    header = ["hospitals", "split", "rows per hospital", *[t for _, t in COLUMNS], "FedAvg / centralized"]
    out = []
    for r in rows:
        if r.error:
            out.append([r.n, split_label(r.split), "-", r.error, *["-"] * len(COLUMNS)])
            continue
        out.append([r.n, split_label(r.split), ", ".join(map(str, r.sizes)), *[fmt(r.auc.get(k)) for k, _ in COLUMNS],
                    f"{ratio(r):.4f}"])
    return md_table(header, out)


def sensitivity_table(rows: list[Row]) -> str:
    keys = (("central", "centralized"), ("local_mean", "local mean"), ("fedavg", "FedAvg"), ("fedprox", "FedProx"),
            ("secagg", "FedAvg + SecAgg+"))
    out = []
    for r in rows:
        if r.error:
            continue
        out.append([r.n, split_label(r.split),
                    *[" / ".join(f"{r.sens[k][c]:.2f}" for c in ECG_CLASSES) if k in r.sens else "-" for k, _ in keys]])
    return md_table(["hospitals", "split", *[f"{t} ({'/'.join(ECG_CLASSES)})" for _, t in keys]], out)


def goals(results: dict[str, list[Row]]) -> str:
    lines: list[str] = []

    def verdict(ok: bool) -> str:
        return "met" if ok else "**NOT met**"

    def check(title: str, select: Callable[[Row], bool], test: Callable[[Row], tuple[bool, str]]) -> None:
        items = [(name, r) for name, rows in results.items() for r in rows if not r.error and select(r)]
        if not items:
            lines.append(f"- {title}: no setting measured")
            return
        outcomes = [(name, r, *test(r)) for name, r in items]
        n_ok = sum(ok for *_, ok, _ in outcomes)
        summary = f"met in {n_ok} of {len(outcomes)} settings"
        if n_ok < len(outcomes):
            summary += f"; **NOT met** in {len(outcomes) - n_ok}"
        lines.append(f"- {title}: {summary}")
        for name, r, ok, text in outcomes:
            lines.append(f"  - {name} n={r.n} {split_label(r.split)}: {verdict(ok)} ({text})")

    def vs_central(goal: float) -> Callable[[Row], tuple[bool, str]]:
        def test(r: Row) -> tuple[bool, str]:
            q = ratio(r)
            return bool(q >= goal), f"FedAvg {fmt(r.auc['fedavg'])} / centralized {fmt(r.auc['central'])} = {q:.4f}"

        return test

    def beats_local(r: Row) -> tuple[bool, str]:
        fa, fp, lm = r.auc["fedavg"], r.auc["fedprox"], r.auc["local_mean"]
        assert isinstance(fa, float) and isinstance(fp, float) and isinstance(lm, float)
        return bool(fa > lm), f"FedAvg {fa:.4f}, FedProx {fp:.4f} vs mean hospital alone {lm:.4f}"

    def secagg_delta(r: Row) -> tuple[bool, str]:
        fa, sa, fs = r.auc["fedavg"], r.auc["secagg"], r.auc["fedavg_seed"]
        assert isinstance(fa, float) and isinstance(sa, float) and isinstance(fs, float)
        return bool(abs(sa - fa) < GOAL_SECAGG), (f"|{sa:.4f} - {fa:.4f}| = {abs(sa - fa):.4f}; FedAvg with "
                                                  f"another seed moves by {abs(fs - fa):.4f}")

    check(f"FedAvg >= {GOAL_IID} x centralized AUC, IID", lambda r: r.split == "iid", vs_central(GOAL_IID))
    check(f"FedAvg >= {GOAL_ALPHA05} x centralized AUC, alpha 0.5", lambda r: r.split == 0.5, vs_central(GOAL_ALPHA05))
    check("Federated (FedAvg) beats the mean hospital alone", lambda r: True, beats_local)
    check(f"SecAgg+ changes the FedAvg AUC by less than {GOAL_SECAGG}", lambda r: True, secagg_delta)
    other = [(name, r) for name, rows in results.items() for r in rows
             if not r.error and r.split not in ("iid", 0.5)]
    if other:
        lines.append("- For information (no goal): FedAvg / centralized in the other splits: "
                     + "; ".join(f"{name} n={r.n} {split_label(r.split)} {ratio(r):.4f}" for name, r in other))
    return "\n".join(lines) + "\n"


def plot(results: dict[str, list[Row]], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, rows in results.items() if any(not r.error for r in rows)]
    if not names:
        return False
    fig, axes = plt.subplots(len(names), 1, figsize=(10, 2.8 * len(names)), squeeze=False)
    series = (("fedavg", "FedAvg"), ("fedprox", "FedProx"), ("secagg", "FedAvg + SecAgg+"),
              ("local_mean", "local mean"), ("local_worst", "local worst"))
    for ax, name in zip(axes[:, 0], names):
        rows = [r for r in results[name] if not r.error]
        xs = np.arange(len(rows))
        width = 0.8 / len(series)
        for i, (key, label) in enumerate(series):
            ax.bar(xs + (i - (len(series) - 1) / 2) * width, [ratio(r, key) for r in rows], width, label=label)
        ax.axhline(GOAL_IID, color="k", lw=0.8, ls="--", label=f"{GOAL_IID} (IID goal)")
        ax.axhline(GOAL_ALPHA05, color="grey", lw=0.8, ls=":", label=f"{GOAL_ALPHA05} (alpha 0.5 goal)")
        ax.set_xticks(xs, [f"n={r.n}\n{split_label(r.split)}" for r in rows], fontsize=8)
        vals = [ratio(r, k) for r in rows for k, _ in series]
        low = min([v for v in vals if np.isfinite(v)] + [GOAL_ALPHA05])
        ax.set_ylim(max(0.0, low - 0.03), 1.03)
        ax.set_ylabel("AUC / centralized")
        ax.set_title(name, fontsize=10)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, ncol=len(labels), loc="lower center")
    fig.tight_layout(rect=(0, 0.06 / len(names), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run(quick: bool) -> str:
    import torch

    from hub.errors import DataNotFoundError

    torch.set_num_threads(1)
    started, cpu_started = time.perf_counter(), time.process_time()
    root = data_root()
    results: dict[str, list[Row]] = {}
    sections: list[str] = []
    timings: list[str] = []
    for name in TASKS_QUICK if quick else TASKS_FULL:
        t0 = time.perf_counter()
        try:
            bench, problem = load_bench(name, quick, root), ""
        except (DataNotFoundError, OSError) as e:
            bench, problem = None, f"data not found: {e}"
        if bench is None:
            say(f"{name}: {problem}")
            results[name] = [Row(n=0, split="-", error=problem)]
            sections.append(f"## {name}\n\n{problem}\n")
            continue
        central = central_metrics(bench)
        rows = [run_setting(bench, n, split, central) for n, split in bench.grid]
        results[name] = rows
        text = f"## {name}\n\n" + "\n".join(f"- {note}" for note in bench.notes) + "\n\n" + task_table(rows)
        if bench.sensitivity:
            text += "\nPer-class sensitivity (N / S / V / F) on the evaluation records:\n\n" + sensitivity_table(rows)
        sections.append(text)
        per = ", ".join(f"n={r.n} {split_label(r.split)} {r.seconds:.0f} s" for r in rows)
        timings.append(f"{name}: {time.perf_counter() - t0:.0f} s ({per})")

    png = RESULTS / (f"{NAME}-quick.png" if quick else f"{NAME}.png")
    RESULTS.mkdir(parents=True, exist_ok=True)
    plotted = plot(results, png)
    total = time.perf_counter() - started
    body = (
        "ROC AUC on each task's evaluation split (no hospital trains on it) of: centralized training on the "
        "pooled training rows, each hospital alone (mean and worst over hospitals), FedAvg, FedProx "
        f"(mu {PROXIMAL_MU:g}), FedAvg with SecAgg+, and FedAvg with DP-SGD at epsilon 1, 3 and 8. "
        + ("Quick size: breast_cancer with 3 hospitals (IID and alpha 0.5) and heart disease's 4 centres, "
           "fewer rounds. " if quick else "")
        + "The federation is simulated in-process with the hospital node's own training code "
        "(`federation.training.local_fit`) and the server's `federation.aggregation.weighted_mean`; every "
        "update is local minus global weights, weighted by the hospital's training rows. All methods start "
        f"from the same initial weights (seed {SEED}); centralized and local-only models train for rounds x "
        "local epochs epochs with the same optimiser settings; no epoch is selected on the evaluation split. "
        "The global model's preprocessing buffers (standardization / image statistics) are the pooled "
        "training statistics (what a secure sum of per-hospital sums gives) and, as in the federation, are "
        "not exchanged; a hospital alone uses its own. IID = stratified random equal shares; alpha = "
        "`federation.partition.dirichlet_split` label skew (at least 5 rows of each class per hospital) "
        "unless the task section says otherwise. \"FedAvg, other seed\" is the same FedAvg run with other "
        "random draws in local training (batch order, dropout, augmentation; same initial weights): how far "
        "AUC moves for reasons unrelated to the method, the yardstick for the other differences.\n\n"
        "SecAgg+ column: the in-process quantization pipeline of Flower's SecAgg+ (flwr 1.32.1 "
        "`secaggplus_mod` and `SecAggPlusWorkflow`, with Flower's own `quantize` / `dequantize`): each update "
        "is multiplied by round(rows / max_weight x 2^22) / 2^22, clipped to +-8, stochastically quantized "
        "to [0, 2^22], summed modulo 2^32 and dequantized by the server, which divides by the total weight. "
        "The masks are left out because they cancel exactly in the modular sum, so this is the SecAgg+ "
        "result bit for bit up to the random rounding; the real protocol (keys, masks, shares, dropouts) is "
        "exercised by tests/federation/test_deployment.py. Clipping range 8 and max weight 1000 are the "
        "federation's defaults (federation/app/pyproject.toml); where a hospital has more than 1000 training "
        "rows max weight is raised to the next thousand, as that config asks. The rounding error is about "
        "1e-6 per weight and round; where training is chaotic (CNNs with BatchNorm and augmentation) it can "
        "still lead to a slightly different final model, as any other perturbation would: compare with the "
        "other-seed column.\n\n"
        f"DP columns: DP-SGD on every hospital (`federation.dp.dp_train`, per-example clipping to {DP_CLIP:g}, "
        "Poisson sampling at the batch size), the noise multiplier per hospital calibrated by "
        "`federation.accountant.calibrate_sigma` so that the whole job (all rounds) costs that hospital "
        f"epsilon 1, 3 or 8 at delta {DP_DELTA:g} (record-level). n/a for the BatchNorm CNNs of pneumonia and "
        "ecg: DP-SGD (`federation.dp`) freezes BatchNorm at the running statistics of the parent version, and "
        "this benchmark trains from scratch with no parent, so they would be the untrained statistics (0 / 1) "
        "and the result says nothing about DP fine-tuning of a published model (in a trial, pneumonia with 5 "
        "hospitals at alpha 0.5 reached AUC 0.30-0.44 at epsilon 1-8); measuring that needs a parent trained on data none "
        "of the hospitals hold. n/a also where the target epsilon cannot be reached.\n\n"
        + "\n".join(sections)
        + "\n## Goals\n\n" + goals(results)
        + (f"\n## AUC relative to centralized\n\n![AUC / centralized AUC per setting]({png.name})\n\n" if plotted
           else "\n")
        + "## Time\n\n" + "".join(f"- {t}\n" for t in timings)
        + f"- total: {total:.0f} s wall, {time.process_time() - cpu_started:.0f} s CPU (torch on 1 thread; the "
        "machine may be shared, so wall time can exceed CPU time)\n"
    )
    write_result(NAME, "Federated model quality vs centralized and local-only training", body, quick=quick)
    return body


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
