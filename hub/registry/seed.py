"""Seed a registry with the shipped baseline models as v1.0 of each task.

A baseline folder (`hub/models/weights/<task>/`, written by `hub.baselines`) holds `model.safetensors`,
`config.json` and `baseline.json` (validation metrics, data description, the weights' SHA-256). Seeding
checks that SHA-256, loads the weights strictly into the task's network class (safetensors only), and
publishes them signed as v1.0 with alias `production`. Tasks that already have a version (usable or
not), or whose weights do not ship yet, are left alone, so seeding is idempotent.
"""

from __future__ import annotations

import json
from pathlib import Path

from hub.baselines import RECORD, SHIPPED, WEIGHTS, sha256_file
from hub.errors import RegistryError
from hub.models import get_task, task_names
from hub.registry.base import Lineage, Registry, VersionInfo, load_network


def seed_baselines(registry: Registry, weights_root: Path = SHIPPED, tasks: list[str] | None = None, *,
                   actor: str | None = "seed") -> list[VersionInfo]:
    """Publish each shipped baseline that the registry does not have yet; returns what was published."""
    done: list[VersionInfo] = []
    for name in tasks or task_names():
        task = get_task(name)
        folder = Path(weights_root) / name
        if not (folder / WEIGHTS).is_file() or not (folder / RECORD).is_file():
            continue  # no shipped weights for this task (yet)
        if registry.version_names(name):
            # any version present, even one that no longer verifies: versions are immutable, and a broken
            # one is reported by `medhive models verify` and /health, never silently republished over
            continue
        try:
            record = json.loads((folder / RECORD).read_text())
            expected = record["sha256"][WEIGHTS]
        except (ValueError, KeyError, TypeError):
            raise RegistryError(f"shipped baseline of {name}: {RECORD} is unreadable or lacks the weights' sha256") from None
        if sha256_file(folder / WEIGHTS) != expected:
            raise RegistryError(
                f"shipped baseline of {name}: {WEIGHTS} does not match the sha256 in {RECORD} (corrupted or replaced?)"
            )
        network = load_network(task.network_class, folder, label=f"shipped baseline of {name}")
        data = dict(record.get("data") or {})
        lineage = Lineage(
            source="baseline", samples=int(data.get("train_cases") or 0),
            notes=f"baseline trained centrally on public data{', seed ' + str(record['seed']) if 'seed' in record else ''}",
        )
        done.append(registry.publish(name, network, metrics=record.get("metrics") or {}, lineage=lineage,
                                     data=data, alias="production", actor=actor, version="v1.0"))
    return done
