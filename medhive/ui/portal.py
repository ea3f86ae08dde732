"""The portal's marketplace page: one model card per task, each opening its Space.

Plain server-rendered HTML (no JavaScript needed): a navigation bar with room for the views later issues
add (assistant, hospitals, admin: other mounts register them in `app.state.portal_nav`), a search and
filter bar (text over the catalog's title, summary and keywords; body system; input kind; minimum
validation metric; minimum contributing hospitals; a GET form, so a filtered view is a link), then a
grid of cards with the production version, its validation metric, the hospitals behind it, the last
update, the version history and a small chart of the metric across every version (production marked).
"""

from __future__ import annotations

import html
from typing import Any

from hub.models import all_tasks
from hub.reports import DISCLAIMER, model_facts

#: nav entries the portal reserves; a mount that provides one registers {"label", "href"} under this label
RESERVED_NAV = ("Assistant", "Hospitals", "Admin")

_STYLE = """
*{box-sizing:border-box} body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2733;background:#f5f7fa}
header{background:#1f4e79;color:#fff} .bar{max-width:1180px;margin:0 auto;display:flex;align-items:center;gap:22px;padding:12px 20px;flex-wrap:wrap}
.brand{font-weight:700;font-size:1.25em;color:#fff;text-decoration:none;margin-right:auto}
nav{display:flex;gap:18px;flex-wrap:wrap;align-items:center} nav a,nav span{color:#dce9f5;text-decoration:none;font-size:.95em} nav a:hover{color:#fff;text-decoration:underline}
nav .soon{opacity:.55;cursor:default} nav .soon small{font-size:.7em;border:1px solid #dce9f5;border-radius:8px;padding:0 5px;margin-left:3px}
main{max-width:1180px;margin:0 auto;padding:18px 20px 40px}
.intro{margin:6px 0 16px} .intro h1{margin:0 0 6px;font-size:1.6em}
.disclaimer{background:#fdf2e9;border-left:4px solid #d35400;padding:8px 12px;border-radius:4px;margin:10px 0 18px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:18px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 18px;display:flex;flex-direction:column;gap:8px}
.card h2{margin:0;font-size:1.15em} .card p.sum{margin:0;color:#4a5868;font-size:.92em}
.facts{display:grid;grid-template-columns:auto 1fr;gap:3px 12px;font-size:.88em;margin:4px 0}
.facts dt{color:#66727f} .facts dd{margin:0;font-weight:600}
.badge{display:inline-block;background:#e3f2e5;color:#1b5e20;border-radius:8px;padding:1px 7px;font-size:.78em;font-weight:600}
.badge.none{background:#eceff1;color:#546e7a} .badge.down{background:#fdecea;color:#b71c1c}
.chart{margin:2px 0} .chart figcaption{font-size:.75em;color:#66727f}
.actions{display:flex;gap:10px;margin-top:auto;align-items:center}
.open{white-space:nowrap;background:#1f4e79;color:#fff;text-decoration:none;padding:8px 14px;border-radius:6px;font-weight:600}
.open:hover{background:#163a5a} .json{font-size:.85em;color:#1f4e79}
footer{max-width:1180px;margin:0 auto;padding:0 20px 30px;color:#66727f;font-size:.85em}
.filters{display:flex;gap:10px;flex-wrap:wrap;align-items:end;background:#fff;border-radius:10px;padding:10px 14px;margin-bottom:14px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.filters label{display:flex;flex-direction:column;font-size:.8em;color:#4a5868} .filters input,.filters select{padding:5px 7px;border:1px solid #b8c4cf;border-radius:5px}
.filters button{background:#1f4e79;color:#fff;border:0;border-radius:6px;padding:7px 14px;font-weight:600} .count{color:#4a5868;font-size:.9em;margin:0 0 10px}
.history{font-size:.8em;color:#4a5868;margin:0} .history li{display:inline;margin-right:8px}
"""


def nav_entries(registered: list[dict[str, str]] | None) -> list[dict[str, Any]]:
    """The portal's navigation: models, API docs, then the reserved views (live once registered)."""
    by_label = {e["label"]: e for e in registered or []}
    entries: list[dict[str, Any]] = [{"label": "Models", "href": "/"}, {"label": "API docs", "href": "/docs"}]
    for label in RESERVED_NAV:
        entry = by_label.pop(label, None)
        entries.append({"label": label, "href": entry["href"]} if entry else {"label": label, "href": None})
    entries += [{"label": e["label"], "href": e["href"]} for e in by_label.values()]
    return entries


