"""Dataset validation on the node: identifier kinds, schema, values, size, balance, real data accepted."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from federation.data import load_hospital_data, validate
from federation.errors import DataValidationError
from hub.models import get_task
from tests.federation.conftest import write_wdbc_csv

BC = get_task("breast_cancer")

IDENTIFIER_COLUMNS = {
    # column name -> (values, kind the refusal must name)
    "patient_name": (lambda i: f"Maria Rossi{i}", "person name"),
    "contact": (lambda i: f"patient{i}@example.org", "e-mail address"),
    "tel": (lambda i: f"+44 20 7946 {1000 + i}", "phone number"),
    "ssn": (lambda i: f"123-45-{6000 + i}", "national / insurance number"),
    "insurance_no": (lambda i: f"INS{900000 + i}", "national / insurance number"),
    "mrn": (lambda i: f"{4400000 + i}", "medical record number"),
    "dob": (lambda i: f"1961-0{1 + i % 9}-1{i % 10}", "exact date of birth"),
    "home": (lambda i: f"{10 + i} Baker Street", "postal address"),
    "clinician_notes": (lambda i: f"patient complains of a lump in the left breast since visit {i}", "free text"),
}


@pytest.mark.parametrize("column", sorted(IDENTIFIER_COLUMNS))
def test_each_identifier_kind_is_refused_naming_the_column(tmp_path, wdbc, column):
    x, y = wdbc
    make, kind = IDENTIFIER_COLUMNS[column]
    path = write_wdbc_csv(tmp_path / "d.csv", x, y, extra={column: [make(i) for i in range(len(y))]})
    report = validate(BC, path)
    assert not report.ok
    lines = [ln for ln in report.lines() if ln.startswith(f"{column}:")]
    assert len(lines) == 1 and kind in lines[0], report.lines()
    # the refusal never echoes a value
    assert make(0) not in " ".join(report.lines())


def test_identifiers_found_by_value_under_innocent_column_names(tmp_path, wdbc):
    x, y = wdbc
    extra = {"ref": [f"j.doe{i}@hospital.org" for i in range(len(y))],
             "visit": [f"0{1 + i % 9}/1{i % 10}/1975" for i in range(len(y))],
             "code": [str(880000000 + i) for i in range(len(y))]}
    report = validate(BC, write_wdbc_csv(tmp_path / "d.csv", x, y, extra=extra))
    by_col = {ln.split(":")[0]: ln for ln in report.lines()}
    assert "e-mail" in by_col["ref"] and "date" in by_col["visit"] and "record number" in by_col["code"]


def test_wrong_schema_and_values_one_line_per_column(tmp_path, wdbc):
    x, y = wdbc
    x = x.copy()
    path = write_wdbc_csv(tmp_path / "d.csv", x, y, drop=("mean radius",), extra={"bmi": ["22.5"] * len(y)})
    text = path.read_text().splitlines()
    header = text[0].split(",")
    col_texture = header.index("mean texture")
    col_area = header.index("mean area")
    rows = [ln.split(",") for ln in text[1:]]
    rows[3][col_texture] = "abc"
    rows[4][col_texture] = ""
    rows[5][col_area] = "-50"
    rows[6][-1] = "maybe"
    path.write_text("\n".join([text[0]] + [",".join(r) for r in rows]) + "\n")
    report = validate(BC, path)
    lines = report.lines()
    assert not report.ok
    assert any(ln.startswith("mean radius:") and "missing" in ln for ln in lines)
    assert any(ln.startswith("bmi:") and "not part of the task schema" in ln for ln in lines)
    assert any(ln.startswith("mean texture:") and "non-numeric" in ln for ln in lines)
    assert any(ln.startswith("mean texture:") and "missing value" in ln for ln in lines)
    assert any(ln.startswith("mean area:") and "outside" in ln for ln in lines)
    assert any(ln.startswith("diagnosis:") and "not one of" in ln for ln in lines)


def test_too_few_rows_and_class_balance(tmp_path, wdbc):
    x, y = wdbc
    small = write_wdbc_csv(tmp_path / "small.csv", x[:120], y[:120])
    report = validate(BC, small)
    assert not report.ok and any(ln.startswith("rows:") for ln in report.lines())
    assert validate(BC, small, min_rows=100).ok
    benign = np.flatnonzero(y == 0)[:250]
    skewed = np.concatenate([benign, np.flatnonzero(y == 1)[:3]])
    report = validate(BC, write_wdbc_csv(tmp_path / "skew.csv", x[skewed], y[skewed]))
    assert any(ln.startswith("label:") and "malignant" in ln for ln in report.lines())
    with pytest.raises(DataValidationError) as err:
        load_hospital_data(BC, tmp_path / "skew.csv")
    assert err.value.problems == report.lines()


def test_clean_real_wdbc_accepted_and_split(wdbc_csv):
    report = validate(BC, wdbc_csv)
    assert report.ok, report.lines()
    assert report.summary["rows"] == 569 and report.summary["class_counts"] == {"benign": 357, "malignant": 212}
    data = load_hospital_data(BC, wdbc_csv)
    assert len(data.y_train) + len(data.y_val) == 569 and 100 < len(data.y_val) < 130
    assert set(np.unique(data.y_val)) == {0, 1}


def _acrima_subset(shared_data, dest, n=30):
    for label in ("normal", "glaucoma"):
        files = sorted((shared_data / "acrima" / label).glob("*.jpg"))[:n]
        (dest / label).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, dest / label / f.name)
    return dest


def test_real_images_accepted_identifiers_in_names_and_metadata_refused(shared_data, tmp_path):
    task = get_task("glaucoma")
    folder = _acrima_subset(shared_data, tmp_path / "fundus")
    report = validate(task, folder, min_rows=50)
    assert report.ok, report.lines()
    assert report.summary["class_counts"] == {"normal": 30, "glaucoma": 30}
    first = sorted((folder / "normal").glob("*.jpg"))[0]
    first.rename(folder / "normal" / "john_smith_1970-02-03.jpg")
    second = sorted((folder / "glaucoma").glob("*.jpg"))[0]
    img = Image.open(second)
    exif = img.getexif()
    exif[270] = "Patient: Jane Roe, MRN 00123456"
    img.save(second, exif=exif)
    report = validate(task, folder, min_rows=50)
    lines = report.lines()
    assert any(ln.startswith("file names:") and "person name" in ln for ln in lines), lines
    assert any("EXIF ImageDescription" in ln for ln in lines), lines
    assert "Jane Roe" not in " ".join(lines) and "john" not in " ".join(lines).lower()


def test_png_text_chunk_refused(shared_data, tmp_path):
    from PIL.PngImagePlugin import PngInfo

    task = get_task("glaucoma")
    folder = _acrima_subset(shared_data, tmp_path / "fundus", n=10)
    src = sorted((folder / "normal").glob("*.jpg"))[0]
    meta = PngInfo()
    meta.add_text("Comment", "scanned for patient 4471 at St Mary")
    Image.open(src).save(folder / "normal" / "img-a.png", pnginfo=meta)
    report = validate(task, folder, min_rows=10)
    assert any(ln.startswith("image metadata Comment:") for ln in report.lines()), report.lines()


def test_real_wfdb_records_accepted_and_header_identifiers_refused(shared_data, tmp_path):
    task = get_task("ecg")
    folder = tmp_path / "records"
    folder.mkdir()
    for rec in ("101", "106"):
        for suffix in (".hea", ".dat", ".atr"):
            src = shared_data / "mitbih" / f"{rec}{suffix}"
            if not src.exists():
                pytest.skip(f"MIT-BIH record {rec} not in the shared data")
            shutil.copyfile(src, folder / src.name)
    report = validate(task, folder, min_rows=200)
    assert report.ok, report.lines()
    assert report.summary["rows"] > 2000
    hea = folder / "101.hea"
    hea.write_text(hea.read_text() + "# patient Jane Roe born 1950-04-12\n")
    report = validate(task, folder, min_rows=200)
    assert any(ln.startswith("header comments:") for ln in report.lines()), report.lines()


def test_cli_node_validate(tmp_path, wdbc, wdbc_csv):
    from typer.testing import CliRunner

    from medhive.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["node", "validate", str(wdbc_csv), "--task", "breast_cancer"])
    assert ok.exit_code == 0, ok.output
    assert "accepted for breast_cancer: 569 rows" in ok.output and "mean radius" in ok.output
    x, y = wdbc
    bad = write_wdbc_csv(tmp_path / "bad.csv", x, y, extra={"email": [f"a{i}@b.org" for i in range(len(y))],
                                                            "patient_name": [f"Ann Lee{i}" for i in range(len(y))]})
    refused = runner.invoke(app, ["node", "validate", str(bad), "--task", "breast_cancer"])
    assert refused.exit_code == 2
    lines = [ln.strip() for ln in refused.output.splitlines() if ln.startswith("  ")]
    assert len(lines) == 2 and lines[0].startswith("email:") and lines[1].startswith("patient_name:")
