"""The portal's Federation page (`/federation`, admins) and Hospital page (`/hospital`, hospital staff).

Static pages like the admin view: they hold no data, every figure comes from `/v1` with the signed-in
user's own access token (sessionStorage), so the API's role checks are the only gate, and values are
inserted with textContent, never as HTML. Sign-in is the `/v1/auth/login` form the admin view uses; when
the portal gets its session cookie, `signIn()` / `token()` below are the one place to switch.

Federation: the aggregation service's status, connected nodes by organization (status, last seen), jobs
with live round progress (refreshed every few seconds), trigger / cancel, outcome and gate reason, and
the onboarding requests waiting for approval. Hospital: the organization's nodes, the contribution
history per version with the metric change it brought, privacy budget per task and the revenue share.
"""

from __future__ import annotations

_HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>MedHive · {title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:1150px;margin:1.5em auto;color:#1d2733;padding:0 1em}}
h1{{font-size:1.4em}}h2{{font-size:1.1em;margin-top:1.6em}}table{{border-collapse:collapse;width:100%;font-size:.9em}}
td,th{{padding:.35em .5em;border-bottom:1px solid #e3e8ee;text-align:left;vertical-align:top}}
th{{color:#475467;font-weight:600}}.muted{{color:#667085}}#err{{color:#b42318}}
.online,.published{{color:#0a7a3b;font-weight:600}}.failed,.revoked,.cancelled{{color:#b42318;font-weight:600}}
.running,.queued{{color:#175cd3;font-weight:600}}.candidate{{color:#b54708;font-weight:600}}
input,select,button{{font:inherit;padding:.25em .5em}}.bar{{background:#e3e8ee;border-radius:4px;height:8px;width:120px}}
.bar span{{display:block;height:8px;border-radius:4px;background:#175cd3}}
.card{{border:1px solid #e3e8ee;border-radius:8px;padding:.6em 1em;display:inline-block;margin-right:1em}}
</style></head><body>
<h1>{heading}</h1><p class="muted"><a href="/">portal</a> · <a href="/admin">admin</a> · <a href="/federation">federation</a>
· <a href="/hospital">hospital</a> · <a href="/docs">API docs</a></p>
<form id="login"><input id="email" type="email" placeholder="e-mail" required>
<input id="password" type="password" placeholder="password" required><button>Sign in</button></form>
<p id="err"></p>
"""

_COMMON_JS = """
const API = "/v1";
const $ = (id) => document.getElementById(id);
const KEY = "medhive_portal_token";
const token = () => sessionStorage.getItem(KEY);
function el(tag, text, cls) { const x = document.createElement(tag); if (text !== undefined) x.textContent = text ?? "-";
  if (cls) x.className = cls; return x; }
function row(values) { const tr = document.createElement("tr");
  values.forEach((v) => { if (v instanceof Node) { const td = el("td"); td.appendChild(v); tr.appendChild(td); }
    else tr.appendChild(el("td", v)); }); return tr; }
function when(iso) { return iso ? new Date(iso).toLocaleString() : "never"; }
function fmt(x, d = 4) { return x === null || x === undefined ? "-" : Number(x).toFixed(d); }
async function call(path, options = {}) {
  const r = await fetch(API + path, {...options, headers: {"Content-Type": "application/json",
    "Authorization": "Bearer " + token(), ...(options.headers || {})}});
  const body = r.status === 204 ? {} : await r.json();
  if (!r.ok) throw new Error(body.detail || body.title || r.status);
  return body;
}
async function signIn(email, password) {
  const r = await fetch(API + "/auth/login", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({email, password})});
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || "sign-in failed");
  if (!ROLES.includes(body.role)) throw new Error("this page is for " + ROLES.join(" / ") + " accounts");
  sessionStorage.setItem(KEY, body.access_token);
}
let timer = null;
function show() { $("main").hidden = !token(); $("login").hidden = !!token();
  if (token()) { refresh(); clearInterval(timer); timer = setInterval(refresh, 4000); } else clearInterval(timer); }
$("login").onsubmit = async (ev) => { ev.preventDefault();
  try { await signIn($("email").value, $("password").value); $("err").textContent = ""; show(); }
  catch (e) { $("err").textContent = e.message; } };
$("logout").onclick = () => { sessionStorage.removeItem(KEY); show(); };
"""

FEDERATION_PAGE = _HEAD.format(title="federation", heading="Federation") + """
<div id="main" hidden>
<p>Signed in as admin. <button id="logout" type="button">Sign out</button></p>
<p><span class="card" id="service">aggregation service: ?</span></p>
<h2>Jobs</h2>
<p><select id="task"></select> <button id="trigger" type="button">Start a job now</button></p>
<table><thead><tr><th>created</th><th>task</th><th>status</th><th>progress</th><th>hospitals</th><th>version</th>
<th>outcome / reason</th><th>trigger</th><th></th></tr></thead><tbody id="jobs"></tbody></table>
<h2>Connected nodes</h2>
<table><thead><tr><th>organization</th><th>node</th><th>status</th><th>last seen</th><th>enrolled</th></tr></thead>
<tbody id="nodes"></tbody></table>
<h2>Onboarding requests</h2>
<table><thead><tr><th>filed</th><th>organization</th><th>contact</th><th>tasks</th><th>status</th><th></th></tr></thead>
<tbody id="requests"></tbody></table>
<p id="approved" class="muted"></p>
</div>
<script>
const ROLES = ["admin"];
""" + _COMMON_JS + """
function progress(j) { const bar = el("div", undefined, "bar"); const fill = el("span");
  fill.style.width = (j.rounds ? Math.round(100 * j.rounds_done / j.rounds) : 0) + "%"; bar.appendChild(fill);
  const box = el("div"); box.appendChild(bar); box.appendChild(el("small", `round ${j.rounds_done} of ${j.rounds}`)); return box; }
async function refresh() {
  try {
    const nodes = await call("/federation/nodes");
    const s = nodes.service;
    $("service").textContent = s ? `aggregation service: Fleet ${s.fleet_address}, last heartbeat ${when(s.heartbeat_at)}`
                                 : "aggregation service: not running";
    $("nodes").replaceChildren(...nodes.nodes.map((n) => row([n.organization, n.name, el("span", n.status, n.status),
      when(n.last_seen_at), when(n.enrolled_at)])));
    const jobs = await call("/admin/federation/jobs");
    $("jobs").replaceChildren(...jobs.map((j) => { let action = "";
      if (["queued", "running"].includes(j.status) && !j.cancel_requested) { action = el("button", "cancel");
        action.onclick = async () => { try { await call(`/admin/federation/jobs/${j.id}/cancel`, {method: "POST"}); refresh(); }
          catch (e) { $("err").textContent = e.message; } }; }
      return row([when(j.created_at), j.task, el("span", j.status + (j.cancel_requested ? " (cancelling)" : ""), j.status),
        progress(j), j.hospitals, j.published_version || "-", j.reason, j.trigger, action]); }));
    const reqs = await call("/admin/onboarding/requests");
    $("requests").replaceChildren(...reqs.map((r) => { let action = "";
      if (r.status === "pending") { action = el("button", "approve"); action.onclick = async () => { try {
        const out = await call(`/admin/onboarding/requests/${r.id}/approve`, {method: "POST"});
        $("approved").textContent = `Approved ${out.organization}: sign-in ${out.email} / ${out.initial_password}; ` +
          `node enrollment token ${out.token} (shown once; hand both over securely).`; refresh(); }
        catch (e) { $("err").textContent = e.message; } }; }
      return row([when(r.created_at), r.organization, r.contact_email, r.tasks.join(", "), el("span", r.status, r.status), action]); }));
    $("err").textContent = "";
  } catch (e) { $("err").textContent = e.message; }
}
(async () => { try { const r = await fetch(API + "/models", {headers: {"Authorization": "Bearer " + token()}});
  const tasks = r.ok ? (await r.json()).map((t) => t.task) : ["breast_cancer", "ecg", "glaucoma", "pneumonia"];
  $("task").replaceChildren(...tasks.map((t) => { const o = el("option", t); o.value = t; return o; })); } catch (e) {} })();
$("trigger").onclick = async () => { try { await call("/admin/federation/jobs", {method: "POST",
  body: JSON.stringify({task: $("task").value})}); refresh(); } catch (e) { $("err").textContent = e.message; } };
show();
</script></body></html>
"""

HOSPITAL_PAGE = _HEAD.format(title="hospital", heading="Hospital") + """
<div id="main" hidden>
<p>Signed in as hospital staff. <button id="logout" type="button">Sign out</button></p>
<p><span class="card" id="revenue">revenue share: ?</span></p>
<h2>Our nodes</h2>
<table><thead><tr><th>node</th><th>status</th><th>last seen</th><th>enrolled</th></tr></thead><tbody id="nodes"></tbody></table>
<h2>Contribution history</h2>
<table><thead><tr><th>task</th><th>version</th><th>samples</th><th>rounds</th><th>metric</th><th>this version</th>
<th>parent</th><th>change</th><th>epsilon</th><th>predictions served</th></tr></thead><tbody id="contributions"></tbody></table>
<h2>Privacy budget spent per task</h2>
<table><thead><tr><th>task</th><th>epsilon (sum over versions, upper bound)</th></tr></thead><tbody id="privacy"></tbody></table>
<p class="muted">The node's own ledger (<code>medhive node budget</code> on the hospital's machine) holds the exact figure.</p>
</div>
<script>
const ROLES = ["data_provider"];
""" + _COMMON_JS + """
async function refresh() {
  try {
    const s = await call("/hospital/summary");
    $("revenue").textContent = `revenue share ${s.period}: ${(s.revenue_share_micros / 1e6).toFixed(4)}`;
    $("nodes").replaceChildren(...s.nodes.map((n) => row([n.name, el("span", n.status, n.status), when(n.last_seen_at),
      when(n.enrolled_at)])));
    $("contributions").replaceChildren(...s.contributions.map((c) => row([c.task, c.model_version, c.samples, c.rounds,
      c.metric, fmt(c.value), c.parent_version ? `${c.parent_version}: ${fmt(c.parent_value)}` : "-",
      c.change === null ? "-" : (c.change >= 0 ? "+" : "") + fmt(c.change), c.epsilon === null ? "no DP" : fmt(c.epsilon, 2),
      c.predictions_served])));
    $("privacy").replaceChildren(...(s.privacy.length ? s.privacy.map((p) => row([p.task, fmt(p.epsilon_upper_bound, 2)]))
      : [row(["-", "no DP training yet"])]));
    $("err").textContent = "";
  } catch (e) { $("err").textContent = e.message; }
}
show();
</script></body></html>
"""
