"""Flower ServerApp: the aggregation service's side of a federation job (thin glue over `federation.job`).

Rounds 1..R fit (through SecAgg+'s four exchanges, or one plain exchange); a node that must decline
(consent, data, privacy budget) fails the round's first message with its reason: SecAgg+'s key set-up
(`federation.secagg`) or the plain fit message, so taking part costs no exchange of its own. In each
round every hospital first scores the model it receives on its own held-out split (round 1: the parent,
production version), so only the final model needs a separate evaluation exchange. Only a job that
waits for enough hospitals before round 1 (the aggregation service's `eligibility-wait`) asks them first
in a separate light exchange. The legacy path (`LegacyContext` + `FedAvg`-based strategy +
`SecAggPlusWorkflow`) is the one SecAgg+ supports in flwr 1.32.1. Any round below the minimum, a halted
SecAgg+ protocol or a crash ends the job as failed, and nothing is published.
"""

from __future__ import annotations

import time
import traceback

import flwr.compat.common.recorddict_compat as compat
from flwr.app import ConfigRecord, Context, Message
from flwr.common import GetPropertiesIns, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.constant import MessageTypeLegacy
from flwr.server import LegacyContext, ServerConfig
from flwr.server.compat.app_utils import start_update_client_manager_thread
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD, Key
from flwr.server.workflow.default_workflows import default_evaluate_workflow, default_fit_workflow
from flwr.serverapp import Grid, ServerApp

from federation.errors import RunFailedError
from federation.job import Job, JobConfig
from federation.probe import RecordingGrid
from federation.secagg import EligibleSecAggPlusWorkflow
from federation.strategy import MedHiveStrategy, reason_of
from federation.training import frozen_state, network_config

app = ServerApp()


def _ensure(legacy: LegacyContext, job: Job, what: str) -> None:
    if not legacy.client_manager.wait_for(job.config.min_hospitals, timeout=job.config.wait_timeout):
        have = legacy.client_manager.num_available()
        raise RunFailedError(f"{what}: {have} hospital(s) connected, at least {job.config.min_hospitals} needed")


def _evaluate(grid: Grid, legacy: LegacyContext, job: Job, strategy: MedHiveStrategy, round_: int) -> None:
    _ensure(legacy, job, f"evaluation of round {round_}")
    default_evaluate_workflow(grid, legacy)
    log = strategy.eval_log.get(round_)
    if not log or len(log["hospitals"]) < job.config.min_hospitals:
        n = len(log["hospitals"]) if log else 0
        raise RunFailedError(f"evaluation of round {round_}: {n} hospital(s) reported, "
                             f"at least {job.config.min_hospitals} needed")
    job.evaluated(round_, log["metrics"], log["hospitals"])


def _eligibility(grid: Grid, legacy: LegacyContext, job: Job, round_: int) -> tuple[set[int], list[str]]:
    """Ask every connected hospital whether it takes part in round `round_` (one light exchange): only
    while a job waits for enough hospitals before round 1; in a round itself a node declines by failing
    the round's first message."""
    ins = GetPropertiesIns({"server-round": round_, "run-name": job.config.job_name})
    nodes = [p.node_id for p in legacy.client_manager.all().values()]
    messages = [Message(content=compat.getpropertiesins_to_recorddict(ins), dst_node_id=nid,
                        message_type=MessageTypeLegacy.GET_PROPERTIES, group_id=f"eligibility-{round_}")
                for nid in nodes]
    eligible, declined = set(), []
    # the reply timeout, not the wait for connected hospitals: every reply starts a `flwr-clientapp` process,
    # which on a loaded machine takes longer than the short wait a test gives the hospitals left after a kill
    for reply in grid.send_and_receive(messages, timeout=float(job.config.reply_timeout)):
        if reply.has_error():
            declined.append(reason_of(Exception(reply.error)))
            continue
        props = compat.recorddict_to_getpropertiesres(reply.content).properties
        if props.get("eligible"):
            eligible.add(reply.metadata.src_node_id)
        else:
            declined.append(str(props.get("reason", "declined")))
    return eligible, declined


def _wait_for_eligible(grid: Grid, legacy: LegacyContext, job: Job, eligible: set[int],
                       declined: list[str]) -> tuple[set[int], list[str]]:
    """Before round 1, wait up to `eligibility-wait` seconds for enough hospitals that take part: a node
    without consent for the task (or with data refused for it) is not counted, and the job waits."""
    end = time.monotonic() + job.config.eligibility_wait
    while len(eligible) < job.config.min_hospitals and time.monotonic() < end:
        job.event("waiting", eligible=len(eligible), needed=job.config.min_hospitals, declined=declined)
        time.sleep(min(10.0, max(0.0, end - time.monotonic())))
        if job.cancelled():
            raise RunFailedError("cancelled by an admin while waiting for hospitals; nothing published")
        _ensure(legacy, job, "round 1")
        eligible, declined = _eligibility(grid, legacy, job, 1)
    return eligible, declined


def _too_few(round_: int, needed: int, taking_part: int, declined: list[str]) -> RunFailedError:
    return RunFailedError(f"round {round_}: {taking_part} hospital(s) can take part, at least {needed} needed"
                          + (f" ({'; '.join(declined)})" if declined else ""))


