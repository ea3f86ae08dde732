"""A minimal Flower app (the shape of Flower's own PyTorch quickstart) training MedHive's breast_cancer
network with FedAvg: the reference for the MedHive round time in benchmarks/privacy_cost.

Same network (`TabularMLP`, the plain torch module under `TabularNet`, with the shipped hyperparameters),
same optimiser settings and local epochs (with `torch.optim.Adam`, as Flower's quickstart has it), same
SuperNodes reading the same hospital CSV files; the client trains on every row (MedHive holds 20% out for
scoring). The ServerApp writes the timestamps MedHive's ServerApp writes (`events.jsonl`: started, fitted,
evaluated) and an `outcome.json`, so the launcher and the benchmark time both apps the same way.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
from flwr.app import Context, Message
from flwr.client import NumPyClient
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common import ndarrays_to_parameters
from flwr.server import ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.serverapp import ServerApp

from hub.models._tabular_mlp import TabularMLP

LABELS = ("benign", "malignant")


def _network() -> TabularMLP:
    # TabularNet without the Hugging Face mixin, as a bare app would define it (MedHive's nodes build the same)
    return TabularMLP(n_features=30, n_classes=2, hidden=(32,), dropout=0.1)


def _load(path: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    x = np.array([[float(v) for v in r[:-1]] for r in rows[1:]], dtype=np.float32)
    y = np.array([LABELS.index(r[-1]) for r in rows[1:]], dtype=np.int64)
    return x, y


class PeerClient(NumPyClient):
    def __init__(self, context: Context) -> None:
        self.path = str(context.node_config["data-path"])
        self.cfg = context.run_config

    def fit(self, parameters, config):  # type: ignore[override]
        x, y = _load(self.path)
        net = _network()
        state = net.state_dict()
        keys = [k for k, _ in net.named_parameters()]
        for k, a in zip(keys, parameters):
            state[k] = torch.as_tensor(a)
        net.load_state_dict(state)
        net.set_standardization(x)
        opt = torch.optim.Adam(net.parameters(), lr=float(self.cfg["lr"]))
        xt, yt = torch.as_tensor(x), torch.as_tensor(y)
        bs = int(self.cfg["batch-size"])
        net.train()
        for _ in range(int(self.cfg["local-epochs"])):
            order = torch.randperm(len(yt))
            for i in range(0, len(order), bs):
                idx = order[i:i + bs]
                loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        out = net.state_dict()
        return [out[k].detach().numpy() for k in keys], len(y), {}


def _timed(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    # the same per-message timing MedHive's client writes (federation.timing), for the benchmark's split
    started = time.time()
    try:
        return call_next(msg, context)
    finally:
        from federation.timing import record

        record(str(context.run_config.get("timing-dir", "")), kind=str(msg.metadata.message_type),
               started=started, ended=time.time())


client = ClientApp(client_fn=lambda context: PeerClient(context).to_client(), mods=[_timed])


class _Timed(FedAvg):
    def __init__(self, job_dir: Path, rounds: int, **kw) -> None:
        super().__init__(**kw)
        self.job_dir, self.rounds = job_dir, rounds

    def event(self, kind: str, **fields) -> None:
        with open(self.job_dir / "events.jsonl", "a") as fh:
            fh.write(json.dumps({"event": kind, "time": time.time(), **fields}) + "\n")

    def aggregate_fit(self, server_round, results, failures):
        out = super().aggregate_fit(server_round, results, failures)
        self.event("fitted", round=server_round, hospitals=len(results))
        self.event("evaluated", round=server_round - 1)  # MedHive's round ends here too
        if server_round == self.rounds:
            status = "published" if len(results) >= self.min_fit_clients and not failures else "failed"
            (self.job_dir / "outcome.json").write_text(json.dumps(
                {"status": status, "reason": None if status == "published" else f"{len(failures)} failure(s)"}))
        return out


def _server_fn(context: Context) -> ServerAppComponents:
    cfg = context.run_config
    job_dir = Path(str(cfg["job-dir"]))
    job_dir.mkdir(parents=True, exist_ok=True)
    n, rounds = int(cfg["min-hospitals"]), int(cfg["num-rounds"])
    net = _network()
    initial = [p.detach().numpy() for p in net.parameters()]
    strategy = _Timed(job_dir, rounds, fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=n,
                      min_available_clients=n, initial_parameters=ndarrays_to_parameters(initial))
    strategy.event("started")
    return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))


server = ServerApp(server_fn=_server_fn)
