"""The portal's screening page at /screening (one patient form, every tabular model; see
`medhive.ui.screening_page`). The page posts to the metered `POST /v1/screen` mounted by `api`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from medhive.ui.screening_page import render_screening

PATH = "/screening"


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:
    @app.get(PATH, response_class=HTMLResponse, include_in_schema=False)
    def screening(request: Request) -> str:
        return render_screening(nav=getattr(request.app.state, "portal_nav", None))

    nav = getattr(app.state, "portal_nav", None)
    if nav is None:
        nav = app.state.portal_nav = []
    nav.append({"label": "Screening", "href": PATH})
