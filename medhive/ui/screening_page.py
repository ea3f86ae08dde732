"""The portal's screening page: one patient form, every tabular model whose inputs are present.

Server-rendered from the catalog's screening form (`hub.screening.screening_form`): the fields shared by
several models first, then each model's own fields in a collapsible section. It is a signed-in portal
page like "My account": a plain form POST carrying the CSRF field, answered by the same service as
`POST /v1/screen` (`hub.api.screen_routes.screen_case`), so a screening is billed to the signed-in
person's organisation (one prediction per model used) and audited exactly as through the API. The answer
is rendered on the same page, above the form (which keeps the values, so a clinician can correct one and
screen again): per model the label, confidence, key factors and imputed fields, the models skipped with
what they still need, and one PDF for all. Values never go into the URL and the page is not cached.
"""

from __future__ import annotations

import html
import re
from typing import Any

from hub.models.catalog import tabular_tasks
from hub.reports import DISCLAIMER
from hub.screening import FormField, screening_form
from medhive.ui.account_pages import shell

e = html.escape

_PAGE_STYLE = """<style>
.form{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 18px;margin-bottom:16px}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:8px 16px}
.fields label{display:flex;flex-direction:column;font-size:.86em;color:#334;margin:0;font-weight:600}
.fields small{color:#66727f;font-weight:400}
.fields input,.fields select{padding:5px 7px;border:1px solid #b8c4cf;border-radius:5px;font-size:.95em;max-width:none}
details{margin:8px 0} summary{cursor:pointer;font-weight:600;color:#1f4e79}
.row{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:10px 0} .row button{margin-top:0}
.result{background:#fff;border-radius:10px;padding:12px 16px;margin:8px 0;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.result h3{margin:0 0 4px} .skipped li{margin:3px 0} .label{font-size:1.1em}
details.needs{display:inline;margin:0} details.needs summary{display:inline;font-weight:400;color:#1d2733}
details.needs[open]{display:block;color:#445}
a.button{display:inline-block;background:#1f4e79;color:#fff;border-radius:6px;padding:8px 14px;font-weight:600;
text-decoration:none}
</style>"""


def _short(task: str) -> str:
    """A model's title without its bracketed detail ("Heart disease"), for hints under the boxes."""
    return tabular_tasks()[task].title.split(" (")[0]


def _input(f: FormField, value: str) -> str:
    models = ", ".join(_short(t) for t in f.tasks)
    hint = f"{' / '.join(f.choices)}" if f.choices else f"{f.minimum:g} – {f.maximum:g} {f.unit}".strip()
    if f.choices:
        opts = "<option value=''>not known</option>" + "".join(
            f"<option{' selected' if c == value else ''}>{e(c)}</option>" for c in f.choices)
        box = f"<select data-key='{e(f.key)}' name='{e(f.key)}'>{opts}</select>"
    else:
        box = (f"<input type='number' step='any' data-key='{e(f.key)}' name='{e(f.key)}' value='{e(value)}' "
               f"min='{f.minimum:g}' max='{f.maximum:g}' placeholder='not known'>")
    return (f"<label>{e(f.label)}{(' (' + e(f.unit) + ')') if f.unit and not f.choices else ''}{box}"
            f"<small>{e(hint)} · {e(models)}</small></label>")


def _factor(f: dict[str, Any]) -> str:
    shown = f.get("category") if f.get("category") is not None else f.get("value")
    return f"{f.get('feature')} {'' if shown is None else shown} ({f.get('effect')})"


def _needs(needs: list[str]) -> str:
    """What a skipped model still needs: a short line, the full list folded away when it is long (a model
    with 30 fields should not push the answers off the screen)."""
    m = re.match(r"^(\d+) more of: (.*)$", needs[-1]) if needs else None
    if m:  # "at least N more of these fields" (a cap on imputed fields)
        head, names = needs[:-1], m.group(2).split(", ")
        line = (", ".join(head) + "; " if head else "") + f"needs {m.group(1)} more of its fields"
    elif len(needs) > 4:
        head, names = [], needs
        line = f"needs {len(needs)} fields, e.g. {', '.join(needs[:3])}"
    else:
        return f"needs {e(', '.join(needs))}"
    return f"<details class='needs'><summary>{e(line)}</summary>{e(', '.join(names))}</details>"


