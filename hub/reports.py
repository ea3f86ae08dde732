"""PDF prediction reports (fpdf2) and the model-card facts they, the Spaces and the portal show.

A report holds: the model (task, version, its date), the report date, a summary of the input, the
prediction with its confidence and every class probability, the explanation (sentence and figure), the
model-card facts (training data, hospitals, validation metrics, privacy budget) and the disclaimer.

No patient identifier is written unless the user typed it into the free-text `notes` field: input
summaries are built from the preprocessed case (sizes, counts, feature values), never from file names,
which often carry a patient's name or record number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.models.base import Cases, Task

DISCLAIMER = "Not a diagnosis: for use under clinical review."
DISCLAIMER_LONG = (
    "This report was produced automatically by a machine-learning model. It is not a diagnosis and must "
    "not be used on its own to make clinical decisions: every result is for review by a qualified clinician "
    "together with the patient's history, examination and other tests."
)

#: metric keys in the order a person looks for them, with their display names
METRIC_NAMES = {"roc_auc": "ROC AUC", "accuracy": "Accuracy", "macro_f1": "Macro F1", "sv_f1": "S/V F1"}


def _fmt_date(iso: str | None) -> str:
    if not iso:
        return "unknown"
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d")
    except ValueError:
        return str(iso)[:10]


def model_facts(task: Task, info: Any) -> dict[str, Any]:
    """What a model card summary says about one version (`info`: a registry `VersionInfo`)."""
    lineage = info.lineage
    metrics = dict(info.metrics)
    data = dict(info.data or {})
    hospitals = int(getattr(lineage, "hospitals", 0) or 0)
    source = getattr(lineage, "source", "baseline")
    if hospitals:
        trained_by = f"{hospitals} hospital(s), federated over {lineage.rounds} round(s)"
    else:
        trained_by = "central baseline on public data (no hospital contributions yet)"
    privacy = None
    if getattr(lineage, "epsilon", None) is not None:
        privacy = f"differential privacy, epsilon {lineage.epsilon:.2f}, delta {lineage.delta:g}"
    shown = {name: metrics[key] for key, name in METRIC_NAMES.items() if key in metrics}
    if task.primary_metric in metrics and task.primary_metric not in METRIC_NAMES:
        shown[task.primary_metric] = metrics[task.primary_metric]
    from hub.registry.card import data_statement

    trust = dict(getattr(info, "trust", None) or {})
    return {
        "task": task.name, "title": task.title, "version": info.version, "aliases": list(info.aliases),
        "updated": _fmt_date(info.created_at), "created_at": info.created_at, "source": source,
        "hospitals": hospitals, "trained_by": trained_by, "privacy": privacy,
        "dataset": data_statement(lineage.to_dict() if hasattr(lineage, "to_dict") else {}, data)
        if source == "federated" else data.get("dataset", "not stated"),
        "reference": trust.get("reference"), "calibration": trust.get("calibration"),
        "train_cases": data.get("train_cases"), "validation_cases": data.get("validation_cases", metrics.get("n")),
        "metrics": shown, "primary_metric": task.primary_metric, "primary_value": metrics.get(task.primary_metric),
        "synthetic": "synthetic" in str(data.get("dataset", "")).lower(),
        "signed_by": getattr(info, "signed_by", ""),
    }


def describe_input(task: Task, cases: Cases, index: int = 0) -> list[tuple[str, str]]:
    """A summary of case `index` without identifiers: never the file name, only what the model read
    (each kind of task says what that is: `Task.describe_case`)."""
    return task.describe_case(cases, index)


@dataclass
class ReportContent:
    """Everything a report shows; `notes` is the only place a patient reference may appear."""

    task: Task
    facts: dict[str, Any]
    label: str
    confidence: float
    probabilities: dict[str, float]
    input_summary: list[tuple[str, str]]
    explanation_text: str = ""
    figure_png: bytes | None = None
    batch_summary: str | None = None
    notes: str = ""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def _font_dir() -> Path | None:
    try:
        import matplotlib

        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        return folder if (folder / "DejaVuSans.ttf").is_file() else None
    except ImportError:  # pragma: no cover - matplotlib comes with the figures
        return None


def _latin1(text: str) -> str:
    table = {"—": "-", "–": "-", "’": "'", "“": '"', "”": '"', "²": "2", "≥": ">=", "≤": "<=", "…": "..."}
    text = "".join(table.get(ch, ch) for ch in text)
    return text.encode("latin-1", "replace").decode("latin-1")


class _Pdf:
    """fpdf2 with a Unicode font when one is available, and a footer carrying the disclaimer."""

    def __init__(self) -> None:
        from fpdf import FPDF

        outer = self

        class Doc(FPDF):
            def footer(self) -> None:
                self.set_y(-13)
                outer.font(7.5, "I")
                self.set_text_color(110)
                self.cell(0, 5, outer.t(f"MedHive - {DISCLAIMER}   Page {self.page_no()}/{{nb}}"), align="C")

        self.doc = Doc(format="A4")
        self.doc.set_margins(16, 14, 16)
        self.doc.set_auto_page_break(True, margin=18)
        fonts = _font_dir()
        self.unicode = fonts is not None
        if fonts is not None:
            self.doc.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
            self.doc.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
            self.doc.add_font("DejaVu", "I", str(fonts / "DejaVuSans-Oblique.ttf"))
        self.doc.alias_nb_pages()
        self.doc.add_page()

    def t(self, text: str) -> str:
        return text if self.unicode else _latin1(text)

    def font(self, size: float, style: str = "") -> None:
        self.doc.set_font("DejaVu" if self.unicode else "Helvetica", style, size)

    def heading(self, text: str) -> None:
        if self.doc.get_y() > self.doc.h - 50:  # never a heading alone at the foot of a page
            self.doc.add_page()
        self.doc.ln(2)
        self.font(11.5, "B")
        self.doc.set_text_color(20, 60, 110)
        self.doc.cell(0, 7, self.t(text), new_x="LMARGIN", new_y="NEXT")
        self.doc.set_draw_color(20, 60, 110)
        self.doc.line(self.doc.l_margin, self.doc.get_y(), self.doc.w - self.doc.r_margin, self.doc.get_y())
        self.doc.ln(1.5)
        self.doc.set_text_color(0)

    def rows(self, pairs: list[tuple[str, str]], key_width: float = 48) -> None:
        for key, value in pairs:
            self.font(9, "B")
            self.doc.cell(key_width, 5.2, self.t(key))
            self.font(9)
            self.doc.multi_cell(0, 5.2, self.t(value), align="L", new_x="LMARGIN", new_y="NEXT")

    def title_block(self, title: str, subtitle: str) -> None:
        """The report's title and its grey subtitle line (every MedHive PDF opens with these)."""
        self.font(17, "B")
        self.doc.cell(0, 9, self.t(title), new_x="LMARGIN", new_y="NEXT")
        self.font(9)
        self.doc.set_text_color(90)
        self.doc.cell(0, 5, self.t(subtitle), new_x="LMARGIN", new_y="NEXT")
        self.doc.set_text_color(0)

    def para(self, text: str, size: float = 9.5, style: str = "") -> None:
        self.font(size, style)
        self.doc.multi_cell(0, 5.2, self.t(text), align="L", new_x="LMARGIN", new_y="NEXT")


