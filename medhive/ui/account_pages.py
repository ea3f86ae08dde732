"""Server-rendered portal pages for people: sign up, sign in, and "My account" (tier, quota meter, usage
per task, API keys, upgrade, prediction history with PDF links).

Plain HTML like the marketplace (no JavaScript needed); every form carries the CSRF field. Values shown
come from the database and are escaped; no page shows a patient input unless the user kept it.
"""

from __future__ import annotations

import html
from typing import Any

from medhive.ui.portal import _STYLE, nav_entries

e = html.escape

_EXTRA = """
.panel{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 20px;margin:0 0 16px}
.panel h2{margin:0 0 10px;font-size:1.1em} form.inline{display:inline}
label{display:block;margin:8px 0 3px;font-weight:600;font-size:.92em}
input[type=email],input[type=password],input[type=text],select{width:100%;max-width:380px;padding:7px 9px;border:1px solid #b0bec5;border-radius:6px;font-size:1em}
.check{font-weight:400;display:flex;gap:8px;align-items:center}
button{background:#1f4e79;color:#fff;border:0;border-radius:6px;padding:8px 14px;font-weight:600;cursor:pointer;margin-top:10px}
button.secondary{background:#eceff1;color:#1d2733} button.danger{background:#b71c1c}
.error{background:#fdecea;border-left:4px solid #c62828;padding:8px 12px;border-radius:4px;margin:0 0 12px}
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:8px 12px;border-radius:4px;margin:0 0 12px}
table{border-collapse:collapse;width:100%;font-size:.92em} th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eceff1}
meter{width:320px;height:18px} .muted{color:#66727f;font-size:.9em} code{background:#eceff1;padding:1px 5px;border-radius:4px}
.narrow{max-width:520px}
"""


def shell(title: str, body: str, *, nav: list[dict[str, str]] | None, user: Any = None) -> str:
    links = "".join(
        f"<a href='{e(item['href'])}'>{e(item['label'])}</a>" if item["href"]
        else f"<span class='soon' title='coming soon'>{e(item['label'])}<small>soon</small></span>"
        for item in nav_entries(nav) if item["label"] not in ("Sign in", "My account"))
    who = (f"<a href='/account' id='nav-account'>{e(user.email)}</a>" if user is not None
           else "<a href='/signin' id='nav-signin'>Sign in</a>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>MedHive · {e(title)}</title><style>{_STYLE}{_EXTRA}</style></head><body><header><div class='bar'>"
            f"<a class='brand' href='/'>MedHive</a><nav>{links}{who}</nav></div></header><main>{body}</main></body></html>")


def _csrf(token: str) -> str:
    return f"<input type='hidden' name='csrf' value='{e(token)}'>"


def _notice(error: str | None = None, ok: str | None = None) -> str:
    return ((f"<div class='error' role='alert' id='form-error'>{e(error)}</div>" if error else "")
            + (f"<div class='ok' role='status' id='form-ok'>{e(ok)}</div>" if ok else ""))


def sign_in_page(csrf: str, *, nav: Any, error: str | None = None, email: str = "", next_url: str = "/account") -> str:
    body = (
        "<section class='panel narrow'><h1>Sign in</h1>" + _notice(error)
        + f"<form method='post' action='/signin'>{_csrf(csrf)}<input type='hidden' name='next' value='{e(next_url)}'>"
        f"<label for='email'>E-mail</label><input type='email' id='email' name='email' value='{e(email)}' required "
        "autocomplete='username'><label for='password'>Password</label><input type='password' id='password' "
        "name='password' required autocomplete='current-password'><br><button type='submit' id='signin-submit'>"
        "Sign in</button></form><p>New here? <a href='/signup'>Create an account</a> (patients, students, "
        "clinicians, companies).</p><p class='muted'>Hospital staff get their account when their hospital's "
        "onboarding is approved. The first administrator is created on the server with "
        "<code>medhive accounts create-admin EMAIL</code>; administrators then grant roles on the admin page.</p>"
        "</section>")
    return shell("Sign in", body, nav=nav)


