"""Pneumonia: normal / pneumonia from a paediatric chest X-ray, at PneumoniaMNIST's 28x28 grey resolution.

Data: PneumoniaMNIST (Yang et al., "MedMNIST v2", Scientific Data 2023), derived from the chest X-rays of
Kermany et al., Cell 2018 (Guangzhou Women and Children's Medical Center); label 1 = pneumonia. The baseline
trains on the official train split and selects the epoch on the official validation split; the official
test split is kept apart for independent evaluation.

Any X-ray given by a user is made the way MedMNIST made its images: converted to grey, the centre square
cropped, resized to 28x28 with antialiased bicubic interpolation. Inputs: one image file, a folder of
images (folder-per-class works; ids are relative paths), or a MedMNIST-style `.npz` (`images` or
`<split>_images`, option `key=`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import DataNotFoundError, InvalidInputError
from hub.models._image import load_class_folders, prepare_images, read_npz
from hub.models._image_task import AugmentConfig, ImageFitConfig, ImageTask
from hub.models.base import Cases, DataSplits

CITATION = (
    "Yang et al., MedMNIST v2, Scientific Data 10:41 (2023); "
    "Kermany et al., Identifying medical diagnoses and treatable diseases by image-based deep learning, Cell 172 (2018)"
)


class PneumoniaTask(ImageTask):
    name = "pneumonia"
    title = "Pneumonia (chest X-ray)"
    summary = "Normal or pneumonia from a paediatric chest X-ray, read at 28x28 pixels like PneumoniaMNIST."
    labels = ("normal", "pneumonia")
    positive_index = 1
    data_folder = "pneumoniamnist"
    keywords = ("pneumonia", "xray", "x-ray", "chest film", "chest image", "chest radiograph", "radiograph",
                "lung")
    body_system = "respiratory"
    intended_use = ("Decision support and teaching on paediatric chest X-rays: flags images that look like pneumonia "
                    "for a clinician's reading; not for adults' films or for triage without review.")
    input_words = "chest X-rays"
    space = {
        "title": "MedHive pneumonia X-ray",
        "emoji": "🫁",
        "color": "blue",
        "short_description": "Normal or pneumonia from a chest X-ray, explained",
        "tags": ["radiology", "chest-x-ray", "pneumonia"],
        "intro": "Upload a frontal chest X-ray (PNG, JPEG, BMP, TIFF) or pick an example. The model reads it as PneumoniaMNIST does (grey, centre square, 28x28) and shows where in the image the evidence lies (SHAP heatmap).",
    }
    input_description = (
        "A frontal chest X-ray (PNG, JPEG, BMP, TIFF; any size, colour or bit depth), a folder of them, or a "
        "MedMNIST-style .npz with an (N, H, W) images array. Each image is converted to grey, its centre "
        "square cropped and resized to 28x28 pixels (bicubic), as PneumoniaMNIST was made."
    )
    image_size = 28
    channels = 1
    # test-time augmentation: the logits averaged over the image and its four 1-pixel shifts (issue 16 item 6:
    # better validation AUC and log loss for each of 3 seeds; benchmarks/results/image_headroom-pneumonia.md)
    network_kwargs = {"widths": [16, 32, 64], "convs": 2, "stem_stride": 1, "dropout": 0.2, "tta": "shift1"}
    fit_config = ImageFitConfig(epochs=12, batch_size=64, lr=3e-3, weight_decay=5e-4)
    # X-rays vary in positioning, exposure and contrast, not in handedness: no flips
    augment_config = AugmentConfig(rotate_deg=10, scale=0.1, shift=0.06, brightness=0.1, contrast=0.2, padding="border")
    examples_dir = Path(__file__).parent / "examples" / "pneumonia"

    def read_input(self, path: Path, **options: Any) -> Cases:
        path = Path(path)
        if path.suffix.lower() == ".npz":
            return read_npz(path, size=self.image_size, channels=self.channels, key=options.get("key"), **self._context())
        return super().read_input(path, **options)

    def load_training_data(self, data_root: Path | None, *, seed: int = 0) -> DataSplits:
        """The official train / val splits of a PneumoniaMNIST `.npz`, or a 80/20 split of class folders."""
        folder = self.data_path(data_root)
        for npz in sorted(folder.glob("*.npz")):
            with np.load(npz, allow_pickle=False) as data:
                if {"train_images", "train_labels", "val_images", "val_labels"} <= set(data.files):
                    arrays = {k: data[k] for k in ("train_images", "train_labels", "val_images", "val_labels")}
                    return self._npz_splits(npz.name, arrays)
        if all((folder / lab).is_dir() for lab in self.labels):
            return self._folder_splits(folder, seed)
        raise DataNotFoundError(
            f"no PneumoniaMNIST .npz (train_/val_ images and labels) or {'/'.join(self.labels)}/ folders in {folder}"
        )

    def _to_x(self, images: np.ndarray) -> np.ndarray:
        if images.dtype == np.uint8 and images.shape[1:] == (self.image_size, self.image_size):
            return images.astype(np.float32)[:, None] / 255.0  # already PneumoniaMNIST-sized: nothing to resample
        return prepare_images(images, size=self.image_size, channels=self.channels).x

    def _npz_splits(self, file_name: str, a: dict[str, np.ndarray]) -> DataSplits:
        x_tr, x_va = self._to_x(a["train_images"]), self._to_x(a["val_images"])
        y_tr = a["train_labels"].reshape(len(x_tr), -1)[:, 0].astype(np.int64)
        y_va = a["val_labels"].reshape(len(x_va), -1)[:, 0].astype(np.int64)
        if not set(np.unique(np.concatenate([y_tr, y_va]))) <= {0, 1}:
            raise InvalidInputError(f"{file_name}: labels must be 0 (normal) or 1 (pneumonia)")
        return DataSplits(x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va, description=self._describe(
            f"PneumoniaMNIST ({file_name})", "official MedMNIST train / validation splits; the test split is held out",
            y_tr, y_va))

    def _folder_splits(self, folder: Path, seed: int) -> DataSplits:
        from sklearn.model_selection import train_test_split

        x, y, _ = load_class_folders(folder, self.labels, size=self.image_size, channels=self.channels)
        x_tr, x_va, y_tr, y_va = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
        return DataSplits(x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va, description=self._describe(
            f"chest X-ray images in class folders ({folder.name})", f"stratified random 80/20 by image, seed {seed}",
            y_tr, y_va))

    def _describe(self, dataset: str, split: str, y_tr: np.ndarray, y_va: np.ndarray) -> dict[str, Any]:
        return {
            "dataset": dataset,
            "citation": CITATION,
            "licence": "CC BY 4.0 (MedMNIST)",
            "split": split,
            "train_cases": int(len(y_tr)),
            "validation_cases": int(len(y_va)),
            "class_counts_train": {lab: int((y_tr == k).sum()) for k, lab in enumerate(self.labels)},
            "class_counts_validation": {lab: int((y_va == k).sum()) for k, lab in enumerate(self.labels)},
            "preprocessing": "grey, centre square crop, bicubic resize to 28x28, scaled to [0, 1]",
        }


TASK = PneumoniaTask()
