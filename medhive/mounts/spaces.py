"""Mount every task's Gradio Space on the hub server at /spaces/<task>/, sharing one predictor.

The Spaces are the same `gr.Blocks` a Hugging Face Space builds (`medhive.ui.build_space`), mounted with
`gr.mount_gradio_app`. One `Predictor` serves them all, so a version is loaded once and a promotion shows
in every Space at once. `app.state.spaces` maps task -> URL for the portal. Each prediction is billed
(`medhive.space_meter`): the signed-in visitor's tier, or the anonymous demo allowance.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI

from hub.models import task_names
from medhive.ui import build_space, launch_options

PREFIX = "/spaces"


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:
    predictor = app.state.predictor  # the server's one predictor, shared with the assistant
    api = getattr(app.state, "medhive_api", None)  # mounted before the Spaces (medhive.mounts.api)
    meter = None
    if api is not None:
        from medhive.space_meter import SpaceMeter

        meter = SpaceMeter(api, demo_per_day=settings.space_demo_per_day)
    spaces: dict[str, str] = {}
    for name in task_names():
        blocks = build_space(name, predictor=predictor, portal_url="/", meter=meter)
        gr.mount_gradio_app(app, blocks, path=f"{PREFIX}/{name}", ssr_mode=False, show_error=True,
                            footer_links=[], **launch_options())
        spaces[name] = f"{PREFIX}/{name}/"
    app.state.spaces = spaces
