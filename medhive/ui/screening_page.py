"""The portal's screening page: one patient form, every tabular model whose inputs are present.

Server-rendered from the catalog's screening form (`hub.screening.screening_form`): the fields shared by
several models first, then each model's own fields in a collapsible section. The page submits to the
metered `POST /v1/screen` with the user's API key or access token in a header (so every screening is
billed to the caller, one prediction per model used, and no cookie can be replayed across sites), and
shows per model the label, confidence, key factors and imputed fields, the models skipped with what
they still need, and a link to the one PDF. Values never go into the URL.
"""

from __future__ import annotations

import html
import json

from hub.models.catalog import tabular_tasks
from hub.reports import DISCLAIMER
from hub.screening import FormField, screening_form
from medhive.ui.portal import _STYLE, nav_entries

_PAGE_STYLE = """
.form{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 18px;margin-bottom:16px}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:8px 16px}
.fields label{display:flex;flex-direction:column;font-size:.86em;color:#334} .fields small{color:#66727f}
.fields input,.fields select{padding:5px 7px;border:1px solid #b8c4cf;border-radius:5px;font-size:.95em}
details{margin:8px 0} summary{cursor:pointer;font-weight:600;color:#1f4e79}
.row{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:10px 0}
button{background:#1f4e79;color:#fff;border:0;border-radius:6px;padding:9px 16px;font-weight:600;cursor:pointer}
#error{color:#b71c1c;font-weight:600} .result{background:#fff;border-radius:10px;padding:12px 16px;margin:8px 0;
box-shadow:0 1px 3px rgba(0,0,0,.12)} .result h3{margin:0 0 4px} .skipped li{margin:3px 0}
"""

_SCRIPT = """
const form = document.getElementById('screen-form');
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = document.getElementById('error'), out = document.getElementById('results');
  err.textContent = ''; out.innerHTML = '<p>Screening…</p>';
  const values = {};
  for (const el of form.querySelectorAll('[data-key]')) { if (el.value !== '') values[el.dataset.key] = el.value; }
  const key = document.getElementById('credential').value.trim();
  const headers = {'Content-Type': 'application/json'};
  if (key.startsWith('mh_')) headers['X-API-Key'] = key; else headers['Authorization'] = 'Bearer ' + key;
  let r;
  try { r = await fetch('/v1/screen', {method: 'POST', headers, body: JSON.stringify({values, report: true})}); }
  catch (e) { out.innerHTML = ''; err.textContent = 'The server could not be reached.'; return; }
  const body = await r.json();
  if (!r.ok) { out.innerHTML = ''; err.textContent = body.detail || body.title || ('Error ' + r.status); return; }
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
  let h = '<h2>Models used (' + body.models_used.length + ')</h2>';
  for (const m of body.models_used) {
    const factors = m.key_factors.map((f) => esc(f.feature + ' ' + (f.category || f.value) + ' (' + f.effect + ')')).join('; ');
    h += '<div class="result" data-task="' + esc(m.task) + '"><h3>' + esc(m.title) + ' · ' + esc(m.model_version) + '</h3>'
      + '<b class="label">' + esc(m.label) + '</b> (' + (100 * m.confidence).toFixed(1) + '% confidence)'
      + (factors ? '<br>Key factors: ' + factors : '')
      + '<br><small>Imputed: ' + esc(m.imputed.length ? m.imputed.join(', ') : 'none') + '</small></div>';
  }
  if (body.models_skipped.length) {
    h += '<h2>Models skipped</h2><ul class="skipped">' + body.models_skipped.map((s) =>
      '<li data-task="' + esc(s.task) + '"><b>' + esc(s.title) + '</b>: needs ' + esc(s.needs.join(', ')) + '</li>').join('') + '</ul>';
  }
  h += '<p>Billed: ' + body.usage.units + ' prediction(s). <a id="pdf" download="medhive-screening.pdf" href="data:application/pdf;base64,'
    + body.report_pdf_base64 + '">Download the PDF report</a></p>';
  out.innerHTML = h;
});
"""


def _input(f: FormField) -> str:
    e = html.escape
    models = ", ".join(f.tasks)
    hint = (f"{' / '.join(f.choices)}" if f.choices else f"{f.minimum:g} – {f.maximum:g} {f.unit}".strip())
    if f.choices:
        opts = "<option value=''>not known</option>" + "".join(f"<option>{e(c)}</option>" for c in f.choices)
        box = f"<select data-key='{e(f.key)}' name='{e(f.key)}'>{opts}</select>"
    else:
        box = (f"<input type='number' step='any' data-key='{e(f.key)}' name='{e(f.key)}' "
               f"min='{f.minimum:g}' max='{f.maximum:g}' placeholder='not known'>")
    return (f"<label>{e(f.label)}{(' (' + e(f.unit) + ')') if f.unit and not f.choices else ''}{box}"
            f"<small>{e(hint)} · {e(models)}</small></label>")


def render_screening(nav: list[dict[str, str]] | None = None) -> str:
    e = html.escape
    form = screening_form()
    tasks = tabular_tasks()
    shared = [f for f in form if f.shared]
    sections = []
    for name, task in tasks.items():
        own = [f for f in form if not f.shared and f.tasks == (name,)]
        if own:
            sections.append(f"<details data-task='{e(name)}'><summary>{e(task.title)}: {len(own)} more field(s)"
                            f"</summary><div class='fields'>{''.join(_input(f) for f in own)}</div></details>")
    links = "".join(
        f"<a href='{e(item['href'])}'>{e(item['label'])}</a>" if item["href"]
        else f"<span class='soon'>{e(item['label'])}<small>soon</small></span>" for item in nav_entries(nav)
    )
    titles = ", ".join(t.title for t in tasks.values())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>MedHive · screening</title>"
        f"<style>{_STYLE}{_PAGE_STYLE}</style></head><body><header><div class='bar'><a class='brand' href='/'>MedHive</a>"
        f"<nav>{links}</nav></div></header><main><section class='intro'><h1>Screening: one form, every model</h1>"
        f"<p>Enter what you have once; every model whose required inputs are present answers ({e(titles)}). "
        "Shared fields (age, blood pressure, ...) feed every model that reads them; blanks are imputed and named."
        f"</p><div class='disclaimer'><b>{e(DISCLAIMER)}</b> Each model used is billed as one prediction.</div>"
        "</section><form id='screen-form' class='form' autocomplete='off' novalidate>"
        "<div class='row'><label>API key or access token <input id='credential' type='password' size='42' required>"
        "</label></div><h2>Shared fields</h2>"
        f"<div class='fields'>{''.join(_input(f) for f in shared)}</div>{''.join(sections)}"
        "<div class='row'><button type='submit' id='screen'>Screen with every model</button>"
        "<span id='error' role='alert'></span></div></form><section id='results' aria-live='polite'></section>"
        f"</main><script>const FORM = {json.dumps([f.key for f in form])};{_SCRIPT}</script></body></html>"
    )
