"""The hospital console in headless Chromium: validate a data file (accepted and refused), grant consent,
see enrollment, and watch a training round appear without reloading (the timer refresh)."""

from __future__ import annotations

import re

import pytest

from federation.console import build_console
from federation.node_state import NodeState
from tests.federation.conftest import write_wdbc_csv
from tests.medhive.browser import chromium, free_port, screenshot

pytestmark = [pytest.mark.integration]


def test_console_in_a_browser(tmp_path, wdbc):
    from playwright.sync_api import expect

    x, y = wdbc
    good = write_wdbc_csv(tmp_path / "site" / "data.csv", x, y)
    bad = write_wdbc_csv(tmp_path / "site" / "with-names.csv", x[:250], y[:250],
                         extra={"patient_name": [f"Person {i}" for i in range(250)]})
    state = NodeState(tmp_path / "node")
    state.save_enrollment(hub="https://hub.example.org", node_id="n-1", org_id="0b7a3c1e-org", name="ward-7")
    demo = build_console(state.folder, tasks=["breast_cancer", "glaucoma"], refresh_seconds=1)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            expect(page.get_by_text("Enrolled as")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("0b7a3c1e-org")).to_be_visible()

            box = page.get_by_label("Data file or folder (CSV, image folders, WFDB records)")
            box.fill(str(bad))
            page.get_by_role("button", name="Validate").click()
            refused = page.get_by_text(re.compile("Refused"))
            expect(refused).to_be_visible(timeout=30_000)
            expect(page.get_by_text(re.compile("patient_name"))).to_be_visible()
            assert "Person 1" not in page.content()  # the column is named, never its values
            box.fill(str(good))
            page.get_by_role("button", name="Validate").click()
            expect(page.get_by_text(re.compile(r"Accepted.* for breast_cancer: 569 rows"))).to_be_visible(timeout=30_000)
            screenshot(page, "console-data")

            page.get_by_role("tab", name="Consent").click()
            page.get_by_label("Recorded by").fill("Data Protection Officer")
            page.get_by_role("button", name="Grant").click()
            expect(page.get_by_role("gridcell", name="Data Protection Officer")).to_be_visible(timeout=30_000)
            assert state.has_consent("breast_cancer")

            page.get_by_role("tab", name="Training and privacy").click()
            expect(page.get_by_text("No contributions yet.")).to_be_visible(timeout=30_000)
            # a round finishes on the node while the page is open: the console shows it without a reload
            state.record_contribution("breast_cancer", run="job-7", round_=1, samples=455, epsilon_round=0.75)
            expect(page.get_by_role("gridcell", name="job-7")).to_be_visible(timeout=30_000)
            expect(page.get_by_text(re.compile(r"epsilon spent \d"))).to_be_visible()
            screenshot(page, "console-training")
    finally:
        demo.close()