def render_report(content: ReportContent) -> bytes:
    """The report as PDF bytes."""
    c, facts = content, content.facts
    pdf = _Pdf()
    doc = pdf.doc
    pdf.title_block("MedHive prediction report", f"{c.task.title} - model {facts['version']} - generated "
                    f"{c.generated_at.strftime('%Y-%m-%d %H:%M UTC')}")

    pdf.heading("Prediction")
    pdf.font(15, "B")
    doc.set_text_color(150, 30, 30) if c.label != c.task.labels[0] else doc.set_text_color(20, 110, 50)
    doc.cell(0, 9, pdf.t(f"{c.label}  ({c.confidence:.1%} confidence)"), new_x="LMARGIN", new_y="NEXT")
    doc.set_text_color(0)
    pdf.rows([("class probabilities", ", ".join(f"{k} {v:.1%}" for k, v in c.probabilities.items()))])
    if c.batch_summary:
        pdf.rows([("whole input", c.batch_summary)])

    pdf.heading("Input")
    summary = c.input_summary
    if len(summary) > 12:  # tabular: every field, in two columns
        pdf.rows(summary[:1])
        pdf.font(8)
        half = (len(summary) - 1 + 1) // 2
        left, right = summary[1 : 1 + half], summary[1 + half :]
        col = (doc.w - doc.l_margin - doc.r_margin) / 2
        for i in range(half):
            for pair in (left[i] if i < len(left) else None, right[i] if i < len(right) else None):
                doc.cell(col, 4.3, pdf.t(f"{pair[0]}: {pair[1]}") if pair else "")
            doc.ln(4.3)
    else:
        pdf.rows(summary)

    pdf.heading("Why: explanation (SHAP)")
    if c.explanation_text:
        pdf.para(c.explanation_text)
    if c.figure_png:
        import io

        width = doc.w - doc.l_margin - doc.r_margin
        from PIL import Image

        with Image.open(io.BytesIO(c.figure_png)) as im:
            w, h = im.size
        height = min(width * h / w, 95)
        if doc.get_y() + height > doc.h - 22:
            doc.add_page()
        doc.image(io.BytesIO(c.figure_png), x=doc.l_margin + (width - height * w / h) / 2, w=height * w / h, h=height)
        doc.ln(1)

    pdf.heading("Model card")
    metric_text = ", ".join(f"{k} {v:.3f}" for k, v in facts["metrics"].items()) or "not recorded"
    pdf.rows([
        ("model", f"{c.task.title} ({c.task.name}), version {facts['version']}"),
        ("last updated", facts["updated"]),
        ("trained by", facts["trained_by"]),
        ("training data", f"{facts['dataset']}" + (f", {facts['train_cases']} training cases" if facts.get("train_cases") else "")),
        ("validation", f"{metric_text}" + (f" on {int(facts['validation_cases'])} cases" if facts.get("validation_cases") else "")),
        *([("privacy", facts["privacy"])] if facts.get("privacy") else []),
        ("signature", f"verified, key {facts['signed_by']}" if facts.get("signed_by") else "verified"),
    ])
    if c.notes.strip():
        pdf.heading("Notes (entered by the user)")
        pdf.para(c.notes.strip()[:2000])

    doc.ln(3)
    doc.set_fill_color(253, 242, 233)
    pdf.font(10, "B")
    doc.multi_cell(0, 6, pdf.t(DISCLAIMER), fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.font(8.5)
    doc.multi_cell(0, 4.6, pdf.t(DISCLAIMER_LONG), fill=True, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())


def build_report(task: Task, info: Any, prediction: Any, cases: Cases, index: int = 0, *,
                 explanation: Any = None, batch_summary: dict[str, Any] | None = None, notes: str = "") -> bytes:
    """A PDF for case `index`: `info` a registry `VersionInfo`, `prediction` a `CasePrediction`,
    `explanation` a `hub.explain.Explanation` (or None), `notes` the user's free text."""
    summary_text = batch_summary.get("text") if isinstance(batch_summary, dict) else None
    content = ReportContent(
        task=task, facts=model_facts(task, info), label=prediction.label,
        confidence=float(prediction.probabilities[prediction.label]), probabilities=dict(prediction.probabilities),
        input_summary=describe_input(task, cases, index),
        explanation_text=explanation.text if explanation is not None else "",
        figure_png=explanation.figure_png() if explanation is not None else None,
        batch_summary=summary_text, notes=notes or "",
    )
    return render_report(content)
