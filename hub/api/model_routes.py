"""Models and the metered predict route.

`POST /v1/models/{task}/predict` checks sizes (body, rows, pixels, signal minutes) before decoding and
prepares the inputs (no charge for a malformed request); replays a stored response for a retried
`Idempotency-Key`; reserves one unit per case against the caller's tier (rate limit, monthly quota)
before the model runs; predicts; then, in one transaction, records the usage event and an audit entry
(no inputs) and stores the response under the idempotency key. A failure releases the reservation, so
a call is billed exactly once or not at all, and a refused call does no model work.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from hub import limits as input_limits
from hub.accounts import audit, history, keys, metering
from hub.accounts.errors import Conflict, NotImplementedYet, ValidationFailed
from hub.accounts.metering import MAX_BATCH, Reservation
from hub.accounts.users import Principal
from hub.api.deps import ALL_ROLES, ApiContext, context, require
from hub.api.problems import redact
from hub.api.schemas import MAX_EXPLAINED, MODEL_PROBLEMS, PREDICT_EXAMPLES, PredictRequest, PredictResponse
from hub.errors import InputTooLarge, InvalidInputError, OutOfDistributionError, VersionNotFoundError
from hub.models import all_tasks, get_task

router = APIRouter(tags=["models"], responses=MODEL_PROBLEMS)
#: how long a retry waits for a concurrent request holding the same Idempotency-Key before a 409
PENDING_WAIT_S = 120.0
DISCLAIMER = "Not a diagnosis: for use under clinical review."


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 10_000 else f"<array {value.shape}>"
    if isinstance(value, Path):
        return value.name
    return value


def _versions(registry: Any, task: str) -> list[Any]:
    return registry.versions(task) if task in registry.tasks() else []


def _task_view(registry: Any, name: str, task: Any) -> dict[str, Any]:
    versions = _versions(registry, name)
    aliases = {a: v.version for v in versions for a in v.aliases}
    prod = next((v for v in versions if v.version == aliases.get("production")), None)
    return {"task": name, "title": task.title, "summary": task.summary, "input_kind": task.input_kind,
            "labels": list(task.labels), "production": aliases.get("production"),
            "candidate": aliases.get("candidate"), "versions": [v.version for v in versions],
            "metric": task.primary_metric, "metrics": prod.metrics if prod else {},
            # like for like: the reference-split metric (n, 95% interval) and calibration error of production
            "reference": (prod.trust.get("reference") if prod else None),
            "calibration": (prod.trust.get("calibration") if prod else None),
            "updated": prod.created_at if prod else None}


@router.get("/models", summary="Every task with its production version and validation metrics")
def list_models(_: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> list[dict[str, Any]]:
    return [_task_view(ctx.registry, n, t) for n, t in all_tasks().items()]


@router.get("/models/{task}", summary="A task's versions, metrics, lineage, input schema and model card")
def model_detail(task: str, _: Principal = Depends(require(*ALL_ROLES)),
                 ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    spec = get_task(task)
    versions = _versions(ctx.registry, task)
    if not versions:
        raise VersionNotFoundError(f"no versions of {task!r} in the registry")
    view = _task_view(ctx.registry, task, spec)
    card = None
    if view["production"]:
        card_path = Path(ctx.registry.fetch(task, "production")) / "README.md"
        card = card_path.read_text(encoding="utf-8") if card_path.is_file() else None
    fields = [{"name": f.name, "unit": f.unit, "minimum": f.minimum, "maximum": f.maximum,
               "choices": [w for w, _ in f.choices], "optional": f.optional, "aliases": list(f.aliases)}
              for f in spec.input_fields]
    return {**view, "input_fields": fields, "input_description": spec.input_description,
            "version_details": [jsonable(v.to_dict()) for v in versions], "card": card}


def _prepare(spec: Any, body: PredictRequest, *, file_cases: int) -> tuple[Any, int]:
    """Cases ready for the network and the billed units: one per case (row, image) and one per signal.

    Sizes are checked before decoding: the base64 length, then the file's rows, pixels or signal minutes
    from its size and headers (`hub.limits`), so an oversized upload is refused before it is parsed."""
    options = dict(body.options)
    if sum(x is not None for x in (body.inputs, body.file, body.files)) != 1:
        raise ValidationFailed("give exactly one of `inputs` (an object or a list), `file`, or `files` (a WFDB record)")
    if body.files is not None:
        return _read_record(spec, body.files, options), 1
    if body.file is not None:
        file_limits = input_limits.InputLimits(max_rows=file_cases, max_images=file_cases)
        if len(body.file.content_base64) * 3 // 4 > file_limits.max_file_bytes:
            raise InputTooLarge(f"the file is over {file_limits.max_file_bytes / 2**20:g} MiB")
        try:
            data = base64.b64decode(body.file.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("file.content_base64 is not valid base64") from None
        suffix = Path(body.file.filename).suffix.lower()[:10]
        with tempfile.TemporaryDirectory(prefix="medhive-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            del data
            spec.check_file(path, limits=file_limits, **options)
            cases = spec.read_input(path, **options)
        units = spec.file_units(cases)
        if units > file_cases:
            raise InputTooLarge(f"the file holds {units} cases; at most {file_cases} per file for this tier")
        return cases, max(units, 1)
    raw = body.inputs
    units = spec.inline_units(raw)
    if units == 0 or units > MAX_BATCH:
        raise ValidationFailed(f"a batch holds 1 to {MAX_BATCH} inputs")
    spec.check_inline(raw, **options)
    try:
        raw = spec.inline_input(raw)
    except (ValueError, TypeError):
        raise ValidationFailed("inputs must be a numeric array for this task") from None
    return spec.prepare(raw, **options), units


def _read_record(spec: Any, files: list[Any], options: dict[str, Any]) -> Any:
    """A multi-file record (WFDB: the .hea header and its .dat signal, same record name) as one input;
    sizes checked before decoding, like a single file."""
    if not spec.reads_records:
        raise ValidationFailed("files: a multi-file record (WFDB .hea + .dat) is for signal tasks such as ecg")
    names = [Path(f.filename).name for f in files]
    headers = [n for n in names if n.lower().endswith(".hea")]
    if len(headers) != 1:
        raise ValidationFailed("files: a WFDB record needs exactly one .hea header and its .dat file(s)")
    stem = Path(headers[0]).stem
    if len(set(names)) != len(names) or any(Path(n).stem != stem for n in names):
        raise ValidationFailed(f"files: every file of the record must be named after it ({stem}.hea, {stem}.dat)")
    max_bytes = input_limits.InputLimits().max_file_bytes
    if sum(len(f.content_base64) for f in files) * 3 // 4 > max_bytes:
        raise InputTooLarge(f"the record is over {max_bytes / 2**20:g} MiB")
    with tempfile.TemporaryDirectory(prefix="medhive-upload-") as tmp:
        for i, (f, name) in enumerate(zip(files, names)):
            try:
                data = base64.b64decode(f.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationFailed(f"files[{i}].content_base64 is not valid base64") from None
            (Path(tmp) / name).write_bytes(data)
        return spec.read_input(Path(tmp) / headers[0], **options)


def rate_headers(r: Reservation) -> dict[str, str]:
    """IETF RateLimit-Policy / RateLimit fields plus the X-RateLimit-* trio (reset in seconds); refusals
    (429) carry the same fields, set by `metering.reserve` on the error."""
    return r.headers()


@router.post("/models/{task}/predict", response_model=PredictResponse,
             summary="Predict one case or a batch (metered; Idempotency-Key supported)")
def predict(task: str, request: Request,
            body: PredictRequest = Body(openapi_examples=PREDICT_EXAMPLES),
            idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
            p: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> JSONResponse:
    spec = get_task(task)
    request.state.inputs = body.inputs  # lets the error handler keep these values out of any message
    request.state.known_fields = [f.name for f in spec.input_fields]  # field names are no patient data
    with ctx.store.transaction() as s:
        tier_limits = metering.limits_for(s, p.org_id)
    try:
        cases, units = _prepare(spec, body, file_cases=metering.max_cases(tier_limits, file=True))
    except InputTooLarge:
        raise  # its message names limits only; 413
    except OutOfDistributionError:
        raise  # its own problem type (not billed: nothing was predicted)
    except InvalidInputError as exc:
        raise ValidationFailed(redact(exc.message, body.inputs, known=[f.name for f in spec.input_fields])) from None
    explain_fn = _explainer() if body.explain else None
    if explain_fn is not None:
        _explained(body.explain, len(cases))  # a bad index is refused before anything is reserved or computed
    # the body hash guards an Idempotency-Key against reuse with other inputs; without a key it is not needed
    req_hash = metering.request_hash({"task": task, "body": body.model_dump(mode="json")}) if idempotency_key else ""
    return _metered_predict(ctx, p, task, cases, units, body, explain_fn, idempotency_key, req_hash)


def _explained(explain: bool | list[int], n: int) -> list[int]:
    """The case indices to explain: every case for `true`, else the listed ones (checked against the batch)."""
    if explain is True:
        if n > MAX_EXPLAINED:
            raise ValidationFailed(f"explain: this input has {n} cases; explain at most {MAX_EXPLAINED} per request, "
                                   "e.g. explain: [0, 5]")
        return list(range(n))
    bad = [i for i in explain if i >= n]
    if bad:
        raise ValidationFailed(f"explain: index {bad[0]} is out of range; this input has {n} cases (0..{n - 1})")
    return sorted(set(explain))


def _summaries(task: str, cases: Any, n: int) -> list[list[tuple[str, str]]]:
    """What a report shows of each input (only computed for a user who keeps inputs)."""
    from hub.reports import describe_input

    spec = get_task(task)
    return [describe_input(spec, cases, i) for i in range(n)]


def _explainer() -> Any:
    try:
        from hub.explain import explain
    except ImportError:
        raise NotImplementedYet("explanations are not available in this deployment yet; retry without explain") from None
    return explain


def _metered_predict(ctx: ApiContext, p: Principal, task: str, cases: Any, units: int, body: PredictRequest,
                     explain_fn: Any, idem: str | None, req_hash: str) -> JSONResponse:
    """Reserve, predict (and explain), then record. The units are reserved first, in a transaction of
    their own, so a call refused for rate or quota does no model work; if the prediction or the record
    fails they are released. The model work runs outside any write transaction, so concurrent requests
    do not queue behind each other's inference on the database lock; the counters are exact because the
    reservation is a conditional UPDATE."""
    deadline = time.monotonic() + PENDING_WAIT_S
    while True:
        try:
            return _reserve_and_predict(ctx, p, task, cases, units, body, explain_fn, idem, req_hash)
        except metering.Replayed as done:
            return JSONResponse(done.stored[1], status_code=done.stored[0], headers={"Idempotent-Replayed": "true"})
        except (metering.Pending, IntegrityError):
            # a concurrent request with the same Idempotency-Key holds the claim: its response is ours
            if not idem:
                raise
            if time.monotonic() > deadline:
                raise Conflict("a request with this Idempotency-Key is still in progress; retry later") from None
            time.sleep(0.05)


def _reserve_and_predict(ctx: ApiContext, p: Principal, task: str, cases: Any, units: int, body: PredictRequest,
                         explain_fn: Any, idem: str | None, req_hash: str) -> JSONResponse:
    with metering.reserved(ctx.store, p.org_id, units, idempotency=(idem, req_hash) if idem else None) as reservation:
        batch = ctx.predictor.predict_cases(task, cases, ref=body.version)
        explanations = None
        if explain_fn is not None:
            network = ctx.predictor.model(task, batch.version).network
            # a case refused as out of distribution has no label, so nothing to explain
            explanations = [{"index": i, **jsonable(explain_fn(task, network, cases, index=i).to_dict())}
                            for i in _explained(body.explain, len(batch.predictions))
                            if not batch.predictions[i].out_of_distribution]
        with ctx.store.transaction() as s:
            metering.record(s, reservation, org_id=p.org_id, user_id=p.user_id, api_key_id=p.api_key_id,
                            task=task, model_version=batch.version, units=units)
            if p.api_key_id:
                keys.touch(s, p.api_key_id)
            audit.append(s, actor=p.actor, action="predict", target=f"{task}@{batch.version}",
                         details={"units": units, "cases": len(batch.predictions)})
            kept = history.keep(s, p, task=task, model_version=batch.version, predictions=batch.predictions,
                                input_summaries=lambda: _summaries(task, cases, len(batch.predictions)))
            out = PredictResponse(
                task=task, model_version=batch.version, summary=jsonable(batch.summary),
                explanation=explanations[0] if explanations else None, explanations=explanations or None,
                predictions=[jsonable({"id": c.id, "label": c.label, "probabilities": c.probabilities, "meta": c.meta,
                                       "out_of_distribution": c.out_of_distribution, "ood_score": c.ood_score,
                                       "ood_reason": c.ood_reason})
                             for c in batch.predictions],
                usage={"units": units, "tier": reservation.limits.tier,
                       "monthly_quota": reservation.limits.monthly_quota, "remaining": reservation.month_remaining},
                disclaimer=DISCLAIMER, kept=[str(k) for k in kept] or None,
            ).model_dump(mode="json")
            if idem:
                metering.remember(s, p.org_id, idem, req_hash, 200, out)
    return JSONResponse(out, headers=rate_headers(reservation))
