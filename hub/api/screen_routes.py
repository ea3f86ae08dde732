"""`POST /v1/screen`: one patient form, every tabular model whose required inputs are present.

The values are validated against every field they feed before anything runs (a bad form is a 422 and
costs nothing); one prediction per model that can judge the case is reserved first (the same metering as
`/v1/models/{task}/predict`: refused for rate or quota before any work, released if the work fails),
the models run on their production versions, then one transaction records each with one audit entry. `GET /v1/screen/form` is the form itself.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.accounts import audit, keys, metering
from hub.accounts.errors import ValidationFailed
from hub.accounts.users import Principal
from hub.api.deps import ALL_ROLES, ApiContext, context, require
from hub.api.model_routes import DISCLAIMER, jsonable, rate_headers
from hub.api.problems import redact
from hub.api.schemas import PROBLEMS
from hub.errors import InvalidInputError

router = APIRouter(tags=["screening"], responses=PROBLEMS)


class ScreenRequest(BaseModel):
    """The values a clinician has, keyed as in `GET /v1/screen/form` (blank or missing: not known)."""

    model_config = ConfigDict(extra="forbid")
    values: dict[str, float | str | None] = Field(..., max_length=400)
    explain: bool = Field(True, description="key factors for each model used (Kernel SHAP)")
    report: bool = Field(False, description="also return one PDF for all models (base64)")


def form_view() -> list[dict[str, Any]]:
    from hub.screening import screening_form

    return [{"key": f.key, "label": f.label, "unit": f.unit, "models": list(f.tasks), "shared": f.shared,
             "choices": list(f.choices), "minimum": f.minimum, "maximum": f.maximum} for f in screening_form()]


def _example() -> dict[str, Any]:
    from hub.screening import screening_form

    form = {f.key: f for f in screening_form()}
    wanted = {"age": 61, "sex": "male", "BMI": 31.2, "plasma glucose (2 h OGTT)": 148, "diastolic_bp": 84}
    return {"values": {k: v for k, v in wanted.items() if k in form}}


@router.get("/screen/form", summary="The screening form: every field once, with the models it feeds")
def screen_form(_: Principal = Depends(require(*ALL_ROLES))) -> list[dict[str, Any]]:
    return form_view()


def screen_case(ctx: ApiContext, p: Principal, values: dict[str, Any], *, explain: bool = True,
                report: bool = False) -> tuple[dict[str, Any], Any]:
    """Screen one case for `p` (billed to `p`'s organisation, one prediction per model used); the response
    body and the reservation (for the rate headers). The API route and the portal's screening page both call
    this, so a page and the API bill and audit a screening the same way. `AccountsError` (ValidationFailed
    for a bad form, the metering errors for rate or quota) before any model runs."""
    from hub.screening import plan_screening, run_screening

    try:
        plans = plan_screening(values)
    except InvalidInputError as exc:
        raise ValidationFailed(redact(exc.message, values, known=list(values))) from None
    if not any(pl.runs for pl in plans):
        needs = "; ".join(f"{pl.task}: {', '.join(pl.needs)}" for pl in plans)
        raise ValidationFailed(f"no model has the inputs it needs ({needs})"[:2000])
    units = sum(pl.runs for pl in plans)
    # reserved before any model runs (refused for rate or quota: no work done), released if the work fails
    with metering.reserved(ctx.store, p.org_id, units) as reservation:
        result = run_screening(ctx.predictor, plans, explain=explain)
        used = result.used
        with ctx.store.transaction() as s:
            for m in used:  # one prediction per model used, under that model's version
                metering.record(s, reservation, org_id=p.org_id, user_id=p.user_id, api_key_id=p.api_key_id,
                                task=m.task, model_version=m.version, units=1)
            if p.api_key_id:
                keys.touch(s, p.api_key_id)
            audit.append(s, actor=p.actor, action="screen", target=",".join(f"{m.task}@{m.version}" for m in used),
                         details={"units": len(used), "skipped": [pl.task for pl in result.skipped]})
    out: dict[str, Any] = {**jsonable(result.to_dict()), "disclaimer": DISCLAIMER,
                           "usage": {"units": len(used), "tier": reservation.limits.tier,
                                     "monthly_quota": reservation.limits.monthly_quota,
                                     "remaining": reservation.month_remaining}}
    if report:
        from hub.screening_report import build_screening_report

        pdf = build_screening_report(result, {k: v for k, v in values.items() if v not in (None, "")})
        out["report_pdf_base64"] = base64.b64encode(pdf).decode()
    return out, reservation


@router.post("/screen", summary="Screen one patient with every tabular model whose inputs are present (metered)")
def screen(request: Request, body: ScreenRequest = Body(openapi_examples={"case": {"summary": "a partial form",
                                                                                     "value": _example()}}),
           p: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> JSONResponse:
    request.state.inputs = body.values  # keeps these values out of any error message
    out, reservation = screen_case(ctx, p, body.values, explain=body.explain, report=body.report)
    return JSONResponse(out, headers=rate_headers(reservation))
