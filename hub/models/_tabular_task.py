"""`TabularTask`: everything a task whose input is one row of named fields shares, so such a task module
only declares its fields, labels, words and how to read its public data set.

A subclass sets `name`, `title`, `labels`, `input_fields` (clinical words, units, valid ranges,
categories, optional fields, the data set's original column names as aliases) and implements
`load_table(data_root)`, returning the whole data set as a `Table`. This class then gives: CSV and form
input (original column names accepted; blank or `?` in an optional field is imputed and the case's
`meta["imputed"]` names it), the network (`TabularNet`, imputation and standardisation inside the
signed weights), a validation split (stratified; by person where `Table.groups` is set), the baseline
chosen among a few network sizes on that validation split, and the SHAP reference (the training mean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hub.errors import InvalidInputError
from hub.models._tabular import TabularMethods, imputed_fields, read_csv, read_rows
from hub.models.base import Cases, DataSplits, Progress, Task, TrainResult, _quiet

if TYPE_CHECKING:  # the network (torch) is in hub.models._tabular_net, loaded on use: listing stays light
    from torch import nn

EXAMPLES = Path(__file__).parent / "examples"


@dataclass
class Table:
    """A whole public data set as arrays: x in network order (NaN = missing), y, and optional groups.

    `groups` is the person of each row where people repeat (split by group, never by row); `centres`
    the hospital of each row where the data has a natural federated split; `description` goes on the
    model card.
    """

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    centres: np.ndarray | None = None
    description: dict[str, Any] = field(default_factory=dict)


class TabularTask(TabularMethods, Task):
    """A task on one row of named fields (see the module docstring)."""

    input_kind = "tabular"
    explanation_method = "kernel"
    positive_index = 1
    #: label columns a CSV may carry; ignored for prediction
    label_columns: ClassVar[tuple[str, ...]] = ("diagnosis", "label", "target")
    #: network sizes tried for the baseline; the one with the best validation ROC AUC ships
    candidate_hidden: ClassVar[tuple[tuple[int, ...], ...]] = ((), (16,), (32,))
    #: optimiser settings of the baseline (`hub.training.FitConfig`)
    fit_settings: ClassVar[dict[str, Any]] = {"epochs": 150, "batch_size": 32, "lr": 3e-3, "weight_decay": 1e-3,
                                              "patience": 40}
    validation_fraction: ClassVar[float] = 0.25
    #: how the baseline is fitted: "mlp" (each candidate size trained, size and epoch chosen on the validation
    #: split) or "linear" (an exact L2 logistic head whose penalty is chosen by cross-validation on the
    #: training split alone, by person where persons repeat: `hub.models._tabular_linear`)
    baseline_head: ClassVar[str] = "mlp"
    linear_penalties: ClassVar[tuple[float, ...]] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)
    #: the most fields one case may leave blank (None: only `optional` decides); past it the case is refused
    #: rather than judged on imputed values
    max_imputed: ClassVar[int | None] = None
    dropout: ClassVar[float] = 0.1

    # ----- data the subclass provides ---------------------------------------------------------------
    def load_table(self, data_root: Path | None) -> Table:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    # ----- network ---------------------------------------------------------------------------------
    @property
    def network_class(self) -> type[nn.Module]:
        from hub.models._tabular_net import TabularNet

        return TabularNet

    def build_network(self, **hp: Any) -> nn.Module:
        from hub.models._tabular_net import TabularNet

        hidden = hp.get("hidden", self.candidate_hidden[-1])
        return TabularNet(n_features=len(self.input_fields), n_classes=len(self.labels), hidden=list(hidden),
                          dropout=hp.get("dropout", self.dropout))

    # ----- input -----------------------------------------------------------------------------------
    def _cases(self, x: np.ndarray) -> Cases:
        meta = [{"imputed": imputed_fields(self.input_fields, row)} for row in x]
        n = len(self.input_fields)
        for r, m in enumerate(meta, start=1):
            if self.max_imputed is not None and len(m["imputed"]) > self.max_imputed:
                raise InvalidInputError(
                    f"row {r}: only {n - len(m['imputed'])} of {n} fields given; {self.name} needs at least "
                    f"{n - self.max_imputed} to judge a case"
                )
        return Cases(x=x, ids=[f"row {i}" for i in range(1, len(x) + 1)], meta=meta)

    def read_input(self, path: Path, **options: Any) -> Cases:
        path = Path(path)
        if path.suffix.lower() not in (".csv", ".tsv", ".txt", ".data"):
            raise InvalidInputError(f"{path.name}: {self.name} takes a CSV file with one case per row")
        return self._cases(read_csv(path, self.input_fields, ignore=self.label_columns))

    def prepare(self, raw: Any, **options: Any) -> Cases:
        rows = [raw] if isinstance(raw, Mapping) else list(raw)
        return self._cases(read_rows(rows, self.input_fields, ignore=self.label_columns))

    def example_inputs(self) -> list[Path]:
        return sorted((EXAMPLES / self.name).glob("*.csv"))

    # ----- data and training -------------------------------------------------------------------------
    def split_indices(self, table: Table, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Train / validation row indices: stratified by label (and centre), by group where set."""
        from sklearn.model_selection import StratifiedGroupKFold, train_test_split

        idx = np.arange(len(table.y))
        if table.groups is not None:
            folds = round(1 / self.validation_fraction)
            cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
            tr, va = next(cv.split(table.x, table.y, table.groups))
            return tr, va
        strata = table.y if table.centres is None else np.char.add(table.centres.astype(str), table.y.astype(str))
        tr, va = train_test_split(idx, test_size=self.validation_fraction, stratify=strata, random_state=seed)
        return np.sort(tr), np.sort(va)

    def load_training_data(self, data_root: Path | None, *, seed: int = 0) -> DataSplits:
        table = self.load_table(data_root)
        tr, va = self.split_indices(table, seed=seed)
        y_tr, y_va = table.y[tr], table.y[va]
        how = ("stratified by label, whole persons to one side (StratifiedGroupKFold)" if table.groups is not None
               else "stratified by label" + (" and centre" if table.centres is not None else ""))
        desc = {
            **table.description,
            "train_cases": int(len(tr)), "validation_cases": int(len(va)),
            "split": f"{1 - self.validation_fraction:.0%} / {self.validation_fraction:.0%} {how}, seed {seed}",
            "class_counts_train": {lab: int((y_tr == k).sum()) for k, lab in enumerate(self.labels)},
            "class_counts_validation": {lab: int((y_va == k).sum()) for k, lab in enumerate(self.labels)},
            "missing_cells": int(np.isnan(table.x).sum()),
        }
        if table.groups is not None:
            desc["train_persons"] = int(len(np.unique(table.groups[tr])))
            desc["validation_persons"] = int(len(np.unique(table.groups[va])))
        return DataSplits(
            x_train=table.x[tr], y_train=y_tr, x_val=table.x[va], y_val=y_va,
            groups_train=None if table.groups is None else table.groups[tr],
            groups_val=None if table.groups is None else table.groups[va],
            description=desc,
        )

    def train_baseline(self, data_root: Path | None, *, seed: int = 0, progress: Progress = _quiet) -> TrainResult:
        from hub.training import FitConfig, fit, predict_proba

        splits = self.load_training_data(data_root, seed=seed)
        if self.baseline_head == "linear":
            return self._train_linear(splits, seed=seed, progress=progress)
        cfg = FitConfig(seed=seed, **self.fit_settings)
        best: tuple[float, Any, Sequence[int], int] | None = None
        tried = {}
        for hidden in self.candidate_hidden:
            net = self.build_network(hidden=hidden)
            net.set_standardization(splits.x_train)
            net, score, epoch = fit(
                net, splits.x_train, splits.y_train, splits.x_val, splits.y_val, config=cfg,
                n_classes=len(self.labels), score=self._selection_score,
                progress=lambda s, h=hidden: progress(f"hidden {list(h)}: {s}"),
            )
            tried[str(list(hidden))] = round(float(score), 4)
            if best is None or score > best[0]:
                best = (score, net, hidden, epoch)
        assert best is not None
        _, net, hidden, epoch = best
        metrics = self.metrics(splits.y_val, predict_proba(net, splits.x_val))
        hp = {"hidden": list(hidden), "dropout": self.dropout, **cfg.__dict__, "best_epoch": epoch,
              "selection": "network size and epoch with the best validation ROC AUC + accuracy",
              "validation_score_by_size": tried}
        return TrainResult(network=net, metrics=metrics, data=splits.description, hyperparameters=hp)

    def _train_linear(self, splits: DataSplits, *, seed: int, progress: Progress) -> TrainResult:
        from hub.models._tabular_linear import fit_linear_head, load_into
        from hub.training import predict_proba

        net = self.build_network(hidden=())
        net.set_standardization(splits.x_train)
        head = fit_linear_head(splits.x_train, splits.y_train, splits.groups_train, mean=net.mean.numpy(),
                               std=net.std.numpy(), penalties=self.linear_penalties, seed=seed, progress=progress)
        load_into(net, head)
        metrics = self.metrics(splits.y_val, predict_proba(net, splits.x_val))
        by = "grouped by person " if splits.groups_train is not None else ""
        hp = {"hidden": [], **head.facts(), "seed": seed,
              "selection": f"C with the best {by}4-fold x5 cross-validated ROC AUC on the training split only; "
                           "the validation split is not used to fit or choose anything"}
        return TrainResult(network=net, metrics=metrics, data=splits.description, hyperparameters=hp)

    def _selection_score(self, y: np.ndarray, proba: np.ndarray) -> float:
        # ROC AUC alone picks early epochs that rank well but whose 0.5 threshold is useless (AUC 0.99 at
        # accuracy 0.51 was seen on Parkinson's): accuracy counts as much, so the shipped model does both
        m = self.metrics(y, proba)
        return m["roc_auc"] + m["accuracy"]

    def explain_background(self, network: nn.Module) -> np.ndarray | None:
        # the training mean is the reference case; an imputed field takes that same value, so its SHAP
        # value is zero and the explanation cannot credit a value nobody entered
        return network.mean.detach().numpy()[None, :]
