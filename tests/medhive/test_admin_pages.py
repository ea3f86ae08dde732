"""The admin pages over HTTP: people by e-mail (role, verify a clinician, disable), models (compare, promote,
roll back), enrollment tokens, the audit log with e-mails and filters; admins only, CSRF on every form, every
change audited."""

from __future__ import annotations

import re

import pytest

from hub.accounts import users
from tests.hub.api.conftest import PW, seeded_home  # noqa: F401 - fixture
from tests.medhive.test_account_pages import CSRF, _client, mounted_app, sign_up

ADMIN_PAGES = ("/admin/people", "/admin/models", "/admin/tokens", "/admin/audit")
ADMIN_FORMS = ("/admin/people/00000000-0000-0000-0000-000000000000/role",
               "/admin/people/00000000-0000-0000-0000-000000000000/verify",
               "/admin/people/00000000-0000-0000-0000-000000000000/active",
               "/admin/models/breast_cancer/promote", "/admin/models/breast_cancer/rollback", "/admin/tokens")


@pytest.fixture
def hub(seeded_home, medhive_home):  # noqa: F811
    from medhive.mounts import portal_admin

    app = mounted_app(seeded_home, medhive_home, portal_admin)
    store = app.state.medhive_api.store
    with store.transaction() as s:
        org = users.create_org(s, name="Ops", kind="platform")
        users.create_user(s, email="root@ops.example", password=PW, role="admin", org_id=org.id)
        users.create_org(s, name="St Mary", kind="hospital")
    yield app
    store.dispose()


def _sign_in(client, email: str) -> str:
    token = CSRF.search(client.get("/signin").text).group(1)
    page = client.post("/signin", data={"csrf": token, "email": email, "password": PW})
    assert page.url.path == "/account", page.text[:300]
    return CSRF.search(page.text).group(1)


def test_admin_manages_people_by_email_and_the_audit_names_them(hub):
    doc = _client(hub)
    sign_up(doc, "dr.who@clinic.example", "clinician")
    admin = _client(hub)
    _sign_in(admin, "root@ops.example")
    found = admin.get("/admin/people", params={"q": "dr.who", "unverified": "1"}).text
    table = found.split("id='people'")[1]
    assert "dr.who@clinic.example" in table and "root@ops.example" not in table
    uid = re.search(r"/admin/people/([0-9a-f-]{36})/verify", found).group(1)
    csrf = CSRF.search(found).group(1)
    assert "Verification changed" in admin.post(f"/admin/people/{uid}/verify", data={"csrf": csrf, "verified": "1"}).text
    assert "unverified" not in doc.get("/account").text
    admin.post(f"/admin/people/{uid}/role", data={"csrf": csrf, "role": "data_provider"})
    admin.post(f"/admin/people/{uid}/active", data={"csrf": csrf, "active": "0"})
    assert doc.get("/account").url.path == "/signin"  # disabled: the session no longer works
    audit = admin.get("/admin/audit", params={"who": "dr.who@clinic.example"}).text
    for action in ("user.verify", "user.role", "user.active", "user.create"):
        assert f"<td>{action}</td>" in audit, action
    assert "root@ops.example" in audit and f"user:{uid}" not in audit  # e-mails, not UUIDs
    only = admin.get("/admin/audit", params={"action": "user.role"}).text
    assert "<td>user.role</td>" in only and "<td>user.verify</td>" not in only
    assert "chain verified" in only


def test_admin_compares_promotes_rolls_back_and_issues_tokens(hub):
    from hub.models import get_task
    from hub.registry import Lineage

    registry = hub.state.medhive_api.registry
    registry.publish("breast_cancer", get_task("breast_cancer").build_network(), metrics={"roc_auc": 0.5},
                     alias="candidate", lineage=Lineage(parent="v1.0", source="federated", rounds=1, hospitals=2))
    admin = _client(hub)
    _sign_in(admin, "root@ops.example")
    models = admin.get("/admin/models").text
    section = models.split("id='models-breast_cancer'")[1].split("</section>")[0]
    assert "v1.0" in section and "v1.1" in section and "0.500" in section  # versions side by side
    csrf = CSRF.search(models).group(1)
    admin.post("/admin/models/breast_cancer/promote", data={"csrf": csrf, "version": "v1.1"})
    assert registry.info("breast_cancer", "production").version == "v1.1"
    admin.post("/admin/models/breast_cancer/rollback", data={"csrf": csrf})
    assert registry.info("breast_cancer", "production").version == "v1.0"
    tokens = admin.get("/admin/tokens").text
    org = re.search(r"<option value='([0-9a-f-]{36})'>St Mary", tokens).group(1)
    made = admin.post("/admin/tokens", data={"csrf": CSRF.search(tokens).group(1), "org_id": org, "hours": "12"}).text
    assert re.search(r"<code>mhe_[\w-]+</code>", made)
    audit = admin.get("/admin/audit").text
    assert "<td>model.promote</td>" in audit and "<td>model.rollback</td>" in audit and "enrollment" in audit


def test_admin_pages_are_for_admins_only_and_forms_need_csrf(hub):
    anonymous = _client(hub)
    for path in ADMIN_PAGES:
        assert anonymous.get(path).url.path == "/signin"
    patient = _client(hub)
    sign_up(patient, "pat@example.org")
    for path in ADMIN_PAGES:
        assert patient.get(path).status_code == 403
    token = CSRF.search(patient.get("/account").text).group(1)
    for path in ADMIN_FORMS:  # a valid CSRF token, but not an admin
        assert patient.post(path, data={"csrf": token}).status_code == 403
    admin = _client(hub)
    _sign_in(admin, "root@ops.example")
    for path in ADMIN_FORMS:  # an admin, but no CSRF token
        r = admin.post(path, data={"version": "v1.0"})
        assert r.status_code == 403 and "Form refused" in r.text, path