def history_chart(versions: list[Any], metric: str, production: str | None) -> str:
    """An inline SVG of `metric` across versions (production filled), or a note when there is none."""
    points = [(v.version, v.metrics.get(metric)) for v in versions]
    points = [(name, val) for name, val in points if val is not None]
    if not points:
        return "<p class='sum'>No validation metric recorded yet.</p>"
    w, h, pad = 290, 70, 14
    values = [val for _, val in points]
    lo, hi = min(values), max(values)
    if hi - lo < 0.02:
        lo, hi = lo - 0.01, hi + 0.01
    n = len(points)

    def xy(i: int, val: float) -> tuple[float, float]:
        x = pad + (w - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)
        return x, h - pad - (h - 2 * pad) * (val - lo) / (hi - lo)

    coords = [xy(i, val) for i, (_, val) in enumerate(points)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    dots = "".join(
        f"<circle cx='{x:.1f}' cy='{y:.1f}' r='{5 if name == production else 3.5}' "
        f"fill='{'#1f4e79' if name == production else '#fff'}' stroke='#1f4e79' stroke-width='1.5'>"
        f"<title>{html.escape(name)}: {val:.3f}</title></circle>"
        f"<text x='{x:.1f}' y='{h - 1}' font-size='9' text-anchor='middle' fill='#66727f'>{html.escape(name)}</text>"
        for (x, y), (name, val) in zip(coords, points)
    )
    label = f"{metric} by version ({n} version{'s' if n != 1 else ''}; filled: production)"
    return (f"<figure class='chart'><svg width='{w}' height='{h}' role='img' aria-label='{html.escape(label)}'>"
            f"<polyline points='{line}' fill='none' stroke='#90a4ae' stroke-width='1.5'/>{dots}</svg>"
            f"<figcaption>{html.escape(label)}</figcaption></figure>")


def model_cards(registry: Any, spaces: dict[str, str]) -> list[dict[str, Any]]:
    """One dict per task: the facts a card shows, and where its Space lives."""
    known = set(registry.tasks())
    cards = []
    for name, task in all_tasks().items():
        versions = registry.versions(name) if name in known else []
        prod = next((v for v in versions if "production" in v.aliases), None)
        facts = model_facts(task, prod) if prod else None
        # a production version that no longer verifies: this card says so, the other cards are unaffected
        broken = registry.problem(name, "production") if name in known and prod is None and \
            "production" in registry.aliases(name) else None
        cards.append({"task": task, "versions": versions, "production": prod, "facts": facts,
                      "space": None if broken else spaces.get(name), "unavailable": broken})
    return cards


METRIC_FILTERS = ("0.80", "0.90", "0.95", "0.99")
HOSPITAL_FILTERS = ("1", "3", "5")


def _contributing_hospitals(card: dict[str, Any]) -> int:
    prod = card["production"]
    return int(getattr(prod.lineage, "hospitals", 0) or 0) if prod else 0


def filter_cards(cards: list[dict[str, Any]], filters: dict[str, str]) -> list[dict[str, Any]]:
    """Cards matching `filters`: q (words, all must appear in title, summary, keywords, body system, labels),
    body (body system), kind (input kind), metric (minimum primary metric), hospitals (minimum)."""
    words = [w for w in (filters.get("q") or "").lower().split() if w]
    body, kind = filters.get("body") or "", filters.get("kind") or ""
    try:
        least = float(filters.get("metric") or 0)
        hosp = int(filters.get("hospitals") or 0)
    except ValueError:
        least, hosp = 0.0, 0
    out = []
    for c in cards:
        t = c["task"]
        text = " ".join([t.name, t.title, t.summary, t.body_system, *t.keywords, *t.labels]).lower().replace("_", " ")
        value = (c["facts"] or {}).get("primary_value")
        if words and not all(w in text for w in words):
            continue
        if body and t.body_system != body or kind and t.input_kind != kind:
            continue
        if least and (value is None or value < least) or hosp and _contributing_hospitals(c) < hosp:
            continue
        out.append(c)
    return out


def _filter_bar(cards: list[dict[str, Any]], filters: dict[str, str]) -> str:
    e = html.escape

    def select(name: str, label: str, options: list[tuple[str, str]]) -> str:
        chosen = filters.get(name) or ""
        opts = "".join(f"<option value='{e(v)}'{' selected' if v == chosen else ''}>{e(text)}</option>"
                       for v, text in [("", "any"), *options])
        return f"<label>{e(label)}<select name='{name}' id='filter-{name}'>{opts}</select></label>"

    bodies = sorted({c["task"].body_system for c in cards if c["task"].body_system})
    kinds = sorted({c["task"].input_kind for c in cards})
    return (
        "<form class='filters' method='get' action='/' role='search'>"
        f"<label>Search<input type='search' name='q' id='filter-q' value='{e(filters.get('q') or '')}' "
        "placeholder='disease, organ, word…'></label>"
        + select("body", "Body system", [(b, b) for b in bodies])
        + select("kind", "Input", [(k, k) for k in kinds])
        + select("metric", "Validation metric ≥", [(m, m) for m in METRIC_FILTERS])
        + select("hospitals", "Hospitals ≥", [(h, h) for h in HOSPITAL_FILTERS])
        + "<button type='submit' id='apply-filters'>Filter</button><a class='json' href='/'>clear</a></form>"
    )


def _history_html(versions: list[Any]) -> str:
    e = html.escape
    items = "".join(
        f"<li>{e(v.version)}{' (production)' if 'production' in v.aliases else ''} · {e(str(v.created_at)[:10])}"
        f" · {int(getattr(v.lineage, 'hospitals', 0) or 0)} hosp.</li>" for v in versions[-6:])
    more = f"<li>… {len(versions) - 6} earlier</li>" if len(versions) > 6 else ""
    return f"<ul class='history' aria-label='version history'>{more}{items}</ul>" if versions else ""


def _card_html(card: dict[str, Any]) -> str:
    task, facts, prod = card["task"], card["facts"], card["production"]
    e = html.escape
    if facts:
        value = facts["primary_value"]
        auc = facts["metrics"].get("ROC AUC")
        metric = f"{task.primary_metric.replace('_', ' ')} {value:.3f}" if value is not None else "-"
        if auc is not None and task.primary_metric != "roc_auc":
            metric += f" · ROC AUC {auc:.3f}"
        hospitals = (f"<span class='badge'>{facts['hospitals']} hospitals</span>" if facts["hospitals"]
                     else "<span class='badge none'>public-data baseline</span>")
        facts_html = (
            f"<dl class='facts'><dt>version</dt><dd>{e(facts['version'])} (production)</dd>"
            f"<dt>validation</dt><dd>{e(metric)}</dd><dt>hospitals</dt><dd>{hospitals}</dd>"
            f"<dt>last updated</dt><dd>{e(facts['updated'])}</dd>"
            f"<dt>data</dt><dd style='font-weight:400'>{e(str(facts['dataset']))}</dd></dl>"
        )
    elif card.get("unavailable"):
        facts_html = (f"<p class='sum unavailable' role='status'><span class='badge down'>unavailable</span> "
                      f"the production version failed verification and is not served: {e(card['unavailable'])}</p>")
    else:
        facts_html = "<p class='sum'>No production version yet.</p>"
    chart = history_chart(card["versions"], task.primary_metric, prod.version if prod else None)
    open_link = (f"<a class='open' href='{e(card['space'])}' data-task='{e(task.name)}'>Open Space →</a>"
                 if card["space"] else "")
    return (
        f"<article class='card' id='card-{e(task.name)}' data-body='{e(task.body_system)}' "
        f"data-kind='{e(task.input_kind)}' data-hospitals='{_contributing_hospitals(card)}'><h2>{e(task.title)}</h2>"
        f"<p class='sum'>{e(task.summary)}</p>{facts_html}{chart}{_history_html(card['versions'])}"
        f"<div class='actions'>{open_link}<a class='json' href='/models/{e(task.name)}'>versions &amp; history (JSON)</a>"
        f"</div></article>"
    )


def render_marketplace(registry: Any, *, spaces: dict[str, str], nav: list[dict[str, str]] | None = None,
                       filters: dict[str, str] | None = None) -> str:
    e = html.escape
    filters = filters or {}
    links = "".join(
        f"<a href='{e(item['href'])}'>{e(item['label'])}</a>" if item["href"]
        else f"<span class='soon' title='coming soon'>{e(item['label'])}<small>soon</small></span>"
        for item in nav_entries(nav)
    )
    every = model_cards(registry, spaces)
    shown = filter_cards(every, filters)
    count = (f"<p class='count' id='card-count'>{len(shown)} of {len(every)} models"
             + ("" if shown else ": none match these filters") + "</p>")
    cards = (_filter_bar(every, filters) + count
             + "<div class='grid'>" + "".join(_card_html(c) for c in shown) + "</div>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>MedHive · model hub</title>"
        f"<style>{_STYLE}</style></head><body><header><div class='bar'><a class='brand' href='/'>MedHive</a>"
        f"<nav>{links}</nav></div></header><main><section class='intro'><h1>Diagnostic models, trained together</h1>"
        "<p>Hospitals improve these models together without any patient record leaving their premises. Pick a "
        "model to try it on an example or your own case: you get a prediction, an explanation and a PDF report."
        f"</p><div class='disclaimer'><b>{e(DISCLAIMER)}</b> Results are prompts for a clinician's review.</div>"
        f"</section><section aria-label='models'>{cards}</section></main>"
        "<footer>MedHive federated model hub · <a href='/models'>models (JSON)</a> · <a href='/docs'>REST API</a> · "
        "<a href='/health'>health</a></footer></body></html>"
    )
