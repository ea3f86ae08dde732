"""Explanations for ECG beats: expected-gradients SHAP along the beat, drawn on the trace.

One case is one beat: a morphology window around the R peak (the beat, and its difference from the
record's median beat, both `WINDOW` samples at 180 Hz) followed by RR-interval and template features.
SHAP values (`shap.GradientExplainer`, background: the task's "perfectly typical regular beat") of the
explained class probability are summed over the two window channels, so each window position gets one
attribution, drawn in colour along the trace at its time; the scalar features are named in words.
Waveform attributions are also pooled into P-wave, QRS and ST-T segments for the top factors.

The shipped network is a mix of a CNN and boosted trees on the scalar features (`_ecg_trees`); the
trees pass a softened-split gradient, so their features get attributions like the CNN's inputs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from torch import nn

from hub.explain.base import (
    LOWERS,
    RAISES,
    Explanation,
    choose_target,
    direction_words,
    headline,
    probabilities,
    reference,
)
from hub.explain.gradient import gradient_shap
from hub.models import _ecg_signal as sig
from hub.models.base import Cases, Task

#: the scalar features as a person reads them
SCALAR_WORDS = {
    "pre_rr/median": "RR interval before the beat (x record median)",
    "post_rr/median": "RR interval after the beat (x record median)",
    "local_rr/median": "local rhythm, last 10 RR (x record median)",
    "pre_rr/local_rr": "prematurity: RR before / local RR",
    "post_rr/pre_rr": "pause: RR after / RR before",
    "post_rr/local_rr": "RR interval after the beat / local RR",
    "prev_rr/local_rr": "RR interval of the beat before / local RR",
    "pre_rr/centred_rr": "prematurity: RR before / median of the 21 RR around",
    "1+rr_irregularity": "irregularity of the rhythm around the beat (1 = regular)",
    "template_corr": "similarity to the patient's usual beat",
    "ptp/template_ptp": "amplitude vs the patient's usual beat",
    "p_corr": "P-wave similarity to the patient's usual beat",
    "p_energy/template": "P-wave segment energy vs the patient's usual beat",
    "qrs_corr": "QRS similarity to the patient's usual beat",
    "qrs_width/template": "QRS width vs the patient's usual beat",
    "t_corr": "ST-T similarity to the patient's usual beat",
    "1+diff_rms/template_rms": "difference from the patient's usual beat (1 = none)",
}
#: waveform segments, in ms relative to the R peak
SEGMENTS = (("P wave / PR segment", -250.0, -60.0), ("QRS complex", -60.0, 80.0), ("ST segment / T wave", 80.0, 400.0))


def window_offsets_ms() -> np.ndarray:
    """Time of each window position relative to the R peak, in ms."""
    return (np.arange(sig.WINDOW) * sig.STEP - sig.BEFORE) / sig.FS * 1000.0


def explain_signal(task: Task, network: nn.Module, cases: Cases, index: int = 0, *, target: str | int | None = None,
                   nsamples: int = 64, seed: int = 0, top_k: int = 3, **_: Any) -> Explanation:
    started = time.perf_counter()
    x = np.asarray(cases.x[index : index + 1], dtype=np.float32)
    n_wave = sig.N_CHANNELS * sig.WINDOW
    if x.shape[1] != n_wave + sig.N_SCALARS:
        from hub.errors import InvalidInputError

        raise InvalidInputError(f"expected beat features of length {n_wave + sig.N_SCALARS}, got {x.shape[1]}")
    proba = probabilities(network, x)[0]
    k = choose_target(task, proba, target)
    background, background_proba = reference(task, network, x)  # computed once per loaded version
    values = gradient_shap(network, x, background, k, nsamples=nsamples, seed=seed)
    along = values[:n_wave].reshape(sig.N_CHANNELS, sig.WINDOW).sum(axis=0)
    scalars = values[n_wave:]
    offsets = window_offsets_ms()

    candidates = []
    for name, v, s in zip(sig.SCALARS, x[0, n_wave:], scalars):
        candidates.append({"feature": SCALAR_WORDS.get(name, name), "key": name, "value": float(v), "shap": float(s)})
    for name, lo, hi in SEGMENTS:
        sel = (offsets >= lo) & (offsets < hi)
        candidates.append({"feature": f"beat shape: {name}", "key": name, "value": None,
                           "shap": float(along[sel].sum())})
    candidates.sort(key=lambda c: -abs(c["shap"]))
    factors = [{**c, "effect": direction_words(task, k, c["shap"])} for c in candidates[:top_k] if c["shap"] != 0]

    label = task.labels[int(np.argmax(proba))]
    meta = cases.meta[index] if cases.meta else {}
    when = f" (beat at {meta['time_s']:.2f} s)" if "time_s" in meta else ""
    words = ", ".join(f"{f['feature']}" + (f" {f['value']:.2f}" if f["value"] is not None else "") + f" ({f['effect']})"
                      for f in factors)
    text = f"{headline(task, label, float(proba.max()))}{when}" + (f" — key factors: {words}" if words else "")
    base = float(background_proba[:, k].mean())
    summary = {
        "beat": {"index": index, **{k2: meta[k2] for k2 in ("sample", "time_s") if k2 in meta}},
        "beat_attribution": {"offset_ms": offsets.round(2), "values": along.round(8)},
        "features": {n: {"value": float(v), "shap": float(s)} for n, v, s in zip(sig.SCALARS, x[0, n_wave:], scalars)},
        "segments": {name: float(along[(offsets >= lo) & (offsets < hi)].sum()) for name, lo, hi in SEGMENTS},
    }
    return Explanation(
        task=task.name, method="shap.GradientExplainer", case_id=cases.ids[index], label=label,
        probability=float(proba.max()), target=task.labels[k], target_probability=float(proba[k]), base_value=base,
        values=values, top_factors=factors, text=text, summary=summary, seconds=time.perf_counter() - started,
        draw=_drawer(cases, index),
    )


def _drawer(cases: Cases, index: int):
    signal = cases.context.get("signal")
    fs = float(cases.context.get("fs", sig.FS))
    peaks = np.asarray(cases.context.get("r_peaks", []))
    sample = cases.meta[index].get("sample") if cases.meta else None
    window = np.asarray(cases.x[index, : sig.WINDOW])
    lead = cases.context.get("lead", "ECG")

    def draw(e: Explanation) -> Any:
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure

        along = np.asarray(e.summary["beat_attribution"]["values"], dtype=float)
        lim = float(np.abs(along).max()) or 1.0
        fig = Figure(figsize=(8.0, 4.6))
        ax, bx = fig.subplots(2, 1, gridspec_kw={"height_ratios": [2.2, 1]})
        if signal is not None and sample is not None:
            lo, hi = max(0, int(sample - 1.6 * fs)), min(len(signal), int(sample + 1.6 * fs))
            t = np.arange(lo, hi) / fs
            ax.plot(t, signal[lo:hi], color="#888", lw=0.9)
            beat_t = (sample + window_offsets_ms() / 1000.0 * fs) / fs
            beat_y = np.interp(beat_t, t, signal[lo:hi])
            inside = (beat_t >= t[0]) & (beat_t <= t[-1])  # a beat at the record's edge is partly outside it
            beat_t, beat_y, along = beat_t[inside], beat_y[inside], along[inside]
            near = peaks[(peaks >= lo) & (peaks < hi)]
            ax.plot(near / fs, signal[near], "v", color="#333", ms=5, label="detected beats")
            ax.set_xlabel("time in record (s)", fontsize=8)
            ax.set_ylabel(f"{lead} (mV)", fontsize=8)
        else:
            beat_t = window_offsets_ms() / 1000.0
            beat_y = window
            ax.plot(beat_t, beat_y, color="#888", lw=0.9)
            ax.set_xlabel("time from R peak (s)", fontsize=8)
        pts = np.stack([beat_t, beat_y], axis=1)
        segs = np.stack([pts[:-1], pts[1:]], axis=1)
        lc = LineCollection(segs, cmap="RdBu_r", linewidths=3.0)
        lc.set_array((along[:-1] + along[1:]) / 2)
        lc.set_clim(-lim, lim)
        ax.add_collection(lc)
        ax.axvspan(beat_t[0], beat_t[-1], color="#f4d03f", alpha=0.15, label="explained beat")
        ax.legend(loc="upper left", fontsize=7)
        ax.set_title(f"{e.text.split(' — ')[0]}: colour along the beat, red raises / blue lowers P({e.target})",
                     fontsize=9, loc="left")
        cb = fig.colorbar(lc, ax=ax, fraction=0.03, pad=0.01)
        cb.ax.tick_params(labelsize=7)
        feats = e.summary["features"]
        names = [SCALAR_WORDS.get(n, n) for n in feats]
        vals = np.array([feats[n]["shap"] for n in feats])
        ys = np.arange(len(vals))[::-1]
        bx.barh(ys, vals, color=[RAISES if v > 0 else LOWERS for v in vals])
        bx.set_yticks(ys, [f"{n} = {feats[k]['value']:.2f}" for n, k in zip(names, feats)], fontsize=7)
        bx.axvline(0, color="#555", lw=0.8)
        bx.set_xlabel(f"SHAP value of the rhythm and template features for P({e.target})", fontsize=8)
        fig.tight_layout()
        return fig

    return draw
