"""Gradio UI builders: one Space per task, built from the task interface alone.

    >>> from medhive.ui import build_space, launch_options
    >>> demo = build_space("pneumonia")          # a gr.Blocks
    >>> demo.launch(**launch_options())

The builder is chosen by the task's input kind (a form for named fields, an upload for images, a record
for signals), so a new task module gets its Space with no UI code. Without a registry or predictor the
Space opens the configured registry (seeding the shipped v1.0 models on first use), as a standalone
Hugging Face Space does; the portal passes its own so every Space shares one predictor and cache.
"""

from __future__ import annotations

import importlib
from typing import Any

import gradio as gr

from hub.inference import Predictor
from hub.models import get_task
from medhive.ui.common import CSS, DISCLAIMER_MD, SpaceContext, header, warm_up

__all__ = ["BUILDERS", "CSS", "build_space", "launch_options", "theme"]

#: the one place the UI looks at a task's kind of input: the module whose `build(ctx)` makes its Space
BUILDERS = {"tabular": "medhive.ui.tabular", "image": "medhive.ui.image", "signal": "medhive.ui.signal"}


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="blue", secondary_hue="slate")


def launch_options() -> dict[str, Any]:
    """Theme and CSS: Gradio 6 takes them at launch / mount time, not in `gr.Blocks`."""
    return {"theme": theme(), "css": CSS}


def default_predictor(settings: Any = None) -> Predictor:
    from hub.registry.seed import seed_baselines
    from medhive.settings import get_settings

    settings = settings or get_settings()
    registry = settings.open_registry()
    seed_baselines(registry)
    return Predictor(registry)


def build_space(task_name: str, *, settings: Any = None, registry: Any = None, predictor: Predictor | None = None,
                portal_url: str | None = None, meter: Any = None) -> gr.Blocks:
    """The Space of `task_name` as a `gr.Blocks` (not launched); `meter` bills each prediction (see
    `SpaceContext.meter`; the hub server passes one, a standalone Space has none)."""
    task = get_task(task_name)
    if predictor is None:
        predictor = Predictor(registry) if registry is not None else default_predictor(settings)
    ctx = SpaceContext(task=task, predictor=predictor, portal_url=portal_url, meter=meter)
    if task.input_kind not in BUILDERS:
        raise ValueError(f"no Space builder for input kind {task.input_kind!r}")
    build = importlib.import_module(BUILDERS[task.input_kind]).build
    with gr.Blocks(title=f"MedHive · {task.title}", analytics_enabled=False,
                   delete_cache=(1800, 3600)) as demo:
        header(ctx)
        build(ctx)
        gr.Markdown(DISCLAIMER_MD, elem_classes=["medhive-disclaimer"])
    warm_up()
    return demo
