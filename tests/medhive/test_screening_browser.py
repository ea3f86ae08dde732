"""Screening and the marketplace filter in a real browser (headless Debian Chromium via Playwright), on a
server with the /v1 API, the portal's account pages, the screening page and the marketplace mounted. The
screening page is a signed-in portal page (session cookie + CSRF field), billed to the person's own
account. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import csv

import httpx
import pytest

from hub.models import get_task
from medhive.settings import get_settings
from tests.medhive.browser import chromium, screenshot, serve_in_thread

PW = "correct horse battery staple"


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    from fastapi import FastAPI

    from hub.registry.seed import seed_baselines
    from medhive.mounts import api, portal_accounts, screening, zz_portal

    mp = pytest.MonkeyPatch()
    mp.setenv("MEDHIVE_HOME", str(tmp_path_factory.mktemp("screen-home")))
    try:
        settings = get_settings()
        registry = settings.open_registry()
        seed_baselines(registry)
        app = FastAPI()
        for m in (api, screening, portal_accounts, zz_portal):  # the Gradio Spaces are not needed here
            m.mount(app, settings=settings, registry=registry)
        with serve_in_thread(app) as url:
            yield url
    finally:
        mp.undo()


def sign_up(page, base_url: str, email: str) -> None:
    """A clinician signs up through the portal's own form: the browser then holds the session cookie."""
    page.goto(base_url + "/signup")
    page.check("#type-clinician")
    page.fill("#email", email)
    page.fill("#password", PW)
    page.click("#signup-submit")
    page.wait_for_url("**/account")


def bearer(base_url: str, email: str) -> dict[str, str]:
    token = httpx.post(base_url + "/v1/auth/login", json={"email": email, "password": PW}, timeout=60).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def example(task: str) -> dict[str, str]:
    t = get_task(task)
    path = next(p for p in t.example_inputs() if "missing" not in p.name)
    with open(path, newline="") as fh:
        return next(csv.DictReader(fh))


def test_the_screening_page_needs_a_session_and_its_form_needs_the_csrf_field(base_url):
    with httpx.Client(base_url=base_url, timeout=60) as c:
        r = c.get("/screening")
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/screening"
        r = c.post("/screening", data={"age": "61"})  # a cross-site post: no CSRF field, nothing read or billed
        assert r.status_code == 403 and "Form refused" in r.text


@pytest.mark.integration
def test_marketplace_filters_and_screening_page(base_url, tmp_path):
    email = "screening@clinic.example"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(base_url + "/")
        total = page.locator("article.card").count()
        assert total >= 8
        page.select_option("#filter-body", "cardiovascular")
        page.click("#apply-filters")
        page.wait_for_url("**body=cardiovascular**")
        shown = {a.get_attribute("id") for a in page.locator("article.card").all()}
        assert shown == {"card-heart_disease", "card-ecg"}
        assert f"2 of {total} models" in page.locator("#card-count").inner_text()
        heart = page.locator("#card-heart_disease").inner_text()
        assert "v1.0 (production)" in heart and "0 hosp." in heart  # version history with hospitals per version
        screenshot(page, "marketplace-filter-cardiovascular")
        page.goto(base_url + "/?q=voice")
        assert [a.get_attribute("id") for a in page.locator("article.card").all()] == ["card-parkinsons"]
        page.goto(base_url + "/?hospitals=1")  # no federated version yet: nothing has hospitals
        assert page.locator("article.card").count() == 0 and "none match" in page.locator("#card-count").inner_text()

        sign_up(page, base_url, email)
        page.goto(base_url + "/screening")
        billing = page.locator("#billing").inner_text()
        assert email in billing and "one prediction" in billing  # whose units a screening spends, before it runs
        assert page.locator("#credential").count() == 0  # the session, not a pasted key
        heart, diabetes = example("heart_disease"), example("diabetes")
        for section in ("heart_disease", "diabetes"):  # each model's own fields are in a collapsed section
            page.locator(f"details[data-task={section}] summary").click()
        for col, value in heart.items():  # the heart example's columns are the form's keys (age is shared)
            box = page.locator(f"[data-key='{col}']")
            if box.evaluate("e => e.tagName") == "SELECT":
                box.select_option(value)
            else:
                box.fill(value)
        for col in ("pregnancies", "plasma glucose (2 h OGTT)", "BMI", "diabetes pedigree function"):
            page.fill(f"[data-key='{col}']", diabetes[col])
        page.click("#screen")
        page.locator(".result[data-task=diabetes]").wait_for(timeout=120_000)
        assert page.url.split("#")[0] == base_url + "/screening"  # a POST: the values never go into the URL
        used = {r.get_attribute("data-task") for r in page.locator(".result").all()}
        assert used == {"heart_disease", "diabetes"}
        skipped = page.locator(".skipped").inner_text()
        assert "Parkinson" in skipped and "needs" in skipped
        # a skipped model's long list of fields is folded: one short line each, the answers stay in view
        assert all(len(li.inner_text()) < 140 for li in page.locator(".skipped li").all())
        assert "Billed: 2 prediction(s)" in page.locator("#billed").inner_text()
        assert page.locator("#pdf").get_attribute("href").startswith("data:application/pdf;base64,JVBER")
        with page.expect_download() as download:  # one PDF for all the models used
            page.click("#pdf")
        pdf = download.value.path().read_bytes()
        assert pdf.startswith(b"%PDF") and download.value.suggested_filename == "medhive-screening.pdf"
        # the form kept the values (a clinician corrects one and screens again) and the sections that hold them
        assert page.locator("[data-key='serum cholesterol']").input_value() == heart["serum cholesterol"]
        assert page.locator("details[data-task=diabetes]").get_attribute("open") is not None
        screenshot(page, "screening-results")
        # a value out of range: one readable message naming the field, no other value, nothing billed
        page.fill("[data-key=age]", "300")
        page.click("#screen")
        page.locator("#error").filter(has_text="age").wait_for(timeout=30_000)
        message = page.locator("#error").inner_text()
        assert "outside every model's valid range" in message and diabetes["BMI"] not in message
        assert page.locator(".result").count() == 0 and page.locator("[data-key=age]").input_value() == "300"
        screenshot(page, "screening-bad-input")
    usage = httpx.get(base_url + "/v1/usage", headers=bearer(base_url, email), timeout=30).json()
    assert usage["predictions"] == 2  # the signed-in clinician's own account: one per model used, once
