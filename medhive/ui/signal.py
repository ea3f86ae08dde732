"""The Space of a signal task (ECG): upload a record or pick an example; the result reads as a record.

The headline is the record summary (beats per class, share of abnormal beats, rhythm notes), not one
beat. The trace is a readable 10 s strip around the selected beat, every beat marked by its predicted
class; buttons move the strip by 10 s and step through the beats of one class, and the selected beat is
explained below.

A WFDB record is two files (.hea header and .dat samples) which the browser uploads separately; they are
put back side by side in one folder before the task's own reader opens them. A CSV of samples needs its
sampling rate (a first line `# fs=360`, or the box). The beat explained by default is the most notable
one (the least likely to be normal); any beat can be chosen afterwards.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from hub.errors import InvalidInputError
from hub.models import Cases
from medhive.ui.common import SpaceContext, billed, guard, make_outputs, respond

AUTO = "most notable beat"
CLASS_COLOURS = {"N": "#2e7d32", "S": "#ef6c00", "V": "#c62828", "F": "#6a1b9a", "Q": "#546e7a"}
MAX_CHOICES = 400
STRIP_S = 10.0
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


def strip_window(n_samples: int, fs: float, centre_s: float, width_s: float = STRIP_S) -> tuple[int, int]:
    """Sample range of a `width_s` strip centred on `centre_s`, shifted to stay inside the record."""
    width = min(int(width_s * fs), n_samples)
    start = int(round(centre_s * fs)) - width // 2
    start = min(max(start, 0), n_samples - width)
    return start, start + width


def trace_figure(cases: Cases, labels: list[str], chosen: int) -> Image.Image:
    """A 10 s strip around beat `chosen` on ECG paper (0.2 s / 0.5 mV grid), beats marked by class."""
    from matplotlib.figure import Figure

    signal = np.asarray(cases.context["signal"], dtype=float)
    fs = float(cases.context["fs"])
    peaks = np.asarray(cases.context["r_peaks"])
    lo, hi = strip_window(len(signal), fs, peaks[chosen] / fs)
    t = np.arange(lo, hi) / fs
    fig = Figure(figsize=(10, 3.2))
    ax = fig.add_subplot()
    ax.set_xticks(np.arange(np.floor(t[0]), t[-1] + 1e-9, 1.0))
    ax.set_xticks(np.arange(np.floor(t[0] * 5) / 5, t[-1] + 1e-9, 0.2), minor=True)
    ax.grid(which="major", color="#f1948a", lw=0.6)
    ax.grid(which="minor", color="#fadbd8", lw=0.4)
    ax.plot(t, signal[lo:hi], color="#222", lw=0.9)
    inside = (peaks >= lo) & (peaks < hi)
    for cls in dict.fromkeys(labels):
        sel = np.array([lab == cls for lab in labels]) & inside
        total = sum(lab == cls for lab in labels)
        ax.plot(peaks[sel] / fs, signal[peaks[sel]], "o", ms=6, color=CLASS_COLOURS.get(cls, "#000"),
                label=f"{cls} ({total} in record)")
        for pk in peaks[sel]:
            ax.annotate(cls, (pk / fs, signal[pk]), textcoords="offset points", xytext=(0, 6), ha="center",
                        fontsize=8, color=CLASS_COLOURS.get(cls, "#000"))
    ax.axvspan(peaks[chosen] / fs - 0.25, peaks[chosen] / fs + 0.4, color="#f4d03f", alpha=0.35,
               label=f"selected beat {chosen + 1}")
    ax.set_xlim(t[0], t[-1])
    duration = len(signal) / fs
    ax.set_xlabel(f"time (s) · strip {t[0]:.0f}-{t[-1]:.0f} s of {duration:.0f} s · {len(labels)} beats in the record",
                  fontsize=8)
    ax.set_ylabel(f"{cases.context.get('lead', 'ECG')} (mV)", fontsize=8)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncol=7, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return Image.open(io.BytesIO(buf.getvalue()))


def record_headline(summary: dict[str, Any]) -> str:
    """The record summary as the result's headline: beats per class, share abnormal, rhythm notes."""
    if not summary:
        return ""
    counts = summary.get("beats_per_class", {})
    rows = " · ".join(f"**{k}** {v}" for k, v in counts.items() if v) or "none"
    notes = summary.get("rhythm_notes") or []
    return (f"## Record: {summary.get('beats', 0)} beats, {summary.get('abnormal_share', 0):.0%} not classed as normal\n"
            f"Beats per class: {rows}  \n"
            + (f"Rhythm: {'; '.join(notes)}  \n" if notes else "")
            + f"<small>{summary.get('duration_s', 0):.0f} s recorded · an automated beat classification for "
              "clinical review, not a diagnosis</small>")