def run(grid: Grid, context: Context, job: Job) -> None:
    cfg = job.config
    current = {"round": 0, "exchange": 0, "attempt": 0}

    def exchanged(kind: str, replies: int, errors: int) -> None:
        current["exchange"] += 1
        job.event("exchange", round=current["round"], kind=kind, n=current["exchange"], replies=replies, errors=errors,
                  began=grid.started_at, ended=time.time())  # wall-clock seconds, for federation.timing

    grid = RecordingGrid(grid, cfg.probe_dir or None, on_exchange=exchanged, poll_interval=cfg.reply_poll)
    initial = job.start()
    strategy = MedHiveStrategy(shapes=[a.shape for a in initial], min_hospitals=cfg.min_hospitals,
                               rule=cfg.strategy, secure=cfg.secure_aggregation, trim_fraction=cfg.trim_fraction,
                               run_name=cfg.job_name,
                               downlink={"network-config": network_config(job.network),
                                         "frozen": frozen_state(job.network)})
    legacy = LegacyContext(context, config=ServerConfig(num_rounds=cfg.num_rounds), strategy=strategy)
    fit_workflow = default_fit_workflow
    secagg: EligibleSecAggPlusWorkflow | None = None
    if cfg.secure_aggregation:
        shares = cfg.secagg_num_shares if cfg.secagg_num_shares <= 1 else int(cfg.secagg_num_shares)

        def set_up(taking_part: set[int], declined: list[str]) -> None:
            # the hospitals that passed key set-up are the round's; the final evaluation asks only them
            strategy.eligible = set(taking_part)
            job.event("round", round=current["round"], attempt=current["attempt"], hospitals=len(taking_part),
                      declined=declined)

        fit_workflow = secagg = EligibleSecAggPlusWorkflow(
            min_hospitals=cfg.min_hospitals, on_setup=set_up, num_shares=shares,
            reconstruction_threshold=cfg.secagg_threshold, max_weight=cfg.secagg_max_weight,
            clipping_range=cfg.secagg_clipping_range, timeout=None)
    thread, f_stop, c_done = start_update_client_manager_thread(grid, legacy.client_manager)
    c_done.wait()
    try:
        _ensure(legacy, job, "start")
        legacy.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
            ndarrays_to_parameters(initial), True)
        rounds_cfg = ConfigRecord()
        legacy.state.config_records[MAIN_CONFIGS_RECORD] = rounds_cfg
        for r in range(1, cfg.num_rounds + 1):
            rounds_cfg[Key.CURRENT_ROUND] = r
            current.update(round=r, exchange=0)
            for attempt in range(cfg.round_retries + 1):
                if job.cancelled():
                    raise RunFailedError("cancelled by an admin; nothing published")
                _ensure(legacy, job, f"round {r}")
                current["attempt"] = attempt + 1
                strategy.eligible = None
                # the aggregation service's job first waits for enough hospitals that take part (consent,
                # data, budget): that needs their answers before round 1, in an exchange of its own
                if r == 1 and attempt == 0 and cfg.eligibility_wait > 0:
                    eligible, declined = _eligibility(grid, legacy, job, r)
                    eligible, declined = _wait_for_eligible(grid, legacy, job, eligible, declined)
                    if len(eligible) < cfg.min_hospitals:
                        raise _too_few(r, cfg.min_hospitals, len(eligible), declined)
                    strategy.eligible = eligible if secagg is not None else None
                if secagg is None:
                    # a node that must decline fails its fit message with the reason (reported with the
                    # round's failures); with SecAgg+ it fails the key set-up and the "round" event comes then
                    job.event("round", round=r, attempt=attempt + 1,
                              hospitals=legacy.client_manager.num_available(), declined=[])
                fit_workflow(grid, legacy)
                if r in strategy.fit_log:
                    break
                if secagg is not None and secagg.too_few is not None:
                    raise _too_few(r, cfg.min_hospitals, *secagg.too_few)
                # SecAgg+ in flwr 1.32.1 cannot unmask when a node drops between key set-up and key sharing;
                # the node is offline by now: run the round again with the hospitals that are left
                job.event("retry", round=r, reason="secure aggregation halted after a dropout")
                time.sleep(5)
            record = strategy.fit_log.get(r)
            if record is None:
                raise RunFailedError(f"round {r}: secure aggregation halted (too few hospitals completed the protocol)")
            job.fitted(r, record)
            if not record["ok"]:
                failures = "" if cfg.secure_aggregation or not record["failures"] else \
                    f" ({'; '.join(record['failures'])})"
                raise RunFailedError(record.get("reason", f"round {r} failed") + failures)
            grid.save_aggregate(r, strategy.last_aggregate or [])
            # each hospital scored the incoming model before training: that is round r-1's evaluation
            # (round 0: the parent), without an extra exchange
            scores = record["global_eval"]
            if len(scores["hospitals"]) < cfg.min_hospitals:
                raise RunFailedError(f"round {r}: only {len(scores['hospitals'])} hospital(s) scored the model")
            job.evaluated(r - 1, scores["metrics"], scores["hospitals"])
        _evaluate(grid, legacy, job, strategy, cfg.num_rounds)
        final = parameters_to_ndarrays(compat.arrayrecord_to_parameters(
            legacy.state.array_records[MAIN_PARAMS_RECORD], keep_input=True))
        job.finish(final)
    finally:
        f_stop.set()
        thread.join()


@app.main()
def main(grid: Grid, context: Context) -> None:
    job = Job(JobConfig.from_run_config(dict(context.run_config)))
    try:
        run(grid, context, job)
    except RunFailedError as exc:
        job.fail(exc.message)
    except Exception as exc:  # noqa: BLE001 - the job must end with an outcome, never silently
        (job.dir / "server-error.txt").write_text(traceback.format_exc())
        job.fail(f"server error: {type(exc).__name__}: {str(exc)[:200]}")
