"""The model card: Hugging Face metadata that parses back, and the text a clinician reads."""

from __future__ import annotations

import pytest

from hub.errors import RegistryError
from hub.models import get_task
from hub.registry import NOT_A_DIAGNOSIS, Lineage, parse_card, render_card


def card(lineage: Lineage, data=None) -> str:
    return render_card(get_task("breast_cancer").card_facts(), version="v1.2", created_at="2025-01-01T00:00:00+00:00",
                       metrics={"accuracy": 0.93, "roc_auc": 0.98, "sensitivity_malignant": 0.9},
                       lineage=lineage.to_dict(), data=data or {"dataset": "WDBC", "train_cases": 426}, key_id="abcd")


def test_metadata_parses_back():
    meta = parse_card(card(Lineage()))
    assert meta["library_name"] == "medhive"
    assert meta["pipeline_tag"] == "tabular-classification"
    assert meta["license"] == "other"
    assert {"medhive", "breast_cancer", "baseline"} <= set(meta["tags"])
    metrics = meta["model-index"][0]["results"][0]["metrics"]
    assert {m["type"]: m["value"] for m in metrics} == {"accuracy": 0.93, "roc_auc": 0.98, "sensitivity_malignant": 0.9}
    assert all(m["name"] for m in metrics)
    block = meta["medhive"]
    assert block["version"] == "v1.2" and block["key_id"] == "abcd" and block["labels"] == ["benign", "malignant"]
    assert block["lineage"]["source"] == "baseline"


def test_body_has_the_required_sections():
    text = card(Lineage())
    assert NOT_A_DIAGNOSIS == "Not a diagnosis: for use under clinical review."
    assert text.count(NOT_A_DIAGNOSIS) >= 2
    for heading in ("## What it predicts", "## Inputs", "## Training data", "## Validation metrics", "## Lineage",
                    "## Intended use", "## Limitations"):
        assert heading in text
    assert "epsilon: not applicable (no DP)" in text
    assert "| mean radius | px | 0 .. 60 |" in text
    assert "| ROC AUC | 0.9800 |" in text


def test_federated_lineage_with_dp_is_shown():
    lineage = Lineage(parent="v1.1", source="federated", rounds=5, hospitals=3, samples=1200, strategy="FedAvg",
                      epsilon=3.5, delta=1e-5, secure_aggregation=True)
    text = card(lineage)
    meta = parse_card(text)
    assert {"federated-learning", "differential-privacy"} <= set(meta["tags"])
    for line in ("- parent version: v1.1", "- training rounds: 5", "- contributing hospitals: 3",
                 "- training samples (all hospitals): 1200", "- aggregation strategy: FedAvg",
                 "- secure aggregation: yes", "epsilon = 3.5, delta = 1e-05"):
        assert line in text


def test_synthetic_data_is_flagged():
    text = card(Lineage(), data={"dataset": "synthetic fundus", "synthetic": True})
    assert "synthetic-data" in parse_card(text)["tags"]
    assert "trained on **synthetic data**" in text


@pytest.mark.parametrize("text", ["# no metadata", "---\nlicense: x\n", "---\n- a list\n---\n", "---\n: [\n---\n"])
def test_parse_card_rejects_bad_metadata(text):
    with pytest.raises(RegistryError):
        parse_card(text)


def test_every_tasks_card_parses_the_same_with_libyaml_as_with_pure_python_and_refuses_tags():
    """parse_card uses libyaml's safe loader when PyYAML has it: same data as PyYAML's own safe loader, no tags."""
    import yaml

    from hub.models import task_names
    from hub.registry.card import SAFE_LOADER

    for name in task_names():
        text = render_card(get_task(name).card_facts(), version="v1.0", created_at="2025-01-01T00:00:00+00:00",
                           metrics={"roc_auc": 0.9}, lineage=Lineage().to_dict(), data={"dataset": "x"}, key_id="k")
        front = text.split("\n---", 1)[0][3:]
        assert parse_card(text) == yaml.load(front, Loader=yaml.SafeLoader), name  # noqa: S506
    assert issubclass(SAFE_LOADER, yaml.constructor.SafeConstructor)  # never the full constructor
    with pytest.raises(RegistryError):
        parse_card("---\nx: !!python/object/apply:os.system ['true']\n---\nbody")
