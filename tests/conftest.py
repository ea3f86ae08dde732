"""Shared fixtures: an isolated MEDHIVE_HOME per test and the location of the real data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MEDHIVE_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real public data sets); tests that need it skip with the reason when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data sets not found at {SHARED_DATA} (CI always has them)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def medhive_home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own MEDHIVE_HOME so nothing touches ~/.medhive."""
    home = tmp_path / "medhive-home"
    monkeypatch.setenv("MEDHIVE_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home