def step_beat(beats: list[tuple[float, str]], chosen: str | None, *, cls: str | None = None,
              seconds: float = 0.0, direction: int = 1) -> int | None:
    """The beat to select next: the next / previous beat of class `cls`, or the first beat of the strip
    `seconds` later / earlier. None where there is none."""
    if not beats:
        return None
    current = _beat_index(chosen, len(beats))
    if current is None:
        current = 0 if direction > 0 else len(beats) - 1
        if cls is None or beats[current][1] == cls:
            return current
    if cls is not None:
        order = range(current + 1, len(beats)) if direction > 0 else range(current - 1, -1, -1)
        return next((i for i in order if beats[i][1] == cls), None)
    target = beats[current][0] + direction * seconds
    times = np.array([t for t, _ in beats])
    i = int(np.argmin(np.abs(times - target)))
    return i if i != current else None


def _beat_index(chosen: str | None, n: int) -> int | None:
    if not chosen or chosen == AUTO:
        return None
    try:
        index = int(str(chosen).split()[1]) - 1
    except (IndexError, ValueError):
        raise InvalidInputError(f"unknown beat {str(chosen)[:40]!r}") from None
    if not 0 <= index < n:
        raise InvalidInputError(f"this record has {n} beats; beat {index + 1} does not exist")
    return index


def _beat_label(i: int, time_s: float, label: str, confidence: float) -> str:
    return f"beat {i + 1} at {time_s:.2f} s: {label} {confidence:.0%}"


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
            beat = gr.Dropdown([AUTO], value=AUTO, label="Selected beat (explained below)", elem_id="beat-choice",
                               allow_custom_value=True)
            with gr.Row():
                back = gr.Button("◀ 10 s", elem_id="strip-back", size="sm")
                forward = gr.Button("10 s ▶", elem_id="strip-forward", size="sm")
            with gr.Row():
                step_class = gr.Dropdown(list(task.labels), value="V" if "V" in task.labels else task.labels[0],
                                         label="Step through beats of class", elem_id="step-class", scale=2)
                previous = gr.Button("◀ previous", elem_id="class-previous", size="sm", scale=1)
                following = gr.Button("next ▶", elem_id="class-next", size="sm", scale=1)
            notes = gr.Textbox(label="Notes for the report (optional; the only place a patient reference goes)",
                               lines=2, elem_id="notes")
            predict = gr.Button("Predict and explain", variant="primary", elem_id="predict")
        with gr.Column(scale=6):
            headline = gr.Markdown(elem_id="record-summary")
            gr.Markdown(f"**ECG strip**, {STRIP_S:.0f} s around the selected beat, every beat marked by its predicted class"
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
        with billed(ctx) as bill:  # units taken before the model runs, given back if anything fails
            return _run(cases, chosen, notes_text, bill)

    def _run(cases: Cases, chosen: str | None, notes_text: str | None, bill: Any) -> list[Any]:
        batch = ctx.predictor.predict_cases(task.name, cases)
        labels = [p.label for p in batch.predictions]
        index = _beat_index(chosen, len(cases))
        if index is None:
            index = notable_beat(batch.proba, task.labels)
        beats = [(float(p.meta.get("time_s", 0.0)), p.label) for p in batch.predictions]
        choices = [AUTO] + [_beat_label(i, p.meta.get("time_s", 0), p.label, p.confidence)
                            for i, p in enumerate(batch.predictions[:MAX_CHOICES])]
        summary = batch.summary or {}
        summary_md = f"**Whole record:** {summary.get('text', '')}" if summary else ""
        out = respond(ctx, cases, index, notes=notes_text or "", batch=batch, summary_md=summary_md, bill=bill)
        p = batch.predictions[index]
        selected = chosen if chosen and chosen != AUTO else AUTO
        if selected != AUTO:
            selected = _beat_label(index, p.meta.get("time_s", 0), p.label, p.confidence)
        return [record_headline(summary), trace_figure(cases, labels, index),
                gr.Dropdown(choices=choices if selected in choices or selected == AUTO else [*choices, selected],
                            value=selected), beats, *out]

    def stepper(**how: Any) -> Callable[..., Any]:
        @guard
        def step(beats: list | None, chosen: str | None, cls: str | None) -> Any:
            beats = [(float(t), str(lab)) for t, lab in beats or []]
            if not beats:
                raise InvalidInputError("predict a record first")
            options = {**how, "cls": cls} if how.get("cls") == "chosen" else how
            i = step_beat(beats, chosen, **options)
            if i is None:
                what = f"no further {cls} beat" if "cls" in how else "the strip is at the end of the record"
                raise gr.Error(what + " in that direction.", title="Nothing to step to")
            return gr.Dropdown(value=f"beat {i + 1} at {beats[i][0]:.2f} s: {beats[i][1]}")
        return step

    beats_state = gr.State([])
    inputs = [files, example, fs, beat, notes]
    extra = [headline, trace, beat, beats_state]
    outputs.on(predict.click, run, inputs, api_name="predict", extra=extra)
    outputs.on(beat.input, run, inputs, api_name=False, extra=extra)
    for button, how in ((back, {"seconds": STRIP_S, "direction": -1}), (forward, {"seconds": STRIP_S, "direction": 1}),
                        (previous, {"cls": "chosen", "direction": -1}), (following, {"cls": "chosen", "direction": 1})):
        button.click(stepper(**how), [beats_state, beat, step_class], [beat], api_name=False, queue=False).success(
            run, inputs, [*extra, *outputs.list()], api_name=False)
