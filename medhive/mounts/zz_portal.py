"""The portal at "/": the marketplace of model cards, each opening its Space (mounted last, see server.py).

Other mounts add navigation entries by appending {"label", "href"} to `app.state.portal_nav` (the
assistant, hospital and admin views have reserved places and show as "soon" until then).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from medhive.ui.portal import render_marketplace


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def portal(request: Request) -> str:
        state = request.app.state
        filters = {k: v[:100] for k, v in request.query_params.items() if k in ("q", "body", "kind", "metric",
                                                                                  "hospitals")}
        return render_marketplace(registry, spaces=getattr(state, "spaces", {}) or {},
                                  nav=getattr(state, "portal_nav", None), filters=filters)
