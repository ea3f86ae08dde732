"""What every Space shares: the model-card summary, the outputs, one prediction turned into them, errors.

`respond` is the whole journey behind the Predict button: predict with the production model, explain one
case with SHAP, write the PDF report, refresh the model-card summary (a promotion shows at once). Handlers
are wrapped by `guard`, so any problem reaches the user as one readable message (`gr.Error`), never a
traceback: input errors with their own message, anything unexpected as a short apology with its kind.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from hub.errors import HubError
from hub.explain import explain
from hub.inference import PredictionBatch, Predictor
from hub.models import Cases, Task
from hub.reports import DISCLAIMER, build_report, model_facts

log = logging.getLogger("medhive.ui")

DISCLAIMER_MD = (
    f"**{DISCLAIMER}** These models are research tools trained on public data and, when hospitals take part, "
    "improved by federated training. A result is a prompt for a clinician's review, never a diagnosis or a "
    "treatment decision on its own."
)

CSS = """
.medhive-disclaimer {background:#fdf2e9; border-left:4px solid #d35400; padding:8px 12px; border-radius:4px}
.medhive-card {background:#f4f8fb; border-left:4px solid #1f4e79; padding:8px 12px; border-radius:4px}
.medhive-back a {text-decoration:none}
"""


@dataclass
class SpaceContext:
    """What a Space's handlers need: the task, a shared predictor, a folder for reports and figures."""

    task: Task
    predictor: Predictor
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="medhive-space-")))
    portal_url: str | None = None
    #: bills a prediction for whoever asked (signed in: their tier; anonymous: the demo allowance):
    #: `meter.begin(request, task=...)` takes the units before the model runs (raises `gr.Error` on a
    #: refusal) and returns a bill to `commit` (usage, audit, history; returns a usage line) or `release`.
    #: None: not metered (a standalone Space without the accounts database)
    meter: Any = None


#: the Gradio request of the handler running in this thread (set by `Outputs.on`), for the meter
current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("medhive_space_request", default=None)


def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every error of a handler into one readable `gr.Error` message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except HubError as exc:
            raise gr.Error(exc.message, title="Cannot use this input") from None
        except Exception as exc:  # noqa: BLE001 - a person sees one line; the log keeps the details
            log.exception("space handler failed")
            raise gr.Error(
                f"Something went wrong while processing this input ({type(exc).__name__}). "
                "Please check the input and try again.", title="Unexpected error") from None

    return wrapper


def card_markdown(ctx: SpaceContext) -> str:
    """The production model's card in a few lines: version, metrics, hospitals, last update."""
    try:
        info = ctx.predictor.registry.info(ctx.task.name, "production")
    except HubError as exc:
        return f"**Model:** not available ({exc.message})"
    f = model_facts(ctx.task, info)
    metrics = " · ".join(f"{k} **{v:.3f}**" for k, v in f["metrics"].items())
    val = f" on {int(f['validation_cases'])} validation cases" if f.get("validation_cases") else ""
    where = "hospitals' own validation (federated)" if f["source"] == "federated" else "validation split"
    lines = [
        f"**Model {f['version']}** ({'production' if 'production' in f['aliases'] else ', '.join(f['aliases'])}) · "
        f"last updated {f['updated']}",
        *reference_lines(f),
        f"{where}: {metrics}{val}",
        f"Trained by: {f['trained_by']}" + (f" · {f['privacy']}" if f.get("privacy") else ""),
        f"Data: {f['dataset']}" + (" (synthetic)" if f["synthetic"] else ""),
    ]
    return "  \n".join(lines)


def reference_lines(facts: dict[str, Any]) -> list[str]:
    """The like-for-like line (reference split, n, 95% interval) and the calibration error, if recorded."""
    ref, cal = facts.get("reference"), facts.get("calibration")
    out = []
    if ref:
        out.append(f"Reference split: {ref['metric'].replace('_', ' ')} **{ref['value']:.3f}** "
                   f"(95% interval {ref['ci_low']:.3f}-{ref['ci_high']:.3f}, {ref['n']} cases; same cases for every version)")
    if cal:
        out.append(f"Calibration error (ECE) {cal['ece']:.3f}: a score is how sure the model is, not the chance of a diagnosis")
    return out


