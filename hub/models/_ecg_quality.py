"""Is an ECG usable? Signal-quality checks run on the whole record before any beat is classified.

A beat classifier judges beats, not recordings: a flat lead, a saturated amplifier, a trace of noise or
a heart rate no human has would still be cut into "beats" and labelled. Each check here refuses such a
signal with its reason (never its values). Thresholds were set so that none of the 26 MIT-BIH records
here, nor any 10 s window of them, is refused (tests/hub/models/test_ecg_quality.py measures that):

- flat: no amplitude at all, or more than a fifth of the record without any change for >= 1 s;
- clipped: more than 2% of samples sit exactly on the record's minimum or maximum (a saturated input);
- noise: more than half the signal's power (0.5 Hz upwards) lies above 40 Hz, where an ECG has little;
- rate: the detected heart rate is below 20 or above 300 beats per minute.
"""

from __future__ import annotations

import numpy as np

RATE_RANGE = (20.0, 300.0)
CLIPPED_SHARE = 0.02
FLAT_SHARE = 0.2
NOISE_SHARE = 0.5


def _flat_share(x: np.ndarray, fs: float) -> float:
    """Share of samples in runs of >= 1 s without any change."""
    same = np.concatenate([[False], np.diff(x) == 0])
    edges = np.flatnonzero(np.diff(np.concatenate([[0], same.astype(np.int8), [0]])))
    runs = edges[1::2] - edges[::2]
    return float(runs[runs >= fs].sum() / max(len(x), 1))


def _hf_share(x: np.ndarray, fs: float) -> float:
    """Share of the power above 0.5 Hz that lies above 40 Hz (Welch periodogram)."""
    from scipy.signal import butter, sosfiltfilt, welch  # on use: task modules import light

    hp = sosfiltfilt(butter(2, 0.5, btype="high", fs=fs, output="sos"), x)
    f, p = welch(hp, fs=fs, nperseg=min(len(hp), int(4 * fs)))
    total = p[f >= 0.5].sum()
    return float(p[f > 40.0].sum() / total) if total > 0 else 0.0


def signal_issue(x: np.ndarray, fs: float, peaks: np.ndarray | None = None) -> str | None:
    """Why the signal cannot be judged, or None. `peaks`: detected R peaks (for the rate check)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0 or float(np.ptp(x)) < 1e-6:
        return "flat signal: no heartbeats can be detected"
    flat = _flat_share(x, fs)
    if flat > FLAT_SHARE:
        return f"flat signal: {flat:.0%} of the record does not change for a second or more (lead off?)"
    clipped = float(np.mean((x == x.max()) | (x == x.min())))
    if clipped > CLIPPED_SHARE:
        return f"clipped signal: {clipped:.0%} of samples sit at the amplifier's limits"
    noise = _hf_share(x, fs)
    if noise > NOISE_SHARE:
        return f"noise: {noise:.0%} of the signal's power is above 40 Hz, where an ECG has little"
    if peaks is not None and len(peaks) >= 3:
        rate = 60.0 * fs / float(np.median(np.diff(peaks)))
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            return f"implausible heart rate ({rate:.0f} bpm detected; {RATE_RANGE[0]:g}-{RATE_RANGE[1]:g} expected)"
    return None
