"""Tests of the ECG task: reading WFDB / CSV, R-peak detection on real MIT-BIH records, beat cases,
summaries, every kind of bad input, the shipped baseline weights, and a tiny training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hub.errors import DataNotFoundError, InvalidInputError
from hub.models import _ecg_signal as sig
from hub.models import get_task
from hub.models.ecg import LABELS, TASK, EcgNet, aami_class

WEIGHTS = Path(__file__).resolve().parents[3] / "hub" / "models" / "weights" / "ecg"
D = sig.N_CHANNELS * sig.WINDOW + sig.N_SCALARS


def _reference(folder: Path, record: str, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Reference beat positions (AAMI beat symbols only) of a record, in samples at 360 Hz."""
    import wfdb

    ann = wfdb.rdann(str(folder / record), "atr", sampfrom=start, sampto=stop)
    keep = np.array([aami_class(s) is not None for s in ann.symbol])
    return ann.sample[keep] - start


def _write_csv(path: Path, values: np.ndarray, header: str = "MLII", fs: float | None = 360) -> Path:
    lines = ([f"# fs={fs:g}"] if fs is not None else []) + [header] + [f"{v:.4f}" for v in values]
    path.write_text("\n".join(lines) + "\n")
    return path


def _synthetic(seconds: float = 20.0, fs: float = 360.0, rate_bpm: float = 72.0) -> np.ndarray:
    """A crude ECG: narrow Gaussian QRS spikes on a little noise (enough for the detector)."""
    t = np.arange(int(seconds * fs)) / fs
    x = 0.01 * np.random.default_rng(0).standard_normal(len(t))
    for beat in np.arange(0.5, seconds - 0.5, 60.0 / rate_bpm):
        x += 1.2 * np.exp(-0.5 * ((t - beat) / 0.012) ** 2)
    return x


# ----- labels and registration ------------------------------------------------------------------------
def test_task_is_registered_with_aami_labels():
    assert get_task("ecg") is TASK
    assert TASK.labels == ("N", "S", "V", "F", "Q")
    assert TASK.explanation_method == "gradient"


@pytest.mark.parametrize(
    ("symbols", "label"),
    [("NLRej", "N"), ("AaJS", "S"), ("VE", "V"), ("F", "F"), ("/fQ", "Q")],
)
def test_aami_mapping(symbols, label):
    assert all(LABELS[aami_class(s)] == label for s in symbols)


def test_non_beat_annotations_are_not_classes():
    assert all(aami_class(s) is None for s in "+~|x!\"[]")


# ----- reading ------------------------------------------------------------------------------------
def test_examples_exist_and_are_small():
    paths = TASK.example_inputs()
    assert {p.suffix for p in paths} == {".hea", ".csv"}
    total = sum(f.stat().st_size for f in paths[0].parent.iterdir())
    assert total < 300_000


@pytest.mark.parametrize("suffix", [".hea", ".dat", ""])
def test_read_wfdb_example_any_spelling(suffix):
    hea = next(p for p in TASK.example_inputs() if p.suffix == ".hea")
    cases = TASK.read_input(hea.with_suffix(suffix))
    assert cases.x.shape[1] == D and cases.x.dtype == np.float32
    assert 40 <= len(cases) <= 80  # a 40 s excerpt at 60-120 bpm
    assert cases.ids[0].startswith("beat 1 at ")
    assert set(cases.meta[0]) == {"sample", "time_s"}
    assert cases.context["fs"] == 360 and cases.context["lead"] == "MLII"
    assert cases.context["signal"].dtype == np.float32 and len(cases.context["signal"]) == 40 * 360
    assert np.array_equal(cases.context["r_peaks"], [m["sample"] for m in cases.meta])


def test_read_csv_example_and_fs_option_overrides_comment(tmp_path):
    csv_path = next(p for p in TASK.example_inputs() if p.suffix == ".csv")
    cases = TASK.read_input(csv_path)
    assert cases.x.shape[1] == D and len(cases) > 30
    # the same samples declared at 720 Hz last half as long: the option wins over the comment line
    halved = TASK.read_input(csv_path, fs=720)
    assert len(halved.context["signal"]) == pytest.approx(len(cases.context["signal"]) / 2, abs=2)


