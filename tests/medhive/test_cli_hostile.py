"""The CLI against hostile input: sizes refused before reading, input values never echoed (issue 13)."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.models import get_task
from medhive.cli import app

runner = CliRunner()


def test_a_long_ecg_csv_is_refused_from_its_size_first(tmp_path, monkeypatch):
    path = tmp_path / "holter.csv"
    with path.open("w") as fh:  # 2 h 10 min at 360 Hz: over the 2-hour limit, 17 MB
        fh.write("# fs=360\n")
        fh.write("0.01\n" * (360 * 60 * 130))
    import hub.models._ecg_signal as sig

    def never(*_a, **_k):  # the parser must not be reached
        raise AssertionError("the signal was parsed before its size was checked")

    monkeypatch.setattr(sig, "read_csv_signal", never)
    r = runner.invoke(app, ["predict", "ecg", str(path)])
    assert r.exit_code == 2 and "signal is too long" in r.stderr and "Traceback" not in r.output


def test_cli_errors_do_not_echo_input_values(tmp_path):
    fields = [f.name for f in get_task("breast_cancer").input_fields]
    values = ["JANEDOE-4711"] + ["1"] * (len(fields) - 1)
    path = tmp_path / "case.csv"
    path.write_text(",".join(fields) + "\n" + ",".join(values) + "\n")
    r = runner.invoke(app, ["predict", "breast_cancer", str(path)])
    assert r.exit_code == 2 and r.stderr.startswith("error: ")
    assert "must be a number" in r.stderr and "JANEDOE" not in r.output
