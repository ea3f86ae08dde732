"""The portal in a real browser (headless Debian Chromium via Playwright): the marketplace, each Space
opened from its card, one prediction each, the PDF report downloaded and checked. Screenshots go to
artifacts/screenshots/."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from hub.models import get_task, task_names
from medhive.cli import open_registry
from medhive.server import create_app
from medhive.settings import get_settings
from tests.medhive.browser import chromium, screenshot, serve_in_thread

TASKS = ("breast_cancer", "pneumonia", "glaucoma", "ecg")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("MEDHIVE_HOME", str(tmp_path_factory.mktemp("browser-home")))
    settings = get_settings()
    try:
        with serve_in_thread(create_app(settings, registry=open_registry(settings))) as url:
            yield url
    finally:
        mp.undo()


def test_portal_cards_nav_history_chart_and_mounted_spaces(tmp_path):
    settings = get_settings()
    registry = open_registry(settings)
    app = create_app(settings, registry=registry)
    from hub.registry import Lineage

    net = get_task("pneumonia").build_network()
    registry.publish("pneumonia", net, metrics={"roc_auc": 0.93, "accuracy": 0.9}, alias="candidate",
                     lineage=Lineage(parent="v1.0", source="federated", rounds=3, hospitals=4))
    client = TestClient(app)
    page = client.get("/").text
    for task in TASKS:
        assert f"id='card-{task}'" in page and f"href='/spaces/{task}/'" in page and get_task(task).title in page
        assert client.get(f"/spaces/{task}/").status_code == 200
    assert "Not a diagnosis: for use under clinical review." in page and "href='/docs'" in page
    registered = {e["label"]: e["href"] for e in getattr(app.state, "portal_nav", None) or []}
    for label in ("Assistant", "Hospitals", "Admin"):  # a link once a mount registers it, "soon" until then
        expected = (f"<a href='{registered[label]}'>{label}</a>" if label in registered
                    else f"{label}<small>soon</small>")
        assert expected in page
    pneumonia = page.split("id='card-pneumonia'")[1].split("</article>")[0]
    assert "v1.0</text>" in pneumonia and "v1.1</text>" in pneumonia and "2 versions" in pneumonia
    assert "public-data baseline" in pneumonia  # production is still the baseline; v1.1 is a candidate
    registry.promote("pneumonia", "v1.1")
    pneumonia = client.get("/").text.split("id='card-pneumonia'")[1].split("</article>")[0]
    assert "v1.1 (production)" in pneumonia and "4 hospitals" in pneumonia
    # a later view registers its nav entry and the reserved place becomes a link
    app.state.portal_nav = [*registered_entries(app), {"label": "Assistant", "href": "/assistant"}]
    assert "<a href='/assistant'>Assistant</a>" in client.get("/").text


def registered_entries(app) -> list[dict]:
    return [e for e in getattr(app.state, "portal_nav", None) or [] if e["label"] != "Assistant"]


def give_input(page, task: str) -> None:
    if task == "breast_cancer":
        page.click("#load-example")
        page.wait_for_function(
            "() => [...document.querySelectorAll('.medhive-field input')].every(i => i.value !== '')", timeout=30_000)
    elif task in ("pneumonia", "glaucoma"):
        example = get_task(task).example_inputs()[0]
        page.locator("#image-input input[type=file]").set_input_files(str(example))
        page.locator("#image-input img").first.wait_for(timeout=30_000)
    # ecg: the example record is selected by default


@pytest.mark.integration
@pytest.mark.slow
def test_portal_marketplace_spaces_and_pdf(base_url, tmp_path):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        page.goto(base_url + "/")
        cards = page.locator("article.card")
        assert cards.count() == len(task_names())  # every task of the catalog has a card
        for task in TASKS:
            card = page.locator(f"#card-{task}")
            assert get_task(task).title in card.inner_text() and "v1.0" in card.inner_text()
            assert card.locator("svg").count() == 1  # version-history chart
        assert page.get_by_role("link", name="API docs").get_attribute("href") == "/docs"
        for reserved in ("Assistant", "Hospitals", "Admin"):
            assert page.locator("nav").get_by_text(reserved).count() == 1
        screenshot(page, "portal")

        for task in TASKS:
            page.goto(base_url + "/")
            page.locator(f"#card-{task} a.open").click()
            page.wait_for_url(f"**/spaces/{task}/**")
            page.locator("#predict").wait_for(timeout=60_000)
            give_input(page, task)
            page.click("#predict")
            page.locator("#pdf-report").first.wait_for(state="visible", timeout=90_000)
            label = page.locator("#prediction").inner_text()
            assert any(lab in label for lab in get_task(task).labels), label
            assert "Not a diagnosis" in page.content()
            screenshot(page, f"space-{task}")
            with page.expect_download(timeout=30_000) as info:
                page.locator("#pdf-report").first.click()
            target = tmp_path / f"{task}.pdf"
            info.value.save_as(target)
            data = target.read_bytes()
            assert data.startswith(b"%PDF-"), f"{task}: the download is not a PDF"
            text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
            assert get_task(task).title in text and "version v1.0" in text
            if task == "breast_cancer":  # a value out of range: one readable message, no trace
                page.locator(".medhive-field input").first.fill("500")
                page.click("#predict")
                message = page.get_by_text("outside the valid range").first
                message.wait_for(timeout=30_000)
                assert "Traceback" not in page.content()
                page.wait_for_timeout(800)  # let the message finish fading in for the screenshot
                screenshot(page, "space-breast_cancer-bad-input")
