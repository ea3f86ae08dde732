"""The Space of an image task (chest X-ray, fundus photograph): upload or pick an example, predict.

The uploaded file goes through the task's own reader (`Task.read_input`), exactly as on the command line,
so EXIF orientation, bit depth, colour mode and size checks are the same everywhere; an unreadable file
is refused with one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from hub.errors import InvalidInputError
from medhive.ui.common import SpaceContext, guard, make_outputs, respond, safe_file_input


def build(ctx: SpaceContext) -> None:
    task = ctx.task
    kind = "fundus photograph" if task.channels == 3 else "X-ray image"
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            gr.Markdown(f"### Image\n{task.input_description}")
            image = safe_file_input(gr.Image(
                label=f"Upload {'an' if kind[0] in 'aeiouX' else 'a'} {kind} (PNG, JPEG, BMP, TIFF)", type="filepath", image_mode=None,
                sources=["upload", "clipboard"], height=320, elem_id="image-input",
            ), "image (PNG, JPEG, BMP or TIFF)")
            gr.Examples([[str(p)] for p in task.example_inputs()], inputs=[image], label="Example images",
                        examples_per_page=8)
            notes = gr.Textbox(label="Notes for the report (optional; the only place a patient reference goes)",
                               lines=2, elem_id="notes")
            predict = gr.Button("Predict and explain", variant="primary", elem_id="predict")
        with gr.Column(scale=5):
            outputs = make_outputs(ctx)

    @guard
    def run(path: str | None, notes_text: str | None) -> list[Any]:
        if not path:
            raise InvalidInputError(f"please upload a {kind} or choose an example first")
        cases = task.read_input(Path(path))
        cases.ids = ["uploaded image"]  # the file name may carry a patient's name: never shown or reported
        return respond(ctx, cases, 0, notes=notes_text or "")

    outputs.on(predict.click, run, [image, notes], api_name="predict")
