"""The portal's admin view (`/admin`): accounts and tiers, usage and billing, the audit log and its
verification status. A static page: it holds no data itself, and every figure it shows comes from the
`/v1/admin/...` routes with the admin's own access token (kept in sessionStorage), so the role checks of
the API are the only gate. Values are inserted with textContent, never as HTML.
"""

from __future__ import annotations

ADMIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>MedHive · admin</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;color:#1d2733;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}table{border-collapse:collapse;width:100%;font-size:.9em}
td,th{padding:.35em .5em;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}
.ok{color:#0a7a3b;font-weight:600}.bad{color:#b42318;font-weight:600}.muted{color:#667085}
input,select,button{font:inherit;padding:.25em .5em}#err{color:#b42318}code{font-size:.85em}
</style></head><body>
<h1>MedHive admin</h1><p class="muted"><a href="/">portal</a> · <a href="/docs">API docs</a></p>
<form id="login"><input id="email" type="email" placeholder="admin e-mail" required>
<input id="password" type="password" placeholder="password" required><button>Log in</button></form>
<p id="err"></p>
<div id="main" hidden>
<p>Signed in. <button id="logout" type="button">Log out</button> Period <input id="period" size="8"></p>
<h2>Audit trail <span id="verify"></span></h2>
<table><thead><tr><th>#</th><th>time</th><th>action</th><th>actor</th><th>target</th><th>details</th></tr></thead>
<tbody id="audit"></tbody></table>
<h2>Accounts and tiers</h2>
<table><thead><tr><th>organization</th><th>kind</th><th>users</th><th>tier</th><th>quota / month</th><th>rate / min</th>
<th>used this month</th><th></th></tr></thead><tbody id="accounts"></tbody></table>
<h2>Usage and billing</h2><table><thead><tr><th>organization</th><th>tier</th><th>calls</th><th>predictions</th>
<th>amount</th></tr></thead><tbody id="billing"></tbody></table>
<h2>Revenue share (hospitals)</h2><table><thead><tr><th>hospital</th><th>amount</th></tr></thead>
<tbody id="share"></tbody></table>
</div>
<script>
const API = "/v1";
const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem("medhive_admin_token");
function cell(tr, text) { const td = document.createElement("td"); td.textContent = text ?? "-"; tr.appendChild(td); return td; }
function money(micros) { return (micros / 1e6).toFixed(4); }
async function call(path, options = {}) {
  const r = await fetch(API + path, {...options, headers: {"Content-Type": "application/json",
    "Authorization": "Bearer " + token(), ...(options.headers || {})}});
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || body.title || r.status);
  return body;
}
async function refresh() {
  $("err").textContent = "";
  const period = $("period").value;
  try {
    const audit = await call("/admin/audit?limit=50");
    const v = audit.verification;
    $("verify").textContent = v.ok ? `verified (${v.entries} entries)` : `BROKEN at entry ${v.first_bad_seq}: ${v.reason}`;
    $("verify").className = v.ok ? "ok" : "bad";
    $("audit").replaceChildren(...audit.entries.map((e) => { const tr = document.createElement("tr");
      [e.seq, e.at, e.action, e.actor, e.target, e.details].forEach((x) => cell(tr, x)); return tr; }));
    const accounts = await call("/admin/accounts");
    $("accounts").replaceChildren(...accounts.map((a) => { const tr = document.createElement("tr");
      [a.name, a.kind, a.users].forEach((x) => cell(tr, x));
      const sel = document.createElement("select");
      ["free", "pay_per_use", "enterprise"].forEach((t) => { const o = document.createElement("option");
        o.value = o.textContent = t; o.selected = t === a.tier; sel.appendChild(o); });
      cell(tr, "").appendChild(sel);
      [a.usage.monthly_quota ?? "none", a.usage.rate_limit_per_minute ?? "none", a.usage.used].forEach((x) => cell(tr, x));
      const b = document.createElement("button"); b.textContent = "change tier";
      b.onclick = async () => { try { await call(`/admin/accounts/${a.id}/tier`, {method: "PUT",
        body: JSON.stringify({tier: sel.value})}); refresh(); } catch (e) { $("err").textContent = e.message; } };
      cell(tr, "").appendChild(b); return tr; }));
    const bill = await call("/admin/billing" + (period ? "?period=" + period : ""));
    $("period").value = bill.period;
    $("billing").replaceChildren(...bill.accounts.map((r) => { const tr = document.createElement("tr");
      [r.organization, r.tier, r.calls, r.predictions, money(r.amount_micros)].forEach((x) => cell(tr, x)); return tr; }));
    const share = await call("/admin/revenue-share?period=" + bill.period);
    $("share").replaceChildren(...share.hospitals.map((h) => { const tr = document.createElement("tr");
      [h.organization, money(h.amount_micros)].forEach((x) => cell(tr, x)); return tr; }));
  } catch (e) { $("err").textContent = e.message; }
}
function show() { $("main").hidden = !token(); $("login").hidden = !!token(); if (token()) refresh(); }
$("login").onsubmit = async (ev) => { ev.preventDefault();
  const r = await fetch(API + "/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({email: $("email").value, password: $("password").value})});
  const body = await r.json();
  if (!r.ok) { $("err").textContent = body.detail; return; }
  if (body.role !== "admin") { $("err").textContent = "this account is not an admin"; return; }
  sessionStorage.setItem("medhive_admin_token", body.access_token); show(); };
$("logout").onclick = () => { sessionStorage.removeItem("medhive_admin_token"); show(); };
$("period").onchange = refresh;
show();
</script></body></html>
"""
