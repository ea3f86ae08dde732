"""Flower ClientApp: what runs inside each hospital's SuperNode (thin glue over `federation.node`).

A node takes part in a round or declines with a one-line reason (consent, refused data, privacy budget)
on the round's first message, so taking part costs no exchange of its own: with SecAgg+ that is the key
set-up (`eligibility_mod`, ahead of `secaggplus_mod`, fails it; `federation.secagg` then leaves the node
out of the round), without it the fit message. Training and evaluation check consent and budget again (a
node that then raises is a dropout to SecAgg+). `get_properties` answers the same question for a job
that waits for enough hospitals before round 1. SecAgg+ (`secaggplus_mod`) is applied when the run has
secure aggregation on (the mod raises on messages without its configuration).

Every message starts a fresh app process (with `medhive node start`, through `federation.flower_runtime`,
which starts it without the SuperNode's own imports), so imports are kept light: torch is loaded only by
the messages that train or evaluate, scoring is numpy (`hub.metrics`), and the node's data is loaded and
validated once and then read from the node's cache in its state folder (`federation.data.cache`). The
number of training rows and the DP noise calibrated to the job's epsilon are also kept in the node's
`context.state`, so the SecAgg+ set-up's budget check of later rounds reads no data and re-runs no
calibration.
"""

from __future__ import annotations

import time

from flwr.app import ConfigRecord, Context, Message
from flwr.app.message_type import MessageType
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import ClientAppCallable
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key, Stage

from federation.config import JobConfig
from federation.errors import DataValidationError
from federation.node import HospitalNode, NodeConfig, say
from hub.errors import HubError

_CACHE = "medhive-node"


_MEMO = "medhive-memo"


def _node(context: Context) -> HospitalNode:
    # results that depend only on their inputs (the DP noise calibrated to the job's epsilon) are kept in
    # the node's context.state, which Flower hands to the next message's process
    if _MEMO not in context.state.config_records:
        context.state.config_records[_MEMO] = ConfigRecord()
    return HospitalNode(NodeConfig.from_node_config(dict(context.node_config)),
                        JobConfig.from_run_config(dict(context.run_config)), memo=context.state.config_records[_MEMO])


def _train_rows(node: HospitalNode, context: Context) -> int:
    cache = context.state.config_records.get(_CACHE)
    if cache is not None and "train-rows" in cache:
        return int(cache["train-rows"])
    rows = len(node.data().y_train)  # loads and validates the data: refuses a bad dataset here
    context.state.config_records[_CACHE] = ConfigRecord({"train-rows": rows})
    return rows


def check_eligible(node: HospitalNode, context: Context) -> None:
    """Raise, with a one-line reason naming the node's pseudonym, if the node must sit out the round:
    no training consent, data refused by validation, or a privacy budget the round would exceed."""
    try:
        node.check_consent("training")
        node.check_budget(_train_rows(node, context))
    except HubError as exc:
        if isinstance(exc, DataValidationError):
            say(f"declining: {exc.message}: " + "; ".join(exc.problems))
        if "declines" not in exc.message:
            exc.message = f"hospital {node.pseudonym} declines: {exc.message}"  # what the server records
        raise


class HospitalClient(NumPyClient):
    def __init__(self, node: HospitalNode, context: Context) -> None:
        self.node = node
        self.context = context

    def get_properties(self, config):  # type: ignore[override]
        """Whether this node takes part in the coming round, and if not, why (asked while a job waits
        for enough hospitals before round 1)."""
        try:
            check_eligible(self.node, self.context)
        except HubError as exc:  # declining: consent, refused data, privacy budget
            return {"eligible": False, "reason": exc.message}
        return {"eligible": True, "hospital": self.node.pseudonym}

    def fit(self, parameters, config):  # type: ignore[override]
        return self.node.fit(parameters, dict(config))

    def evaluate(self, parameters, config):  # type: ignore[override]
        out = self.node.evaluate(parameters, dict(config))
        _train_rows(self.node, self.context)
        return out


def client_fn(context: Context):
    return HospitalClient(_node(context), context).to_client()


def timing_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Benchmarks: start-up vs work per message (`federation.timing`), when the run names a timing-dir."""
    started, kind = time.time(), _kind(msg)  # before secaggplus_mod pops the SecAgg+ stage from the message
    try:
        return call_next(msg, context)
    finally:
        timing_dir = str(context.run_config.get("timing-dir", ""))
        if timing_dir:
            from federation.timing import record

            record(timing_dir, kind=kind, started=started, ended=time.time())


def optional_secaggplus_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    if bool(context.run_config.get("secure-aggregation", True)):
        return secaggplus_mod(msg, context, call_next)
    return call_next(msg, context)


def eligibility_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """On SecAgg+'s key set-up, take part or decline: a raised reason fails the set-up message, and the
    server's workflow (`federation.secagg`) leaves this node out of the round (no extra exchange)."""
    if msg.metadata.message_type == MessageType.TRAIN:
        configs = msg.content.config_records.get(RECORD_KEY_CONFIGS)
        if configs is not None and configs.get(Key.STAGE) == Stage.SETUP:
            check_eligible(_node(context), context)
    return call_next(msg, context)


def _kind(msg: Message) -> str:
    stage = ""
    for record in msg.content.config_records.values():
        stage = str(record.get("stage", "")) if hasattr(record, "get") else ""
        if stage:
            break
    return f"{msg.metadata.message_type}{':' + stage if stage else ''}"


app = ClientApp(client_fn=client_fn, mods=[timing_mod, eligibility_mod, optional_secaggplus_mod])
