"""PDF reports: render one per kind of task and read the text back (pypdf) for model, version,
prediction, model-card facts and the disclaimer; no identifier unless typed into the notes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader

from hub.explain import explain
from hub.inference import Predictor
from hub.models import get_task
from hub.registry import LocalRegistry, SigningKey
from hub.registry.seed import seed_baselines
from hub.reports import DISCLAIMER, build_report, model_facts


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    reg = LocalRegistry(tmp_path_factory.mktemp("reg") / "registry", signer=SigningKey.generate())
    seed_baselines(reg)
    return Predictor(reg)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def report_for(predictor: Predictor, task_name: str, path: Path, index: int = 0, notes: str = "") -> tuple[bytes, object]:
    task = get_task(task_name)
    cases = task.read_input(path)
    batch = predictor.predict_cases(task_name, cases)
    loaded = predictor.model(task_name)
    e = explain(task_name, loaded.network, cases, index)
    pdf = build_report(task, loaded.info, batch.predictions[index], cases, index, explanation=e,
                       batch_summary=batch.summary, notes=notes)
    return pdf, batch.predictions[index]


@pytest.mark.parametrize("task_name", ["breast_cancer", "pneumonia", "ecg", "heart_disease", "diabetes",
                                       "chronic_kidney_disease", "parkinsons"])
def test_report_names_model_version_prediction_and_disclaimer(predictor, task_name):
    task = get_task(task_name)
    index = 4 if task_name == "ecg" else 0
    pdf, pred = report_for(predictor, task_name, task.example_inputs()[-1], index)
    text = pdf_text(pdf)
    info = predictor.registry.info(task_name)
    facts = model_facts(task, info)
    assert task.title in text and f"version {info.version}" in text
    assert f"{pred.label} ({pred.probabilities[pred.label]:.1%} confidence)" in text
    assert DISCLAIMER in text and "SHAP" in text
    assert facts["dataset"].split(" (")[0] in text
    primary = next(iter(facts["metrics"].items()))
    assert f"{primary[0]} {primary[1]:.3f}" in text
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) >= 1  # the explanation figure


def test_no_identifier_from_the_file_name_only_what_the_user_typed(predictor, tmp_path):
    task = get_task("pneumonia")
    named = tmp_path / "Jane_Doe_MRN_4471.png"
    shutil.copy(task.example_inputs()[0], named)
    pdf, _ = report_for(predictor, "pneumonia", named)
    text = pdf_text(pdf)
    assert "Jane" not in text and "4471" not in text and "Notes" not in text
    typed, _ = report_for(predictor, "pneumonia", named, notes="Patient ref. ÅB-77 — follow up in 2 weeks")
    assert "Patient ref. ÅB-77" in pdf_text(typed) and "Jane" not in pdf_text(typed)


def test_model_facts_summarise_the_card(predictor):
    info = predictor.registry.info("breast_cancer")
    facts = model_facts(get_task("breast_cancer"), info)
    assert facts["version"] == "v1.0" and facts["hospitals"] == 0 and "baseline" in facts["trained_by"]
    assert facts["metrics"]["ROC AUC"] == info.metrics["roc_auc"]
    assert facts["updated"] == info.created_at[:10]


def test_a_blank_field_is_reported_as_imputed_and_a_category_by_its_word(predictor):
    task = get_task("heart_disease")
    path = next(p for p in task.example_inputs() if "missing" in p.name)
    text = pdf_text(report_for(predictor, "heart_disease", path)[0])
    assert "major vessels coloured: not given (imputed)" in text and "chest pain type: asymptomatic" in text
    assert "Imputed (not given, the training average used): major vessels coloured, thallium scan" in text
