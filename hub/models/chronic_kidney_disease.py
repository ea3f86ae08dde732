"""Chronic kidney disease from 24 routine measurements (blood pressure, urine dipstick, blood tests, history).

Data: UCI Chronic Kidney Disease (Rubini, Soundarapandian, Eswaran; Apollo Hospitals, Karaikudi, India,
2015), 320 of its 400 rows here, as the original ARFF file. That file has known defects (extra trailing
commas, an empty extra field, TAB characters): it is read tolerantly, splitting on commas, stripping
whitespace and dropping empty fields, which gives every row its 25 values. The 14 nominal attributes are
categories (normal / abnormal, present / not present, yes / no, good / poor); every attribute may be
missing (`?`, 1,012 cells in the full data) and is then imputed. Two source values lie outside any
physiological range (sodium 4.5, potassium 47 mEq/L: unit slips) and are read as missing for training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hub.models._tabular import parse_value
from hub.models._tabular_task import Table, TabularTask
from hub.models.base import InputField

_NORMAL = (("normal", 0), ("abnormal", 1))
_PRESENT = (("not present", 0), ("present", 1), ("notpresent", 0))
_YES = (("no", 0), ("yes", 1))


def _f(arff: str, name: str, unit: str, lo: float, hi: float, desc: str, **kw) -> InputField:
    return InputField(name, unit, lo, hi, desc, optional=True, aliases=(arff,), **kw)


FIELDS = (
    _f("age", "age", "years", 1, 110, "age", concept="age"),
    _f("bp", "blood pressure", "mmHg", 30, 200, "blood pressure (diastolic)", concept="diastolic_bp"),
    _f("sg", "urine specific gravity", "", 1.0, 1.04, "urine specific gravity (1.005-1.025 in the data)"),
    _f("al", "urine albumin", "dipstick 0-5", 0, 5, "urine albumin, dipstick grade"),
    _f("su", "urine sugar", "dipstick 0-5", 0, 5, "urine sugar, dipstick grade"),
    _f("rbc", "urine red blood cells", "", 0, 1, "red blood cells in urine", choices=_NORMAL),
    _f("pc", "urine pus cells", "", 0, 1, "pus cells in urine", choices=_NORMAL),
    _f("pcc", "pus cell clumps", "", 0, 1, "pus cell clumps in urine", choices=_PRESENT),
    _f("ba", "bacteria", "", 0, 1, "bacteria in urine", choices=_PRESENT),
    _f("bgr", "random blood glucose", "mg/dl", 20, 800, "blood glucose, random", concept="glucose_random"),
    _f("bu", "blood urea", "mg/dl", 1, 500, "blood urea"),
    _f("sc", "serum creatinine", "mg/dl", 0.1, 80, "serum creatinine", concept="creatinine"),
    _f("sod", "sodium", "mEq/l", 100, 200, "serum sodium"),
    _f("pot", "potassium", "mEq/l", 1.5, 10, "serum potassium"),
    _f("hemo", "haemoglobin", "g/dl", 3, 20, "haemoglobin", concept="haemoglobin"),
    _f("pcv", "packed cell volume", "%", 10, 70, "packed cell volume (haematocrit)"),
    _f("wbcc", "white blood cell count", "cells/µl", 1000, 50000, "white blood cell count"),
    _f("rbcc", "red blood cell count", "millions/µl", 1, 10, "red blood cell count"),
    _f("htn", "hypertension", "", 0, 1, "hypertension", choices=_YES, concept="hypertension"),
    _f("dm", "diabetes mellitus", "", 0, 1, "diabetes mellitus", choices=_YES, concept="diabetes_history"),
    _f("cad", "coronary artery disease", "", 0, 1, "coronary artery disease", choices=_YES),
    _f("appet", "appetite", "", 0, 1, "appetite", choices=(("good", 0), ("poor", 1))),
    _f("pe", "pedal oedema", "", 0, 1, "pedal oedema", choices=_YES),
    _f("ane", "anaemia", "", 0, 1, "anaemia", choices=_YES),
)
ARFF_FILE = "chronic_kidney_disease_full.arff"


def read_arff(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The tolerant reading of the UCI ARFF file described in the module docstring: (x, y = ckd)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == "@data") + 1
    xs, ys = [], []
    for line in lines[start:]:
        cells = [c.strip() for c in line.split(",")]
        cells = [c for c in cells if c]
        if len(cells) != len(FIELDS) + 1:
            continue
        row = []
        for f, c in zip(FIELDS, cells):
            try:
                row.append(parse_value(f, c))
            except ValueError:  # a unit slip in the source (sodium 4.5): not a measurement we can use
                row.append(float("nan"))
        xs.append(row)
        ys.append(int(cells[-1] == "ckd"))
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.int64)


class ChronicKidneyDiseaseTask(TabularTask):
    name = "chronic_kidney_disease"
    title = "Chronic kidney disease"
    summary = ("Chronic kidney disease from 24 routine findings: blood pressure, urine dipstick and microscopy, "
               "blood tests (creatinine, urea, haemoglobin, ...) and history (hypertension, diabetes).")
    labels = ("no chronic kidney disease", "chronic kidney disease")
    data_folder = "uci-chronic-kidney-disease"
    input_fields = FIELDS
    label_columns = ("class", "diagnosis", "label", "target")
    max_imputed = 12
    input_description = (
        "24 findings under the UCI ARFF names (age, bp, sg, al, su, rbc, pc, pcc, ba, bgr, bu, sc, sod, pot, hemo, "
        "pcv, wbcc, rbcc, htn, dm, cad, appet, pe, ane); categories as words (normal/abnormal, present/notpresent, "
        "yes/no, good/poor). Any finding may be blank or '?' (imputed); at least half must be given."
    )
    keywords = ("chronic kidney disease", "kidney", "renal", "ckd", "creatinine", "nephrology", "urea",
                "albuminuria", "nephropathy")
    body_system = "renal"
    intended_use = ("Decision support for clinicians screening adults for chronic kidney disease from routine "
                    "blood and urine tests; trained on one Indian hospital's cases. Staging needs eGFR and "
                    "albuminuria over three months.")
    input_words = "24 blood and urine findings, CSV or form"
    space = {
        "title": "MedHive chronic kidney disease",
        "emoji": "🧪",
        "color": "purple",
        "short_description": "Chronic kidney disease from 24 blood and urine findings",
        "tags": ["nephrology", "chronic-kidney-disease"],
        "intro": "Fill in the findings you have (blood pressure, urine dipstick and microscopy, blood tests, history; at least half of the 24), load an example, or upload a CSV row with the UCI ARFF names. Blank findings are imputed and named in the explanation.",
    }

    def load_table(self, data_root: Path | None) -> Table:
        x, y = read_arff(self.data_path(data_root) / ARFF_FILE)
        return Table(x=x, y=y, description={
            "dataset": "UCI Chronic Kidney Disease (Apollo Hospitals, Karaikudi), 320 of 400 rows",
            "citation": "Rubini, Soundarapandian, Eswaran (2015), UCI Machine Learning Repository",
            "reading": "tolerant ARFF parse (split on ',', strip whitespace, drop empty fields)",
        })


TASK = ChronicKidneyDiseaseTask()
