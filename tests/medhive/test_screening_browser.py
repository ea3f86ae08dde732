"""Screening and the marketplace filter in a real browser (headless Debian Chromium via Playwright), on a
server with the /v1 API, the screening page and the portal mounted. Screenshots go to artifacts/screenshots/."""

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
    from medhive.mounts import api, screening, zz_portal

    mp = pytest.MonkeyPatch()
    mp.setenv("MEDHIVE_HOME", str(tmp_path_factory.mktemp("screen-home")))
    try:
        settings = get_settings()
        registry = settings.open_registry()
        seed_baselines(registry)
        app = FastAPI()
        for m in (api, screening, zz_portal):  # the Gradio Spaces are not needed here
            m.mount(app, settings=settings, registry=registry)
        with serve_in_thread(app) as url:
            yield url
    finally:
        mp.undo()


def api_key(base_url: str) -> tuple[str, dict[str, str]]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        email = "screening@clinic.example"
        assert c.post("/v1/auth/signup", json={"email": email, "password": PW, "account_type": "enterprise",
                                                "organization": "Clinic"}).status_code == 201
        token = c.post("/v1/auth/login", json={"email": email, "password": PW}).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        key = c.post("/v1/keys", json={"name": "browser"}, headers=bearer).json()["key"]
    return key, bearer


def example(task: str) -> dict[str, str]:
    t = get_task(task)
    path = next(p for p in t.example_inputs() if "missing" not in p.name)
    with open(path, newline="") as fh:
        return next(csv.DictReader(fh))


@pytest.mark.integration
def test_marketplace_filters_and_screening_page(base_url, tmp_path):
    key, bearer = api_key(base_url)
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

        page.goto(base_url + "/screening")
        page.fill("#credential", key)
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
        used = {r.get_attribute("data-task") for r in page.locator(".result").all()}
        assert used == {"heart_disease", "diabetes"}
        skipped = page.locator(".skipped").inner_text()
        assert "Parkinson" in skipped and "needs" in skipped
        assert "Billed: 2 prediction(s)" in page.content()
        assert page.locator("#pdf").get_attribute("href").startswith("data:application/pdf;base64,JVBER")
        page.wait_for_timeout(300)
        screenshot(page, "screening-results")
        # a value out of range: one readable message naming the field, no other value, nothing billed
        page.fill("[data-key=age]", "300")
        page.click("#screen")
        page.locator("#error").filter(has_text="age").wait_for(timeout=30_000)
        message = page.locator("#error").inner_text()
        assert "outside every model's valid range" in message and diabetes["BMI"] not in message
        screenshot(page, "screening-bad-input")
    usage = httpx.get(base_url + "/v1/usage", headers=bearer, timeout=30).json()
    assert usage["predictions"] == 2
