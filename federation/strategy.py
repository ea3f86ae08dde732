"""The server-side Flower strategy (legacy `Strategy` API, the one SecAgg+ works with in flwr 1.32.1).

It samples every connected hospital (at least `min_hospitals`), aggregates with the configured rule,
and keeps a per-round record the ServerApp reads: which hospitals took part (pseudonyms), who failed or
declined and why, who was rejected for a malformed update. A round with fewer usable results than the
minimum returns no parameters, and the ServerApp fails the job without publishing.

With secure aggregation the workflow hands in results that all carry the same unmasked sum (the
server never sees one hospital's update); that sum is checked once (finite, right shapes) and dropped
if malformed, which neutralises a poisoned contribution at the cost of the round.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from flwr.common import (
    EvaluateIns,
    EvaluateRes,
    FitIns,
    FitRes,
    Parameters,
    Scalar,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.server.client_manager import ClientManager
from flwr.server.client_proxy import ClientProxy
from flwr.server.criterion import Criterion
from flwr.server.strategy import FedAvg

from federation.aggregation import ROBUST, aggregate, check_update, weighted_metrics

EVAL_KEYS = ("loss", "accuracy", "roc_auc", "macro_f1")


def reason_of(failure: Any) -> str:
    if isinstance(failure, BaseException):
        text = str(failure)
        # flwr wraps ClientApp exceptions as "<class '...'>:<'message'>"; keep the message
        match = re.search(r":<'(.*?)'>", text, re.DOTALL) or re.search(r"reason=['\"](.*?)['\"]\)$", text, re.DOTALL)
        if match:
            text = match.group(1)
        return text.strip()[:300] or type(failure).__name__
    _, res = failure
    return getattr(getattr(res, "status", None), "message", "failed")[:300]


class _Only(Criterion):
    def __init__(self, node_ids: set[int]) -> None:
        self.node_ids = node_ids

    def select(self, client: ClientProxy) -> bool:
        return client.node_id in self.node_ids


class MedHiveStrategy(FedAvg):
    def __init__(self, *, shapes: list[tuple[int, ...]], min_hospitals: int, rule: str, secure: bool,
                 trim_fraction: float = 0.2, run_name: str = "",
                 downlink: dict[str, Scalar] | None = None) -> None:
        if secure and rule in ROBUST:
            raise ValueError(f"{rule} needs individual updates: turn secure aggregation off to use it")
        super().__init__(fraction_fit=1.0, fraction_evaluate=1.0, min_fit_clients=min_hospitals,
                         min_evaluate_clients=min_hospitals, min_available_clients=min_hospitals,
                         accept_failures=True)
        self.shapes = shapes
        self.min_hospitals = min_hospitals
        self.rule = rule
        self.secure = secure
        self.trim_fraction = trim_fraction
        self.run_name = run_name
        # sent with every instruction: the parent's architecture and frozen buffers (public model content)
        self.downlink = dict(downlink or {})
        self.fit_log: dict[int, dict[str, Any]] = {}
        self.eval_log: dict[int, dict[str, Any]] = {}
        self.last_aggregate: list[np.ndarray] | None = None  # the last aggregated update (delta)
        self._global: dict[int, list[np.ndarray]] = {}
        self.eligible: set[int] | None = None  # node ids that accepted the coming round (None: all)

    def _config(self, server_round: int) -> dict[str, Scalar]:
        return {"server-round": server_round, "run-name": self.run_name, **self.downlink}

    def set_global(self, server_round: int, arrays: list[np.ndarray]) -> None:
        """The weights round `server_round` starts from (updates are added to them)."""
        self._global[server_round] = [np.asarray(a, dtype=np.float32) for a in arrays]

    def configure_fit(self, server_round: int, parameters: Parameters, client_manager: ClientManager
                      ) -> list[tuple[ClientProxy, FitIns]]:
        # only the hospitals that said they can take part this round (consent, data, privacy budget)
        eligible = [c for c in client_manager.all().values() if self.eligible is None or c.node_id in self.eligible]
        clients = client_manager.sample(num_clients=len(eligible), min_num_clients=self.min_hospitals,
                                        criterion=_Only({c.node_id for c in eligible}))
        self.set_global(server_round, parameters_to_ndarrays(parameters))
        fit_ins = FitIns(parameters, self._config(server_round))
        return [(c, fit_ins) for c in clients]

    def configure_evaluate(self, server_round: int, parameters: Parameters, client_manager: ClientManager
                           ) -> list[tuple[ClientProxy, EvaluateIns]]:
        # the hospitals that trained score the result (a node that declined training is not asked)
        eligible = [c for c in client_manager.all().values() if self.eligible is None or c.node_id in self.eligible]
        clients = client_manager.sample(num_clients=len(eligible), min_num_clients=self.min_hospitals,
                                        criterion=_Only({c.node_id for c in eligible}))
        ins = EvaluateIns(parameters, self._config(server_round))
        return [(c, ins) for c in clients]

    def aggregate_fit(self, server_round: int, results: list[tuple[ClientProxy, FitRes]],
                      failures: list[tuple[ClientProxy, FitRes] | BaseException]
                      ) -> tuple[Parameters | None, dict[str, Scalar]]:
        record: dict[str, Any] = {"round": server_round, "ok": False, "failures": [reason_of(f) for f in failures],
                                  "rejected": [], "hospitals": []}
        self.fit_log[server_round] = record
        good: list[tuple[list[np.ndarray], FitRes]] = []
        if self.secure and results:
            total = parameters_to_ndarrays(results[0][1].parameters)
            problem = check_update(total, self.shapes)
            if problem:
                record["rejected"].append(f"secure aggregate: {problem}")
                record["reason"] = "the secure aggregate was malformed; round discarded"
                return None, {}
            good = [(total, res) for _, res in results]
        else:
            for _, res in results:
                arrays = parameters_to_ndarrays(res.parameters)
                problem = check_update(arrays, self.shapes)
                who = str(res.metrics.get("hospital", "unknown"))
                if problem:
                    record["rejected"].append(f"{who}: {problem}")
                else:
                    good.append((arrays, res))
        for _, res in good:
            record["hospitals"].append({k: v for k, v in res.metrics.items()} | {"n": res.num_examples})
        if len(good) < self.min_hospitals:
            record["reason"] = (f"only {len(good)} usable update(s) in round {server_round}; "
                                f"at least {self.min_hospitals} hospitals needed")
            return None, {}
        if self.secure:
            merged = good[0][0]  # already the sample-weighted mean update, unmasked by SecAgg+
        else:
            merged = aggregate(self.rule, [a for a, _ in good], [r.num_examples for _, r in good],
                               trim_fraction=self.trim_fraction)
        merged = [np.asarray(a, dtype=np.float32) for a in merged]
        self.last_aggregate = merged
        # hospitals send updates (local minus global weights): small values, which suits SecAgg+'s
        # fixed-point range, and the natural unit for clipping and robust statistics
        merged = [np.asarray(g, dtype=np.float32) + d for g, d in zip(self._global[server_round], merged)]
        losses = [(r.num_examples, {"loss": float(r.metrics["loss"])}) for _, r in good if "loss" in r.metrics]
        record["loss"] = weighted_metrics(losses, ["loss"]).get("loss")
        record["global_eval"] = self._global_eval([r for _, r in good])
        record["ok"] = True
        return ndarrays_to_parameters(merged), {}

    @staticmethod
    def _global_eval(results: list[FitRes]) -> dict[str, Any]:
        """Scores of the model this round started from, measured by each hospital before training."""
        per_hospital: dict[str, dict[str, float]] = {}
        pairs = []
        for res in results:
            m = {k[len("global_"):]: float(v) for k, v in res.metrics.items()
                 if k.startswith("global_") and isinstance(v, (int, float))}
            if "n" not in m:
                continue
            per_hospital[str(res.metrics.get("hospital", f"node-{len(per_hospital)}"))] = m
            pairs.append((int(m["n"]), m))
        return {"metrics": weighted_metrics(pairs, EVAL_KEYS), "hospitals": per_hospital}

    def aggregate_evaluate(self, server_round: int, results: list[tuple[ClientProxy, EvaluateRes]],
                           failures: list[tuple[ClientProxy, EvaluateRes] | BaseException]
                           ) -> tuple[float | None, dict[str, Scalar]]:
        per_hospital: dict[str, dict[str, float]] = {}
        pairs = []
        for _, res in results:
            m = {k: float(v) for k, v in res.metrics.items() if isinstance(v, (int, float))}
            m["loss"] = float(res.loss)
            m["n"] = float(res.num_examples)
            per_hospital[str(res.metrics.get("hospital", f"node-{len(per_hospital)}"))] = m
            pairs.append((res.num_examples, m))
        merged = weighted_metrics(pairs, EVAL_KEYS)
        self.eval_log[server_round] = {"metrics": merged, "hospitals": per_hospital,
                                       "failures": [reason_of(f) for f in failures]}
        return merged.get("loss"), {k: v for k, v in merged.items()}
