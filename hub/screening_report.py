"""One PDF for a whole screening: every model used (version, label, confidence, key factors, imputed
fields), every model skipped with the fields it still needs, the values entered, and the disclaimer.

It reuses the page layout of `hub.reports` (same fonts, headings, footer with the disclaimer). As there,
no identifier is written unless the user typed it into the notes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.reports import DISCLAIMER, DISCLAIMER_LONG, _Pdf
from hub.screening import ScreeningResult


def build_screening_report(result: ScreeningResult, values: dict[str, Any], *, notes: str = "") -> bytes:
    pdf = _Pdf()
    doc = pdf.doc
    pdf.title_block("MedHive screening report", f"{len(result.used)} model(s) used, {len(result.skipped)} skipped - "
                    f"generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    for s in result.used:
        pdf.heading(f"{s.title} - model {s.version}")
        pdf.font(13, "B")
        task_labels = list(s.probabilities)
        doc.set_text_color(150, 30, 30) if s.label != task_labels[0] else doc.set_text_color(20, 110, 50)
        doc.cell(0, 8, pdf.t(f"{s.label}  ({s.confidence:.1%} confidence)"), new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(0)
        rows = [("class probabilities", ", ".join(f"{k} {v:.1%}" for k, v in s.probabilities.items()))]
        if s.key_factors:
            rows.append(("key factors", "; ".join(
                f"{f['feature']} {f.get('category') or format(f['value'], '.4g')} ({f['effect']})"
                for f in s.key_factors)))
        rows.append(("imputed", ", ".join(s.imputed) if s.imputed else "none: every field given"))
        pdf.rows(rows)
    if result.skipped:
        pdf.heading("Models not used (inputs missing)")
        pdf.rows([(p.title, "needs " + ", ".join(p.needs)) for p in result.skipped], key_width=70)
    pdf.heading("Values entered")
    shown = [(str(k), str(v)) for k, v in values.items() if v not in (None, "")]
    pdf.rows(shown or [("values", "none")], key_width=70)
    if notes.strip():
        pdf.heading("Notes (entered by the user)")
        pdf.para(notes.strip()[:2000])
    doc.ln(3)
    doc.set_fill_color(253, 242, 233)
    pdf.font(10, "B")
    doc.multi_cell(0, 6, pdf.t(DISCLAIMER), fill=True, new_x="LMARGIN", new_y="NEXT")
    pdf.font(8.5)
    doc.multi_cell(0, 4.6, pdf.t(DISCLAIMER_LONG), fill=True, align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(doc.output())
