"""The small interface every diagnostic task implements.

A task is one module in `hub.models` that defines a `Task` subclass and exposes an instance as `TASK`.
It knows its input schema (fields with units and valid ranges, or image/signal shape), how to turn raw
input into network-ready arrays, its network (a PyTorch module with `PyTorchModelHubMixin`), its label
names, built-in example inputs, how to explain a prediction, and how to load the public data sets it is
trained on.

The arrays that cross this interface are plain numpy: `Cases.x` is what the network takes (float32,
batch first). Everything framework-specific (Flower, FastAPI, Gradio) lives elsewhere and calls in here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from hub.errors import DataNotFoundError

if TYPE_CHECKING:  # torch is imported by the networks, only when one is built: listing tasks stays light
    from torch import nn

InputKind = Literal["tabular", "image", "signal"]
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class InputField:
    """One named scalar input with its unit and the range a valid value lies in.

    `choices` makes a field categorical: (word, code) pairs, e.g. (("normal", 0), ("abnormal", 1)); the
    word or the code is accepted and the code is what the network reads. `optional` fields may be left
    blank (or `?`) and are imputed by the network (its stored training mean); `missing_codes` are values
    the source data uses for "not recorded" (Pima's 0 glucose), read as blank. `aliases` are other
    spellings accepted as column names (the data set's original column names). `concept` names the
    clinical quantity shared across tasks ("age", "systolic_bp", ...) so one patient form can feed
    several models (see `hub.screening`).
    """

    name: str
    unit: str
    minimum: float
    maximum: float
    description: str = ""
    choices: tuple[tuple[str, float], ...] = ()
    optional: bool = False
    missing_codes: tuple[float, ...] = ()
    aliases: tuple[str, ...] = ()
    concept: str = ""

    @property
    def categorical(self) -> bool:
        return bool(self.choices)

    def range_text(self) -> str:
        """The valid values in words: "6.9-36.1 mm" or "normal / abnormal"."""
        if self.choices:
            return " / ".join(word for word, _ in self.choices)
        sep = " to " if self.minimum < 0 else "-"  # "-5 to 10 mm", not "-5-10 mm"
        return f"{self.minimum:g}{sep}{self.maximum:g} {self.unit}".rstrip()

    def word_for(self, code: float) -> str | None:
        """The category word for a code (None for numeric fields or an unknown code)."""
        return next((word for word, c in self.choices if c == code), None)


@dataclass
class Cases:
    """A batch of inputs, preprocessed and ready for the network.

    `ids` name each case for the user (row number, file name, beat position); `meta` holds per-case
    extras a task wants to report (for ECG the R-peak sample index), `context` holds batch-level facts
    (for ECG the sampling rate, the record's signal for plotting).
    """

    x: np.ndarray
    ids: list[str]
    meta: list[dict[str, Any]] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.x):
            raise ValueError("Cases: ids and x differ in length")
        if not self.meta:
            self.meta = [{} for _ in self.ids]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class DataSplits:
    """Training and validation arrays for a task, with a description for the model card.

    `groups_*` hold the patient / record of each row where patients repeat, so splits and federated
    partitions can be made by patient.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    groups_train: np.ndarray | None = None
    groups_val: np.ndarray | None = None
    description: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainResult:
    """A trained network with its validation metrics and the facts the model card needs."""

    network: nn.Module
    metrics: dict[str, float]
    data: dict[str, Any]
    hyperparameters: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """One diagnostic task. Subclasses set the class attributes and implement the abstract methods."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    input_kind: ClassVar[InputKind]
    labels: ClassVar[tuple[str, ...]]
    #: index of the class whose probability is the "risk" score (binary tasks), for ROC AUC
    positive_index: ClassVar[int | None] = None
    #: name of the metric that selects models and gates publishing (higher is better)
    primary_metric: ClassVar[str] = "roc_auc"
    #: sub-folder of the shared data root the baseline is trained on (None: ships with a package)
    data_folder: ClassVar[str | None] = None
    #: how explanations are computed: "kernel" (model-agnostic SHAP on features) or "gradient"
    explanation_method: ClassVar[str] = "gradient"
    #: tabular tasks: the input fields in network order
    input_fields: ClassVar[tuple[InputField, ...]] = ()
    #: free-form facts for UIs and the model card (image size, sampling rate, file formats...)
    input_description: ClassVar[str] = ""
    # ----- catalog words: every surface (Spaces, portal, assistant, API examples, knowledge pages) reads
    # these instead of naming tasks itself
    #: words and synonyms that point at this task in a question (lower case; matched as whole words)
    keywords: ClassVar[tuple[str, ...]] = ()
    #: the body system the disease belongs to, for the marketplace filter ("cardiovascular", ...)
    body_system: ClassVar[str] = ""
    #: who the model is for and what it is not for (model card, Space, knowledge page)
    intended_use: ClassVar[str] = ""
    #: what a user supplies, in a few words ("a chest X-ray image", "the 8 diabetes measurements")
    input_words: ClassVar[str] = ""
    #: the Hugging Face Space card (`medhive spaces export`): "title", "emoji", "color", "short_description"
    #: (at most 60 characters), "tags" (subject tags), "intro" (how to use it); missing keys are derived
    space: ClassVar[dict[str, Any]] = {}

    # ----- network -------------------------------------------------------------------------------
    @abstractmethod
    def build_network(self, **hyperparameters: Any) -> nn.Module:
        """A freshly initialised network (a `PyTorchModelHubMixin` module) for this task."""

    @property
    @abstractmethod
    def network_class(self) -> type[nn.Module]:
        """The network class; `hub.registry.base.load_network(cls, folder)` loads a saved version."""

    # ----- input ---------------------------------------------------------------------------------
    @abstractmethod
    def read_input(self, path: Path, **options: Any) -> Cases:
        """Cases from a file or folder (one case or a batch); `InvalidInputError` on bad input."""

    @abstractmethod
    def prepare(self, raw: Any, **options: Any) -> Cases:
        """Cases from an in-memory input (a dict of field values, an image, a signal array)."""

    @abstractmethod
    def example_inputs(self) -> list[Path]:
        """Paths of built-in example inputs shipped with the package (readable by `read_input`)."""

    # ----- data and training ----------------------------------------------------------------------
    @abstractmethod
    def load_training_data(self, data_root: Path | None, *, seed: int = 0) -> DataSplits:
        """Train / validation splits from the public data set under `data_root`."""

    @abstractmethod
    def train_baseline(
        self, data_root: Path | None, *, seed: int = 0, progress: Progress = _quiet
    ) -> TrainResult:
        """Train the v1.0 baseline on real data and return it with validation metrics."""

    def metrics(self, y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
        """Validation metrics from true labels and class probabilities (see `hub.metrics`)."""
        from hub.metrics import classification_metrics

        return classification_metrics(y_true, proba, labels=self.labels, positive_index=self.positive_index)

    # ----- what differs by kind of input: each kind's shared base class implements these, so no surface
    # switches on `input_kind` (tabular: `hub.models._tabular.TabularMethods`, image: `ImageTask`, signal:
    # `EcgTask`); a task of a new kind implements them itself
    def explain_case(self, network: nn.Module, cases: Cases, index: int = 0, **opts: Any) -> Any:
        """A `hub.explain.Explanation` of the network's output for case `index`."""
        raise NotImplementedError(f"task {self.name!r} does not say how to explain its predictions")

    def describe_case(self, cases: Cases, index: int = 0) -> list[tuple[str, str]]:
        """What the model read for case `index`, as (name, value) pairs for a report; never file names."""
        return [("input", f"case {index + 1} of {len(cases)}")]

    def natural_partitions(self, data_root: Path | None) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        """The data's real hospitals, {centre: (x, y)}, where it has them (the federation default); else None."""
        return None

    # ----- requests: what the API, CLI and assistant do with a raw input before `read_input` / `prepare`
    #: a multi-file record (WFDB: .hea header + .dat signal) is one input of this task
    reads_records: ClassVar[bool] = False
    #: some labels are naturally rare (ECG's S, F, Q beats): a hospital need not hold a share of each
    rare_labels_expected: ClassVar[bool] = False

    def check_file(self, path: Path, *, limits: Any = None, **options: Any) -> int | None:
        """Refuse a file over the limits (`hub.limits.InputLimits`) from its size and headers, before it is
        read; the cases it holds where that is known up front, else None. Kinds add their own checks."""
        from hub import limits as lim

        lim.check_file_size(Path(path), limits or lim.DEFAULT)
        return None

    def check_inline(self, raw: Any, *, limits: Any = None, **options: Any) -> None:
        """Refuse an in-memory input over the limits before it becomes an array (kinds add their checks)."""
        return None

    def inline_units(self, raw: Any) -> int:
        """The cases an in-memory input holds, counted before it is parsed (each one is billed): a list of
        2-D images (or of signals given as objects) is a batch; a plain signal or image is one case."""
        if not isinstance(raw, list):
            return 1
        try:
            batch = bool(raw) and all(isinstance(r, (list, dict)) for r in raw) and np.asarray(raw, dtype=object).ndim >= 3
        except ValueError:  # ragged nesting: the task's own validation reports it
            batch = False
        return len(raw) if batch else 1

    def inline_input(self, raw: Any) -> Any:
        """An in-memory input (JSON values) as `prepare` takes it: a numeric array unless it is an object.
        `ValueError` / `TypeError` when it is not numeric."""
        return raw if isinstance(raw, dict) else np.asarray(raw, dtype=np.float32)

    def file_units(self, cases: Cases) -> int:
        """The billed units of an input file once read: one per case (row, image)."""
        return len(cases)

    def request_example(self, path: Path) -> tuple[dict[str, Any], Cases]:
        """The `/v1` predict body for one shipped example file, and the cases the server builds from it."""
        import base64

        content = base64.b64encode(Path(path).read_bytes()).decode()
        return {"file": {"filename": Path(path).name, "content_base64": content}}, self.read_input(path)

    def feature_summary(self, x: np.ndarray) -> dict[str, Any] | None:
        """Per-feature aggregates of a hospital's data for its validation report (tabular: ranges and missing
        counts); None where features mean nothing to a reader (pixels, beat samples)."""
        return None

    def local_training(self, x: np.ndarray, y: np.ndarray, *, batch_size: int
                       ) -> tuple[np.ndarray, np.ndarray, Callable[..., Any] | None]:
        """The arrays a node trains on and the augmentation of its batches (None: none)."""
        return x, y, None

    # ----- output --------------------------------------------------------------------------------
    def summarize(self, cases: Cases, proba: np.ndarray) -> dict[str, Any] | None:
        """A batch-level summary (for ECG: beats per class, rate); None where it means nothing."""
        return None

    def explain_background(self, network: nn.Module) -> np.ndarray | None:
        """Reference inputs for SHAP explanations (the explanation hook); None: zeros baseline."""
        return None

    # ----- plausibility (hub.trust) ---------------------------------------------------------------
    def embed(self, network: nn.Module, x: np.ndarray) -> np.ndarray | None:
        """One vector per case for the distance to the training distribution (`hub.trust.plausibility`).

        Tabular tasks: the row itself (the distance is affine-invariant, so no scaling is needed here).
        None: the task judges its inputs by `input_issues` only.
        """
        if self.input_fields:
            z = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
            mean = getattr(network, "mean", None)  # a missing value (NaN) counts as the network imputes it
            if mean is not None and np.isnan(z).any():
                z = np.where(np.isnan(z), np.asarray(mean.detach().cpu().numpy(), dtype=np.float64)[None, :], z)
            return z
        return None

    def input_issues(self, cases: Cases) -> list[str | None]:
        """Rule-based reasons, per case, why the model cannot judge it (None: no objection)."""
        return [None] * len(cases)

    # ----- helpers -------------------------------------------------------------------------------
    def data_path(self, data_root: Path | None) -> Path:
        """The task's data folder under `data_root`, or a clear error naming what is missing."""
        if self.data_folder is None:
            raise DataNotFoundError(f"task {self.name!r} has no data folder")
        if data_root is None:
            raise DataNotFoundError(f"no data folder given: pass --data DIR containing {self.data_folder}/")
        folder = Path(data_root) / self.data_folder
        if not folder.is_dir():
            raise DataNotFoundError(f"data folder not found: {folder} (needed by task {self.name!r})")
        return folder

    def card_facts(self) -> dict[str, Any]:
        """Static facts about the task for model cards and UIs."""
        return {
            "task": self.name,
            "title": self.title,
            "summary": self.summary,
            "input_kind": self.input_kind,
            "labels": list(self.labels),
            "input_description": self.input_description,
            "input_fields": [f.__dict__ for f in self.input_fields],
            "keywords": list(self.keywords),
            "body_system": self.body_system,
            "intended_use": self.intended_use,
            "input_words": self.input_words,
        }