def test_csv_columns_lead_choice(tmp_path):
    x = _synthetic()
    rows = ["time,V1,MLII"] + [f"{i / 360:.4f},{-v:.4f},{v:.4f}" for i, v in enumerate(x)]
    (tmp_path / "two.csv").write_text("# fs=360\n" + "\n".join(rows) + "\n")
    assert TASK.read_input(tmp_path / "two.csv").context["lead"] == "MLII"
    assert TASK.read_input(tmp_path / "two.csv", lead="V1").context["lead"] == "V1"
    rows = ["V1,V2"] + [f"{v:.4f},{v:.4f}" for v in x]
    (tmp_path / "nomlii.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InvalidInputError, match="available: V1, V2"):
        TASK.read_input(tmp_path / "nomlii.csv", fs=360)
    assert TASK.read_input(tmp_path / "nomlii.csv", fs=360, lead="2").context["lead"] == "V2"


def test_a_header_that_is_not_lead_names_is_never_repeated_in_the_error(tmp_path):
    # a watch export whose first line holds the wearer's details: the error names the columns by position
    x = _synthetic()
    rows = ["Name,Jane Doe"] + [f"{v:.4f},{-v:.4f}" for v in x]
    (tmp_path / "watch.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(InvalidInputError, match="lead=") as info:
        TASK.read_input(tmp_path / "watch.csv", fs=512)
    assert "Jane" not in str(info.value) and "Name" not in str(info.value)
    assert "1 (unnamed), 2 (unnamed)" in str(info.value)
    with pytest.raises(InvalidInputError) as info:
        TASK.read_input(tmp_path / "watch.csv", fs=512, lead="Doe")
    assert "Jane" not in str(info.value)
    assert TASK.read_input(tmp_path / "watch.csv", fs=512, lead="1").context["lead"] == "1 (unnamed)"


def test_synthetic_rhythm_rate_and_summary():
    cases = TASK.prepare(_synthetic(rate_bpm=72.0), fs=360)
    assert 21 <= len(cases) <= 24
    proba = np.full((len(cases), 5), 0.01)
    proba[:, 0] = 0.96
    proba[3, 2] = 0.99  # one beat called V
    summary = TASK.summarize(cases, proba)
    assert sum(summary["beats_per_class"].values()) == summary["beats"] == len(cases)
    assert summary["beats_per_class"]["V"] == 1
    assert summary["heart_rate_bpm"] == pytest.approx(72, abs=2)
    assert summary["duration_s"] == pytest.approx(20, abs=0.5)
    assert summary["abnormal_share"] == pytest.approx(1 / len(cases), abs=1e-3)
    assert "clinical review" in summary["text"] and "\n" not in summary["text"]


# ----- R-peak detection on real records --------------------------------------------------------------
@pytest.mark.parametrize("record", ["101", "119", "208"])
def test_r_peak_detector_matches_annotations(shared_data, record):
    folder = shared_data / "mitbih"
    x, fs, lead = sig.read_wfdb(folder / record)
    assert lead == "MLII" and fs == 360
    ref = _reference(folder, record)
    det = sig.detect_r_peaks(x)
    ri, _ = sig.match_peaks(ref, det, tolerance=54)  # 150 ms
    assert len(ri) / len(ref) >= 0.99, "sensitivity"
    assert len(ri) / len(det) >= 0.99, "positive predictivity"


def test_lead_mlii_picked_by_name_in_record_114(shared_data):
    _, _, lead = sig.read_wfdb(shared_data / "mitbih" / "114")
    assert lead == "MLII"
    with pytest.raises(InvalidInputError, match="lead="):
        sig.read_wfdb(shared_data / "mitbih" / "102")  # V5 and V2 only


def test_csv_at_250_hz_beats_line_up_with_annotations(shared_data, tmp_path):
    from scipy.signal import resample_poly

    folder = shared_data / "mitbih"
    start, stop = 100 * 360, 160 * 360
    x, _, _ = sig.read_wfdb(folder / "119")
    x250 = resample_poly(x[start:stop], 25, 36)
    cases = TASK.read_input(_write_csv(tmp_path / "rec119_250hz.csv", x250, header="ecg", fs=250))
    ref = _reference(folder, "119", start, stop)
    det = cases.context["r_peaks"]
    ri, _ = sig.match_peaks(ref, det, tolerance=54)
    assert len(ri) / len(ref) >= 0.97 and len(ri) / len(det) >= 0.97


# ----- bad input ---------------------------------------------------------------------------------------
def _bad_inputs(tmp: Path) -> dict[str, tuple[Path, dict]]:
    x = _synthetic()
    (tmp / "text.csv").write_text("# fs=360\nMLII\n0.1\n0.2\nabc\n" + "\n".join("0.1" for _ in range(4000)))
    nan = x.copy()
    nan[100] = np.nan
    garbage = tmp / "garbage.hea"
    garbage.write_text("this is not a header\n")
    header = tmp / "short.hea"
    header.write_text("short 1 360 36000\nshort.dat 16 200 16 0 0 0 0 MLII\n")
    (tmp / "short.dat").write_bytes(np.zeros(3600, dtype="<i2").tobytes())  # 10 % of what the header says
    (tmp / "nodat.hea").write_text("nodat 1 360 36000\nnodat.dat 16 200 16 0 0 0 0 MLII\n")
    return {
        "missing csv": (tmp / "absent.csv", {}),
        "missing record": (tmp / "absent.hea", {}),
        "unreadable header": (garbage, {}),
        "dat shorter than header": (header, {}),
        "dat missing": (tmp / "nodat.hea", {}),
        "non-numeric": (tmp / "text.csv", {}),
        "nan": (_write_csv(tmp / "nan.csv", nan), {}),
        "inf": (_write_csv(tmp / "inf.csv", np.where(np.arange(len(x)) == 5, np.inf, x)), {}),
        "flat": (_write_csv(tmp / "flat.csv", np.zeros(20 * 360)), {}),
        "noise only": (_write_csv(tmp / "noise.csv", np.zeros(20 * 360) + 1e-9 * np.arange(20 * 360)), {}),
        "too short": (_write_csv(tmp / "short.csv", x[: 5 * 360]), {}),
        "no fs": (_write_csv(tmp / "nofs.csv", x, fs=None), {}),
        "fs too low": (_write_csv(tmp / "slow.csv", x), {"fs": 10}),
        "fs too high": (_write_csv(tmp / "fast.csv", x), {"fs": 5000}),
        "wrong type": (tmp / "image.png", {}),
    }


BAD_CASES = [
    "missing csv", "missing record", "unreadable header", "dat shorter than header", "dat missing", "non-numeric",
    "nan", "inf", "flat", "noise only", "too short", "no fs", "fs too low", "fs too high", "wrong type",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_raises_one_line_error(tmp_path, case):
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    cases = _bad_inputs(tmp_path)
    assert set(cases) == set(BAD_CASES)
    path, options = cases[case]
    with pytest.raises(InvalidInputError) as info:
        TASK.read_input(path, **options)
    message = str(info.value)
    assert message and "\n" not in message and "0.1000" not in message


def test_error_messages_say_what_is_needed(tmp_path):
    x = _synthetic()
    with pytest.raises(InvalidInputError, match=r"5\.0 s.*10 s"):
        TASK.prepare(x[: 5 * 360], fs=360)
    with pytest.raises(InvalidInputError, match="sampling rate"):
        TASK.read_input(_write_csv(tmp_path / "nofs.csv", x, fs=None))
    with pytest.raises(InvalidInputError, match="sampling rate"):
        TASK.prepare(x)
    with pytest.raises(InvalidInputError, match="1-D"):
        TASK.prepare(np.stack([x, x]), fs=360)


# ----- network, shipped weights, training ---------------------------------------------------------------
def test_network_takes_one_array_and_background_fits():
    net = TASK.build_network().eval()
    x = torch.as_tensor(TASK.prepare(_synthetic(), fs=360).x)
    assert net(x).shape == (len(x), 5)
    assert TASK.explain_background(net).shape == (1, D)


def test_shipped_weights_load_strict_and_classify_examples():
    if not (WEIGHTS / "model.safetensors").is_file():
        pytest.skip("baseline weights not trained yet (python -m hub.baselines ecg --data ../shared/data)")
    assert (WEIGHTS / "model.safetensors").stat().st_size < 2_000_000
    net = EcgNet.from_pretrained(str(WEIGHTS), strict=True)
    from hub.training import predict_proba

    for path in TASK.example_inputs():
        cases = TASK.read_input(path)
        proba = predict_proba(net, cases.x)
        assert proba.shape == (len(cases), 5)
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
        # every example is mostly normal beats with some ectopic ones
        summary = TASK.summarize(cases, proba)
        assert summary["beats_per_class"]["N"] > len(cases) / 3


def test_missing_data_folder_is_named(tmp_path):
    with pytest.raises(DataNotFoundError, match="mitbih"):
        TASK.train_baseline(tmp_path)


def test_train_baseline_tiny(shared_data):
    result = TASK.train_baseline(shared_data, records=(119, 209, 223), val_records=(223,), epochs=1)
    assert result.data["validation_records"] == [223] and 223 not in result.data["train_records"]
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert 0.0 <= result.metrics["sv_f1"] <= 1.0
    assert result.network(torch.zeros(2, D)).shape == (2, 5)
