"""Every tabular task inherits plausibility from the shared layer: its validation rows are refused at
<= 1%, an all-zero form and rows of another task's data (WDBC values put into its fields, within each
field's schema range) are refused."""

from __future__ import annotations

import numpy as np
import pytest

from hub.errors import OutOfDistributionError
from hub.inference import Predictor
from hub.models import Cases, get_task

TASKS = ("heart_disease", "diabetes", "chronic_kidney_disease", "parkinsons")


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair

    home = tmp_path_factory.mktemp("tabular-trust")
    registry = open_registry("local", home=home, signer=load_or_create_keypair(home))
    seed_baselines(registry, tasks=list(TASKS))
    return Predictor(registry)


def _cases(x: np.ndarray) -> Cases:
    return Cases(x=np.asarray(x, dtype=np.float32), ids=[f"row {i}" for i in range(1, len(x) + 1)])


@pytest.mark.parametrize("name", TASKS)
def test_validation_rows_accepted_zero_form_and_other_data_refused(predictor, shared_data, name):
    task = get_task(name)
    splits = task.load_training_data(shared_data, seed=0)
    batch = predictor.predict_cases(name, _cases(splits.x_val))
    assert np.mean([p.out_of_distribution for p in batch.predictions]) <= 0.01
    with pytest.raises(OutOfDistributionError, match="outside the range seen in training"):
        predictor.predict_cases(name, _cases(np.zeros((1, len(task.input_fields)))))
    from sklearn.datasets import load_breast_cancer

    wdbc = load_breast_cancer().data[:100]
    k = len(task.input_fields)
    cols = np.resize(np.arange(wdbc.shape[1]), k)  # WDBC columns in order, repeated if the task has more fields
    lo = np.array([f.minimum for f in task.input_fields])
    hi = np.array([f.maximum for f in task.input_fields])
    foreign = np.clip(wdbc[:, cols], lo, hi)  # valid for the schema, but not this task's kind of row
    refused = np.mean([p.out_of_distribution for p in predictor.predict_cases(name, _cases(foreign)).predictions])
    assert refused >= 0.95, refused
