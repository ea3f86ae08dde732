"""Write the trust profile (trust.json) of each shipped baseline, next to its weights.

    python -m hub.trust.build [TASK ...] --data ../shared/data

The profile is computed from the shipped weights and the task's public data (the hub's reference split),
and its SHA-256 is added to baseline.json so seeding can check it like the weights. `hub.baselines`
calls `write_profile` after training a new baseline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hub.baselines import RECORD, SHIPPED, sha256_file
from hub.models import get_task, task_names
from hub.registry.base import load_network
from hub.trust import TRUST_FILE, build_profile, reference_split


def write_profile(task_name: str, folder: Path, data_root: Path | None) -> dict:
    """Compute trust.json for the weights in `folder` and record its digest in baseline.json."""
    task = get_task(task_name)
    network = load_network(task.network_class, folder, label=f"shipped baseline of {task_name}")
    profile = build_profile(task, network, reference_split(task, data_root))
    (folder / TRUST_FILE).write_text(json.dumps(profile) + "\n")
    (folder / TRUST_FILE).chmod(0o644)
    record_path = folder / RECORD
    record = json.loads(record_path.read_text())
    record.setdefault("sha256", {})[TRUST_FILE] = sha256_file(folder / TRUST_FILE)
    record_path.write_text(json.dumps(record, indent=2, default=float) + "\n")
    return profile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--root", type=Path, default=SHIPPED)
    args = parser.parse_args()
    for name in args.tasks or task_names():
        folder = args.root / name
        if not (folder / RECORD).is_file():
            continue
        profile = write_profile(name, folder, args.data)
        pl = profile.get("plausibility") or {}
        print(json.dumps({"task": name, "reference": profile["reference"],
                          "ece": profile["calibration"]["ece"], "temperature": profile["calibration"]["temperature"],
                          "validation_refused": pl.get("validation_refused"), "validation_cases": pl.get("validation_cases")}))


if __name__ == "__main__":
    main()