ACCOUNT_TYPES = (
    ("user", "Patient or student: free tier, a monthly prediction quota"),
    ("clinician", "Clinician: free tier; self-declared, shown as unverified until an administrator verifies you"),
    ("enterprise", "Company: pay-per-use, API keys"),
)


def sign_up_page(csrf: str, *, nav: Any, error: str | None = None, email: str = "", account_type: str = "user",
                 organization: str = "") -> str:
    options = "".join(
        f"<label class='check'><input type='radio' name='account_type' value='{v}' id='type-{v}'"
        f"{' checked' if v == account_type else ''}> {e(text)}</label>" for v, text in ACCOUNT_TYPES)
    body = (
        "<section class='panel narrow'><h1>Create an account</h1>" + _notice(error)
        + f"<form method='post' action='/signup'>{_csrf(csrf)}<label>I am</label>{options}"
        f"<label for='email'>E-mail</label><input type='email' id='email' name='email' value='{e(email)}' required "
        "autocomplete='username'><label for='password'>Password (at least 10 characters)</label>"
        "<input type='password' id='password' name='password' required minlength='10' autocomplete='new-password'>"
        "<label for='organization'>Company name (companies only)</label><input type='text' id='organization' "
        f"name='organization' value='{e(organization)}' maxlength='200'><br>"
        "<button type='submit' id='signup-submit'>Create account</button></form>"
        "<p>Already registered? <a href='/signin'>Sign in</a>.</p></section>")
    return shell("Sign up", body, nav=nav)


def _money(micros: int, currency: str) -> str:
    return f"{micros / 1e6:.2f} {currency}"