def _results(out: dict[str, Any]) -> str:
    used, skipped = out["models_used"], out["models_skipped"]
    h = f"<section id='results' aria-live='polite'><h2>Models used ({len(used)})</h2>"
    for m in used:
        factors = "; ".join(_factor(f) for f in m["key_factors"])
        h += (f"<div class='result' data-task='{e(m['task'])}'><h3>{e(m['title'])} · {e(m['model_version'])}</h3>"
              f"<b class='label'>{e(m['label'])}</b> ({100 * m['confidence']:.1f}% confidence)"
              + (f"<br>Key factors: {e(factors)}" if factors else "")
              + f"<br><small>Imputed: {e(', '.join(m['imputed']) if m['imputed'] else 'none')}</small></div>")
    if skipped:
        h += "<h2>Models skipped</h2><ul class='skipped'>" + "".join(
            f"<li data-task='{e(s['task'])}'><b>{e(s['title'])}</b>: {_needs(s['needs'])}</li>" for s in skipped) + "</ul>"
    usage = out["usage"]
    left = "" if usage.get("remaining") is None else f" {usage['remaining']} left this month."
    h += (f"<div class='row'><a class='button' id='pdf' download='medhive-screening.pdf' "
          f"href='data:application/pdf;base64,{out['report_pdf_base64']}'>Download the PDF report (all models)</a>"
          f"<span id='billed'>Billed: {usage['units']} prediction(s).{e(left)}</span></div></section>")
    return h


def render_screening(*, csrf: str, nav: list[dict[str, str]] | None, user: Any, account: dict[str, Any],
                     values: dict[str, str] | None = None, result: dict[str, Any] | None = None,
                     error: str | None = None) -> str:
    """The page for a signed-in user: `account` holds the billing facts shown ("organization", "tier",
    "remaining"); `values` refill the form; `result` is the `/v1/screen` body (with its PDF), `error` a
    one-line message (a bad value, the quota) shown above the form."""
    values = values or {}
    form = screening_form()
    tasks = tabular_tasks()
    shared = [f for f in form if f.shared]
    sections = []
    for name, task in tasks.items():
        own = [f for f in form if not f.shared and f.tasks == (name,)]
        if own:
            filled = any(values.get(f.key, "") != "" for f in own)
            sections.append(f"<details data-task='{e(name)}'{' open' if filled else ''}><summary>{e(task.title)}: "
                            f"{len(own)} more field(s)</summary><div class='fields'>"
                            f"{''.join(_input(f, values.get(f.key, '')) for f in own)}</div></details>")
    titles = ", ".join(t.title for t in tasks.values())
    left = account.get("remaining")
    billing = (f"Signed in as <b>{e(user.email)}</b>; each model used is billed as one prediction to "
               f"<b>{e(str(account['organization']))}</b> ({e(str(account['tier']))} tier"
               + (f", {left} prediction(s) left this month" if left is not None else "") + ").")
    notice = f"<div class='error' role='alert' id='error'>{e(error)}</div>" if error else ""
    body = (
        f"{_PAGE_STYLE}<section class='intro'><h1>Screening: one form, every model</h1>"
        f"<p>Enter what you have once; every model whose required inputs are present answers ({e(titles)}). "
        "Shared fields (age, blood pressure, ...) feed every model that reads them; blanks are imputed and named."
        f"</p><p id='billing'>{billing}</p><div class='disclaimer'><b>{e(DISCLAIMER)}</b></div></section>"
        + (_results(result) if result else "") + notice
        + "<form id='screen-form' class='form' method='post' action='/screening#results' autocomplete='off' "
        f"novalidate><input type='hidden' name='csrf' value='{e(csrf)}'><h2>Shared fields</h2>"
        f"<div class='fields'>{''.join(_input(f, values.get(f.key, '')) for f in shared)}</div>{''.join(sections)}"
        "<div class='row'><button type='submit' id='screen'>Screen with every model</button>"
        "<a href='/screening' id='clear'>Clear the form</a></div></form>"
    )
    return shell("screening", body, nav=nav, user=user)
