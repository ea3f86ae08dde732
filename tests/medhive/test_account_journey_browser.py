"""People's accounts in a real browser (headless Debian Chromium): a patient signs up, predicts in a Space
until the quota is used up, sees the meter and the refusal, signs out; a clinician signs up, turns the
history on, keeps a prediction made in a Space and downloads its PDF from the account page. Screenshots of
each page go to artifacts/screenshots/."""

from __future__ import annotations

import io
import uuid

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from hub.accounts import users
from hub.accounts.models import User
from medhive.cli import open_registry
from medhive.server import create_app
from medhive.settings import get_settings
from tests.medhive.browser import chromium, screenshot, serve_in_thread

PW = "a long patient passphrase"
QUOTA = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("MEDHIVE_HOME", str(tmp_path_factory.mktemp("journey-home")))
    mp.setenv("MEDHIVE_SPACE_DEMO_PER_DAY", "1")
    settings = get_settings()
    app = create_app(settings, registry=open_registry(settings))
    try:
        with serve_in_thread(app) as url:
            yield url, app.state.medhive_api.store
    finally:
        mp.undo()


def sign_up(page, base: str, email: str, account_type: str) -> None:
    page.goto(base + "/signup")
    page.check(f"#type-{account_type}")
    page.fill("#email", email)
    page.fill("#password", PW)
    page.click("#signup-submit")
    page.wait_for_url("**/account")


# the result's usage line, once it is new and no longer pending (while Gradio works, the old text stays under its
# timer, "0.1s"), or the error toast of a refused prediction
_SETTLED = """(before) => {
  const toast = document.querySelector('.toast-body, [data-testid="toast-body"]');
  if (toast && toast.innerText.trim()) return 'toast:' + toast.innerText;
  const s = document.querySelector('#summary');
  const t = s ? s.innerText : '';
  if (!t.includes('Usage:') || t === before || /(^|\\s)\\d+(\\.\\d+)?s(\\s|$)/.test(t.split('Usage:')[0])) return false;
  return 'summary:' + t;
}"""


def predict_once(page) -> str:
    """Load the example, predict; the text of the new usage line or of the error shown."""
    page.click("#load-example")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.medhive-field input')].every(i => i.value !== '')", timeout=30_000)
    summary = page.locator("#summary")
    before = summary.inner_text() if summary.count() else ""
    page.click("#predict")
    shown = page.wait_for_function(_SETTLED, arg=before, timeout=90_000).json_value()
    return shown.split(":", 1)[1]


