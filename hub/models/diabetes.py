"""Diabetes: type 2 diabetes (WHO criteria, 2 h OGTT) from 8 measurements, in adult women of Pima heritage.

Data: the Pima Indians Diabetes Database (National Institute of Diabetes and Digestive and Kidney Diseases;
Smith et al. 1988), 614 of its 768 rows here. In the source a zero glucose, blood pressure, skinfold,
insulin or BMI means "not measured": those zeros are read as missing and imputed, as a blank or `?` is.
The population is narrow (women aged 21 or more of Pima heritage): the intended use says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hub.models._tabular import parse_value
from hub.models._tabular_task import Table, TabularTask
from hub.models.base import InputField

FIELDS = (
    InputField("pregnancies", "", 0, 25, "number of times pregnant", aliases=("Pregnancies",)),
    InputField("plasma glucose (2 h OGTT)", "mg/dl", 20, 400,
               "plasma glucose 2 hours into an oral glucose tolerance test", optional=True, missing_codes=(0,),
               aliases=("Glucose",), concept="glucose"),
    InputField("diastolic blood pressure", "mmHg", 20, 160, "diastolic blood pressure", optional=True,
               missing_codes=(0,), aliases=("BloodPressure",), concept="diastolic_bp"),
    InputField("triceps skinfold", "mm", 3, 110, "triceps skin fold thickness", optional=True, missing_codes=(0,),
               aliases=("SkinThickness",)),
    InputField("serum insulin (2 h)", "µU/ml", 5, 1200, "2-hour serum insulin", optional=True, missing_codes=(0,),
               aliases=("Insulin",)),
    InputField("BMI", "kg/m²", 10, 80, "body mass index", optional=True, missing_codes=(0,), aliases=("BMI",),
               concept="bmi"),
    InputField("diabetes pedigree function", "", 0, 3, "family-history score (Smith et al. 1988)",
               aliases=("DiabetesPedigreeFunction",)),
    InputField("age", "years", 18, 110, "age", aliases=("Age",), concept="age"),
)


class DiabetesTask(TabularTask):
    name = "diabetes"
    title = "Diabetes (Pima measurements)"
    summary = ("Risk of type 2 diabetes from pregnancies, glucose tolerance test, blood pressure, skinfold, "
               "insulin, BMI, family-history score and age.")
    labels = ("no diabetes", "diabetes")
    data_folder = "pima-diabetes"
    input_fields = FIELDS
    label_columns = ("Outcome", "class", "diagnosis", "label", "target")
    input_description = (
        "8 measurements (the Pima columns Pregnancies, Glucose, BloodPressure, SkinThickness, Insulin, BMI, "
        "DiabetesPedigreeFunction, Age). Glucose, blood pressure, skinfold, insulin and BMI may be blank, '?' "
        "or 0 (not measured) and are then imputed. One case per CSV row with a header."
    )
    keywords = ("diabetes", "diabetic", "blood sugar", "glucose", "insulin", "pima", "glucose tolerance",
                "ogtt", "hyperglycaemia", "hyperglycemia")
    body_system = "endocrine"
    intended_use = ("Screening support for type 2 diabetes risk in adult women; trained only on women of Pima "
                    "heritage aged 21 or more, so its scores elsewhere are less certain. Diagnosis needs laboratory "
                    "criteria (HbA1c, fasting glucose, OGTT).")
    input_words = "8 measurements with glucose and BMI, CSV or form"
    space = {
        "title": "MedHive diabetes (Pima)",
        "emoji": "🩸",
        "color": "yellow",
        "short_description": "Type 2 diabetes risk from 8 measurements",
        "tags": ["endocrinology", "diabetes"],
        "intro": "Fill in the 8 measurements (glucose tolerance test, blood pressure, skinfold, insulin, BMI, family-history score, age, pregnancies), load an example, or upload a CSV row with the Pima column names. A blank or 0 glucose, blood pressure, skinfold, insulin or BMI counts as not measured and is imputed.",
    }

    def load_table(self, data_root: Path | None) -> Table:
        path = self.data_path(data_root) / "pima-indians-diabetes.data.csv"
        xs, ys = [], []
        for line in path.read_text().splitlines():
            cells = [c.strip() for c in line.split(",")]
            if len(cells) != 9:
                continue
            row = []
            for f, c in zip(FIELDS, cells):
                try:
                    row.append(parse_value(f, c))
                except ValueError:  # outside the valid range in the source: treated as not recorded
                    row.append(float("nan"))
            xs.append(row)
            ys.append(int(float(cells[-1])))
        return Table(x=np.asarray(xs, dtype=np.float32), y=np.asarray(ys, dtype=np.int64), description={
            "dataset": "Pima Indians Diabetes Database (NIDDK), 614 of 768 rows",
            "citation": "Smith, Everhart, Dickson, Knowler, Johannes, Proc. SCAMC (1988) 261-265",
            "population": "women of Pima heritage, aged 21 or more",
        })


TASK = DiabetesTask()