def account_page(*, csrf: str, nav: Any, principal: Any, account: dict[str, Any], limits: dict[str, Any],
                 usage: dict[str, Any], keys: list[dict[str, Any]] | None, history: dict[str, Any],
                 new_key: str | None = None, error: str | None = None, ok: str | None = None) -> str:
    a = account
    role = a["role"] + ("" if a["verified"] else " (unverified: an administrator verifies clinicians)")
    quota = limits["monthly_quota"]
    if quota is not None:
        meter = (f"<p><meter id='quota-meter' min='0' max='{quota}' value='{limits['used']}' low='{quota * 0.7:.0f}' "
                 f"high='{quota * 0.9:.0f}' optimum='0'></meter></p><p id='quota-text'><b>{limits['used']} of {quota}"
                 f"</b> predictions used this month, <b>{limits['remaining']} left</b> (renews in "
                 f"{limits['resets_in_s'] // 86400 + 1} days).</p>")
    else:
        meter = (f"<p id='quota-text'>No monthly quota: {_money(limits['price_micros'], limits['currency'])} per "
                 f"prediction; <b>{usage['predictions']}</b> predictions this month, "
                 f"{_money(usage['amount_micros'], limits['currency'])}.</p>")
    rate = limits["rate_limit_per_minute"]
    meter += f"<p class='muted'>Rate limit: {rate} predictions per minute.</p>" if rate else ""
    rows = "".join(f"<tr><td>{e(r['task'])}</td><td>{e(r['model_version'])}</td><td>{r['predictions']}</td></tr>"
                   for r in usage["by_model"]) or "<tr><td colspan='3' class='muted'>No predictions yet this month.</td></tr>"
    usage_html = (f"<h3>Usage per task ({e(usage['period'])})</h3><table id='usage-table'><tr><th>task</th>"
                  f"<th>model version</th><th>predictions</th></tr>{rows}</table>")
    upgrade = ""
    if a["tier"] == "free" and a["kind"] == "personal":
        upgrade = ("<section class='panel'><h2>Upgrade</h2><p>Pay-per-use: no monthly quota, a higher rate limit, "
                   "API keys; a price per prediction.</p><form method='post' action='/account/upgrade'>"
                   f"{_csrf(csrf)}<button type='submit' id='upgrade'>Upgrade to pay-per-use</button></form></section>")
    keys_html = ""
    if keys is not None:
        shown = (f"<div class='ok' id='new-key'>Your new API key (shown once, store it now): <code>{e(new_key)}</code>"
                 "</div>" if new_key else "")
        key_rows = "".join(
            f"<tr><td><code>{e(k['prefix'])}</code></td><td>{e(k['name'])}</td><td>{e(k['status'])}</td>"
            f"<td>{e((k['created_at'] or '')[:16])}</td><td>"
            + (f"<form class='inline' method='post' action='/account/keys/{e(k['id'])}/revoke'>{_csrf(csrf)}"
               "<button class='danger' type='submit'>Revoke</button></form>" if k["status"] == "active" else "")
            + "</td></tr>" for k in keys) or "<tr><td colspan='5' class='muted'>No keys yet.</td></tr>"
        keys_html = (f"<section class='panel'><h2>API keys</h2>{shown}<table id='keys-table'><tr><th>prefix</th>"
                     f"<th>name</th><th>status</th><th>created</th><th></th></tr>{key_rows}</table>"
                     f"<form method='post' action='/account/keys'>{_csrf(csrf)}<label for='key-name'>New key name"
                     "</label><input type='text' id='key-name' name='name' maxlength='100'>"
                     "<button type='submit' id='create-key'>Create key</button></form></section>")
    items = history["items"]
    hist_rows = "".join(
        f"<tr><td>{e(i['created_at'][:19].replace('T', ' '))}</td><td>{e(i['task'])}</td><td>{e(i['model_version'])}"
        f"</td><td>{e(i['label'])}</td><td>{i['confidence']:.1%}</td><td>{'yes' if i['input_kept'] else 'no'}</td>"
        f"<td><a class='pdf' href='/account/predictions/{e(i['id'])}/report.pdf'>PDF</a></td><td>"
        f"<form class='inline' method='post' action='/account/predictions/{e(i['id'])}/delete'>{_csrf(csrf)}"
        "<button class='secondary' type='submit'>Delete</button></form></td></tr>" for i in items)
    hist_table = (f"<table id='history-table'><tr><th>time (UTC)</th><th>task</th><th>version</th><th>label</th>"
                  f"<th>confidence</th><th>input kept</th><th>report</th><th></th></tr>{hist_rows}</table>"
                  if items else "<p class='muted' id='history-empty'>No kept predictions.</p>")
    prefs = (f"<form method='post' action='/account/preferences'>{_csrf(csrf)}"
             f"<label class='check'><input type='checkbox' name='keep_history' id='keep-history' value='1'"
             f"{' checked' if a['keep_history'] else ''}> Keep my predictions (output, model version, time)</label>"
             f"<label class='check'><input type='checkbox' name='keep_inputs' id='keep-inputs' value='1'"
             f"{' checked' if a['keep_inputs'] else ''}> Keep my input too (otherwise it is never stored)</label>"
             "<button type='submit' id='save-preferences'>Save</button></form>")
    body = (
        "<section class='intro'><h1>My account</h1></section>" + _notice(error, ok)
        + f"<section class='panel'><h2>{e(a['email'])}</h2><p>Role: <b id='role'>{e(role)}</b> · organization "
        f"{e(a['organization'])} · tier <b id='tier'>{e(a['tier'].replace('_', '-'))}</b></p>{meter}{usage_html}"
        f"<form method='post' action='/signout'>{_csrf(csrf)}<button class='secondary' type='submit' id='signout'>"
        "Sign out</button></form></section>" + upgrade + keys_html
        + f"<section class='panel'><h2>Prediction history ({history['total']})</h2>{prefs}{hist_table}"
        "<p class='muted'>Deleting a prediction removes it, and its input if kept, for good.</p></section>")
    return shell("My account", body, nav=nav, user=principal)


def message_page(title: str, text: str, *, nav: Any, status_link: str = "/") -> str:
    return shell(title, f"<section class='panel narrow'><h1>{e(title)}</h1><p id='message'>{e(text)}</p>"
                        f"<p><a href='{e(status_link)}'>Continue</a></p></section>", nav=nav)
