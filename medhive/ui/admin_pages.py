"""Server-rendered admin pages: people (by e-mail: role, verify clinicians, disable), model versions
(compare, promote, roll back), enrollment tokens, and the audit log with e-mails and filters.

Same page shell as the account pages; every form carries the CSRF field; values are escaped.
"""

from __future__ import annotations

from typing import Any

from hub.accounts.models import ROLES
from medhive.ui.account_pages import _csrf, _notice, e, shell

TABS = (("/admin/people", "People"), ("/admin/models", "Models"), ("/admin/tokens", "Enrollment tokens"),
        ("/admin/audit", "Audit log"), ("/admin", "Accounts & billing"))


def _tabs(current: str) -> str:
    return "<p class='muted'>" + " · ".join(
        f"<b>{e(label)}</b>" if href == current else f"<a href='{href}'>{e(label)}</a>" for href, label in TABS) + "</p>"


def _page(title: str, current: str, body: str, *, nav: Any, user: Any, error: str | None, ok: str | None) -> str:
    return shell(title, f"<section class='intro'><h1>Admin · {e(title)}</h1>{_tabs(current)}</section>"
                        + _notice(error, ok) + body, nav=nav, user=user)


def people_page(rows: list[dict[str, Any]], *, q: str, csrf: str, nav: Any, user: Any, error: str | None = None,
                ok: str | None = None) -> str:
    def row(r: dict[str, Any]) -> str:
        options = "".join(f"<option value='{x}'{' selected' if x == r['role'] else ''}>{x}</option>" for x in ROLES)
        act = f"/admin/people/{e(r['id'])}"
        verify = (f"<form class='inline' method='post' action='{act}/verify'>{_csrf(csrf)}<input type='hidden' "
                  f"name='verified' value='{0 if r['verified'] else 1}'><button class='secondary' type='submit'>"
                  f"{'Unverify' if r['verified'] else 'Verify'}</button></form>")
        active = (f"<form class='inline' method='post' action='{act}/active'>{_csrf(csrf)}<input type='hidden' "
                  f"name='active' value='{0 if r['active'] else 1}'><button class='{'danger' if r['active'] else ''}' "
                  f"type='submit'>{'Disable' if r['active'] else 'Enable'}</button></form>")
        return (f"<tr data-email='{e(r['email'])}'><td>{e(r['email'])}</td><td>{e(r['organization'])}</td>"
                f"<td>{e(r['tier'])}</td><td>{'yes' if r['verified'] else '<b>no</b>'}</td>"
                f"<td>{'active' if r['active'] else '<b>disabled</b>'}</td><td><form class='inline' method='post' "
                f"action='{act}/role'>{_csrf(csrf)}<select name='role' aria-label='role'>{options}</select> "
                f"<button type='submit'>Set role</button></form></td><td>{verify} {active}</td></tr>")

    table = ("<table id='people'><tr><th>e-mail</th><th>organization</th><th>tier</th><th>verified</th><th>status</th>"
             "<th>role</th><th></th></tr>" + "".join(row(r) for r in rows) + "</table>") if rows else (
        "<p class='muted'>No one matches.</p>")
    body = (f"<section class='panel'><form method='get' action='/admin/people'><label for='q'>Search by e-mail</label>"
            f"<input type='text' id='q' name='q' value='{e(q)}'> <label class='check'><input type='checkbox' "
            "name='unverified' value='1'> only unverified clinicians</label><button type='submit'>Search</button>"
            f"</form></section><section class='panel'>{table}</section>")
    return _page("People", "/admin/people", body, nav=nav, user=user, error=error, ok=ok)


