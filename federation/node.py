"""A hospital node's work for one message, framework-free: consent, data, budget, training, evaluation.

`HospitalNode` is built from the node's own config (data path, state folder, budget) and the job's run
config. Before anything it checks consent; before training it validates the data and the privacy
budget and declines with a one-line reason (which Flower carries back to the server as the failure
reason). What it returns to the server: arrays, the number of examples, and metrics under the node's
pseudonym (loss, per-round and cumulative epsilon). Nothing else.
"""

from __future__ import annotations

import sys
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from federation.accountant import calibrate_sigma, epsilon_from_rdp, rdp_sampled_gaussian, steps_for
from federation.config import JobConfig, load_task
from federation.errors import BudgetExceededError, ConsentError, FederationError
from federation.node_state import NodeState

# torch and the data loaders are imported where training or evaluation needs them: the SecAgg+ key
# exchange messages start an app process each and only need consent and budget checks
DEFAULT_MIN_ROWS = 200

DEFAULT_EPSILON_BUDGET = 10.0


@dataclass
class NodeConfig:
    data_path: str
    state_dir: str
    min_rows: int = DEFAULT_MIN_ROWS
    epsilon_budget: float = DEFAULT_EPSILON_BUDGET
    require_dp: bool = False
    seed: int = 0
    #: torch intra-op threads for training and scoring (0: torch's default, one per core); when several
    #: nodes share a host (the local launcher) each gets its share, so N processes do not oversubscribe
    threads: int = 0

    @classmethod
    def from_node_config(cls, node_config: dict[str, Any]) -> NodeConfig:
        def get(key: str, default: Any) -> Any:
            return node_config.get(key, node_config.get(key.replace("-", "_"), default))

        data_path = str(get("data-path", ""))
        state_dir = str(get("state-dir", "")) or str(Path(data_path).expanduser().parent / ".medhive-node")
        return cls(data_path=data_path, state_dir=state_dir, min_rows=int(get("min-rows", DEFAULT_MIN_ROWS)),
                   epsilon_budget=float(get("epsilon-budget", DEFAULT_EPSILON_BUDGET)),
                   require_dp=bool(get("require-dp", False)), seed=int(get("seed", 0)),
                   threads=int(get("threads", 0)))


@dataclass
class RoundCost:
    sigma: float
    steps: int
    q: float
    rdp: np.ndarray
    epsilon_round: float


def say(message: str) -> None:
    """A line in the node's own log (the SuperNode's output on the hospital's machine)."""
    print(f"medhive node: {message}", file=sys.stderr, flush=True)


