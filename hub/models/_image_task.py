"""`ImageTask`: what the image tasks (pneumonia, glaucoma) share, without importing torch.

The network, augmentation and training loop are in `hub.models._image_net` and are imported by the
methods that need them, so reading images, validating a folder or listing tasks stays light.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hub.models._image import IMAGE_SUFFIXES, AugmentConfig, ImageFitConfig, prepare_images, read_image_path
from hub.models.base import Cases, DataSplits, Progress, Task, TrainResult, _quiet

if TYPE_CHECKING:
    from torch import nn

__all__ = ["AugmentConfig", "ImageFitConfig", "ImageTask"]


class ImageTask(Task):
    """What the image tasks share; a subclass sets the class attributes and `load_training_data`."""

    input_kind = "image"
    explanation_method = "gradient"
    image_size: ClassVar[int]
    channels: ClassVar[int]
    network_kwargs: ClassVar[dict[str, Any]]
    fit_config: ClassVar[ImageFitConfig]
    augment_config: ClassVar[AugmentConfig]
    examples_dir: ClassVar[Path]

    @property
    def network_class(self) -> type[nn.Module]:
        from hub.models._image_net import ImageNet

        return ImageNet

    def build_network(self, **hp: Any) -> nn.Module:
        from hub.models._image_net import ImageNet

        params = {**self.network_kwargs, **hp}
        return ImageNet(in_channels=self.channels, n_classes=len(self.labels), image_size=self.image_size, **params)

    def _context(self) -> dict[str, Any]:
        mode = "grey" if self.channels == 1 else "RGB"
        return {"preprocessing": f"{mode}, centre square crop, bicubic resize to {self.image_size}x{self.image_size}"}

    def read_input(self, path: Path, **options: Any) -> Cases:
        return read_image_path(Path(path), size=self.image_size, channels=self.channels, **self._context())

    def prepare(self, raw: Any, **options: Any) -> Cases:
        return prepare_images(raw, size=self.image_size, channels=self.channels, **self._context())

    def example_inputs(self) -> list[Path]:
        return sorted(p for p in self.examples_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    # ----- requests and node training -------------------------------------------------------------
    def check_file(self, path: Path, *, limits: Any = None, **options: Any) -> int | None:
        from hub import limits as lim

        return lim.check_image_file(Path(path), limits=limits or lim.DEFAULT)

    def check_inline(self, raw: Any, *, limits: Any = None, **options: Any) -> None:
        from hub import limits as lim

        lim.check_image_inline(raw, limits=limits or lim.DEFAULT)

    def local_training(self, x: np.ndarray, y: np.ndarray, *, batch_size: int) -> tuple[np.ndarray, np.ndarray, Any]:
        from hub.models._image_net import make_augment

        if len(y) % batch_size == 1:  # BatchNorm cannot train on a last batch of one image
            x, y = x[:-1], y[:-1]
        return x, y, make_augment(self.augment_config)

    def train(self, splits: DataSplits, *, seed: int = 0, progress: Progress = _quiet, **overrides: Any) -> TrainResult:
        """Train a fresh network on `splits`; `overrides` replace fields of `fit_config` (e.g. epochs=1)."""
        from hub.models._image_net import fit_image, make_augment
        from hub.training import predict_proba

        cfg = replace(self.fit_config, seed=seed, **overrides)
        net = self.build_network()
        net.set_statistics(splits.x_train)
        net, _, epoch = fit_image(
            net, splits.x_train, splits.y_train, splits.x_val, splits.y_val, config=cfg, n_classes=len(self.labels),
            # ROC AUC selects; accuracy only breaks ties between epochs with the same ranking
            score=lambda y, p: (m := self.metrics(y, p)).get("roc_auc", 0.0) + 0.01 * m["accuracy"],
            augment=make_augment(self.augment_config), progress=progress,
        )
        metrics = self.metrics(splits.y_val, predict_proba(net, splits.x_val))
        hp = {**self.network_kwargs, "image_size": self.image_size, "channels": self.channels,
              **asdict(cfg), "augment": asdict(self.augment_config), "best_epoch": epoch}
        return TrainResult(network=net, metrics=metrics, data=splits.description, hyperparameters=hp)

    def train_baseline(self, data_root: Path | None, *, seed: int = 0, progress: Progress = _quiet) -> TrainResult:
        return self.train(self.load_training_data(data_root, seed=seed), seed=seed, progress=progress)

    def explain_case(self, network: nn.Module, cases: Cases, index: int = 0, **opts: Any) -> Any:
        from hub.explain.image import explain_image

        return explain_image(self, network, cases, index, **opts)

    def describe_case(self, cases: Cases, index: int = 0) -> list[tuple[str, str]]:
        meta = cases.meta[index] if cases.meta else {}
        size = meta.get("original_size")
        shape = np.asarray(cases.x[index]).shape
        out = [("input", f"image {index + 1} of {len(cases)}")]
        if size:
            out.append(("original size", f"{size[0]} x {size[1]} px"))
        out.append(("model input", f"{shape[-1]} x {shape[-2]} px, {'grey' if shape[0] == 1 else 'colour'}"))
        if cases.context.get("preprocessing"):
            out.append(("preprocessing", str(cases.context["preprocessing"])))
        return out

    def explain_background(self, network: nn.Module) -> np.ndarray | None:
        from hub.models._image_net import explain_background

        return explain_background(network)

    # ----- plausibility (hub.trust) ------------------------------------------------------------------
    def embed(self, network: nn.Module, x: np.ndarray) -> np.ndarray | None:
        from hub.models._image_net import image_embedding

        return image_embedding(network, x)

    def input_issues(self, cases: Cases) -> list[str | None]:
        if self.channels != 1:
            return [None] * len(cases)
        # a grey-scale model (chest X-rays) cannot tell a colour photograph from an X-ray once it is
        # turned grey; X-rays carry no colour, so a colourful upload is refused by that fact alone
        return [f"a colour image (colourfulness {m['colourfulness']:.0f}); this model reads grey-scale images"
                if m.get("colourfulness", 0.0) > COLOURFUL else None for m in cases.meta]


#: Hasler & Suesstrunk (2003) colourfulness above which an image is "moderately colourful" (their scale:
#: 0 not colourful, 15 slightly, 33 moderately); grey-scale scans and X-ray exports score about 0
COLOURFUL = 15.0
