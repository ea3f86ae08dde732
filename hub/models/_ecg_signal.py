"""Signal processing for the ECG task: reading one lead, resampling, R-peak detection, beat features.

Everything works on one lead at `FS` = 360 Hz (the MIT-BIH rate); other rates are resampled with a
polyphase filter. The R-peak detector follows Pan & Tompkins (IEEE TBME 1985): 5-15 Hz band-pass,
derivative, squaring, 150 ms moving-window integration, adaptive signal / noise thresholds, T-wave
rejection and search-back. Detected and annotated peaks are both "snapped" to the largest deflection of
the band-passed signal, so beat windows are aligned the same way in training (annotations) and at
inference (detector).

Beat features are a morphology window around the R peak, normalised by the record's typical QRS
amplitude, followed by RR-interval features divided by the record's median RR: inter-patient beat
classification depends on comparing a beat with the same patient's rhythm, not with absolute numbers.
"""

from __future__ import annotations

import csv
import io
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInputError

FS = 360
MIN_SECONDS = 10.0
MAX_SECONDS = 2 * 3600.0
FS_RANGE = (50.0, 2000.0)
# beat window: 0.25 s before and 0.4 s after the R peak, kept at 180 Hz (the 0.5-40 Hz band-pass
# leaves nothing above 90 Hz, so taking every second sample loses no information)
BEFORE, AFTER, STEP = 90, 144, 2
WINDOW = (BEFORE + AFTER) // STEP
RR_FEATURES = ("pre_rr/median", "post_rr/median", "local_rr/median", "pre_rr/local_rr", "post_rr/pre_rr",
               "post_rr/local_rr", "prev_rr/local_rr", "pre_rr/centred_rr", "1+rr_irregularity")
# how a beat compares with the record's typical (median) beat: correlation and relative amplitude of the
# whole window, then of its P-wave, QRS and ST-T segments, the QRS width and the overall difference
TEMPLATE_FEATURES = ("template_corr", "ptp/template_ptp", "p_corr", "p_energy/template", "qrs_corr",
                     "qrs_width/template", "t_corr", "1+diff_rms/template_rms")
SCALARS = RR_FEATURES + TEMPLATE_FEATURES
N_SCALARS = len(SCALARS)
# the window enters twice: the beat itself and its difference from the record's median beat
N_CHANNELS = 2
# AAMI EC57 beat classes from MIT-BIH annotation symbols
AAMI = {**dict.fromkeys("NLRej", "N"), **dict.fromkeys("AaJS", "S"), **dict.fromkeys("VE", "V"), "F": "F",
        **dict.fromkeys("/fQ", "Q")}
# leads accepted without asking, in order of preference: the training lead, then its 12-lead cousin
_PREFERRED_LEADS = ("mlii", "ml2", "ii")
# CSV columns that are time axes, not signals
_TIME_COLUMNS = {"time", "t", "time_s", "seconds", "sec", "s", "sample", "samples", "index", "idx", "ms"}


def _lead_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


# what a lead's name looks like (MLII, II, aVR, V1, "lead 2", "ch1", "ECG", "column 3"...). Only names of this
# shape are ever repeated in an error: a CSV whose first line is not a header of lead names (a watch export's
# "Name,Jane Doe") would otherwise put a patient's details into the message.
_LEAD_NAME = re.compile(r"(ml)?(i{1,3}|v\d{0,2}|a?v[rlf]|(lead|ch|channel|ecg|signal|column|sig)\d{0,2}|ecg|mlii)")


def shown_name(name: str, position: int) -> str:
    """A lead's name as a message or a result may show it: a lead-like name as is, any other by its 1-based
    position."""
    return str(name) if _LEAD_NAME.fullmatch(_lead_key(name)) else f"{position} (unnamed)"


def _shown(names: list[str]) -> str:
    return ", ".join(shown_name(n, k + 1) for k, n in enumerate(names))


def choose_lead(names: list[str], lead: str | None) -> int:
    """Index of the lead to use: `lead` (a name, or a 1-based position among the leads) if given, else MLII
    (or II); else an error listing the choices."""
    keys = [_lead_key(n) for n in names]
    if lead is not None:
        if _lead_key(lead) in keys:
            return keys.index(_lead_key(lead))
        if str(lead).strip().isdigit() and 1 <= int(lead) <= len(names):
            return int(lead) - 1
        raise InvalidInputError(f"lead {str(lead)[:20]!r} not found; available leads: {_shown(names)}")
    if len(names) == 1:
        return 0
    for want in _PREFERRED_LEADS:
        if want in keys:
            return keys.index(want)
    raise InvalidInputError(f"several leads and none is MLII; choose one with lead= (available: {_shown(names)})")


