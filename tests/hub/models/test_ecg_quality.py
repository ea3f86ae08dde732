"""ECG signal quality: unusable signals are refused as out of distribution before any beat is labelled;
no MIT-BIH record here (nor any 10 s window of one) is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hub.errors import OutOfDistributionError
from hub.models import _ecg_signal as sig
from hub.models._ecg_quality import signal_issue
from hub.models.ecg import TASK


def _record(shared_data: Path, name: str = "100") -> np.ndarray:
    x, fs, _ = sig.read_wfdb(shared_data / "mitbih" / f"{name}.hea")
    return sig.to_fs(x, fs)


@pytest.fixture
def real(shared_data) -> np.ndarray:
    return _record(shared_data, "101")[: 60 * sig.FS]


def _refused(x: np.ndarray, fragment: str) -> None:
    with pytest.raises(OutOfDistributionError) as info:
        TASK.prepare(x, fs=sig.FS)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_flat_signal_and_lead_off(real):
    _refused(np.zeros_like(real), "flat signal")
    lead_off = real.copy()
    lead_off[: len(real) // 3] = lead_off[0]  # a third of the minute at one value: electrode off
    _refused(lead_off, "flat signal")


def test_clipped_signal(real):
    lo, hi = np.quantile(real, [0.05, 0.95])  # an amplifier saturating at a tenth of the excursions
    _refused(np.clip(real, lo, hi), "clipped signal")


def test_noise_and_noise_on_a_real_signal(real):
    rng = np.random.default_rng(0)
    _refused(rng.normal(0, 1, len(real)), "noise")
    _refused(real + rng.normal(0, 3 * real.std(), len(real)), "noise")


def test_implausible_heart_rate(real):
    # one beat of the record every 4 s (15 bpm): keep 0.8 s around each 4th-second mark, the rest baseline
    peaks = sig.detect_r_peaks(real)
    slow = np.full_like(real, np.median(real)) + np.random.default_rng(1).normal(0, 0.01, len(real))
    for p in peaks[np.diff(np.concatenate([[-10**9], peaks // (4 * sig.FS)])) > 0]:
        slow[max(p - 100, 0): p + 190] = real[max(p - 100, 0): p + 190]
    assert signal_issue(slow, sig.FS, sig.detect_r_peaks(slow)) is not None
    _refused(slow, "implausible heart rate")


def test_no_real_record_or_window_is_refused(shared_data):
    for hea in sorted((shared_data / "mitbih").glob("*.hea")):
        if hea.stem in ("102", "104"):  # no MLII lead; their V5 is read with lead="V5"
            x, fs, _ = sig.read_wfdb(hea, lead="V5")
            x = sig.to_fs(x, fs)
        else:
            x = _record(shared_data, hea.stem)
        assert signal_issue(x, sig.FS, sig.detect_r_peaks(x)) is None, hea.stem
        for start in range(0, len(x) - 10 * sig.FS, 5 * 60 * sig.FS):
            w = x[start: start + 10 * sig.FS]
            assert signal_issue(w, sig.FS, sig.detect_r_peaks(w)) is None, (hea.stem, start)
