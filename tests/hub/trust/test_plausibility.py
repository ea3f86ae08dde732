"""Each task refuses what it cannot judge, before any label; validation cases are refused at <= 1%.

Real data only: the shipped v1.0 models seeded into a registry, the public validation splits, another
task's images, scikit-learn's sample photographs, random noise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hub.errors import OutOfDistributionError
from hub.inference import Predictor
from hub.models import get_task


@pytest.fixture(scope="module")
def predictor(tmp_path_factory) -> Predictor:
    from hub.registry import open_registry
    from hub.registry.seed import seed_baselines
    from hub.registry.signing import load_or_create_keypair

    home = tmp_path_factory.mktemp("trust-home")
    registry = open_registry("local", home=home, signer=load_or_create_keypair(home))
    seed_baselines(registry, tasks=["breast_cancer", "pneumonia", "glaucoma"])
    return Predictor(registry)


def _refused(batch) -> float:
    return float(np.mean([p.out_of_distribution for p in batch.predictions]))


def _as_uint8(x: np.ndarray) -> list[np.ndarray]:
    """Network-ready (N, C, H, W) floats back to the images a user would upload."""
    imgs = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    return [img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0) for img in imgs]


# ----- tabular ----------------------------------------------------------------------------------------
def test_all_zero_form_is_refused_naming_the_fields(predictor):
    task = get_task("breast_cancer")
    with pytest.raises(OutOfDistributionError) as info:
        predictor.predict_raw("breast_cancer", {f.name: 0.0 for f in task.input_fields})
    message = str(info.value)
    assert "outside the range seen in training" in message and "mean radius" in message
    assert "no prediction made" in message and "\n" not in message and info.value.score is not None


def test_breast_cancer_validation_and_training_rows_mostly_accepted(predictor):
    task = get_task("breast_cancer")
    splits = task.load_training_data(None, seed=0)
    for x in (splits.x_val, splits.x_train):
        batch = predictor.predict_raw("breast_cancer", [dict(zip([f.name for f in task.input_fields], r)) for r in x])
        assert _refused(batch) <= 0.01
        kept = [p for p in batch.predictions if not p.out_of_distribution]
        assert all(p.label in task.labels and p.ood_score <= 1.0 for p in kept)


def test_a_batch_marks_the_refused_row_and_goes_on(predictor):
    task = get_task("breast_cancer")
    names = [f.name for f in task.input_fields]
    good = dict(zip(names, task.load_training_data(None).x_val[0]))
    # a real row whose area no longer fits its radius (area x 6, radius / 1.5): each value is within the
    # ranges, the row as a whole is implausible
    odd = {**good, "mean area": min(good["mean area"] * 6, 9999.0), "mean radius": good["mean radius"] / 1.5}
    batch = predictor.predict_raw("breast_cancer", [good, odd, {n: 0.0 for n in names}])
    flags = [p.out_of_distribution for p in batch.predictions]
    assert flags == [False, True, True]
    assert batch.predictions[1].label is None and batch.predictions[1].probabilities == {}
    assert batch.predictions[0].label in task.labels
    assert "mean area" in batch.predictions[1].ood_reason


# ----- images -----------------------------------------------------------------------------------------
def test_pneumonia_refuses_fundus_photographs_and_noise_accepts_validation(predictor, shared_data):
    pneu, glau = get_task("pneumonia"), get_task("glaucoma")
    val = pneu.load_training_data(shared_data).x_val
    assert _refused(predictor.predict_raw("pneumonia", _as_uint8(val))) <= 0.01
    fundus = _as_uint8(glau.load_training_data(shared_data).x_val)
    assert _refused(predictor.predict_raw("pneumonia", fundus)) >= 0.98
    rng = np.random.default_rng(1)
    noise = [rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(10)]
    assert _refused(predictor.predict_raw("pneumonia", noise)) == 1.0
    with pytest.raises(OutOfDistributionError, match="out of distribution for the pneumonia model"):
        predictor.predict_file("pneumonia", glau.example_inputs()[0])


def test_glaucoma_refuses_chest_xrays_photographs_and_noise_accepts_validation(predictor, shared_data):
    from sklearn.datasets import load_sample_images

    pneu, glau = get_task("pneumonia"), get_task("glaucoma")
    val = glau.load_training_data(shared_data).x_val
    assert _refused(predictor.predict_raw("glaucoma", _as_uint8(val))) <= 0.01
    xrays = _as_uint8(pneu.load_training_data(shared_data).x_val[:200])
    assert _refused(predictor.predict_raw("glaucoma", xrays)) >= 0.98
    photos = list(load_sample_images().images)  # a temple and a flower, shipped with scikit-learn
    assert _refused(predictor.predict_raw("glaucoma", photos)) == 1.0
    rng = np.random.default_rng(2)
    noise = [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8) for _ in range(10)]
    assert _refused(predictor.predict_raw("glaucoma", noise)) == 1.0
    with pytest.raises(OutOfDistributionError, match="out of distribution for the glaucoma model"):
        predictor.predict_file("glaucoma", pneu.example_inputs()[0])


def test_pneumonia_refuses_photographs(predictor):
    from sklearn.datasets import load_sample_images

    batch = predictor.predict_raw("pneumonia", list(load_sample_images().images))
    assert _refused(batch) == 1.0 and all("colour" in p.ood_reason for p in batch.predictions)


def test_shipped_profiles_refuse_at_most_one_percent_of_their_validation_split():
    import json

    from hub.baselines import SHIPPED
    from hub.trust import TRUST_FILE

    for name in ("breast_cancer", "pneumonia", "glaucoma"):
        pl = json.loads((Path(SHIPPED) / name / TRUST_FILE).read_text())["plausibility"]
        assert pl["validation_refused"] <= 0.01 * pl["validation_cases"]


def test_the_threshold_leaves_room_on_both_sides_of_the_boundary_case():
    """A validation case a hair from the threshold flips with the machine's arithmetic: the fitted
    threshold keeps the same refusals when every distance moves by 1e-6 either way."""
    from hub.trust import plausibility

    rng = np.random.default_rng(3)
    z_train, z_val = rng.normal(size=(400, 6)), rng.normal(size=(300, 6))
    stats = plausibility.fit(z_train, z_val)
    allowed = int(0.01 * len(z_val))
    assert stats["validation_refused"] == allowed
    scores = plausibility._distance(stats, np.asarray(z_val)) / stats["threshold"]  # unrounded
    for wobble in (1 - 1e-6, 1 + 1e-6):
        assert int((scores * wobble > 1.0).sum()) == allowed
    kept = np.sort(scores)[::-1][allowed]
    refused = np.sort(scores)[::-1][allowed - 1]
    assert kept < 1.0 < refused and min(1.0 - kept, refused - 1.0) > 1e-4