def score_words(ctx: SpaceContext, label: str, score: float, version: str) -> str:
    """The calibrated reading of a score, from the version's reliability table (`hub.trust`)."""
    from hub.trust import confidence_words

    trust = ctx.predictor.model(ctx.task.name, version).trust or {}
    return confidence_words(label, score, trust.get("calibration"))


@dataclass
class Outputs:
    label: gr.Label
    explanation: gr.Markdown
    figure: gr.Image
    summary: gr.Markdown
    pdf: gr.DownloadButton
    card: gr.Markdown

    def list(self) -> list[Any]:
        return [self.label, self.explanation, self.figure, self.summary, self.pdf, self.card]

    @staticmethod
    def cleared() -> list[Any]:
        """Values that empty the results (keeping the model card), so an error never sits beside an old result."""
        return [None, "", None, "", gr.DownloadButton(visible=False), gr.skip()]

    def on(self, trigger: Any, fn: Callable[..., Any], inputs: list[Any], *, api_name: str | bool,
           extra: list[Any] | None = None) -> None:
        """Clear the results, then run `fn` (which fills `extra` + the results) when `trigger` fires."""
        extra = extra or []

        # not functools.wraps: Gradio reads this signature (its gr.Request parameter), not fn's
        def with_request(request: gr.Request, *args: Any) -> Any:
            token = current_request.set(request)
            try:
                return fn(*args)
            finally:
                current_request.reset(token)

        with_request.__name__ = getattr(fn, "__name__", "predict")
        trigger(lambda: [gr.skip()] * len(extra) + self.cleared(), None, [*extra, *self.list()],
                api_name=False, queue=False, show_progress="hidden").then(
            with_request, inputs, [*extra, *self.list()], api_name=api_name)


def make_outputs(ctx: SpaceContext) -> Outputs:
    """The result column: confidences, the explanation, the batch summary, the PDF, the model card."""
    label = gr.Label(label="Prediction (confidence)", num_top_classes=min(5, len(ctx.task.labels)),
                     elem_id="prediction")
    explanation = gr.Markdown(elem_id="explanation")
    figure = gr.Image(label="Explanation (SHAP)", show_label=False, type="pil", interactive=False,
                      elem_id="explanation-figure", buttons=["download", "fullscreen"])
    summary = gr.Markdown(elem_id="summary")
    pdf = gr.DownloadButton("Download PDF report", visible=False, variant="primary", elem_id="pdf-report")
    with gr.Accordion("Model card", open=True):
        card = gr.Markdown(card_markdown(ctx), elem_classes=["medhive-card"], elem_id="model-card")
    return Outputs(label, explanation, figure, summary, pdf, card)


@contextmanager
def billed(ctx: SpaceContext) -> Iterator[Any]:
    """The visitor's units, taken before the model runs (`SpaceContext.meter`), so a refused visitor causes
    no model work; given back if anything in the block fails. Yields None when the Space is not metered."""
    bill = ctx.meter.begin(current_request.get(), task=ctx.task.name) if ctx.meter else None
    try:
        yield bill
    except BaseException:
        if bill is not None:
            bill.release()
        raise


