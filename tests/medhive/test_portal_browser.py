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
SERVER_HOME: list[str] = []  # the MEDHIVE_HOME of the module's server (each test has its own otherwise)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    SERVER_HOME[:] = [str(tmp_path_factory.mktemp("browser-home"))]
    mp.setenv("MEDHIVE_HOME", SERVER_HOME[0])
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
        violations = watch_csp(page)
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
        assert violations == [], violations[:3]  # the whole flow ran under the Content-Security-Policy


def watch_csp(page) -> list[str]:
    """Collects Content-Security-Policy violations the page reports (console errors and page errors)."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: found.append(str(e)) if "Content Security Policy" in str(e) else None)
    return found


@pytest.mark.integration
def test_security_headers_and_the_admin_page_under_the_csp(base_url):
    import httpx

    for path in ("/", "/admin", "/spaces/breast_cancer/"):
        r = httpx.get(base_url + path, timeout=30)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp, path
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "SAMEORIGIN"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    api = httpx.get(base_url + "/health", timeout=30)
    assert api.headers["x-content-type-options"] == "nosniff" and "content-security-policy" not in api.headers

    from typer.testing import CliRunner

    from medhive.cli import app as cli

    made = CliRunner().invoke(cli, ["accounts", "create-admin", "root@medhive.example"],
                              env={"MEDHIVE_ADMIN_PASSWORD": "a long admin passphrase", "MEDHIVE_HOME": SERVER_HOME[0]})
    assert made.exit_code == 0, made.output
    with chromium() as browser:
        page = browser.new_page()
        violations = watch_csp(page)
        page.goto(base_url + "/admin")
        page.fill("#email", "root@medhive.example")
        page.fill("#password", "a long admin passphrase")
        page.click("#login button")
        # the inline script ran and fetched /v1/admin: the verification status or an error is shown
        page.wait_for_function("() => document.getElementById('verify').textContent"
                               " || document.getElementById('err').textContent", timeout=30_000)
        shown = page.locator("#verify").inner_text() + " | " + page.locator("#err").inner_text()
        assert shown.startswith("verified"), shown
        screenshot(page, "admin-under-csp")
        assert violations == [], violations[:3]
        # a page of another origin may not frame the portal (frame-ancestors / X-Frame-Options)
        other = browser.new_page()
        blocked: list[str] = []
        other.on("console", lambda m: blocked.append(m.text))
        other.set_content(f"<iframe id='f' src='{base_url}/'></iframe>")
        other.wait_for_function("() => document.getElementById('f').contentWindow", timeout=10_000)
        other.wait_for_timeout(1500)  # the frame's navigation settles (refused: nothing renders)
        assert other.frame_locator("#f").locator("article.card").count() == 0
        assert any("frame-ancestors" in m or "X-Frame-Options" in m for m in blocked), blocked[:3]
        # the same origin still may (the Spaces embed their own pages)
        page.set_content(f"<iframe id='f' src='{base_url}/'></iframe>")
        page.frame_locator("#f").locator("article.card").first.wait_for(timeout=30_000)

