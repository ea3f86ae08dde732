"""The caller's prediction history (opt-in), its PDF reports, the history preferences and the upgrade."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Response, status

from hub.accounts import history, users
from hub.accounts.models import Prediction
from hub.accounts.users import Principal
from hub.api.auth_routes import _account
from hub.api.deps import ALL_ROLES, ApiContext, context, require
from hub.api.schemas import PROBLEMS, Account, KeptPrediction, PredictionPage, Preferences

router = APIRouter(tags=["history"], responses=PROBLEMS)


def report_pdf(registry: Any, row: Prediction) -> bytes:
    """A kept prediction's PDF: the model card of its version and the output; the input only if kept."""
    from hub.models import get_task
    from hub.reports import ReportContent, model_facts, render_report

    v = history.view(row)
    task = get_task(row.task)
    summary = ([tuple(pair) for pair in v["input_summary"]] if v["input_summary"]
               else [("input", "not kept (history keeps outputs only unless you tick 'keep my input')")])
    return render_report(ReportContent(
        task=task, facts=model_facts(task, registry.info(row.task, row.model_version)), label=row.label,
        confidence=row.confidence, probabilities=v["probabilities"], input_summary=summary,
        generated_at=row.created_at))


@router.get("/predictions", response_model=PredictionPage, summary="Your kept predictions, newest first")
def list_predictions(limit: int = Query(50, ge=1, le=history.MAX_PAGE), offset: int = Query(0, ge=0, le=10**9),
                     p: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        return history.list_for(s, p, limit=limit, offset=offset)


@router.get("/predictions/{prediction_id}", response_model=KeptPrediction, summary="One kept prediction")
def get_prediction(prediction_id: uuid.UUID, p: Principal = Depends(require(*ALL_ROLES)),
                   ctx: ApiContext = Depends(context)) -> dict[str, Any]:
    with ctx.store.transaction() as s:
        return history.view(history.get(s, p, prediction_id))


@router.get("/predictions/{prediction_id}/report.pdf", summary="A kept prediction's PDF report",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def prediction_report(prediction_id: uuid.UUID, p: Principal = Depends(require(*ALL_ROLES)),
                      ctx: ApiContext = Depends(context)) -> Response:
    with ctx.store.transaction() as s:
        row = history.get(s, p, prediction_id)
    pdf = report_pdf(ctx.registry, row)
    name = f"medhive-report-{row.task}-{row.model_version}-{row.created_at:%Y%m%d-%H%M%S}.pdf"
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.delete("/predictions/{prediction_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               summary="Delete a kept prediction (and its input) for good")
def delete_prediction(prediction_id: uuid.UUID, p: Principal = Depends(require(*ALL_ROLES)),
                      ctx: ApiContext = Depends(context)) -> Response:
    with ctx.store.transaction() as s:
        history.remove(s, p, prediction_id)
    return Response(status_code=204)


@router.put("/me/preferences", response_model=Account, summary="Prediction history on/off; keep my input")
def set_preferences(body: Preferences, p: Principal = Depends(require(*ALL_ROLES)),
                    ctx: ApiContext = Depends(context)) -> Account:
    with ctx.store.transaction() as s:
        user = users.set_preferences(s, p.user_id, keep_history=body.keep_history, keep_inputs=body.keep_inputs,
                                     actor=p.actor)
        return _account(s, user)


@router.post("/me/upgrade", response_model=Account, summary="Upgrade a personal free account to pay-per-use")
def upgrade(p: Principal = Depends(require(*ALL_ROLES)), ctx: ApiContext = Depends(context)) -> Account:
    with ctx.store.transaction() as s:
        users.upgrade_to_pay_per_use(s, p)
        return _account(s, users.get_user(s, p.user_id))