@pytest.mark.integration
@pytest.mark.slow
def test_patient_quota_journey_and_clinician_history_pdf(server, tmp_path):
    base, store = server
    with chromium() as browser:
        # --- an anonymous visitor: the demo allowance (1 here), then "sign in"
        anon = browser.new_page(viewport={"width": 1366, "height": 900})
        anon.goto(base + "/spaces/breast_cancer/")
        anon.locator("#predict").wait_for(timeout=60_000)
        assert "0 of 1 free predictions left (one more every about 24 h)" in predict_once(anon)
        refused = predict_once(anon)
        assert "free demo predictions of the last 24 hours" in refused and "/signin" in refused
        screenshot(anon, "journey-anonymous-demo-used")

        # --- a patient: sign up, the meter, predict until the quota is used, the refusal, sign out
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        email = f"patient-{uuid.uuid4().hex[:6]}@example.org"
        sign_up(page, base, email, "user")
        assert "0 of 100" in page.locator("#quota-text").inner_text()
        screenshot(page, "journey-patient-account-new")
        with store.transaction() as s:  # a small quota keeps the journey short (as an admin could set)
            org = s.scalar(select(User.org_id).where(User.email == email))
            users.set_tier(s, org, "free", actor="test", monthly_quota=QUOTA)
        page.goto(base + "/spaces/breast_cancer/")
        page.locator("#predict").wait_for(timeout=60_000)
        for used in range(1, QUOTA + 1):
            shown = predict_once(page)
            assert f"{QUOTA - used} of {QUOTA} predictions left this month" in shown, shown
        screenshot(page, "journey-patient-space-last-prediction")
        refused = predict_once(page)
        assert "monthly quota of 3 predictions of the free tier is used up" in refused, refused
        page.wait_for_timeout(800)
        screenshot(page, "journey-patient-space-quota-refused")
        page.goto(base + "/account")
        assert f"{QUOTA} of {QUOTA}" in page.locator("#quota-text").inner_text()
        assert "0 left" in page.locator("#quota-text").inner_text()
        assert page.locator("#quota-meter").get_attribute("value") == str(QUOTA)
        assert "breast_cancer" in page.locator("#usage-table").inner_text()
        screenshot(page, "journey-patient-account-used-up")
        page.click("#signout")
        page.wait_for_url("**/signin**")
        screenshot(page, "journey-signed-out")
        page.goto(base + "/account")
        page.wait_for_url("**/signin**")

        # --- a clinician: sign up (unverified), history on, keep a Space prediction, its PDF from the history
        doc = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        sign_up(doc, base, f"dr-{uuid.uuid4().hex[:6]}@clinic.example", "clinician")
        assert "unverified" in doc.locator("#role").inner_text()
        doc.check("#keep-history")
        doc.click("#save-preferences")
        doc.locator("#form-ok").wait_for()
        doc.goto(base + "/spaces/breast_cancer/")
        doc.locator("#predict").wait_for(timeout=60_000)
        assert "kept in your history" in predict_once(doc)
        label = doc.locator("#prediction").inner_text()
        doc.goto(base + "/account")
        rows = doc.locator("#history-table tr")
        assert rows.count() == 2  # header + the kept prediction
        kept_label = rows.nth(1).locator("td").nth(3).inner_text()
        assert kept_label in label
        screenshot(doc, "journey-clinician-history")
        with doc.expect_download(timeout=30_000) as info:
            doc.locator("#history-table a.pdf").first.click()
        target = tmp_path / "kept.pdf"
        info.value.save_as(target)
        data = target.read_bytes()
        assert data.startswith(b"%PDF-")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert kept_label in text and "v1.0" in text and "not kept" in text


@pytest.mark.integration
@pytest.mark.slow
def test_admin_pages_and_offline_api_docs_in_the_browser(server):
    base, store = server
    with store.transaction() as s:
        org = users.create_org(s, name=f"Ops {uuid.uuid4().hex[:4]}", kind="platform")
        users.create_user(s, email=f"root-{uuid.uuid4().hex[:4]}@ops.example", password=PW, role="admin",
                          org_id=org.id)
        email = s.scalar(select(User.email).where(User.org_id == org.id))
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(base + "/signin")
        screenshot(page, "journey-signin")
        page.fill("#email", email)
        page.fill("#password", PW)
        page.click("#signin-submit")
        page.wait_for_url("**/account")
        page.goto(base + "/admin/people?q=ops.example")
        assert email in page.locator("#people").inner_text()
        screenshot(page, "admin-people")
        page.goto(base + "/admin/audit")
        assert "chain verified" in page.content() and "auth.login" in page.locator("#audit").inner_text()
        screenshot(page, "admin-audit")
        page.goto(base + "/admin/models")
        screenshot(page, "admin-models")
        # the assistant knows who is signed in on the portal: no API key needed
        page.goto(base + "/assistant/")
        box = page.locator("textarea").first
        box.wait_for(timeout=60_000)
        box.fill("How much of our quota is left this month?")
        box.press("Enter")
        reply = page.get_by_text("predictions on the").first
        reply.wait_for(timeout=180_000)
        assert "free" in reply.inner_text()
        screenshot(page, "assistant-signed-in")
        # Swagger UI and ReDoc render with no network: their files come from the installed package
        page.goto(base + "/docs")
        page.locator(".swagger-ui .info .title").wait_for(timeout=60_000)
        assert "MedHive" in page.locator(".swagger-ui .info .title").inner_text()
        screenshot(page, "api-docs")
        page.goto(base + "/redoc")
        page.get_by_text("/v1/models/{task}/predict").first.wait_for(timeout=60_000)
        screenshot(page, "api-redoc")