def respond(ctx: SpaceContext, cases: Cases, index: int | None = None, *, notes: str = "",
            batch: PredictionBatch | None = None, summary_md: str = "", bill: Any = None) -> list[Any]:
    """Predict, explain case `index` (default: the first), write the report: the values for `Outputs.list()`.
    `bill`: units the caller already took (it predicted first); otherwise they are taken here, before the model."""
    if bill is None and ctx.meter is not None:
        with billed(ctx) as own:
            return respond(ctx, cases, index, notes=notes, batch=batch, summary_md=summary_md, bill=own)
    task = ctx.task
    batch = batch or ctx.predictor.predict_cases(task.name, cases)
    accepted = [i for i, p in enumerate(batch.predictions) if not p.out_of_distribution]
    if not accepted:  # nothing the model can judge: no label, nothing billed
        raise gr.Error("None of these inputs can be judged by this model: "
                       f"{batch.predictions[0].ood_reason}.", title="Out of distribution")
    index = accepted[0] if index is None or index not in accepted else index
    pred = batch.predictions[index]
    refused = len(batch.predictions) - len(accepted)
    loaded = ctx.predictor.model(task.name, batch.version)
    e = explain(task.name, loaded.network, cases, index)
    png = e.figure_png()
    pdf = build_report(task, loaded.info, pred, cases, index, explanation=e, batch_summary=batch.summary,
                       notes=notes or "")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    prune(ctx.workdir)
    folder = ctx.workdir / stamp
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"medhive-report-{task.name}-{batch.version}-{stamp[:15]}.pdf"
    path.write_bytes(pdf)
    head, _, why = e.text.partition(" — ")
    if e.label == pred.label:  # the headline's score: the calibrated one the label box shows
        head = re.sub(r"^[^,]+, \d+%", f"{pred.label.capitalize()}, {pred.confidence:.0%}", head, count=1)
    timing = batch.timing()
    explanation_md = (
        f"### {head}\n" + (f"**Why:** {why[0].upper()}{why[1:]}.\n\n" if why else "")
        + f"{score_words(ctx, pred.label, pred.confidence, batch.version)}\n\n"
        + (f"**{refused} input(s) refused as out of distribution** (no label given).\n\n" if refused else "")
        + f"<small>Model {batch.version} · prediction {timing['predict_ms']:.0f} ms · explanation "
        f"{e.seconds * 1000:.0f} ms · {e.method}</small>"
    )
    label = {k: float(v) for k, v in pred.probabilities.items()}
    # recorded last: a failure anywhere above gives the units back (`billed`)
    usage_md = bill.commit(batch=batch, cases=cases) if bill is not None else ""
    summary_md = "\n\n".join(t for t in (summary_md, usage_md) if t)
    return [label, explanation_md, Image.open(_bytes_io(png)), summary_md,
            gr.DownloadButton(value=str(path), visible=True), card_markdown(ctx)]


def prune(workdir: Path, max_age_s: float = 3600.0) -> None:
    """Delete reports and uploads older than `max_age_s`: a Space keeps nobody's files for long."""
    import shutil
    import time

    cutoff = time.time() - max_age_s
    for child in workdir.iterdir() if workdir.is_dir() else []:
        try:
            if child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
        except OSError:
            continue


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


_warm = threading.Event()


def warm_up() -> None:
    """Import shap in the background (once) so the first explanation does not pay for it."""
    if _warm.is_set():
        return
    _warm.set()

    def run() -> None:
        from hub.explain.base import import_shap

        import_shap()

    threading.Thread(target=run, daemon=True, name="medhive-shap-import").start()


def header(ctx: SpaceContext) -> None:
    task = ctx.task
    back = f"[← all models]({ctx.portal_url}) · " if ctx.portal_url else ""
    gr.Markdown(f"# {task.title}\n{task.summary}\n\n<span class='medhive-back'>{back}"
                f"MedHive federated model hub</span>")
    gr.Markdown(DISCLAIMER_MD, elem_classes=["medhive-disclaimer"])


def safe_file_input(component: gr.components.Component, what: str) -> gr.components.Component:
    """Make a file-taking component answer an unreadable upload with one readable message."""
    original = component.preprocess

    def preprocess(payload: Any) -> Any:
        try:
            return original(payload)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001 - the decoder's message names a temp path; ours names the problem
            raise gr.Error(f"This file is not a readable {what}.", title="Cannot use this input") from None

    component.preprocess = preprocess  # type: ignore[method-assign]
    return component
