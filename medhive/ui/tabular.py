"""The Space of a task whose input is a row of named fields: a form with units and ranges, examples, CSV.

One number box per `Task.input_fields` entry (label with unit, valid range underneath; a drop-down of
words for a categorical field; "optional" where a blank is imputed), grouped in columns of ten. "Load example" fills the form from a shipped example; uploading a CSV fills it from the
file's first row (the task's own CSV reader validates it). Predict reads the form, so what is predicted is
always what is on screen.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gradio as gr

from hub.errors import InvalidInputError
from medhive.ui.common import SpaceContext, guard, make_outputs, respond


def _step(maximum: float) -> float:
    return 10 ** (math.floor(math.log10(maximum)) - 3) if maximum > 0 else 0.001


def _example_name(path: Path) -> str:
    return path.stem.replace("_", " ")


def build(ctx: SpaceContext) -> None:
    task = ctx.task
    fields = list(task.input_fields)
    examples = {_example_name(p): p for p in task.example_inputs()}
    boxes: list[gr.Number | gr.Dropdown] = []
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            gr.Markdown(f"### Case\n{task.input_description}")
            with gr.Row():
                choice = gr.Dropdown(list(examples), value=next(iter(examples), None), label="Example case",
                                     scale=3, elem_id="example-choice")
                load = gr.Button("Load example", scale=1, elem_id="load-example")
            csv = gr.File(label="…or a CSV file (header row with the feature names; the first row is used)",
                          file_types=[".csv", ".tsv", ".txt"], elem_id="csv-upload")
            note = gr.Markdown()
            predict_top = gr.Button("Predict and explain", variant="primary", elem_id="predict")
            gr.Markdown("Check or edit the values below (unit and valid range under each name):")
            per_column = 10 if len(fields) > 12 else len(fields)
            with gr.Row():
                for start in range(0, len(fields), per_column):
                    with gr.Column(min_width=180):
                        for f in fields[start : start + per_column]:
                            unit = f" ({f.unit})" if f.unit else ""
                            optional = " · optional" if f.optional else ""
                            if f.choices:
                                boxes.append(gr.Dropdown(
                                    [w for w, _ in f.choices], value=None, label=f.name,
                                    info=f"one of the listed{optional}", elem_classes=["medhive-field"],
                                ))
                            else:
                                boxes.append(gr.Number(
                                    label=f"{f.name}{unit}", info=f"{f.minimum:g} – {f.maximum:g}{optional}",
                                    step=_step(f.maximum), elem_classes=["medhive-field"],
                                ))
            notes = gr.Textbox(label="Notes for the report (optional; the only place a patient reference goes)",
                               lines=2, elem_id="notes")
            predict = gr.Button("Predict and explain", variant="primary", elem_id="predict-bottom")
        with gr.Column(scale=4):
            outputs = make_outputs(ctx)

    def shown(row: Any) -> list[Any]:
        # the float32 network input printed as the measurement was written (17.99, not 17.989999771);
        # a blank (imputed) field stays blank, a category shows its word
        out: list[Any] = []
        for f, v in zip(fields, row):
            v = float(v)
            out.append(None if math.isnan(v) else f.word_for(v) if f.choices else float(f"{v:.6g}"))
        return out

    def values_of(path: Path) -> list[float]:
        return shown(task.read_input(path).x[0])

    @guard
    def load_example(name: str) -> list[Any]:
        if name not in examples:
            raise InvalidInputError("choose one of the example cases")
        return [*values_of(examples[name]), f"Loaded example: {name}."]

    @guard
    def load_csv(path: str | None) -> list[Any]:
        if not path:
            return [gr.skip()] * len(boxes) + [""]
        cases = task.read_input(Path(path))
        more = f" The file has {len(cases)} rows; row 1 is shown." if len(cases) > 1 else ""
        return [*shown(cases.x[0]), f"Loaded the first row of the CSV file.{more}"]

    @guard
    def run(*args: Any) -> list[Any]:
        *values, notes_text = args
        missing = [f.name for f, v in zip(fields, values) if v is None and not f.optional]
        if missing:
            shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
            raise InvalidInputError(f"please fill in every field (missing: {shown}) or load an example")
        cases = task.prepare({f.name: v for f, v in zip(fields, values)})
        return respond(ctx, cases, 0, notes=notes_text or "")

    load.click(load_example, [choice], [*boxes, note], api_name="load_example")
    csv.upload(load_csv, [csv], [*boxes, note], api_name="load_csv")
    outputs.on(predict_top.click, run, [*boxes, notes], api_name="predict")
    outputs.on(predict.click, run, [*boxes, notes], api_name=False)
