"""Run configuration of a federation job (the Flower app's `[tool.flwr.app.config]`), and a cheap task
lookup: this module imports nothing heavy, because every Flower message starts a fresh app process.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from typing import Any


def load_task(name: str):
    """The task `name`, importing only its own module (`hub.models.<name>`), not every task's."""
    try:
        module = importlib.import_module(f"hub.models.{name}")
        task = getattr(module, "TASK", None)
        if task is not None and task.name == name:
            return task
    except ImportError:
        pass
    from hub.models import get_task

    return get_task(name)


@dataclass
class JobConfig:
    """The run config of the Flower app (keys with dashes in pyproject.toml, underscores here)."""

    task: str = "breast_cancer"
    num_rounds: int = 2
    min_hospitals: int = 3
    strategy: str = "fedavg"
    proximal_mu: float = 0.01
    trim_fraction: float = 0.2
    secure_aggregation: bool = True
    secagg_threshold: float = 0.6
    secagg_num_shares: float = 1.0  # <= 1: fraction of the round's hospitals each one shares with; > 1: a count
    secagg_max_weight: float = 1000.0
    secagg_clipping_range: float = 8.0
    local_epochs: int = 2
    batch_size: int = 32
    lr: float = 0.003
    dp: bool = False
    dp_epsilon: float = 0.0  # target per hospital for this job; 0: use dp_noise_multiplier
    dp_noise_multiplier: float = 1.0
    dp_clip: float = 1.0
    dp_delta: float = 1e-5
    gate_tolerance: float = 0.005
    reference_tolerance: float = 0.01  # how far the candidate's reference-split metric may fall below the parent's
    reference_data: str = ""  # the hub's public data root (the reference split); "" for tasks whose data ships
    wait_timeout: int = 120
    reply_timeout: int = 600  # seconds the eligibility question waits for replies (each starts an app process)
    reply_poll: float = 0.2  # seconds between the ServerApp's pulls for replies (flwr's own grid waits 3 s)
    round_retries: int = 1
    medhive_home: str = ""
    registry: str = "local"
    signing_key: str = ""
    tracking_uri: str = ""
    job_dir: str = ""
    job_name: str = ""
    probe_dir: str = ""
    accounts_db: str = ""  # accounts store URL for contribution records; default: SQLite in medhive_home
    job_id: str = ""  # the aggregation service's job row: publishing only while it is still running
    eligibility_wait: int = 0  # seconds round 1 waits for enough eligible hospitals (0: fail at once)

    @classmethod
    def from_run_config(cls, run_config: dict[str, Any]) -> JobConfig:
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, value in run_config.items():
            name = key.replace("-", "_")
            if name in known:
                kind = type(getattr(cls(), name))
                values[name] = kind(value) if kind is not bool else bool(value)
        return cls(**values)
