"""Heart disease: coronary artery disease (angiographic narrowing > 50%, `num > 0`) from 13 clinical attributes.

Data: UCI Heart Disease (Janosi, Steinbrunn, Pfisterer, Detrano 1988), the four "processed" files, one per
centre: Cleveland Clinic, Hungarian Institute of Cardiology (Budapest), University Hospitals Zurich and
Basel (Switzerland), VA Medical Center Long Beach. The centres differ strongly in disease rate and in what
they recorded (Switzerland recorded no cholesterol; VA and Hungary rarely recorded `ca` / `thal`), so most
fields are optional: blank, `?` (and cholesterol 0, the files' "not recorded") are imputed. The baseline
is trained on the pooled centres, split stratified by centre and label; the federation default is the
natural split, one hospital per centre (`natural_partitions`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hub.models._tabular_task import Table, TabularTask
from hub.models.base import InputField

CENTRES = {"cleveland": "Cleveland Clinic", "hungarian": "Hungarian Institute of Cardiology",
           "switzerland": "University Hospitals Zurich and Basel", "va": "VA Medical Center Long Beach"}

FIELDS = (
    InputField("age", "years", 18, 110, "age", aliases=("age",), concept="age"),
    InputField("sex", "", 0, 1, "sex", choices=(("female", 0), ("male", 1)), aliases=("sex",), concept="sex"),
    InputField("chest pain type", "", 1, 4, "chest pain type",
               choices=(("typical angina", 1), ("atypical angina", 2), ("non-anginal pain", 3), ("asymptomatic", 4)),
               optional=True, aliases=("cp",)),
    InputField("resting blood pressure", "mmHg", 60, 250, "resting systolic blood pressure on admission",
               optional=True, missing_codes=(0,), aliases=("trestbps",), concept="systolic_bp"),
    InputField("serum cholesterol", "mg/dl", 80, 700, "serum total cholesterol (0 in the files: not recorded)",
               optional=True, missing_codes=(0,), aliases=("chol",), concept="cholesterol"),
    InputField("fasting blood sugar > 120 mg/dl", "", 0, 1, "fasting blood sugar above 120 mg/dl",
               choices=(("no", 0), ("yes", 1)), optional=True, aliases=("fbs",), concept="fasting_glucose_high"),
    InputField("resting ECG", "", 0, 2, "resting electrocardiographic result",
               choices=(("normal", 0), ("ST-T wave abnormality", 1), ("left ventricular hypertrophy", 2)),
               optional=True, aliases=("restecg",)),
    InputField("maximum heart rate", "bpm", 50, 230, "maximum heart rate achieved in the exercise test",
               optional=True, aliases=("thalach",)),
    InputField("exercise-induced angina", "", 0, 1, "angina induced by exercise",
               choices=(("no", 0), ("yes", 1)), optional=True, aliases=("exang",)),
    InputField("ST depression", "mm", -5, 10, "ST depression induced by exercise relative to rest",
               optional=True, aliases=("oldpeak",)),
    InputField("ST slope", "", 1, 3, "slope of the peak exercise ST segment",
               choices=(("upsloping", 1), ("flat", 2), ("downsloping", 3)), optional=True, aliases=("slope",)),
    InputField("major vessels coloured", "vessels", 0, 3, "number of major vessels (0-3) coloured by fluoroscopy",
               optional=True, aliases=("ca",)),
    InputField("thallium scan", "", 3, 7, "thallium stress scintigraphy",
               choices=(("normal", 3), ("fixed defect", 6), ("reversible defect", 7)), optional=True,
               aliases=("thal",)),
)
COLUMNS = ("age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca",
           "thal", "num")


def read_centre(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One centre's processed file (no header, `?` missing) as (x with NaN for missing, y = num > 0)."""
    from hub.models._tabular import parse_value

    xs, ys = [], []
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(COLUMNS):
            continue
        row = []
        for f, c in zip(FIELDS, cells):
            try:
                row.append(parse_value(f, c))
            except ValueError:  # out of the valid range in the source: treated as not recorded
                row.append(float("nan"))
        xs.append(row)
        ys.append(int(float(cells[-1]) > 0))
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.int64)


class HeartDiseaseTask(TabularTask):
    name = "heart_disease"
    title = "Heart disease (coronary artery disease)"
    summary = ("Risk of coronary artery disease (over 50% narrowing at angiography) from 13 clinical attributes: "
               "age, sex, chest pain, blood pressure, cholesterol, ECG and exercise-test results.")
    labels = ("no disease", "disease")
    data_folder = "uci-heart-disease"
    input_fields = FIELDS
    label_columns = ("num", "target", "diagnosis", "label")
    max_imputed = 7
    input_description = (
        "13 clinical attributes (the UCI heart disease columns age, sex, cp, trestbps, chol, fbs, restecg, thalach, "
        "exang, oldpeak, slope, ca, thal). Age and sex are required; the others may be blank or '?' and are then "
        "imputed. One case per CSV row with a header."
    )
    keywords = ("heart disease", "heart", "cardiac", "coronary", "angina", "chest pain", "cholesterol",
                "cardiology", "angiography", "cad")
    body_system = "cardiovascular"
    intended_use = ("Decision support for clinicians assessing suspected coronary artery disease in adults, "
                    "before angiography; not for emergencies (chest pain now: call emergency services).")
    input_words = "13 clinical attributes, CSV or form"
    space = {
        "title": "MedHive heart disease",
        "emoji": "🫀",
        "color": "red",
        "short_description": "Coronary artery disease risk from 13 attributes",
        "tags": ["cardiology", "heart-disease"],
        "intro": "Fill in the 13 clinical attributes (age, sex, chest pain, blood pressure, cholesterol, ECG and exercise test; units and valid ranges are shown), load an example, or upload a CSV row with the UCI column names. Fields you leave blank are imputed and named in the explanation (Kernel SHAP).",
    }

    def load_table(self, data_root: Path | None) -> Table:
        folder = self.data_path(data_root)
        xs, ys, centres = [], [], []
        for key in CENTRES:
            x, y = read_centre(folder / f"processed.{key}.data")
            xs.append(x)
            ys.append(y)
            centres += [key] * len(y)
        x, y = np.concatenate(xs), np.concatenate(ys)
        return Table(x=x, y=y, centres=np.asarray(centres), description={
            "dataset": "UCI Heart Disease, 4 centres pooled (Cleveland, Hungary, Switzerland, VA Long Beach)",
            "citation": "Janosi, Steinbrunn, Pfisterer, Detrano (1988), UCI Machine Learning Repository",
            "rows_per_centre": {k: int(len(v)) for k, v in zip(CENTRES, ys)},
            "label": "num > 0 (any major vessel with > 50% narrowing)",
        })

    def natural_partitions(self, data_root: Path | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The federation default: one hospital per centre, its own rows only."""
        folder = self.data_path(data_root)
        return {key: read_centre(folder / f"processed.{key}.data") for key in CENTRES}


TASK = HeartDiseaseTask()
