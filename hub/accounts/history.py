"""Prediction history (opt-in per account): keep, list, read, delete for good.

A kept prediction holds the output (label, confidence, class probabilities), the model version and the
time; the input's summary (the values a report shows) only when the user also chose "keep my input".
Deleting removes the row, input included; nothing else holds a copy (usage events never hold inputs).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.accounts import audit
from hub.accounts.errors import NotFound
from hub.accounts.models import Prediction, User
from hub.accounts.users import Principal

MAX_PAGE = 100


def keep(session: Session, principal: Principal, *, task: str, model_version: str, predictions: list[Any],
         input_summaries: Callable[[], list[list[tuple[str, str]]]] | None = None, at: datetime | None = None,
         ) -> list[uuid.UUID]:
    """Keep these predictions if the caller opted in; their ids (none when the history is off).

    `input_summaries` is called only when the user keeps inputs too."""
    user = session.get(User, principal.user_id)
    if user is None or not user.keep_history:
        return []
    summaries = input_summaries() if (user.keep_inputs and input_summaries is not None) else None
    rows = []
    for i, pred in enumerate(predictions):
        if getattr(pred, "out_of_distribution", False):
            continue  # refused as out of distribution: no label, nothing to keep
        summary = summaries[i] if summaries is not None and i < len(summaries) else None
        row = Prediction(org_id=principal.org_id, user_id=principal.user_id, task=task, model_version=model_version,
                         label=str(pred.label), confidence=float(pred.probabilities[pred.label]),
                         output=json.dumps({"probabilities": {k: float(v) for k, v in pred.probabilities.items()},
                                            "id": str(pred.id)}),
                         input_summary=json.dumps(summary) if summary is not None else None)
        if at is not None:
            row.created_at = at
        session.add(row)
        rows.append(row)
    session.flush()
    return [r.id for r in rows]


def view(row: Prediction) -> dict[str, Any]:
    out = json.loads(row.output)
    return {"id": str(row.id), "task": row.task, "model_version": row.model_version, "label": row.label,
            "confidence": row.confidence, "probabilities": out.get("probabilities", {}),
            "created_at": row.created_at.isoformat(), "input_kept": row.input_summary is not None,
            "input_summary": json.loads(row.input_summary) if row.input_summary else None}


def list_for(session: Session, principal: Principal, *, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    limit = max(1, min(limit, MAX_PAGE))
    where = Prediction.user_id == principal.user_id
    total = int(session.scalar(select(func.count()).select_from(Prediction).where(where)) or 0)
    rows = session.execute(select(Prediction).where(where).order_by(Prediction.created_at.desc(), Prediction.id)
                           .limit(limit).offset(max(offset, 0))).scalars()
    return {"total": total, "items": [view(r) for r in rows]}


def get(session: Session, principal: Principal, prediction_id: uuid.UUID) -> Prediction:
    row = session.get(Prediction, prediction_id)
    if row is None or row.user_id != principal.user_id:  # someone else's reads as absent
        raise NotFound("no such prediction in your history")
    return row


def remove(session: Session, principal: Principal, prediction_id: uuid.UUID) -> None:
    row = get(session, principal, prediction_id)
    session.execute(delete(Prediction).where(Prediction.id == row.id))
    audit.append(session, actor=principal.actor, action="prediction.delete", target=f"prediction:{row.id}")
