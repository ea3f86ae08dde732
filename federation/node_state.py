"""A hospital node's own state folder: consent records, the privacy ledger, the node's pseudonym.

Everything lives in files under the node's state folder on the hospital's machine (`consent.json`,
`privacy.json`, `node-salt`); nothing here is sent anywhere except the pseudonym and per-round epsilon.

Consent is recorded per task with a scope ("training" or "evaluation"), the time it was granted or
revoked and who did it; a node trains only for tasks with an active "training" consent. The ledger
holds, per task, the Rényi-DP vector the hospital has spent (it composes by addition) and one entry per
round it contributed to, so the budget check covers every job the node ever joined.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from federation.accountant import ORDERS, epsilon_from_rdp

SCOPES = ("training", "evaluation")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class ConsentRecord:
    task: str
    scope: str
    granted_at: str
    granted_by: str = ""
    revoked_at: str | None = None
    note: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class NodeState:
    """The state folder of one hospital node (created on first use, private to the node's user)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).expanduser()

    # ----- files -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.folder / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _load(self, name: str, default: Any) -> Any:
        path = self.folder / name
        return json.loads(path.read_text()) if path.is_file() else default

    def _save(self, name: str, data: Any) -> None:
        path = self.folder / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)

    # ----- pseudonym -------------------------------------------------------------------------------
    def pseudonym(self) -> str:
        """A stable pseudonymous id ("h-" + 8 hex), derived from a random salt that never leaves the node."""
        with self._locked():
            salt_file = self.folder / "node-salt"
            if not salt_file.is_file():
                salt_file.write_text(secrets.token_hex(16))
                salt_file.chmod(0o600)
            salt = salt_file.read_text().strip()
        return "h-" + hashlib.sha256(salt.encode()).hexdigest()[:8]

    # ----- consent ---------------------------------------------------------------------------------
    def consents(self) -> list[ConsentRecord]:
        return [ConsentRecord(**r) for r in self._load("consent.json", [])]

    def grant(self, task: str, *, scope: str = "training", by: str = "", note: str = "") -> ConsentRecord:
        if scope not in SCOPES:
            raise ValueError(f"unknown consent scope {scope!r}; scopes are {', '.join(SCOPES)}")
        record = ConsentRecord(task=task, scope=scope, granted_at=_now(), granted_by=by, note=note)
        with self._locked():
            records = self._load("consent.json", [])
            records.append(asdict(record))
            self._save("consent.json", records)
        return record

    def revoke(self, task: str, *, scope: str | None = None) -> int:
        """Revoke every active consent for `task` (and `scope`, if given); returns how many."""
        n = 0
        with self._locked():
            records = self._load("consent.json", [])
            for r in records:
                if r["task"] == task and r["revoked_at"] is None and scope in (None, r["scope"]):
                    r["revoked_at"] = _now()
                    n += 1
            self._save("consent.json", records)
        return n

    def has_consent(self, task: str, scope: str = "training") -> bool:
        # training consent covers evaluation of the models it helped train
        scopes = {scope, "training"} if scope == "evaluation" else {scope}
        return any(r.active and r.task == task and r.scope in scopes for r in self.consents())

    # ----- privacy ledger --------------------------------------------------------------------------
    def spent_rdp(self, task: str) -> np.ndarray:
        ledger = self._load("privacy.json", {})
        entry = ledger.get(task)
        return np.array(entry["rdp"], dtype=np.float64) if entry else np.zeros(len(ORDERS))

    def spent_epsilon(self, task: str, delta: float) -> float:
        return epsilon_from_rdp(self.spent_rdp(task), delta)

    def record_spend(self, task: str, *, run: str, round_: int, rdp: np.ndarray, epsilon_round: float,
                     delta: float) -> float:
        """Add one round's RDP to the ledger; returns the cumulative epsilon for `task` at `delta`."""
        with self._locked():
            ledger = self._load("privacy.json", {})
            entry = ledger.setdefault(task, {"orders": ORDERS.tolist(), "rdp": [0.0] * len(ORDERS), "rounds": []})
            total = np.array(entry["rdp"]) + np.asarray(rdp)
            entry["rdp"] = total.tolist()
            cumulative = epsilon_from_rdp(total, delta)
            entry["rounds"].append({"time": _now(), "run": run, "round": round_, "epsilon_round": epsilon_round,
                                    "epsilon_cumulative": cumulative, "delta": delta})
            self._save("privacy.json", ledger)
        return cumulative

    def save_enrollment(self, *, hub: str, node_id: str, org_id: str, name: str, superlink: str | None = None,
                        ca_pem: str | None = None) -> None:
        """The hub's answer to this node's one-time enrollment: which organization the node trains for, the
        aggregation service's Fleet address and the CA certificate its SuperLink's certificate chains to."""
        with self._locked():
            if ca_pem:
                (self.folder / "superlink-ca.pem").write_text(ca_pem)
            self._save("enrollment.json", {"hub": hub, "node_id": node_id, "org_id": org_id, "name": name,
                                           "superlink": superlink, "enrolled_at": _now()})

    def superlink_ca(self) -> Path | None:
        path = self.folder / "superlink-ca.pem"
        return path if path.is_file() else None

    def enrollment(self) -> dict[str, str] | None:
        return self._load("enrollment.json", None)

    def record_contribution(self, task: str, *, run: str, round_: int, samples: int,
                            epsilon_round: float | None) -> None:
        """One line per round the node trained in (DP or not): the hospital's contribution history."""
        line = json.dumps({"time": _now(), "task": task, "run": run, "round": round_, "samples": samples,
                           "epsilon_round": epsilon_round})
        with self._locked(), open(self.folder / "contributions.jsonl", "a") as fh:
            fh.write(line + "\n")

    def contributions(self) -> list[dict[str, Any]]:
        path = self.folder / "contributions.jsonl"
        return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else []

    def history(self, task: str | None = None) -> list[dict[str, Any]]:
        ledger = self._load("privacy.json", {})
        return [{"task": t, **r} for t, e in ledger.items() if task in (None, t) for r in e["rounds"]]
