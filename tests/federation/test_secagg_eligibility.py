"""A hospital that must decline fails SecAgg+'s key set-up and the round goes on without it (in process).

The server side is Flower's SecAgg+ protocol code with MedHive's strategy; each node is a real `ClientApp`
with MedHive's `eligibility_mod` ahead of Flower's `secaggplus_mod`, its own `Context` and a real
`HospitalNode` state folder (consent records). Messages go through an in-process grid (the Deployment
Engine end to end, with a node over its privacy budget, is `test_deployment.py`'s first test).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from flwr.app import ConfigRecord, Context, Error, Message, RecordDict
from flwr.client import NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.clientapp import ClientApp
from flwr.common import ndarrays_to_parameters
from flwr.compat.common import recorddict_compat as compat
from flwr.server import LegacyContext, ServerConfig
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key

from federation.client_app import eligibility_mod
from federation.node_state import NodeState
from federation.secagg import EligibleSecAggPlusWorkflow
from federation.strategy import MedHiveStrategy

SHAPES = [(3,), (2, 2)]
TASK = "breast_cancer"


class _Client(NumPyClient):
    """Sends a fixed update of its own (so the expected aggregate is known) and records that it trained."""

    def __init__(self, value: float, n: int, log: list[float]) -> None:
        self.value, self.n, self.log = value, n, log

    def fit(self, parameters, config):  # type: ignore[override]
        self.log.append(self.value)
        return [np.full(s, self.value, dtype=np.float32) for s in SHAPES], self.n, {"hospital": f"h{self.value:g}",
                                                                                    "loss": 0.5}


class InProcessGrid:
    """`send_and_receive` delivering each message to its node's ClientApp; an exception is an error reply
    carrying the exception the way Flower's runtime reports it."""

    def __init__(self) -> None:
        self.nodes: dict[int, tuple[ClientApp, Context]] = {}
        self.exchanges = 0

    def send_and_receive(self, messages, *, timeout=None):  # noqa: ARG002 - Flower's signature
        self.exchanges += 1
        replies = []
        for msg in messages:
            msg = copy.deepcopy(msg)  # each node gets its own copy, as over the wire (SecAgg+'s mod edits it)
            app, context = self.nodes[msg.metadata.dst_node_id]
            try:
                replies.append(app(msg, context))
            except Exception as exc:  # noqa: BLE001 - what the SuperNode does with a raising ClientApp
                replies.append(Message(Error(code=0, reason=f"{type(exc)}:<'{exc}'>"), reply_to=msg))
        return replies


def _client_fn(value: float, trained: list[float]):
    def client_fn(context: Context):
        return _Client(value, 100, trained).to_client()

    return client_fn


def _federation(tmp_path, values: list[float], *, consent: list[bool], workflow, min_hospitals: int = 2):
    grid = InProcessGrid()
    trained: list[float] = []
    strategy = MedHiveStrategy(shapes=SHAPES, min_hospitals=min_hospitals, rule="fedavg", secure=True)
    legacy = LegacyContext(Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={}),
                           config=ServerConfig(num_rounds=1), strategy=strategy)
    for i, (value, ok) in enumerate(zip(values, consent, strict=True)):
        node_id = 100 + i
        state_dir = tmp_path / f"node-{i}"
        if ok:
            NodeState(state_dir).grant(TASK, by="test")
        state = RecordDict()
        state.config_records["medhive-node"] = ConfigRecord({"train-rows": 100})  # as after the first round
        context = Context(run_id=1, node_id=node_id, state=state,
                          node_config={"data-path": str(tmp_path / f"data-{i}.csv"), "state-dir": str(state_dir)},
                          run_config={"task": TASK, "secure-aggregation": True})
        app = ClientApp(client_fn=_client_fn(value, trained), mods=[eligibility_mod, secaggplus_mod])
        grid.nodes[node_id] = (app, context)
        legacy.client_manager.register(GridClientProxy(node_id, grid, run_id=1))
    legacy.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
        ndarrays_to_parameters([np.zeros(s, dtype=np.float32) for s in SHAPES]), True)
    legacy.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord({Key.CURRENT_ROUND: 1})
    workflow(grid, legacy)
    return grid, strategy, trained


def _secagg(cls, **kwargs):
    return cls(num_shares=1.0, reconstruction_threshold=0.6, max_weight=1000.0, timeout=None, **kwargs)


