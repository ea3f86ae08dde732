"""The node's cache of its validated data: load and validate once, reuse in every later message.

Flower starts a fresh app process for every message, so an in-memory cache would be empty each time. The
validated, split arrays are kept instead in the node's own state folder (`<state>/data-cache/`, private
to the node's user, never sent anywhere), keyed by the task, the validation settings and a fingerprint of
the data files (path, size and modification time of each file): editing, adding or removing a file
revalidates. Refused data is never cached, so a refusal is repeated with its reasons every time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from federation.data import HospitalData

#: bump when what is cached (the loaders' output or the split) changes meaning
VERSION = 1
_FOLDER = "data-cache"
_ARRAYS = ("x_train", "y_train", "x_val", "y_val")


def fingerprint(path: Path) -> str:
    """A digest of the data's file names, sizes and modification times (contents are not read)."""
    path = Path(path).resolve()
    h = hashlib.sha256(str(path).encode())
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        st = p.stat()
        h.update(f"\0{p.relative_to(path) if p != path else p.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()


def cache_key(task: str, path: Path, **settings: Any) -> str:
    blob = json.dumps({"v": VERSION, "task": task, "data": fingerprint(path), **settings}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def load(state_dir: Path, task: str, key: str) -> HospitalData | None:
    file = Path(state_dir) / _FOLDER / f"{task}-{key}.npz"
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as z:
            arrays = {k: z[k] for k in _ARRAYS}
            summary = json.loads(str(z["summary"]))
    except (OSError, ValueError, KeyError):
        return None  # unreadable (a crash mid-write on another file system): validate again
    return HospitalData(**arrays, summary=summary)


def save(state_dir: Path, task: str, key: str, data: HospitalData) -> None:
    folder = Path(state_dir) / _FOLDER
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = folder / f".{task}-{key}.{os.getpid()}.npz"
    np.savez(tmp, **{k: getattr(data, k) for k in _ARRAYS}, summary=np.array(json.dumps(data.summary)))
    os.replace(tmp, folder / f"{task}-{key}.npz")
    for old in folder.glob(f"{task}-*.npz"):  # one entry per task: the data as it is now
        if old.name != f"{task}-{key}.npz":
            old.unlink(missing_ok=True)
