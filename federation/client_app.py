"""Flower ClientApp: what runs inside each hospital's SuperNode (thin glue over `federation.node`).

Before each round the server asks every node whether it takes part (`get_properties`): the node checks
consent, validates its data and its privacy budget and answers yes, or no with a one-line reason, so a
node that must decline leaves before SecAgg+ starts. Training and evaluation check consent and budget
again (a node that then raises is a dropout to SecAgg+). The only mod is SecAgg+ (`secaggplus_mod`),
applied when the run has secure aggregation on (the mod raises on messages without its configuration).

Every message starts a fresh app process, so imports are kept light: torch is loaded only by the
messages that train or evaluate, scoring is numpy (`hub.metrics`), and the node's data is loaded and
validated once and then read from the node's cache in its state folder (`federation.data.cache`). The
number of training rows is also kept in the node's `context.state` for the budget check of later rounds.
Without SecAgg+ there is no eligibility exchange: a node that must decline fails its fit message.
"""

from __future__ import annotations

import time

from flwr.app import ConfigRecord, Context, Message
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable

from federation.config import JobConfig
from federation.errors import DataValidationError
from federation.node import HospitalNode, NodeConfig, say
from hub.errors import HubError

_CACHE = "medhive-node"


def _node(context: Context) -> HospitalNode:
    return HospitalNode(NodeConfig.from_node_config(dict(context.node_config)),
                        JobConfig.from_run_config(dict(context.run_config)))


def _train_rows(node: HospitalNode, context: Context) -> int:
    cache = context.state.config_records.get(_CACHE)
    if cache is not None and "train-rows" in cache:
        return int(cache["train-rows"])
    rows = len(node.data().y_train)  # loads and validates the data: refuses a bad dataset here
    context.state.config_records[_CACHE] = ConfigRecord({"train-rows": rows})
    return rows


class HospitalClient(NumPyClient):
    def __init__(self, node: HospitalNode, context: Context) -> None:
        self.node = node
        self.context = context

    def get_properties(self, config):  # type: ignore[override]
        """Whether this node takes part in the coming round, and if not, why (asked before each round)."""
        try:
            self.node.check_consent("training")
            self.node.check_budget(_train_rows(self.node, self.context))
        except HubError as exc:  # declining: consent, refused data, privacy budget
            if isinstance(exc, DataValidationError):
                say(f"declining: {exc.message}: " + "; ".join(exc.problems))
            return {"eligible": False, "reason": f"hospital {self.node.pseudonym} declines: {exc.message}"
                    if "declines" not in exc.message else exc.message}
        return {"eligible": True, "hospital": self.node.pseudonym}

    def fit(self, parameters, config):  # type: ignore[override]
        return self.node.fit(parameters, dict(config))

    def evaluate(self, parameters, config):  # type: ignore[override]
        out = self.node.evaluate(parameters, dict(config))
        _train_rows(self.node, self.context)
        return out


def client_fn(context: Context):
    return HospitalClient(_node(context), context).to_client()


def optional_secaggplus_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    started, kind = time.time(), _kind(msg)  # before the mod: it pops the SecAgg+ stage from the message
    try:
        if bool(context.run_config.get("secure-aggregation", True)):
            return secaggplus_mod(msg, context, call_next)
        return call_next(msg, context)
    finally:
        timing_dir = str(context.run_config.get("timing-dir", ""))
        if timing_dir:  # benchmarks: start-up vs work per message (federation.timing)
            from federation.timing import record

            record(timing_dir, kind=kind, started=started, ended=time.time())


def _kind(msg: Message) -> str:
    stage = ""
    for record in msg.content.config_records.values():
        stage = str(record.get("stage", "")) if hasattr(record, "get") else ""
        if stage:
            break
    return f"{msg.metadata.message_type}{':' + stage if stage else ''}"


app = ClientApp(client_fn=client_fn, mods=[optional_secaggplus_mod])
