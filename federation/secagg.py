"""SecAgg+ whose key set-up is also the question "do you take part in this round?" (no extra exchange).

Each hospital checks its consent, data and privacy budget when the SecAgg+ set-up message arrives
(`federation.client_app.eligibility_mod`) and fails that message with a one-line reason when it must decline.
In flwr 1.32.1 `SecAggPlusWorkflow` keeps a node that failed set-up among the sampled nodes, so the unmask
stage later asks for shares of its key, which nobody holds (the node never shared one), and the protocol
halts. A node that failed set-up has sent no key and received none: it never was in the protocol. This
subclass (MedHive's own code; Flower is not patched) drops such nodes from the sampled set and from every
neighbour set right after set-up, so the round goes on with the others exactly as if they had not been
sampled; the usual checks (reconstruction threshold, dropouts in later stages) are Flower's, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from flwr.server import LegacyContext
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.secure_aggregation.secaggplus_workflow import WorkflowState
from flwr.serverapp import Grid

from federation.strategy import reason_of


class EligibleSecAggPlusWorkflow(SecAggPlusWorkflow):
    """`SecAggPlusWorkflow` in which a hospital that fails the set-up message leaves the round.

    After set-up, `on_setup(node_ids_taking_part, declined_reasons)` is called once per round attempt, and the
    protocol stops (the round is not fitted) when fewer than `min_hospitals` take part; `too_few` then
    holds (taking part, reasons) for the ServerApp's error message.
    """

    def __init__(self, *, min_hospitals: int, on_setup: Callable[[set[int], list[str]], None] | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.min_hospitals = min_hospitals
        self.on_setup = on_setup
        self.too_few: tuple[int, list[str]] | None = None

    def __call__(self, grid: Grid, context: LegacyContext) -> None:  # type: ignore[override]
        self.too_few = None
        super().__call__(grid, context)

    def setup_stage(self, grid: Grid, context: LegacyContext, state: WorkflowState) -> bool:  # type: ignore[override]
        passed = super().setup_stage(grid, context, state)
        if not state.nid_to_neighbours:  # nothing was sent: no hospital sampled, or fewer than two
            return passed
        left = state.sampled_node_ids - state.active_node_ids
        if left:
            state.sampled_node_ids = set(state.active_node_ids)
            for nid in left:
                state.nid_to_neighbours.pop(nid, None)
                state.nid_to_fitins.pop(nid, None)
                state.nid_to_proxies.pop(nid, None)
            for neighbours in state.nid_to_neighbours.values():
                neighbours -= left
        reasons = [reason_of(f) for f in state.failures]
        taking_part = len(state.active_node_ids)
        if self.on_setup is not None:
            self.on_setup(set(state.active_node_ids), reasons)
        if taking_part < self.min_hospitals:
            self.too_few = (taking_part, reasons)
            return False
        return self._check_threshold(state)
