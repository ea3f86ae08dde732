"""Models and the metered predict route.

`POST /v1/models/{task}/predict` validates and prepares the inputs first (no charge for a malformed
request), then, in one transaction: replays a stored response for a retried `Idempotency-Key`, reserves
the units against the caller's tier (rate limit, monthly quota), predicts, records the usage event and an
audit entry (no inputs), and stores the response under the idempotency key. A failure anywhere rolls all
of it back, so a call is billed exactly once or not at all.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from hub.accounts import audit, history, keys, metering
from hub.accounts.errors import AccountsError, NotImplementedYet, QuotaExceeded, RateLimited, ValidationFailed
from hub.accounts.metering import Reservation
from hub.accounts.users import Principal
from hub.api.deps import ALL_ROLES, ApiContext, context, require
from hub.api.problems import redact
from hub.api.schemas import MAX_EXPLAINED, PREDICT_EXAMPLES, PROBLEMS, PredictRequest, PredictResponse
from hub.errors import InvalidInputError, VersionNotFoundError
from hub.models import all_tasks, get_task

router = APIRouter(tags=["models"], responses=PROBLEMS)
MAX_BATCH = 100
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
    fields = [{"name": f.name, "unit": f.unit, "minimum": f.minimum, "maximum": f.maximum}
              for f in spec.input_fields]
    return {**view, "input_fields": fields, "input_description": spec.input_description,
            "version_details": [jsonable(v.to_dict()) for v in versions], "card": card}


def _prepare(spec: Any, body: PredictRequest) -> tuple[Any, int]:
    """Cases ready for the network and the number of billed units (one per submitted input)."""
    options = dict(body.options)
    if sum(x is not None for x in (body.inputs, body.file, body.files)) != 1:
        raise ValidationFailed("give exactly one of `inputs` (an object or a list), `file`, or `files` (a WFDB record)")
    if body.files is not None:
        return _read_record(spec, body.files, options), 1
    if body.file is not None:
        data = _decode(body.file, "file")
        suffix = Path(body.file.filename).suffix.lower()[:10]
        with tempfile.TemporaryDirectory(prefix="medhive-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            return spec.read_input(path, **options), 1
    raw = body.inputs
    units = len(raw) if isinstance(raw, list) and (spec.input_kind == "tabular" or _is_batch(raw)) else 1
    if units == 0 or units > MAX_BATCH:
        raise ValidationFailed(f"a batch holds 1 to {MAX_BATCH} inputs")
    if spec.input_kind != "tabular":
        try:
            raw = np.asarray(raw, dtype=np.float32) if not isinstance(raw, dict) else raw
        except (ValueError, TypeError):
            raise ValidationFailed("inputs must be a numeric array for this task") from None
    return spec.prepare(raw, **options), units


def _decode(f: Any, where: str) -> bytes:
    try:
        return base64.b64decode(f.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"{where}.content_base64 is not valid base64") from None


def _read_record(spec: Any, files: list[Any], options: dict[str, Any]) -> Any:
    """A multi-file record (WFDB: the .hea header and its .dat signal, same record name) as one input."""
    names = [Path(f.filename).name for f in files]
    headers = [n for n in names if n.lower().endswith(".hea")]
    if len(headers) != 1:
        raise ValidationFailed("files: a WFDB record needs exactly one .hea header and its .dat file(s)")
    stem = Path(headers[0]).stem
    if len(set(names)) != len(names) or any(Path(n).stem != stem for n in names):
        raise ValidationFailed(f"files: every file of the record must be named after it ({stem}.hea, {stem}.dat)")
    with tempfile.TemporaryDirectory(prefix="medhive-upload-") as tmp:
        for i, (f, name) in enumerate(zip(files, names)):
            (Path(tmp) / name).write_bytes(_decode(f, f"files[{i}]"))
        return spec.read_input(Path(tmp) / headers[0], **options)


def _is_batch(raw: list[Any]) -> bool:
    """A list of 2-D images (or of signals given as objects) is a batch; a plain signal or image is one case."""
    try:
        return bool(raw) and all(isinstance(r, (list, dict)) for r in raw) and np.asarray(raw, dtype=object).ndim >= 3
    except ValueError:  # ragged nesting: the task's own validation reports it
        return False


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
    try:
        cases, units = _prepare(spec, body)
    except InvalidInputError as exc:
        raise ValidationFailed(redact(exc.message, body.inputs, known=[f.name for f in spec.input_fields])) from None
    explain_fn = _explainer() if body.explain else None
    if explain_fn is not None:
        _explained(body.explain, len(cases))  # a bad index is refused before anything is computed or billed
    # the body hash guards an Idempotency-Key against reuse with other inputs; without a key it is not needed
    req_hash = metering.request_hash({"task": task, "body": body.model_dump(mode="json")}) if idempotency_key else ""
    for attempt in (1, 2):
        try:
            return _metered_predict(ctx, p, task, cases, units, body, explain_fn, idempotency_key, req_hash)
        except IntegrityError:
            # a concurrent request with the same Idempotency-Key committed first: replay its response
            if attempt == 2 or not idempotency_key:
                raise
        except (RateLimited, QuotaExceeded):
            # the first of two concurrent retries may have used the last unit while this one waited on the
            # counter: a retry is owed the first response, not a refusal
            stored = _replay(ctx, p, idempotency_key, req_hash) if idempotency_key else None
            if stored is None:
                raise
            return stored
    raise AssertionError("unreachable")  # pragma: no cover


def _replay(ctx: ApiContext, p: Principal, key: str, req_hash: str) -> JSONResponse | None:
    with ctx.store.transaction() as s:
        stored = metering.replay(s, p.org_id, key, req_hash)
    if stored is None:
        return None
    return JSONResponse(stored[1], status_code=stored[0], headers={"Idempotent-Replayed": "true"})


def _summaries(task: str, cases: Any, n: int) -> list[list[tuple[str, str]]]:
    """What a report shows of each input (only computed for a user who keeps inputs)."""
    from hub.reports import describe_input

    spec = get_task(task)
    return [describe_input(spec, cases, i) for i in range(n)]


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


def _explainer() -> Any:
    try:
        from hub.explain import explain
    except ImportError:
        raise NotImplementedYet("explanations are not available in this deployment yet; retry without explain") from None
    return explain


def _metered_predict(ctx: ApiContext, p: Principal, task: str, cases: Any, units: int, body: PredictRequest,
                     explain_fn: Any, idem: str | None, req_hash: str) -> JSONResponse:
    """Predict (and explain), then bill. The model work runs before the write transaction, which holds
    only the bookkeeping (idempotency, reserve, usage event, audit, stored response): concurrent requests
    do not queue behind each other's inference on the database lock. Reserve and record stay in one
    transaction, so counts are exact; a request refused for rate or quota has computed a prediction it
    does not return and is not billed, and a failed prediction never reaches the counters."""
    if idem:  # a replay needs no model work
        replayed = _replay(ctx, p, idem, req_hash)
        if replayed is not None:
            return replayed
    batch = ctx.predictor.predict_cases(task, cases, ref=body.version)
    explanations = None
    if explain_fn is not None:
        network = ctx.predictor.model(task, batch.version).network
        explanations = [{"index": i, **jsonable(explain_fn(task, network, cases, index=i).to_dict())}
                        for i in _explained(body.explain, len(batch.predictions))]
    reservation: Reservation | None = None
    try:
        with ctx.store.transaction() as s:
            if idem:  # a concurrent twin may have committed while this one predicted
                stored = metering.replay(s, p.org_id, idem, req_hash)
                if stored is not None:
                    return JSONResponse(stored[1], status_code=stored[0], headers={"Idempotent-Replayed": "true"})
            reservation = metering.reserve(s, p.org_id, units)
            metering.record(s, reservation, org_id=p.org_id, user_id=p.user_id, api_key_id=p.api_key_id, task=task,
                            model_version=batch.version, units=units)
            if p.api_key_id:
                keys.touch(s, p.api_key_id)
            audit.append(s, actor=p.actor, action="predict", target=f"{task}@{batch.version}",
                         details={"units": units, "cases": len(batch.predictions)})
            kept = history.keep(s, p, task=task, model_version=batch.version, predictions=batch.predictions,
                                input_summaries=lambda: _summaries(task, cases, len(batch.predictions)))
            out = PredictResponse(
                task=task, model_version=batch.version, summary=jsonable(batch.summary),
                explanation=explanations[0] if explanations else None, explanations=explanations,
                predictions=[jsonable({"id": c.id, "label": c.label, "probabilities": c.probabilities, "meta": c.meta})
                             for c in batch.predictions],
                usage={"units": units, "tier": reservation.limits.tier, "monthly_quota": reservation.limits.monthly_quota,
                       "remaining": reservation.month_remaining},
                disclaimer=DISCLAIMER, kept=[str(k) for k in kept] or None,
            ).model_dump(mode="json")
            if idem:
                metering.remember(s, p.org_id, idem, req_hash, 200, out)
    except AccountsError:
        raise
    return JSONResponse(out, headers=rate_headers(reservation))
