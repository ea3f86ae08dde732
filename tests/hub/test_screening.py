"""Screening: one form from the catalog (shared fields once), the models that can judge a case run,
the others are listed with what they still need, bad values are refused naming the field, one PDF."""

from __future__ import annotations

import csv
import io

import pytest
from pypdf import PdfReader

from hub.errors import InvalidInputError
from hub.inference import Predictor
from hub.models import get_task
from hub.registry import LocalRegistry, SigningKey
from hub.registry.seed import seed_baselines
from hub.screening import plan_screening, run_screening, screening_form
from hub.screening_report import build_screening_report


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    reg = LocalRegistry(tmp_path_factory.mktemp("reg") / "registry", signer=SigningKey.generate())
    seed_baselines(reg, tasks=["heart_disease", "diabetes", "chronic_kidney_disease", "parkinsons", "breast_cancer"])
    return Predictor(reg)


def example(task: str, index: int = 0) -> dict[str, str]:
    t = get_task(task)
    with open(t.example_inputs()[index], newline="") as fh:
        row = next(csv.DictReader(fh))
    names = {a: f.name for f in t.input_fields for a in (f.name, *f.aliases)}
    return {names[k]: v for k, v in row.items()}


def form_values(*tasks: str) -> dict[str, str]:
    """The shipped examples of `tasks` entered into the screening form (shared fields once)."""
    form = screening_form()
    out: dict[str, str] = {}
    for task in tasks:
        row = example(task)
        for f in form:
            for t, name in f.feeds:
                if t == task and row.get(name) not in (None, ""):
                    out.setdefault(f.key, row[name])
    return out


def test_the_form_has_each_shared_concept_once_feeding_every_task_that_has_it():
    form = {f.key: f for f in screening_form()}
    assert set(form["age"].tasks) >= {"heart_disease", "diabetes", "chronic_kidney_disease"}
    assert set(form["diastolic_bp"].tasks) == {"diabetes", "chronic_kidney_disease"}
    # every field of every tabular task is fed by exactly one box
    fed = [tf for f in form.values() for tf in f.feeds]
    assert len(fed) == len(set(fed))
    from hub.models.catalog import tabular_tasks

    assert set(fed) == {(n, f.name) for n, t in tabular_tasks().items() for f in t.input_fields}
    # a shared box's valid range is what every task it feeds accepts
    age = form["age"]
    for t, name in age.feeds:
        f = next(x for x in get_task(t).input_fields if x.name == name)
        assert f.minimum <= age.minimum and age.maximum <= f.maximum


def test_plan_runs_what_has_its_inputs_and_says_what_the_rest_needs():
    plans = {p.task: p for p in plan_screening(form_values("heart_disease", "diabetes"))}
    assert plans["heart_disease"].runs and plans["diabetes"].runs
    assert not plans["parkinsons"].runs and "average vocal frequency" in plans["parkinsons"].needs
    assert not plans["breast_cancer"].runs and "mean radius" in plans["breast_cancer"].needs
    ckd = plans["chronic_kidney_disease"]
    assert not ckd.runs and ckd.needs[0].split(" more of")[0].isdigit()  # it has age and blood pressure only
    # the shared age reached the three tasks that read it
    assert plans["diabetes"].row["age"] == plans["heart_disease"].row["age"]


@pytest.mark.parametrize("key, value, fragment", [
    ("age", "500", "age is outside every model's valid range"),
    ("sex", "purple", "sex must be one of female / male"),
    ("BMI", "abc", "BMI must be a number"),
    ("shoe size", "42", "unknown field(s): shoe size"),
])
def test_a_bad_value_is_refused_naming_the_field_not_the_values(key, value, fragment):
    values = dict(form_values("heart_disease", "diabetes"), **{key: value})
    with pytest.raises(InvalidInputError) as info:
        plan_screening(values)
    message = str(info.value)
    assert fragment in message
    assert "500" not in message and "abc" not in message


def test_a_shared_value_only_some_models_can_judge_skips_the_others():
    values = dict(form_values("heart_disease", "diabetes"), age="12")
    plans = {p.task: p for p in plan_screening(values)}
    assert not plans["heart_disease"].runs and plans["heart_disease"].needs[0] == "age within 18-110 years"
    assert not plans["diabetes"].runs  # adults only, too
    with pytest.raises(InvalidInputError, match=r"age is outside every model's valid range \(1\.\.110 years\)"):
        plan_screening(dict(values, age="150"))


def test_screening_runs_each_model_explains_it_and_writes_one_pdf(predictor):
    values = form_values("heart_disease", "diabetes")
    values.pop("serum cholesterol", None)  # not known: imputed for the heart model
    plans = plan_screening(values)
    result = run_screening(predictor, plans, nsamples=150)
    used = {s.task: s for s in result.used}
    assert set(used) == {"heart_disease", "diabetes"}
    heart = used["heart_disease"]
    assert heart.version == "v1.0" and heart.label in get_task("heart_disease").labels
    assert "serum cholesterol" in heart.imputed and "Imputed" in heart.explanation
    # the screening answer is the model's answer for that row, as a single prediction gives it
    direct = predictor.predict_cases("heart_disease", get_task("heart_disease").prepare(plans[[
        p.task for p in plans].index("heart_disease")].row)).predictions[0]
    assert heart.probabilities == pytest.approx(direct.probabilities)
    assert heart.key_factors and all(f["feature"] not in heart.imputed for f in heart.key_factors)
    body = result.to_dict()
    assert {m["task"] for m in body["models_skipped"]} == {"chronic_kidney_disease", "parkinsons", "breast_cancer"}
    pdf = build_screening_report(result, values)
    text = " ".join(" ".join((pg.extract_text() or "").split()) for pg in PdfReader(io.BytesIO(pdf)).pages)
    for s in result.used:
        assert s.title in text and f"{s.label} ({s.confidence:.1%} confidence)" in text
    assert "Models not used" in text and "Parkinson" in text and "Not a diagnosis" in text
