"""A folder of derived files kept beside the knowledge index, valid while its manifest matches.

The embedded examples (`assistant.examples.open_examples`) and the router's fit (`assistant.router.open_router`)
are both computed from files in the repository and a model, once per installation, and read back on every cold
start. Both keep them the same way: a folder holding the files and a `manifest.json` (the key: a digest of the
inputs, the model, the settings). `current` says whether a folder was made from the same key; `replace` writes a
new one into a temporary folder beside it and moves it into place with `os.replace`, so a reader never sees a
half-written folder and two processes building at once leave one whole copy. An unwritable home keeps nothing:
the caller uses what it computed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def current(cache_dir: Path, key: dict[str, Any]) -> bool:
    """`cache_dir` holds files made from `key`."""
    try:
        return json.loads((cache_dir / "manifest.json").read_text(encoding="utf-8")) == key
    except (OSError, ValueError):
        return False


def replace(cache_dir: Path, key: dict[str, Any], write: Callable[[Path], None]) -> bool:
    """Write `cache_dir` afresh: `write(folder)` puts the files, then the manifest, then the move. False when
    the home cannot be written (nothing is kept)."""
    try:
        cache_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
    except OSError:
        return False
    try:
        write(tmp)
        (tmp / "manifest.json").write_text(json.dumps(key), encoding="utf-8")
        if cache_dir.exists():
            shutil.rmtree(cache_dir, ignore_errors=True)
        os.replace(tmp, cache_dir)
        return True
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
