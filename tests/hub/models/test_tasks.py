"""The task interface: discovery, common attributes, and that a fifth task is one new module."""

from __future__ import annotations

import sys

import pytest

import hub.models as models
from hub.errors import DataNotFoundError, UnknownTaskError
from hub.models import Task, all_tasks, get_task

EXPECTED = {"breast_cancer", "ecg", "glaucoma", "pneumonia", "heart_disease", "diabetes", "chronic_kidney_disease",
            "parkinsons"}


def test_the_design_tasks_are_discovered():
    assert EXPECTED <= set(all_tasks())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_task_fills_the_interface(name):
    task = get_task(name)
    assert isinstance(task, Task) and task.name == name
    assert task.title and task.summary and task.input_kind in ("tabular", "image", "signal")
    assert len(task.labels) >= 2 and len(set(task.labels)) == len(task.labels)
    assert task.example_inputs(), f"{name} ships no example inputs"
    for path in task.example_inputs():
        assert path.exists()
    net = task.build_network()
    from huggingface_hub import PyTorchModelHubMixin

    assert isinstance(net, PyTorchModelHubMixin)
    assert isinstance(task.network_class, type) and isinstance(net, task.network_class)
    facts = task.card_facts()
    assert facts["labels"] == list(task.labels)


def test_unknown_task_is_a_clear_error():
    with pytest.raises(UnknownTaskError, match="known tasks: .*breast_cancer"):
        get_task("cardiology")


@pytest.mark.parametrize("name", sorted(EXPECTED - {"breast_cancer"}))
def test_missing_data_folder_is_named(name, tmp_path):
    task = get_task(name)
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        task.train_baseline(tmp_path)


def test_a_fifth_task_is_one_module(tmp_path, monkeypatch):
    (tmp_path / "toy_fifth.py").write_text(
        "from hub.models.breast_cancer import BreastCancerTask\n"
        "class Toy(BreastCancerTask):\n    name = 'toy_fifth'\n"
        "TASK = Toy()\n"
    )
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(tmp_path)])
    all_tasks.cache_clear()
    try:
        assert get_task("toy_fifth").name == "toy_fifth"
    finally:
        sys.modules.pop("hub.models.toy_fifth", None)
        all_tasks.cache_clear()