def models_page(tasks: list[dict[str, Any]], *, csrf: str, nav: Any, user: Any, error: str | None = None,
                ok: str | None = None) -> str:
    parts = []
    for t in tasks:
        metrics = sorted({k for v in t["versions"] for k in v["metrics"]})
        head = "".join(f"<th>{e(m)}</th>" for m in metrics)
        rows = "".join(
            f"<tr><td>{e(v['version'])}</td><td>{e(', '.join(v['aliases']))}</td><td>{e(v['created_at'][:16])}</td>"
            + "".join(f"<td>{v['metrics'][m]:.3f}</td>" if isinstance(v["metrics"].get(m), (int, float)) else "<td>-</td>"
                      for m in metrics)
            + f"<td>{e(v['source'])}</td><td>" + ("" if "production" in v["aliases"] else
                 f"<form class='inline' method='post' action='/admin/models/{e(t['task'])}/promote'>{_csrf(csrf)}"
                 f"<input type='hidden' name='version' value='{e(v['version'])}'><button type='submit'>"
                 "Promote to production</button></form>") + "</td></tr>" for v in t["versions"])
        rollback = (f"<form method='post' action='/admin/models/{e(t['task'])}/rollback'>{_csrf(csrf)}"
                    "<button class='secondary' type='submit'>Roll back production to the previous version</button>"
                    "</form>")
        parts.append(f"<section class='panel' id='models-{e(t['task'])}'><h2>{e(t['title'])} (<code>{e(t['task'])}"
                     f"</code>)</h2><table><tr><th>version</th><th>aliases</th><th>created</th>{head}<th>source</th>"
                     f"<th></th></tr>{rows}</table>{rollback}</section>")
    return _page("Models", "/admin/models", "".join(parts), nav=nav, user=user, error=error, ok=ok)


def tokens_page(orgs: list[dict[str, Any]], *, csrf: str, nav: Any, user: Any, token: dict[str, Any] | None = None,
                error: str | None = None, ok: str | None = None) -> str:
    options = "".join(f"<option value='{e(o['id'])}'>{e(o['name'])} ({e(o['kind'])})</option>" for o in orgs
                      if o["kind"] in ("hospital", "clinic"))
    shown = (f"<div class='ok' id='new-token'>Enrollment token for {e(token['org'])} (shown once, valid until "
             f"{e(token['expires_at'][:16])} UTC): <code>{e(token['token'])}</code></div>" if token else "")
    body = (f"<section class='panel'>{shown}<form method='post' action='/admin/tokens'>{_csrf(csrf)}"
            f"<label for='org'>Hospital or clinic</label><select id='org' name='org_id'>{options}</select>"
            "<label for='hours'>Valid for (hours, 1-168)</label><input type='text' id='hours' name='hours' value='24'>"
            "<br><button type='submit' id='create-token'>Create enrollment token</button></form>"
            "<p class='muted'>The hospital's node presents it once to enroll; only its hash is stored.</p></section>")
    return _page("Enrollment tokens", "/admin/tokens", body, nav=nav, user=user, error=error, ok=ok)


def audit_page(rows: list[dict[str, Any]], *, actions: list[str], who: str, action: str, verified: dict[str, Any],
               nav: Any, user: Any) -> str:
    options = "<option value=''>any action</option>" + "".join(
        f"<option value='{e(a)}'{' selected' if a == action else ''}>{e(a)}</option>" for a in actions)
    status = ("<span class='ok' style='display:inline;padding:2px 8px'>chain verified</span>" if verified.get("ok")
              else f"<span class='error' style='display:inline;padding:2px 8px'>chain broken: "
                   f"{e(str(verified.get('reason', '')))}</span>")
    table = "".join(f"<tr><td>{r['seq']}</td><td>{e(r['at'][:19])}</td><td>{e(r['action'])}</td><td>{e(r['actor'])}"
                    f"</td><td>{e(r['target'])}</td><td><code>{e(r['details'][:200])}</code></td></tr>" for r in rows)
    body = (f"<section class='panel'><p>{status}</p><form method='get' action='/admin/audit'><label for='who'>E-mail"
            f"</label><input type='text' id='who' name='who' value='{e(who)}'><label for='action'>Action</label>"
            f"<select id='action' name='action'>{options}</select><br><button type='submit'>Filter</button></form>"
            f"</section><section class='panel'><table id='audit'><tr><th>#</th><th>time (UTC)</th><th>action</th>"
            f"<th>by</th><th>target</th><th>details</th></tr>{table}</table></section>")
    return _page("Audit log", "/admin/audit", body, nav=nav, user=user, error=None, ok=None)