def check_fs(fs: Any) -> float:
    try:
        value = float(fs)
    except (TypeError, ValueError):
        raise InvalidInputError(f"sampling rate must be a number in Hz, got {str(fs)[:20]!r}") from None
    if not np.isfinite(value) or not FS_RANGE[0] <= value <= FS_RANGE[1]:
        raise InvalidInputError(f"sampling rate {value:g} Hz is outside the accepted {FS_RANGE[0]:g}..{FS_RANGE[1]:g} Hz")
    return value


def to_fs(signal: np.ndarray, fs: float) -> np.ndarray:
    """Validate a 1-D signal at `fs` Hz and resample it to `FS`; `InvalidInputError` on bad input."""
    fs = check_fs(fs)
    x = np.asarray(signal)
    if x.ndim != 1:
        raise InvalidInputError(f"expected one lead (a 1-D signal), got an array of shape {x.shape}")
    try:
        x = x.astype(np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError("signal contains non-numeric values") from None
    if not np.isfinite(x).all():
        raise InvalidInputError(f"signal contains {int((~np.isfinite(x)).sum())} NaN or infinite sample(s)")
    seconds = len(x) / fs
    if seconds < MIN_SECONDS:
        raise InvalidInputError(f"signal is too short: {seconds:.1f} s; at least {MIN_SECONDS:g} s are needed")
    if seconds > MAX_SECONDS:
        raise InvalidInputError(f"signal is too long: {seconds / 60:.0f} min; at most {MAX_SECONDS / 60:g} min per input")
    if fs != FS:
        from scipy.signal import resample_poly  # scipy.signal costs ~0.3 s to import: only when used

        ratio = Fraction(fs / FS).limit_denominator(1000)
        x = resample_poly(x, ratio.denominator, ratio.numerator)
    return x


# ----- reading ----------------------------------------------------------------------------------------
def read_wfdb(path: Path, lead: str | None = None) -> tuple[np.ndarray, float, str]:
    """One lead of a WFDB record (given as .hea, .dat or base path): (samples in mV, fs, lead name)."""
    import wfdb

    base = path.with_suffix("") if path.suffix.lower() in (".hea", ".dat", ".atr") else path
    if not base.with_suffix(".hea").is_file():
        raise InvalidInputError(f"file not found: {base.name}.hea (a WFDB record needs its .hea header)")
    try:
        header = wfdb.rdheader(str(base))
    except Exception:  # wfdb raises bare ValueErrors and friends on malformed headers
        raise InvalidInputError(f"{base.name}.hea is not a readable WFDB header") from None
    names = list(header.sig_name or [])
    if not names:
        raise InvalidInputError(f"{base.name}.hea describes no signals")
    idx = choose_lead(names, lead)
    try:
        rec = wfdb.rdrecord(str(base), channels=[idx], physical=True)
    except FileNotFoundError:
        raise InvalidInputError(f"signal file of WFDB record {base.name} not found") from None
    except Exception:
        raise InvalidInputError(
            f"WFDB record {base.name} could not be read (signal file shorter than its header says, or corrupt)"
        ) from None
    x = np.asarray(rec.p_signal[:, 0], dtype=np.float64)
    unit = (rec.units or ["mV"])[0].lower()
    if unit in ("uv", "µv", "μv"):
        x = x / 1000.0
    return x, float(rec.fs), shown_name(names[idx], idx + 1)


def _comment_fs(line: str) -> float | None:
    m = re.search(r"(?:fs|sampling[_ ]?rate|sample[_ ]?rate|frequency|hz)\s*[:=]\s*([0-9.eE+\-]+)", line, re.I)
    return float(m.group(1)) if m else None


def read_csv_signal(path: Path, fs: Any = None, lead: str | None = None) -> tuple[np.ndarray, float, str]:
    """One lead from a CSV of samples: (samples, fs, lead name). fs from the option or a `# fs=...` line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInputError(f"file not found: {path.name}") from None
    except (UnicodeDecodeError, OSError):
        raise InvalidInputError(f"{path.name} is not a readable text CSV file") from None
    lines = text.splitlines()
    comment_fs, body = None, []
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            comment_fs = comment_fs or _comment_fs(line)
        elif line.strip():
            body.append((number, line))
    if not body:
        raise InvalidInputError(f"{path.name} contains no samples")
    first = body[0][1]
    try:
        dialect = csv.Sniffer().sniff(first if "," in first or ";" in first or "\t" in first else "a,b",
                                      delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in body)), delimiter=delim))
    try:
        [float(v) for v in rows[0]]
        names = ["ecg"] if len(rows[0]) == 1 else [f"column {i + 1}" for i in range(len(rows[0]))]
        start = 0
    except ValueError:
        names, start = [c.strip() for c in rows[0]], 1
    keep = [i for i, n in enumerate(names) if _lead_key(n) not in _TIME_COLUMNS]
    if not keep:
        raise InvalidInputError(f"{path.name} has no signal column (only time/index columns)")
    col = keep[choose_lead([names[i] for i in keep], lead)]
    values = np.empty(len(rows) - start, dtype=np.float64)
    for k, row in enumerate(rows[start:]):
        if len(row) != len(names):
            raise InvalidInputError(f"malformed CSV: line {body[k + start][0]} has {len(row)} column(s), expected {len(names)}")
        try:
            values[k] = float(row[col])
        except ValueError:
            raise InvalidInputError(f"non-numeric sample on line {body[k + start][0]} of {path.name}") from None
    rate = fs if fs is not None else comment_fs
    if rate is None:
        raise InvalidInputError(
            f"the sampling rate of {path.name} is needed: pass fs= (Hz) or start the file with a line '# fs=360'"
        )
    return values, check_fs(rate), shown_name(names[col], keep.index(col) + 1)


# ----- filtering and R peaks -----------------------------------------------------------------------
def bandpass(x: np.ndarray, low: float = 0.5, high: float = 40.0, fs: float = FS) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [low, high], btype="band", fs=fs, output="sos")
    return sosfiltfilt(sos, x)


def snap_peaks(filtered: np.ndarray, positions: np.ndarray, radius: int = 18) -> np.ndarray:
    """Move each position to the largest |deflection| within `radius` samples (50 ms at 360 Hz)."""
    pos = np.asarray(positions, dtype=np.int64)
    if len(pos) == 0:
        return pos
    offsets = np.arange(-radius, radius + 1)
    idx = np.clip(pos[:, None] + offsets[None, :], 0, len(filtered) - 1)
    return idx[np.arange(len(pos)), np.abs(filtered[idx]).argmax(axis=1)]


def detect_r_peaks(signal: np.ndarray, fs: int = FS, factor: float = 0.25) -> np.ndarray:
    """R-peak sample indices of a 1-D signal at `fs` Hz (Pan-Tompkins style, see the module docstring).

    `factor` places the threshold between the noise and signal levels; 0.25 (Pan & Tompkins) measured
    best over DS1: 0.15 finds a few more low-amplitude aberrant beats but doubles false detections.
    """
    from scipy.signal import butter, find_peaks, sosfiltfilt

    x = np.asarray(signal, dtype=np.float64)
    if len(x) < fs:
        return np.zeros(0, dtype=np.int64)
    f = sosfiltfilt(butter(3, [5.0, 15.0], btype="band", fs=fs, output="sos"), x)
    d = np.gradient(f)
    w = int(0.15 * fs)
    mwi = np.convolve(d * d, np.ones(w) / w, mode="same")
    refractory = int(0.2 * fs)
    cand, _ = find_peaks(mwi, distance=refractory)
    if len(cand) == 0 or mwi.max() <= 1e-12 * max(1.0, np.abs(x).max() ** 2):
        return np.zeros(0, dtype=np.int64)
    slope = np.abs(d)
    # initial levels from the first 2 s: the biggest bump is a QRS, the typical one is noise
    first = mwi[cand[cand < 2 * fs]] if (cand < 2 * fs).any() else mwi[cand[:3]]
    spk, npk = float(first.max()), float(np.median(first)) * 0.5
    peaks: list[int] = []
    slopes: list[float] = []
    rr_avg = float(fs)  # 60 bpm until the rhythm is known
    for c in cand:
        thr = npk + factor * (spk - npk)
        # search-back: a gap of 1.66 average RR means a missed beat; take the biggest skipped bump
        if peaks and c - peaks[-1] > 1.66 * rr_avg:
            lo = peaks[-1] + refractory
            skipped = cand[(cand > lo) & (cand < c - refractory // 2)]
            if len(skipped):
                best = skipped[np.argmax(mwi[skipped])]
                if mwi[best] > 0.5 * thr:
                    peaks.append(int(best))
                    slopes.append(float(slope[max(0, best - w) : best + 1].max()))
                    spk = 0.25 * mwi[best] + 0.75 * spk
        v = mwi[c]
        if v > thr:
            s = float(slope[max(0, c - w) : c + 1].max())
            # a bump within 360 ms of the last beat with half its slope is a T wave
            if peaks and c - peaks[-1] < 0.36 * fs and s < 0.5 * slopes[-1]:
                npk = 0.125 * v + 0.875 * npk
                continue
            if peaks and c - peaks[-1] < refractory:
                continue
            peaks.append(int(c))
            slopes.append(s)
            spk = 0.125 * v + 0.875 * spk
            if len(peaks) >= 2:
                recent = np.diff(peaks[-9:])
                rr_avg = float(np.mean(recent))
        else:
            npk = 0.125 * v + 0.875 * npk
    pk = np.array(sorted(peaks), dtype=np.int64)
    return np.unique(snap_peaks(bandpass(x, fs=fs), pk, radius=int(0.08 * fs)))


def match_peaks(reference: np.ndarray, detected: np.ndarray, tolerance: int = 54) -> tuple[np.ndarray, np.ndarray]:
    """Pair reference and detected peaks within `tolerance` samples (150 ms at 360 Hz), nearest first.

    Returns (index into reference, index into detected) of matched pairs.
    """
    ref, det = np.asarray(reference), np.asarray(detected)
    if len(ref) == 0 or len(det) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pos = np.clip(np.searchsorted(det, ref), 1, len(det) - 1) if len(det) > 1 else np.zeros(len(ref), dtype=np.int64)
    left, right = det[np.maximum(pos - 1, 0)], det[pos]
    nearest = np.where(np.abs(ref - left) <= np.abs(ref - right), np.maximum(pos - 1, 0), pos)
    ok = np.abs(det[nearest] - ref) <= tolerance
    ri, di = np.nonzero(ok)[0], nearest[ok]
    _, first = np.unique(di, return_index=True)  # one reference per detection
    return ri[first], di[first]


# ----- beat features -------------------------------------------------------------------------------
def _running_mean(values: np.ndarray, before: int, after: int) -> np.ndarray:
    """Mean of values[i - before : i + after + 1] (truncated at the edges) for every i."""
    n = len(values)
    c = np.concatenate([[0.0], np.cumsum(values)])
    lo, hi = np.maximum(np.arange(n) - before, 0), np.minimum(np.arange(n) + after + 1, n)
    return (c[hi] - c[lo]) / (hi - lo)


def _running_median(values: np.ndarray, half: int) -> np.ndarray:
    """Median of the 2 * half + 1 values centred on each one (edges padded with the edge value)."""
    padded = np.pad(values, half, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)


def rr_features(peaks: np.ndarray, fs: int = FS) -> np.ndarray:
    """(n, N_RR) RR-interval features, each relative to the record's own rhythm (see `RR_FEATURES`).

    A supraventricular beat is premature against *this* patient's rhythm: its RR is compared with the
    record median, with the mean of the last 10 intervals (local rhythm) and with the median of the 21
    around it; the median jump between successive intervals around the beat tells an irregular rhythm
    (atrial fibrillation: every RR differs) from one premature beat in a regular one.
    """
    r = np.asarray(peaks, dtype=np.float64) / fs
    n = len(r)
    if n < 2:
        feats = np.ones((n, len(RR_FEATURES)), dtype=np.float32)
        return feats
    rr = np.diff(r)
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    prev = np.concatenate([[pre[0]], pre[:-1]])
    local = _running_mean(pre, 9, 0)  # the last 10 pre-RR intervals, this beat's included
    # medians over the 21 intervals around the beat: one ectopic beat and its pause barely move them
    centred = _running_median(pre, 10)
    irregular = _running_median(np.abs(np.diff(pre, prepend=pre[0])), 10) / centred
    med = float(np.median(rr))
    feats = np.stack([pre / med, post / med, local / med, pre / local, post / pre,
                      post / local, prev / local, pre / centred, 1.0 + irregular], axis=1)
    return np.clip(feats, 0.0, 5.0).astype(np.float32)


def beat_windows(filtered: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """(n, WINDOW) beat windows around each peak, divided by the record's median QRS amplitude."""
    pk = np.asarray(peaks, dtype=np.int64)
    padded = np.pad(filtered, (BEFORE, AFTER), mode="edge")
    idx = pk[:, None] + np.arange(0, BEFORE + AFTER, STEP)[None, :]
    w = padded[idx]
    w = w - np.median(w, axis=1, keepdims=True)
    qrs = padded[pk[:, None] + BEFORE + np.arange(-18, 19)[None, :]] if len(pk) else np.zeros((0, 1))
    amp = float(np.median(qrs.max(axis=1) - qrs.min(axis=1))) if len(pk) else 1.0
    return (w / max(amp, 1e-6)).astype(np.float32)


# window segments (indices into the 180 Hz window) for the segment features: P wave / PR segment
# -250..-60 ms, QRS -60..+80 ms, ST-T +80..+400 ms around the R peak
_MS = (np.arange(WINDOW) * STEP - BEFORE) / FS * 1000.0
_SEGMENTS = {"p": (_MS >= -250) & (_MS < -60), "qrs": (_MS >= -60) & (_MS < 80), "t": _MS >= 80}


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of `a` with the vector `b`."""
    ac, bc = a - a.mean(axis=1, keepdims=True), b - b.mean()
    return (ac @ bc) / np.maximum(np.linalg.norm(ac, axis=1) * np.linalg.norm(bc), 1e-6)


def _width(w: np.ndarray) -> np.ndarray:
    """Effective QRS width of each row: area of |QRS - its median| over its peak (in samples)."""
    q = w[:, _SEGMENTS["qrs"]]
    q = np.abs(q - np.median(q, axis=1, keepdims=True))
    return q.sum(axis=1) / np.maximum(q.max(axis=1), 1e-6)


def template_features(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(difference from the record's median beat, (n, len(TEMPLATE_FEATURES)) features) for beat windows.

    Inter-patient, "unlike this patient's usual beat" generalises far better than any absolute shape:
    the median beat of a record is its dominant (nearly always normal) morphology. Every feature is 1
    for a beat identical to it.
    """
    w = np.asarray(windows, dtype=np.float64)
    if len(w) == 0:
        return np.zeros_like(w, dtype=np.float32), np.ones((0, len(TEMPLATE_FEATURES)), dtype=np.float32)
    template = np.median(w, axis=0)
    diff = w - template
    p, qrs, t = _SEGMENTS["p"], _SEGMENTS["qrs"], _SEGMENTS["t"]
    ptp = np.ptp(w, axis=1) / max(float(np.ptp(template)), 1e-6)
    p_energy = w[:, p].std(axis=1) / max(float(template[p].std()), 1e-6)
    width = _width(w) / max(float(_width(template[None])[0]), 1e-6)
    rms = np.sqrt((diff**2).mean(axis=1)) / max(float(np.sqrt((template**2).mean())), 1e-6)
    feats = np.stack([_corr(w, template), np.clip(ptp, 0, 5), _corr(w[:, p], template[p]), np.clip(p_energy, 0, 5),
                      _corr(w[:, qrs], template[qrs]), np.clip(width, 0, 5), _corr(w[:, t], template[t]),
                      1.0 + np.clip(rms, 0, 5)], axis=1)
    return diff.astype(np.float32), feats.astype(np.float32)


def beat_features(signal: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """(n, N_CHANNELS * WINDOW + N_SCALARS) float32 network input for the beats at `peaks` of a 360 Hz
    signal: beat window, its difference from the median beat, RR features, template features."""
    filtered = bandpass(np.asarray(signal, dtype=np.float64))
    windows = beat_windows(filtered, peaks)
    diff, tfeat = template_features(windows)
    return np.concatenate([windows, diff, rr_features(peaks), tfeat], axis=1)
