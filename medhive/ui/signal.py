"""The Space of a signal task (ECG): upload a record or pick an example, see the trace with every beat
marked by its predicted class, and the explanation of one beat drawn along it.

A WFDB record is two files (.hea header and .dat samples) which the browser uploads separately; they are
put back side by side in one folder before the task's own reader opens them. A CSV of samples needs its
sampling rate (a first line `# fs=360`, or the box). The beat explained by default is the most notable
one (the least likely to be normal); any beat can be chosen afterwards.
"""

from __future__ import annotations

import io
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from hub.errors import InvalidInputError
from hub.models import Cases
from medhive.ui.common import SpaceContext, guard, make_outputs, respond

AUTO = "most notable beat"
CLASS_COLOURS = {"N": "#2e7d32", "S": "#ef6c00", "V": "#c62828", "F": "#6a1b9a", "Q": "#546e7a"}
MAX_CHOICES = 400
CLASS_NAMES = {"N": "normal", "S": "supraventricular ectopic", "V": "ventricular ectopic", "F": "fusion",
               "Q": "paced or unclassifiable"}
CLASS_NAMES_MD = " · ".join(f"**{k}** {v}" for k, v in CLASS_NAMES.items())


def _example_name(path: Path) -> str:
    return f"{path.stem.replace('_', ' ')} ({'WFDB' if path.suffix == '.hea' else 'CSV'})"


def gather_upload(files: list[str], folder: Path) -> Path:
    """Copy uploaded files into one folder; return the record to read (.hea if any, else the one CSV)."""
    if not files:
        raise InvalidInputError("please upload an ECG record (.hea + .dat, or a CSV of samples) or choose an example")
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for f in files:
        src = Path(f)
        dst = folder / src.name
        shutil.copyfile(src, dst)
        copies.append(dst)
    headers = [p for p in copies if p.suffix.lower() == ".hea"]
    if headers:
        return headers[0]
    if any(p.suffix.lower() == ".dat" for p in copies):
        raise InvalidInputError("a WFDB record needs its .hea header file as well as the .dat file: upload both")
    if len(copies) > 1:
        raise InvalidInputError("upload one record at a time: one CSV, or one .hea with its .dat")
    return copies[0]


def notable_beat(proba: np.ndarray, labels: tuple[str, ...]) -> int:
    normal = labels.index("N") if "N" in labels else 0
    return int(np.argmin(proba[:, normal]))


def trace_figure(cases: Cases, labels: list[str], chosen: int) -> Image.Image:
    from matplotlib.figure import Figure

    signal = np.asarray(cases.context["signal"], dtype=float)
    fs = float(cases.context["fs"])
    peaks = np.asarray(cases.context["r_peaks"])
    t = np.arange(len(signal)) / fs
    fig = Figure(figsize=(10, 3.2))
    ax = fig.add_subplot()
    ax.plot(t, signal, color="#555", lw=0.6)
    for cls in dict.fromkeys(labels):
        sel = np.array([lab == cls for lab in labels])
        ax.plot(peaks[sel] / fs, signal[peaks[sel]], "o", ms=4, color=CLASS_COLOURS.get(cls, "#000"),
                label=f"{cls} ({int(sel.sum())})")
    ax.axvspan(peaks[chosen] / fs - 0.25, peaks[chosen] / fs + 0.4, color="#f4d03f", alpha=0.35,
               label="explained beat")
    ax.set_xlim(0, t[-1] if len(t) else 1)
    ax.set_xlabel(f"time (s) · {len(labels)} beats", fontsize=8)
    ax.set_ylabel(f"{cases.context.get('lead', 'ECG')} (mV)", fontsize=8)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncol=7, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return Image.open(io.BytesIO(buf.getvalue()))


def build(ctx: SpaceContext) -> None:
    task = ctx.task
    examples = {_example_name(p): p for p in task.example_inputs()}
    with gr.Row(equal_height=False):
        with gr.Column(scale=4):
            gr.Markdown(f"### ECG record\n{task.input_description}")
            with gr.Row():
                example = gr.Dropdown([*examples], value=next(iter(examples), None), label="Example record",
                                      elem_id="example-choice")
            files = gr.File(label="…or upload your record: .hea + .dat (WFDB) or a CSV of samples",
                            file_count="multiple", file_types=[".hea", ".dat", ".csv", ".txt"], elem_id="ecg-upload")
            fs = gr.Textbox(label="Sampling rate of a CSV, in Hz (not needed for WFDB records or a CSV whose first "
                                  "line says '# fs=...')", placeholder="e.g. 360", elem_id="fs")
            beat = gr.Dropdown([AUTO], value=AUTO, label="Beat to explain", elem_id="beat-choice")
            notes = gr.Textbox(label="Notes for the report (optional; the only place a patient reference goes)",
                               lines=2, elem_id="notes")
            predict = gr.Button("Predict and explain", variant="primary", elem_id="predict")
        with gr.Column(scale=6):
            gr.Markdown("**ECG trace**, every detected beat marked by its predicted class"
                        + (f" ({CLASS_NAMES_MD})" if set(task.labels) <= set(CLASS_NAMES) else ""))
            trace = gr.Image(label="ECG trace", show_label=False, type="pil", interactive=False, elem_id="ecg-trace",
                             buttons=["download", "fullscreen"])
            outputs = make_outputs(ctx)

    def read(uploaded: list[str] | None, example_name: str | None, rate: str | float | None) -> Cases:
        options = {}
        if rate not in (None, "") and str(rate).strip():
            try:
                options["fs"] = float(str(rate).strip())
            except ValueError:
                raise InvalidInputError(f"the sampling rate must be a number in Hz, got {str(rate)[:20]!r}") from None
        if uploaded:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
            return task.read_input(gather_upload(list(uploaded), ctx.workdir / f"upload-{stamp}"), **options)
        if example_name in examples:
            return task.read_input(examples[example_name], **options)
        raise InvalidInputError("please upload an ECG record or choose an example")

    @guard
    def run(uploaded: list[str] | None, example_name: str | None, rate: str | None, chosen: str | None,
            notes_text: str | None) -> list[Any]:
        cases = read(uploaded, example_name, rate)
        batch = ctx.predictor.predict_cases(task.name, cases)
        labels = [p.label for p in batch.predictions]
        index = notable_beat(batch.proba, task.labels)
        if chosen and chosen != AUTO:
            try:
                index = int(str(chosen).split()[1]) - 1
            except (IndexError, ValueError):
                raise InvalidInputError(f"unknown beat {chosen!r}") from None
            if not 0 <= index < len(cases):
                raise InvalidInputError(f"this record has {len(cases)} beats; beat {index + 1} does not exist")
        choices = [AUTO] + [f"beat {i + 1} at {p.meta.get('time_s', 0):.2f} s: {p.label} {p.confidence:.0%}"
                            for i, p in enumerate(batch.predictions[:MAX_CHOICES])]
        summary = batch.summary or {}
        counts = ", ".join(f"{k} {v}" for k, v in summary.get("beats_per_class", {}).items())
        summary_md = f"**Whole record:** {summary.get('text', '')}  \nBeats per class: {counts}" if summary else ""
        out = respond(ctx, cases, index, notes=notes_text or "", batch=batch, summary_md=summary_md)
        selected = chosen if chosen in choices else AUTO
        return [trace_figure(cases, labels, index), gr.Dropdown(choices=choices, value=selected), *out]

    inputs = [files, example, fs, beat, notes]
    outputs.on(predict.click, run, inputs, api_name="predict", extra=[trace, beat])
    outputs.on(beat.input, run, inputs, api_name=False, extra=[trace, beat])