def test_a_declining_node_leaves_at_key_setup_and_the_round_completes_without_it(tmp_path):
    seen: list[tuple[set[int], list[str]]] = []
    workflow = _secagg(EligibleSecAggPlusWorkflow, min_hospitals=3, on_setup=lambda ids, why: seen.append((ids, why)))
    grid, strategy, trained = _federation(tmp_path, [1.0, 2.0, 3.0, 4.0], consent=[True, True, True, False],
                                          workflow=workflow)
    record = strategy.fit_log[1]
    assert record["ok"], record
    assert grid.exchanges == 4  # SecAgg+'s own four: nothing extra to ask who takes part
    assert sorted(trained) == [1.0, 2.0, 3.0]  # the decliner never trained
    # one set-up report: three take part, one declined with its reason (naming only its pseudonym)
    assert len(seen) == 1 and seen[0][0] == {100, 101, 102}
    pseudonym = NodeState(tmp_path / "node-3").pseudonym()
    assert len(seen[0][1]) == 1 and f"hospital {pseudonym} declines: no training consent" in seen[0][1][0]
    assert record["failures"] == seen[0][1]
    # the unmasked sum is the three hospitals' mean update (equal sizes), within quantization error
    for arr in strategy.last_aggregate:
        assert np.allclose(arr, 2.0, atol=1e-3)


def test_below_the_minimum_after_setup_the_round_stops_with_the_reasons(tmp_path):
    workflow = _secagg(EligibleSecAggPlusWorkflow, min_hospitals=3)
    grid, strategy, trained = _federation(tmp_path, [1.0, 2.0, 3.0], consent=[True, True, False], workflow=workflow)
    assert 1 not in strategy.fit_log and trained == [] and grid.exchanges == 1
    taking_part, reasons = workflow.too_few
    assert taking_part == 2 and len(reasons) == 1 and "declines: no training consent" in reasons[0]


def test_flowers_own_workflow_halts_when_a_node_fails_setup(tmp_path):
    """Why `EligibleSecAggPlusWorkflow` exists: flwr 1.32.1 keeps a node that failed set-up among the sampled
    nodes and the unmask stage finds none of its key shares. If Flower stops doing that, this test says so
    and the subclass can go."""
    grid, strategy, trained = _federation(tmp_path, [1.0, 2.0, 3.0, 4.0], consent=[True, True, True, False],
                                          workflow=_secagg(SecAggPlusWorkflow))
    assert 1 not in strategy.fit_log and sorted(trained) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("stage", ["share_keys", None])
def test_eligibility_is_checked_only_on_the_setup_message(tmp_path, stage):
    """A node without consent passes other messages on untouched (fit itself checks consent again)."""
    context = Context(run_id=1, node_id=7, state=RecordDict(), run_config={"task": TASK},
                      node_config={"data-path": str(tmp_path / "data.csv"), "state-dir": str(tmp_path / "s")})
    content = RecordDict({"secaggplus_configs": ConfigRecord({"stage": stage})} if stage else {})
    msg = Message(content=content, dst_node_id=7, message_type="train")
    passed = []
    eligibility_mod(msg, context, lambda m, c: passed.append(m) or m)
    assert passed == [msg]
    setup = Message(content=RecordDict({"secaggplus_configs": ConfigRecord({"stage": "setup"})}), dst_node_id=7,
                    message_type="train")
    with pytest.raises(Exception, match="declines: no training consent"):
        eligibility_mod(setup, context, lambda m, c: passed.append(m) or m)
    assert passed == [msg]


def test_secagg_key_messages_import_nothing_heavy(tmp_path):
    """Every SecAgg+ stage message starts a fresh app process: the ClientApp module and the set-up's
    eligibility check (consent, budget from the cached row count) load no torch, pandas, scipy or MedHive's
    training and data modules (those are for the masked-training message only)."""
    import subprocess
    import sys

    NodeState(tmp_path / "s").grant(TASK, by="test")
    code = f"""
import sys
from flwr.app import ConfigRecord, Context, Message, RecordDict
import federation.client_app as ca
state = RecordDict()
state.config_records["medhive-node"] = ConfigRecord({{"train-rows": 100}})
context = Context(run_id=1, node_id=7, state=state, run_config={{"task": "{TASK}"}},
                  node_config={{"data-path": "{tmp_path / 'data.csv'}", "state-dir": "{tmp_path / 's'}"}})
setup = Message(content=RecordDict({{"secaggplus_configs": ConfigRecord({{"stage": "setup"}})}}), dst_node_id=7,
                message_type="train")
ca.eligibility_mod(setup, context, lambda m, c: m)
heavy = [m for m in ("torch", "pandas", "scipy", "sklearn", "federation.training", "federation.data", "hub.models")
         if m in sys.modules]
print("HEAVY", heavy)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
