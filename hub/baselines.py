"""Baseline (v1.0) models: train on real public data, save as safetensors with a metrics record.

The weights shipped in `hub/models/weights/<task>/` are produced by

    medhive models train-baseline [TASK] --data ../shared/data

(or `python -m hub.baselines`), and seeded into a fresh registry as v1.0. Each folder holds the files of
`save_pretrained` (model.safetensors, config.json) plus `baseline.json`: validation metrics, data
description, hyperparameters, seed, when it was trained, and the weights' SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from hub.models import get_task, task_names
from hub.models.base import Progress, _quiet

SHIPPED = Path(__file__).parent / "models" / "weights"
WEIGHTS = "model.safetensors"
RECORD = "baseline.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def train_and_save(task_name: str, data_root: Path | None, out_root: Path = SHIPPED, *, seed: int = 0,
                   progress: Progress = _quiet) -> dict:
    """Train `task_name`'s baseline and write it to `out_root/<task>/` atomically; returns the record."""
    import torch

    task = get_task(task_name)
    torch.manual_seed(seed)
    started = time.perf_counter()
    result = task.train_baseline(data_root, seed=seed, progress=progress)
    seconds = time.perf_counter() - started
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{task_name}-", dir=out_root))
    try:
        result.network.save_pretrained(tmp)
        (tmp / "README.md").unlink(missing_ok=True)  # the registry writes the real model card
        record = {
            "task": task_name,
            "metrics": result.metrics,
            "data": result.data,
            "hyperparameters": result.hyperparameters,
            "seed": seed,
            "train_seconds": round(seconds, 1),
            "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "sha256": {WEIGHTS: sha256_file(tmp / WEIGHTS)},
        }
        (tmp / RECORD).write_text(json.dumps(record, indent=2, default=float) + "\n")
        # mkdtemp makes a private folder; shipped weights are readable by everyone
        tmp.chmod(0o755)
        for f in tmp.iterdir():
            f.chmod(0o644)
        final = out_root / task_name
        if final.exists():
            old = out_root / f".{task_name}-old"
            shutil.rmtree(old, ignore_errors=True)
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return record


def shipped_record(task_name: str, root: Path = SHIPPED) -> dict | None:
    """The record of a shipped baseline, or None when no weights ship for the task."""
    path = Path(root) / task_name / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=None)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in args.tasks or task_names():
        record = train_and_save(name, args.data, args.out, seed=args.seed, progress=lambda s, n=name: print(f"[{n}] {s}"))
        print(json.dumps({"task": name, "metrics": record["metrics"], "train_seconds": record["train_seconds"]}))


if __name__ == "__main__":
    main()
