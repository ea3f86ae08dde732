"""One federation job on the aggregation server, framework-free: configuration, the parent model,
progress events, MLflow, the validation gate and publishing.

The ServerApp drives the rounds and calls in here. Progress goes to `<job-dir>/events.jsonl` (one JSON
object per line, read by the launcher to show progress) and the end state to `<job-dir>/outcome.json`
(`flwr run --stream` exits 0 even when a ServerApp fails, so the launcher reads the outcome instead).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from federation.config import JobConfig, load_task
from federation.gate import GateDecision, decide


class Job:
    """Server-side state of one job; every public method is safe to call from the ServerApp."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.task = load_task(config.task)
        self.dir = Path(config.job_dir or Path(config.medhive_home or ".") / "federation" / "jobs" / (config.job_name or "job"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        self.parent_version: str | None = None
        self.network = None
        self.round_metrics: dict[int, dict[str, float]] = {}
        self.round_hospitals: dict[int, dict[str, dict[str, float]]] = {}
        self.hospitals: dict[str, dict[str, Any]] = {}
        self.orgs: dict[str, str] = {}  # pseudonym -> enrolled organization id, for contribution records only
        self.tracker = None
        self.finished = False

    # ----- events ------------------------------------------------------------------------------------
    def event(self, name: str, /, **data: Any) -> None:
        line = json.dumps({"time": round(time.time() - self.started, 2), "event": name, **data}, default=float)
        with open(self.dir / "events.jsonl", "a") as fh:
            fh.write(line + "\n")

    def _outcome(self, **data: Any) -> None:
        self.finished = True
        (self.dir / "outcome.json").write_text(json.dumps(data, indent=1, default=float))

    # ----- set-up ------------------------------------------------------------------------------------
    def registry(self):
        from hub.registry import open_registry
        from hub.registry.signing import SigningKey, load_or_create_keypair

        home = Path(self.config.medhive_home).expanduser()
        signer = SigningKey.load(Path(self.config.signing_key)) if self.config.signing_key else load_or_create_keypair(home)
        return open_registry(self.config.registry, home=home, signer=signer)

    def start(self) -> list[np.ndarray]:
        """Load the parent (production) version, start MLflow; the initial arrays to send."""
        from federation.tracking import Tracker, default_tracking_uri
        from federation.training import get_arrays

        loaded = self.registry().load(self.task.name, "production")
        self.parent_version, self.network = loaded.version, loaded.network
        uri = self.config.tracking_uri or default_tracking_uri(Path(self.config.medhive_home).expanduser())
        self.tracker = Tracker(uri, task=self.task.name, run_name=self.config.job_name or self.dir.name,
                               artifact_root=Path(self.config.medhive_home).expanduser() / "mlruns")
        params = {k: v for k, v in asdict(self.config).items()
                  if k not in ("medhive_home", "signing_key", "tracking_uri", "job_dir", "probe_dir")}
        self.tracker.params({**params, "parent_version": self.parent_version})
        self.event("started", task=self.task.name, parent=self.parent_version, rounds=self.config.num_rounds,
                   strategy=self.config.strategy, secure_aggregation=self.config.secure_aggregation, dp=self.config.dp,
                   mlflow_run=self.tracker.run_id)
        return get_arrays(self.network)

    # ----- rounds ------------------------------------------------------------------------------------
    def evaluated(self, round_: int, metrics: dict[str, float], per_hospital: dict[str, dict[str, float]]) -> None:
        self.round_metrics[round_] = metrics
        self.round_hospitals[round_] = per_hospital
        flat = {f"federated_{k}": v for k, v in metrics.items()}
        for h, m in per_hospital.items():
            flat.update({f"hospital.{h}.{k}": v for k, v in m.items() if k in ("roc_auc", "accuracy", "loss", "n")})
        if self.tracker:
            self.tracker.metrics(flat, step=round_)
        self.event("evaluated", round=round_, **{k: v for k, v in metrics.items()})

    def fitted(self, round_: int, summary: dict[str, Any]) -> None:
        for h in summary.get("hospitals", []):
            rec = self.hospitals.setdefault(h["hospital"], {"samples": 0, "rounds": 0})
            rec["samples"] = max(rec["samples"], int(h.get("n", 0)))
            rec["rounds"] += 1
            for k in ("epsilon_total", "delta"):
                if k in h:
                    rec[k] = h[k]
            if "org" in h:  # kept apart: the registry, MLflow and the outcome see pseudonyms only
                self.orgs[h["hospital"]] = str(h["org"])
        metrics = {"fit_loss": summary.get("loss"), "hospitals": float(len(summary.get("hospitals", [])))}
        eps = [h["epsilon_round"] for h in summary.get("hospitals", []) if "epsilon_round" in h]
        if eps:
            metrics["epsilon_round_max"] = max(eps)
            metrics["epsilon_max"] = max(h["epsilon_total"] for h in summary["hospitals"] if "epsilon_total" in h)
        for h in summary.get("hospitals", []):
            for k in ("epsilon_round", "epsilon_total", "loss"):
                if k in h:
                    metrics[f"hospital.{h['hospital']}.{k}"] = h[k]
        if self.tracker:
            self.tracker.metrics({k: v for k, v in metrics.items() if v is not None}, step=round_)
        self.event("fitted", round=round_, hospitals=len(summary.get("hospitals", [])),
                   failures=summary.get("failures", []), rejected=summary.get("rejected", []),
                   loss=summary.get("loss"), epsilon_max=metrics.get("epsilon_max"))

    # ----- end -----------------------------------------------------------------------------------------
    def fail(self, reason: str) -> None:
        self.event("failed", reason=reason)
        if self.tracker:
            self.tracker.tags({"outcome": "failed", "reason": reason})
            self.tracker.end("FAILED")
        self._outcome(status="failed", reason=reason, task=self.task.name, parent=self.parent_version,
                      published=None, mlflow_run=getattr(self.tracker, "run_id", None))

    def _store(self):
        from hub.accounts.audit import load_or_create_audit_key
        from hub.accounts.db import Store, default_url

        home = Path(self.config.medhive_home).expanduser()
        # the hub's audit key: contributions land in the same keyed chain the hub verifies
        return Store(self.config.accounts_db or default_url(home), audit_key=load_or_create_audit_key(home))

    def credits(self) -> tuple[dict[str, dict[str, int]], int]:
        """Per enrolled organization its samples and rounds; and the samples x rounds of the nodes that
        enrolled with no organization (reported as unattributed, never handed to the others)."""
        orgs: dict[str, dict[str, int]] = {}
        unattributed = 0
        for pseudonym, h in self.hospitals.items():
            if pseudonym in self.orgs:
                rec = orgs.setdefault(self.orgs[pseudonym], {"samples": 0, "rounds": 0})
                rec["samples"] += int(h["samples"])
                rec["rounds"] = max(rec["rounds"], int(h["rounds"]))
            else:
                unattributed += int(h["samples"]) * int(h["rounds"])
        return orgs, unattributed

    def _record_contributions(self, version: str) -> None:
        """Credit each enrolled hospital's organization with its samples and rounds for `version` in the
        accounts store (the revenue share divides by samples x rounds). A store that cannot be reached does
        not undo the publish: the event log says so and `medhive billing` shows the gap."""
        orgs, unattributed = self.credits()
        self.event("credits", organizations=len(orgs), unattributed_weight=unattributed)
        if not orgs:
            return
        import uuid

        from hub.accounts.billing import record_contribution

        try:
            store = self._store()
            try:
                with store.transaction() as session:
                    for org, rec in orgs.items():
                        record_contribution(session, org_id=uuid.UUID(org), task=self.task.name, model_version=version,
                                            samples=rec["samples"], rounds=rec["rounds"],
                                            actor=f"federation:{self.config.job_name or self.dir.name}")
            finally:
                store.dispose()
        except Exception as exc:  # noqa: BLE001 - the version is published; report, do not fail the job
            self.event("contributions-not-recorded", reason=f"{type(exc).__name__}: {str(exc)[:200]}")
            return
        self.event("contributions", organizations=len(orgs), samples=sum(r["samples"] for r in orgs.values()))

    def cancelled(self) -> bool:
        """Whether an admin asked the aggregation service to cancel this job (checked between steps)."""
        if not self.config.job_id:
            return False
        from hub.accounts.federation import get_job

        store = self._store()
        try:
            with store.transaction() as session:
                return bool(get_job(session, self.config.job_id).cancel_requested)
        finally:
            store.dispose()

    def may_publish(self) -> bool:
        """With a job row (the aggregation service), publish only while that row is still running: a job the
        service failed (restart after a crash) or an admin cancelled never publishes."""
        if not self.config.job_id:
            return True
        from hub.accounts.federation import still_running

        store = self._store()
        try:
            with store.transaction() as session:
                return still_running(session, self.config.job_id)
        finally:
            store.dispose()

    def _paired(self, metric: str) -> tuple[float | None, float | None]:
        """Parent and candidate scores on the same hospitals (those that scored both), sample-weighted."""
        from federation.aggregation import weighted_metrics

        first = self.round_hospitals.get(0, {})
        last = self.round_hospitals.get(self.config.num_rounds, {})
        common = sorted(set(first) & set(last))
        if not common:
            return (self.round_metrics.get(0, {}).get(metric),
                    self.round_metrics.get(self.config.num_rounds, {}).get(metric))

        def score(per: dict[str, dict[str, float]]) -> float | None:
            return weighted_metrics([(int(per[h].get("n", 0)), per[h]) for h in common], [metric]).get(metric)

        return score(first), score(last)

    def finish(self, arrays: list[np.ndarray]) -> GateDecision:
        from federation.training import set_arrays
        from hub.registry import Lineage

        metric = self.task.primary_metric
        final = self.round_metrics.get(self.config.num_rounds, {})
        parent_score, candidate_score = self._paired(metric)
        decision = decide(metric=metric, candidate=candidate_score, parent=parent_score,
                          tolerance=self.config.gate_tolerance)
        if not self.may_publish():
            from federation.errors import RunFailedError

            raise RunFailedError("the job was cancelled or the aggregation service gave up on it; nothing published")
        set_arrays(self.network, arrays)
        epsilons = [h["epsilon_total"] for h in self.hospitals.values() if "epsilon_total" in h]
        samples = sum(h["samples"] for h in self.hospitals.values())
        lineage = Lineage(parent=self.parent_version, source="federated", rounds=self.config.num_rounds,
                          hospitals=len(self.hospitals), samples=samples, strategy=self.config.strategy,
                          epsilon=max(epsilons) if epsilons else None,
                          delta=self.config.dp_delta if epsilons else None,
                          secure_aggregation=self.config.secure_aggregation,
                          notes=decision.reason)
        metrics = {k: v for k, v in final.items() if isinstance(v, float) and math.isfinite(v)}
        data = {"federation": {"job": self.config.job_name or self.dir.name, "hospitals": self.hospitals,
                               "gate": asdict(decision), "parent_metrics": self.round_metrics.get(0, {})}}
        info = self.registry().publish(self.task.name, self.network, metrics=metrics, lineage=lineage, data=data,
                                       alias=decision.alias, actor=f"federation:{self.config.job_name or self.dir.name}")
        if self.tracker:
            self.tracker.tags({"outcome": "published", "published_version": info.version, "alias": decision.alias,
                               "gate": decision.reason})
            self.tracker.params({"published_version": info.version})
            self.tracker.end("FINISHED")
        self.event("published", version=info.version, alias=decision.alias, reason=decision.reason)
        self._record_contributions(info.version)
        _, unattributed = self.credits()
        self._outcome(status="published", unattributed_weight=unattributed, task=self.task.name, parent=self.parent_version, published=info.version,
                      alias=decision.alias, gate=asdict(decision), metrics=metrics, parent_metrics=self.round_metrics.get(0, {}),
                      lineage=lineage.to_dict(), hospitals=self.hospitals, mlflow_run=self.tracker.run_id if self.tracker else None,
                      rounds=self.round_metrics)
        return decision
