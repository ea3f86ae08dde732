"""Split a task's public data into non-IID hospital folders for a local federation (demo and tests).

Labels are skewed across hospitals with a Dirichlet draw per class (alpha small = more skew), with a
floor of examples per class per hospital so every node passes validation. A task whose data has real
hospitals (heart disease: 4 centres, `Task.natural_partitions`) is split one hospital per centre instead. Each hospital folder is
written in the node format of its task: `data.csv` (tabular), `<label>/*.png|jpg` (images: files
copied, or PNGs written from array formats such as PneumoniaMNIST's .npz), WFDB records (ECG: whole records per hospital, the natural per-patient split).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np

from hub.models.base import Task


def dirichlet_split(y: np.ndarray, n: int, *, alpha: float = 1.0, seed: int = 0, min_per_class: int = 5
                    ) -> list[np.ndarray]:
    """Indices of `y` for `n` hospitals; each gets at least `min_per_class` of every class (if possible)."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(n)]
    for k in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == k))
        floor = min(min_per_class, len(idx) // n)
        for h in range(n):
            parts[h] += idx[h * floor:(h + 1) * floor].tolist()
        rest = idx[n * floor:]
        shares = rng.dirichlet([alpha] * n)
        cuts = (np.cumsum(shares)[:-1] * len(rest)).astype(int)
        for h, chunk in enumerate(np.split(rest, cuts)):
            parts[h] += chunk.tolist()
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def write_tabular(task: Task, x: np.ndarray, y: np.ndarray, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f.name for f in task.input_fields] + ["diagnosis"])
        for row, label in zip(x, y):
            w.writerow(["" if np.isnan(v) else f"{v:.6g}" for v in row] + [task.labels[int(label)]])
    return path


def split_tabular(task: Task, out: Path, n: int | None, *, alpha: float = 1.0, seed: int = 0,
                  data_root: Path | None = None) -> list[Path]:
    """Hospital CSVs: the task's natural split (one hospital per centre) when it has one and `n` is None or
    its number of centres; otherwise a Dirichlet label-skewed split of the pooled data into `n`."""
    natural = task.natural_partitions(data_root)
    if natural and n in (None, len(natural)):
        return [write_tabular(task, x, y, out / f"hospital-{k + 1}-{centre}")
                for k, (centre, (x, y)) in enumerate(natural.items())]
    n = n or 3
    splits = task.load_training_data(data_root, seed=seed)
    x = np.concatenate([splits.x_train, splits.x_val])
    y = np.concatenate([splits.y_train, splits.y_val])
    return [write_tabular(task, x[idx], y[idx], out / f"hospital-{h + 1}")
            for h, idx in enumerate(dirichlet_split(y, n, alpha=alpha, seed=seed))]


def split_image_folders(task: Task, source: Path, out: Path, n: int, *, alpha: float = 1.0, seed: int = 0,
                        per_hospital: int | None = None) -> list[Path]:
    """Copy folder-per-class images from `source` into `n` hospital folders (optionally at most
    `per_hospital` images each, drawn evenly from what the split gave it)."""
    from hub.models._image import find_images

    files, y = [], []
    for k, label in enumerate(task.labels):
        found = find_images(source / label)
        files += found
        y += [k] * len(found)
    labels = np.array(y)
    out_dirs = []
    rng = np.random.default_rng(seed)
    for h, idx in enumerate(dirichlet_split(labels, n, alpha=alpha, seed=seed)):
        if per_hospital is not None and len(idx) > per_hospital:
            idx = np.sort(rng.choice(idx, per_hospital, replace=False))
        folder = out / f"hospital-{h + 1}"
        for i in idx:
            dst = folder / task.labels[labels[i]] / f"img{i:05d}{files[i].suffix.lower()}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(files[i], dst)
        out_dirs.append(folder)
    return out_dirs


def split_arrays_to_images(task: Task, x: np.ndarray, y: np.ndarray, out: Path, n: int, *, alpha: float = 1.0,
                           seed: int = 0, per_hospital: int | None = None) -> list[Path]:
    """Write image arrays (N, C, H, W in [0, 1], e.g. PneumoniaMNIST's .npz) as PNG class folders."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out_dirs = []
    for h, idx in enumerate(dirichlet_split(y, n, alpha=alpha, seed=seed)):
        if per_hospital is not None and len(idx) > per_hospital:
            idx = np.sort(rng.choice(idx, per_hospital, replace=False))
        folder = out / f"hospital-{h + 1}"
        for i in idx:
            img = np.clip(np.asarray(x[i]) * 255.0, 0, 255).astype(np.uint8)
            img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
            dst = folder / task.labels[int(y[i])] / f"img{i:05d}.png"
            dst.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(dst)
        out_dirs.append(folder)
    return out_dirs


def split_records(source: Path, out: Path, n: int, *, records: list[str] | None = None, seed: int = 0) -> list[Path]:
    """Whole WFDB records round-robin over `n` hospitals (each patient's record stays at one hospital)."""
    names = records or sorted(p.stem for p in source.glob("*.hea"))
    order = np.random.default_rng(seed).permutation(len(names))
    out_dirs = [out / f"hospital-{h + 1}" for h in range(n)]
    for rank, i in enumerate(order):
        folder = out_dirs[rank % n]
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".hea", ".dat", ".atr"):
            src = source / f"{names[i]}{suffix}"
            if src.is_file():
                shutil.copyfile(src, folder / src.name)
    return out_dirs


def split_task(task: Task, out: Path, n: int | None, *, data_root: Path | None, alpha: float = 1.0, seed: int = 0,
               per_hospital: int | None = None) -> list[Path]:
    """Hospital folders for `task` under `out` (the data of each lies where its node would read it);
    `n` None: the task's natural split where it has one, else 3 hospitals. The split in the task's own
    on-disk format is chosen by `federation.formats`."""
    from federation.formats import split_task as split  # formats imports this module's splitters

    return split(task, out, n, data_root=data_root, alpha=alpha, seed=seed, per_hospital=per_hospital)
