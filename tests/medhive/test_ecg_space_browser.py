"""The ECG Space in headless Chromium: the result reads as a record (summary headline, 10 s strip), and
the class-stepping and strip buttons move the selected beat."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest
from PIL import Image

from tests.medhive.browser import chromium, free_port, screenshot

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ecg_space():
    demo = runpy.run_path(str(REPO / "spaces" / "ecg" / "app.py"), run_name="space")["demo"]
    from medhive.ui import launch_options

    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=free_port(),
                **launch_options())
    try:
        yield demo.local_url
    finally:
        demo.close()


def _selected(page) -> str:
    return page.locator("#beat-choice input").input_value()


@pytest.mark.integration
def test_ecg_space_headline_is_the_record_and_the_strip_is_readable(ecg_space):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 1000})
        page.goto(ecg_space)
        page.locator("#predict").wait_for(timeout=60_000)
        page.click("#predict")  # the example record is selected by default
        page.locator("#pdf-report").first.wait_for(state="visible", timeout=120_000)
        headline = page.locator("#record-summary").inner_text()
        assert re.search(r"Record: \d+ beats, \d+% not classed as normal", headline), headline
        assert "Beats per class:" in headline and "Rhythm: median rate" in headline
        strip = page.locator("#ecg-trace img").first
        strip.wait_for(timeout=30_000)
        path = screenshot(page, "space-ecg-record")
        assert Image.open(path).size[0] >= 1300
        # step to the next beat of class N, then move the strip 10 s on: the selection follows
        page.locator("#step-class input").click()
        page.get_by_role("option", name="N", exact=True).click()
        page.click("#class-next")
        page.wait_for_function("() => /: N \\d+%$/.test(document.querySelector('#beat-choice input').value)",
                               timeout=120_000)
        first = _selected(page)
        page.click("#strip-forward")
        page.wait_for_function(f"() => document.querySelector('#beat-choice input').value !== {first!r}"
                               " && /\\d+%$/.test(document.querySelector('#beat-choice input').value)", timeout=120_000)
        later = _selected(page)
        t0, t1 = (float(re.search(r"at ([\d.]+) s", v).group(1)) for v in (first, later))
        assert 8.0 <= t1 - t0 <= 12.0, (first, later)
        page.locator("#pdf-report").first.wait_for(state="visible", timeout=120_000)
        screenshot(page, "space-ecg-stepped")
