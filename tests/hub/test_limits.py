"""Input limits from sizes and headers, before decoding (hub.limits), cross-checked against real decoders."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from hub.errors import InputTooLarge
from hub.limits import InputLimits, count_lines
from hub.models import get_task

# each kind's checks are reached through a task of that kind, as the API and the CLI reach them
TABLE, IMAGE, SIGNAL = get_task("breast_cancer"), get_task("pneumonia"), get_task("ecg")


def test_count_lines_matches_a_full_read_and_stops_early(tmp_path):
    path = tmp_path / "t.csv"
    text = "# fs=360\na,b\n\n" + "1,2\n" * 2_500_000 + "3,4"  # no final newline; a chunk boundary mid-line
    path.write_text(text)
    full = sum(1 for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#"))
    assert count_lines(path, stop_after=10**9) == full
    assert 100 < count_lines(path, stop_after=100) <= 100 + 2**16 // 4 + 1  # stopped within one chunk


def test_a_table_over_the_row_limit_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 3_000_000)  # 12 MB
    tracemalloc.start()
    with pytest.raises(InputTooLarge, match="more than 100,000 rows"):
        TABLE.check_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 3 * 2**20  # one chunk at a time, never the file (12 MB)
    assert TABLE.check_file(path, limits=InputLimits(max_rows=5_000_000)) == 3_000_000


def test_file_size_limit(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n" * 1000)
    with pytest.raises(InputTooLarge, match="MiB"):
        TABLE.check_file(path, limits=InputLimits(max_file_bytes=1000))


def test_image_pixels_from_the_header_agree_with_pillow(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (5000, 4000)).save(path)
    with Image.open(path) as img:
        assert img.size == (5000, 4000)  # the decoder's own view of what the header says
    with pytest.raises(InputTooLarge, match="5000 x 4000"):
        IMAGE.check_file(path)
    IMAGE.check_file(path, limits=InputLimits(max_pixels=5000 * 4000))


def test_npz_shapes_are_read_from_the_npy_headers(tmp_path):
    path = tmp_path / "batch.npz"
    buf = io.BytesIO()
    np.savez(buf, images=np.zeros((20, 1000, 1000), dtype=np.uint8))
    path.write_bytes(buf.getvalue())
    with pytest.raises(InputTooLarge, match="20,000,000 values"):
        IMAGE.check_file(path, limits=InputLimits(max_pixels=1000 * 1000))
    IMAGE.check_file(path)


def test_signal_minutes_from_a_csv_line_count_and_a_wfdb_header(tmp_path):
    csv = tmp_path / "holter.csv"
    csv.write_text("# fs=100\n" + "0.1\n" * (100 * 60 * 3))  # 3 min
    limits = InputLimits(max_signal_seconds=120)
    with pytest.raises(InputTooLarge, match="longer than 2 min"):
        SIGNAL.check_file(csv, limits=limits)
    SIGNAL.check_file(csv, limits=InputLimits(max_signal_seconds=200))
    with pytest.raises(InputTooLarge):
        SIGNAL.check_file(csv, limits=limits, fs=100)
    hea = tmp_path / "rec.hea"
    hea.write_text("rec 2 360 31104000\nrec.dat 212 200 11 1024 0 0 0 MLII\nrec.dat 212 200 11 1024 0 0 0 V1\n")
    with pytest.raises(InputTooLarge, match="1440 min"):  # 24 h, refused without the .dat
        SIGNAL.check_file(hea)


def test_wfdb_header_duration_agrees_with_wfdb(tmp_path):
    import wfdb

    from hub.limits import _wfdb_seconds

    header = next(p for p in get_task("ecg").example_inputs() if p.suffix == ".hea")
    meta = wfdb.rdheader(str(header.with_suffix("")))
    assert _wfdb_seconds(header) == pytest.approx(meta.sig_len / meta.fs)


def test_inline_signal_and_image_sizes():
    with pytest.raises(InputTooLarge, match="too long"):
        SIGNAL.check_inline([0.0] * (3 * 3600 * 10), fs=10)
    SIGNAL.check_inline([0.0] * 1000, fs=100)
    with pytest.raises(InputTooLarge, match="pixels"):
        IMAGE.check_inline([[0] * 5000] * 4000)
    IMAGE.check_inline([[[0, 0, 0]] * 64] * 64)


def test_a_plain_task_of_a_new_kind_still_gets_the_file_size_limit(tmp_path):
    from hub.models.base import Task

    path = tmp_path / "x.bin"
    path.write_bytes(b"\0" * 2000)
    with pytest.raises(InputTooLarge, match="MiB"):
        Task.check_file(SIGNAL, path, limits=InputLimits(max_file_bytes=1000))  # the base class's own check
    assert Task.check_file(SIGNAL, path) is None


def test_cases_counted_before_parsing_and_billed_per_kind():
    row = {"mean radius": 1.0}
    assert TABLE.inline_units([row, row, row]) == 3 and TABLE.inline_units(row) == 1
    assert IMAGE.inline_units([[[0.0] * 8] * 8] * 2) == 2  # a list of 2-D images is a batch
    assert IMAGE.inline_units([[0.0] * 8] * 8) == 1  # one 2-D image
    assert SIGNAL.inline_units([0.0] * 3600) == 1  # one signal, however long
    assert not TABLE.reads_records and SIGNAL.reads_records
