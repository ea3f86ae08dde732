"""Breast cancer: benign / malignant from the 30 WDBC nuclear features of a fine-needle aspirate.

Data: the Wisconsin Diagnostic Breast Cancer set (Street, Wolberg & Mangasarian 1993) as shipped by
scikit-learn (`load_breast_cancer`, 569 cases; its target 0 = malignant). Ten measurements of the cell
nuclei in a digitised image, each as mean, standard error ("error") and worst (mean of the three largest).
The network standardises with stored statistics, then a small MLP; explanations are Kernel SHAP on the
30 features.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.errors import InvalidInputError
from hub.models._tabular import TabularMethods, read_csv, read_rows
from hub.models.base import Cases, DataSplits, InputField, Progress, Task, TrainResult, _quiet, as_numpy

if TYPE_CHECKING:
    from torch import nn

# (measurement, unit, upper bound of a plausible "mean"/"worst" value); "error" gets half the bound
_MEASUREMENTS = [
    ("radius", "px", 60.0, "mean distance from centre to perimeter"),
    ("texture", "grey levels", 80.0, "standard deviation of grey-scale values"),
    ("perimeter", "px", 400.0, "nucleus perimeter"),
    ("area", "px²", 10000.0, "nucleus area"),
    ("smoothness", "", 0.5, "local variation in radius lengths"),
    ("compactness", "", 2.0, "perimeter² / area - 1.0"),
    ("concavity", "", 2.5, "severity of concave portions of the contour"),
    ("concave points", "", 0.6, "number of concave portions of the contour"),
    ("symmetry", "", 1.0, "symmetry of the nucleus"),
    ("fractal dimension", "", 0.5, "coastline approximation - 1"),
]


def _fields() -> tuple[InputField, ...]:
    out = []
    for prefix, suffix, scale in (("mean ", "", 1.0), ("", " error", 0.5), ("worst ", "", 1.0)):
        for m, unit, hi, desc in _MEASUREMENTS:
            kind = {"mean ": "mean", " error": "standard error", "worst ": "worst (mean of 3 largest)"}[prefix or suffix]
            out.append(InputField(f"{prefix}{m}{suffix}", unit, 0.0, hi * scale, f"{desc}; {kind}"))
    return tuple(out)


FIELDS = _fields()

# the original WDBC CSV (Kaggle / UCI) spells the columns radius_mean, radius_se, radius_worst
_ALIASES = {
    **{f"{m.replace(' ', '_')}_mean": f"mean {m}" for m, *_ in _MEASUREMENTS},
    **{f"{m.replace(' ', '_')}_se": f"{m} error" for m, *_ in _MEASUREMENTS},
    **{f"{m.replace(' ', '_')}_worst": f"worst {m}" for m, *_ in _MEASUREMENTS},
}
# a label column that may sit in a CSV; it is ignored for prediction
_LABEL_COLUMNS = ("diagnosis", "label", "target")

_EXAMPLES = Path(__file__).parent / "examples" / "breast_cancer"


class BreastCancerTask(TabularMethods, Task):
    name = "breast_cancer"
    title = "Breast cancer (WDBC features)"
    summary = "Benign or malignant from 30 nuclear features of a breast fine-needle aspirate."
    input_kind = "tabular"
    labels = ("benign", "malignant")
    positive_index = 1
    data_folder = None
    explanation_method = "kernel"
    input_fields = FIELDS
    keywords = ("breast", "wdbc", "fine needle", "aspirate", "malignan", "benign", "tumour", "tumor", "nuclei",
                "mean radius", "mammary")
    body_system = "breast"
    intended_use = ("Decision support for clinicians and pathologists reading a breast fine-needle aspirate: a second "
                    "look at the digitised nuclear features, never a replacement for cytology or biopsy.")
    input_words = "WDBC nuclear features, CSV or form"
    space = {
        "title": "MedHive breast cancer (WDBC)",
        "emoji": "🔬",
        "color": "pink",
        "short_description": "Benign or malignant from 30 FNA nuclear features",
        "tags": ["oncology", "breast-cancer"],
        "intro": "Fill in the 30 nuclear features of a fine-needle aspirate (units and valid ranges are shown), load an example, or upload a CSV row. The prediction comes with the key factors in words (Kernel SHAP).",
    }
    input_description = (
        "30 numeric features computed from a digitised fine-needle aspirate image: ten nuclear measurements, "
        "each as mean, standard error and worst value. One case per CSV row, with a header naming the features."
    )

    hyperparameters: dict[str, Any] = {"hidden": [32], "dropout": 0.1}

    @property
    def network_class(self) -> type[nn.Module]:
        from hub.models._tabular_net import TabularNet

        return TabularNet

    def build_network(self, **hp: Any) -> nn.Module:
        from hub.models._tabular_net import TabularNet

        params = {**self.hyperparameters, **hp}
        return TabularNet(n_features=len(FIELDS), n_classes=2, hidden=params["hidden"], dropout=params["dropout"])

    # ----- input ---------------------------------------------------------------------------------
    def read_input(self, path: Path, **options: Any) -> Cases:
        path = Path(path)
        if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
            raise InvalidInputError(f"{path.name}: breast_cancer takes a CSV file with one case per row")
        x = read_csv(path, FIELDS, aliases=_ALIASES, ignore=_LABEL_COLUMNS)
        return Cases(x=x, ids=[f"row {i}" for i in range(1, len(x) + 1)])

    def prepare(self, raw: Any, **options: Any) -> Cases:
        rows = [raw] if isinstance(raw, Mapping) else list(raw)
        x = read_rows(rows, FIELDS, aliases=_ALIASES, ignore=_LABEL_COLUMNS)
        return Cases(x=x, ids=[f"row {i}" for i in range(1, len(x) + 1)])

    def example_inputs(self) -> list[Path]:
        return sorted(_EXAMPLES.glob("*.csv"))

    # ----- data and training ----------------------------------------------------------------------
    def load_training_data(self, data_root: Path | None = None, *, seed: int = 0) -> DataSplits:
        from sklearn.datasets import load_breast_cancer
        from sklearn.model_selection import train_test_split

        data = load_breast_cancer()
        x = data.data.astype(np.float32)
        y = (data.target == 0).astype(np.int64)  # sklearn: 0 = malignant; ours: 1 = malignant
        x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
        return DataSplits(
            x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va,
            description={
                "dataset": "Wisconsin Diagnostic Breast Cancer (scikit-learn load_breast_cancer)",
                "citation": "Street, Wolberg & Mangasarian, Proc. SPIE 1905 (1993)",
                "train_cases": int(len(y_tr)), "validation_cases": int(len(y_va)),
                "split": f"stratified random 75/25 by case, seed {seed} (one case per patient)",
                "class_counts_train": {lab: int((y_tr == k).sum()) for k, lab in enumerate(self.labels)},
            },
        )

    def train_baseline(self, data_root: Path | None = None, *, seed: int = 0, progress: Progress = _quiet) -> TrainResult:
        from hub.training import FitConfig, fit

        splits = self.load_training_data(data_root, seed=seed)
        net = self.build_network()
        net.set_standardization(splits.x_train)
        cfg = FitConfig(epochs=80, batch_size=32, lr=3e-3, weight_decay=1e-3, seed=seed, patience=25)
        net, _, epoch = fit(
            net, splits.x_train, splits.y_train, splits.x_val, splits.y_val, config=cfg, n_classes=2,
            score=lambda y, p: self.metrics(y, p)["roc_auc"] + 0.01 * self.metrics(y, p)["accuracy"],
            progress=progress,
        )
        from hub.training import predict_proba

        metrics = self.metrics(splits.y_val, predict_proba(net, splits.x_val))
        hp = {**self.hyperparameters, **cfg.__dict__, "best_epoch": epoch}
        return TrainResult(network=net, metrics=metrics, data=splits.description, hyperparameters=hp)

    def explain_background(self, network: nn.Module) -> np.ndarray | None:
        # the training mean is the natural reference point: SHAP values say how far each feature moves
        # the prediction away from an average case
        return as_numpy(network.mean)[None, :]


TASK = BreastCancerTask()