class HospitalNode:
    """`memo` keeps results that depend only on their inputs across this node's messages (each message is a
    fresh process; the ClientApp passes a record of the node's Flower `context.state`)."""

    def __init__(self, node: NodeConfig, job: JobConfig, *, memo: MutableMapping[str, Any] | None = None) -> None:
        self.node = node
        self.job = job
        self.memo: MutableMapping[str, Any] = {} if memo is None else memo
        self._task = None
        self.state = NodeState(Path(node.state_dir))
        self.pseudonym = self.state.pseudonym()
        self._data: Any = None

    @property
    def task(self):
        if self._task is None:
            self._task = load_task(self.job.task)
        return self._task

    # ----- checks ------------------------------------------------------------------------------------
    def check_consent(self, scope: str) -> None:
        if not self.state.has_consent(self.job.task, scope):
            say(f"declining: no {scope} consent for task {self.job.task}")
            raise ConsentError(f"hospital {self.pseudonym} declines: no {scope} consent for task {self.job.task}")

    def data(self):
        """The validated, split local data (`federation.data.HospitalData`), validated once per node: later
        messages (each a fresh process) read it from the node's cache until the data files change."""
        if self._data is None:
            from federation.data import cache

            path = Path(self.node.data_path)
            key = cache.cache_key(self.task.name, path, min_rows=self.node.min_rows, seed=self.node.seed)
            self._data = cache.load(self.state.folder, self.task.name, key)
            if self._data is None:
                from federation.data import load_hospital_data

                self._data = load_hospital_data(self.task, path, min_rows=self.node.min_rows, seed=self.node.seed)
                cache.save(self.state.folder, self.task.name, key, self._data)
        return self._data

    def _limit_threads(self) -> None:
        if self.node.threads > 0:
            import torch

            torch.set_num_threads(self.node.threads)

    def round_cost(self, n: int) -> RoundCost | None:
        if not self.job.dp:
            return None
        steps, q = steps_for(n, batch_size=self.job.batch_size, epochs=self.job.local_epochs)
        if self.job.dp_epsilon > 0:
            # the noise calibrated to the job's target (a bisection: about 0.3 s of CPU) is the same for every
            # round of the job and for both of SecAgg+'s messages that check the budget: computed once
            key = f"sigma eps={self.job.dp_epsilon!r} q={q!r} steps={steps * self.job.num_rounds} delta={self.job.dp_delta!r}"
            if key not in self.memo:
                self.memo[key] = calibrate_sigma(target_epsilon=self.job.dp_epsilon, q=q,
                                                 steps=steps * self.job.num_rounds, delta=self.job.dp_delta)
            sigma = float(self.memo[key])
        else:
            sigma = self.job.dp_noise_multiplier
        rdp = rdp_sampled_gaussian(q, sigma, steps)
        return RoundCost(sigma, steps, q, rdp, epsilon_from_rdp(rdp, self.job.dp_delta))

    def check_budget(self, train_rows: int | None = None) -> RoundCost | None:
        if not self.job.dp:
            if self.node.require_dp:
                say("declining: this node only trains with differential privacy on")
                raise BudgetExceededError(f"hospital {self.pseudonym} declines: it only trains with differential privacy")
            return None
        cost = self.round_cost(train_rows if train_rows is not None else len(self.data().y_train))
        assert cost is not None
        spent = self.state.spent_rdp(self.job.task)
        projected = epsilon_from_rdp(spent + cost.rdp, self.job.dp_delta)
        if projected > self.node.epsilon_budget:
            already = epsilon_from_rdp(spent, self.job.dp_delta)
            say(f"declining: privacy budget for {self.job.task} would reach epsilon {projected:.2f} "
                f"> budget {self.node.epsilon_budget:g} (spent {already:.2f})")
            raise BudgetExceededError(
                f"hospital {self.pseudonym} declines: privacy budget exceeded for {self.job.task} "
                f"(epsilon would reach {projected:.2f} > budget {self.node.epsilon_budget:g}; spent {already:.2f})")
        return cost

    # ----- work --------------------------------------------------------------------------------------
    def _network(self, arrays: list[np.ndarray], config: dict[str, Any]):
        from federation.training import build_network, set_arrays

        network = build_network(self.task, str(config.get("network-config", "")), bytes(config.get("frozen", b"")))
        set_arrays(network, arrays)
        return network

    def fit(self, arrays: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        from federation.dp import DpConfig
        from federation.training import LocalConfig, local_fit

        self.check_consent("training")
        cost = self.check_budget()
        data = self.data()
        self._limit_threads()
        network = self._network(arrays, config)
        round_ = int(config.get("server-round", 0))
        # score the incoming (global) model on the held-out split first: the server's evaluation of the
        # previous round, at no extra exchange
        from federation.training import evaluate

        g_loss, g_metrics = evaluate(self.task, network, data.x_val, data.y_val)
        scores = {"global_loss": g_loss, "global_n": float(len(data.y_val)),
                  **{f"global_{k}": v for k, v in g_metrics.items()}}
        dp = DpConfig(clip=self.job.dp_clip, noise_multiplier=cost.sigma, batch_size=self.job.batch_size) if cost else None
        mu = self.job.proximal_mu if self.job.strategy == "fedprox" else 0.0
        local = LocalConfig(epochs=self.job.local_epochs, batch_size=self.job.batch_size, lr=self.job.lr,
                            proximal_mu=mu, seed=self.node.seed + round_, dp=dp)
        result = local_fit(self.task, network, data.x_train, data.y_train, local)
        metrics: dict[str, Any] = {"hospital": self.pseudonym, "loss": float(result.loss), **scores}
        enrolled = self.state.enrollment()
        if enrolled:  # which organization to credit for the published version (revenue share); not the data
            metrics["org"] = str(enrolled["org_id"])
        run = str(config.get("run-name", ""))
        if cost is not None:
            total = self.state.record_spend(self.job.task, run=run, round_=round_, rdp=cost.rdp,
                                            epsilon_round=cost.epsilon_round, delta=self.job.dp_delta)
            metrics.update(epsilon_round=cost.epsilon_round, epsilon_total=total, delta=self.job.dp_delta,
                           noise_multiplier=cost.sigma)
        # an honest node never sends a diverged update: with SecAgg+ the server could not tell it apart
        # (the sum would be silently wrong), so the node sits the round out (a dropout SecAgg+ recovers from)
        if not all(np.all(np.isfinite(a)) for a in result.arrays):
            say(f"round {round_}: local training diverged (non-finite weights); not sending an update")
            raise FederationError(f"hospital {self.pseudonym} sits out round {round_}: local training diverged")
        self.state.record_contribution(self.job.task, run=run, round_=round_, samples=result.n,
                                       epsilon_round=cost.epsilon_round if cost else None)
        say(f"round {round_}: trained on {result.n} examples" +
            (f", epsilon {cost.epsilon_round:.2f} this round, {metrics['epsilon_total']:.2f} in total" if cost else ""))
        # the node sends its update (local minus global weights), not its weights
        update = [np.asarray(new, dtype=np.float32) - np.asarray(old, dtype=np.float32)
                  for new, old in zip(result.arrays, arrays)]
        if self.job.probe_dir:
            from federation.probe import record_client_update

            record_client_update(self.job.probe_dir, hospital=self.pseudonym, round_=round_, n=result.n, arrays=update)
        return update, result.n, metrics

    def evaluate(self, arrays: list[np.ndarray], config: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
        from federation.training import evaluate

        self.check_consent("evaluation")
        data = self.data()
        self._limit_threads()
        network = self._network(arrays, config)
        loss, metrics = evaluate(self.task, network, data.x_val, data.y_val)
        return loss, len(data.y_val), {"hospital": self.pseudonym, **metrics}
