"""Image tasks (pneumonia, glaucoma): readers for every input form, clear errors, shipped weights, training."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from hub.baselines import RECORD, SHIPPED, WEIGHTS, sha256_file
from hub.errors import DataNotFoundError, InvalidInputError
from hub.models import get_task
from hub.models._image_net import AugmentConfig, ImageNet, make_augment
from hub.models.base import DataSplits
from hub.training import predict_proba

TASKS = ["pneumonia", "glaucoma"]


@pytest.fixture(params=TASKS)
def task(request):
    return get_task(request.param)


def _gradient(w: int, h: int, mode: str = "RGB") -> Image.Image:
    """A smooth test picture (no patient data) in the given mode."""
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256], axis=-1).astype(np.uint8)
    img = Image.fromarray(rgb, "RGB")
    if mode == "I;16":
        return Image.fromarray((np.asarray(img.convert("L"), dtype=np.uint16) * 16), "I;16")
    if mode == "P":
        return img.convert("P", palette=Image.Palette.ADAPTIVE)
    return img.convert(mode)


def _shape(task) -> tuple[int, int, int]:
    return (task.channels, task.image_size, task.image_size)


def _check(cases, task, n: int) -> None:
    assert cases.x.shape == (n, *_shape(task))
    assert cases.x.dtype == np.float32
    assert 0.0 <= cases.x.min() and cases.x.max() <= 1.0
    assert len(cases.ids) == len(cases.meta) == n
    assert cases.context["display_images"].shape[0] == n


# ----- readers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "suffix", "mode"),
    [("PNG", ".png", "L"), ("PNG", ".png", "RGB"), ("PNG", ".png", "RGBA"), ("PNG", ".png", "P"), ("PNG", ".png", "LA"),
     ("PNG", ".png", "I;16"), ("PNG", ".png", "1"), ("JPEG", ".jpg", "RGB"), ("JPEG", ".jpeg", "L"),
     ("JPEG", ".jpg", "CMYK"), ("BMP", ".bmp", "RGB"), ("TIFF", ".tif", "RGB"), ("TIFF", ".tiff", "I;16"),
     ("GIF", ".gif", "P"), ("WEBP", ".webp", "RGB")],
)
def test_single_image_any_format_and_mode(task, tmp_path, fmt, suffix, mode):
    path = tmp_path / f"picture{suffix}"
    _gradient(60, 40, mode).save(path, fmt)
    cases = task.read_input(path)
    _check(cases, task, 1)
    assert cases.ids == [path.name]
    assert cases.meta[0]["original_size"] == [60, 40]
    assert cases.x.std() > 0.01  # the picture's content survived the conversion


def test_sixteen_bit_uses_the_full_range(task, tmp_path):
    a = np.linspace(1000, 4000, 64 * 64).reshape(64, 64).astype(np.uint16)  # a 12-bit detector's range
    Image.fromarray(a, "I;16").save(tmp_path / "xray16.png")
    x = task.read_input(tmp_path / "xray16.png").x
    assert x.min() < 0.05 and x.max() > 0.95


def test_transparent_area_becomes_black(task, tmp_path):
    rgba = np.full((40, 40, 4), 255, np.uint8)
    rgba[:, :, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "clear.png")
    assert task.read_input(tmp_path / "clear.png").x.max() < 0.01


def test_exif_orientation_is_applied(task, tmp_path):
    a = np.zeros((32, 64), np.uint8)
    a[:, :32] = 255  # left half white; EXIF 6 (rotate 90 clockwise to view) puts it on top
    img = Image.fromarray(a, "L")
    exif = img.getexif()
    exif[0x0112] = 6
    img.save(tmp_path / "rotated.jpg", "JPEG", exif=exif.tobytes(), quality=95)
    cases = task.read_input(tmp_path / "rotated.jpg")
    assert cases.meta[0]["original_size"] == [32, 64]
    half = task.image_size // 2
    top, bottom = cases.x[0, :, : half - 2].mean(), cases.x[0, :, half + 2 :].mean()
    assert top > bottom + 0.5


def test_large_image_is_cropped_and_resized(task, tmp_path):
    _gradient(3000, 2000).save(tmp_path / "big.png")
    cases = task.read_input(tmp_path / "big.png")
    _check(cases, task, 1)
    assert cases.meta[0]["original_size"] == [3000, 2000]


def test_folder_recursive_and_per_class(task, tmp_path):
    for label in task.labels:
        (tmp_path / label / "deeper").mkdir(parents=True)
        _gradient(50, 50).save(tmp_path / label / "a.png")
        _gradient(70, 50).save(tmp_path / label / "deeper" / "b.JPG", "JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden.png").write_bytes(b"junk")
    cases = task.read_input(tmp_path)
    _check(cases, task, 4)
    assert cases.ids == sorted(f"{lab}/{f}" for lab in task.labels for f in ("a.png", "deeper/b.JPG"))


def test_prepare_takes_pil_images_and_arrays(task):
    _check(task.prepare(_gradient(80, 60)), task, 1)
    _check(task.prepare(np.asarray(_gradient(40, 40, "L"))), task, 1)
    _check(task.prepare(np.asarray(_gradient(40, 40))), task, 1)
    _check(task.prepare(np.random.default_rng(0).random((3, 28, 28))), task, 3)  # batch of floats in [0, 1]
    _check(task.prepare([_gradient(30, 30), np.zeros((20, 20), np.uint8)]), task, 2)
    assert task.prepare(_gradient(40, 30)).ids == ["image 1"]


def test_npz_images_key_split_key_and_option(tmp_path):
    task = get_task("pneumonia")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "plain.npz", images=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8))
    _check(task.read_input(tmp_path / "plain.npz"), task, 5)
    np.savez(tmp_path / "split.npz", train_images=rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
             test_images=rng.integers(0, 256, (3, 64, 64), dtype=np.uint8), test_labels=np.array([[0], [1], [1]]))
    cases = task.read_input(tmp_path / "split.npz")
    _check(cases, task, 3)  # 64x64 resized to 28x28
    assert cases.ids[2] == "image 3" and cases.context["npz_key"] == "test_images"
    assert cases.context["true_labels"].tolist() == [0, 1, 1]
    _check(task.read_input(tmp_path / "split.npz", key="train_images"), task, 4)


def test_npz_matches_png_of_the_same_image(tmp_path):
    task = get_task("pneumonia")
    img = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    np.savez(tmp_path / "one.npz", images=img[None])
    Image.fromarray(img, "L").save(tmp_path / "one.png")
    assert np.array_equal(task.read_input(tmp_path / "one.npz").x, task.read_input(tmp_path / "one.png").x)


# ----- bad input -----------------------------------------------------------------------------------
def _one_line(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_bad_inputs_raise_one_line_errors(task, tmp_path):
    (tmp_path / "garbage.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("hello")
    buf = io.BytesIO()
    _gradient(200, 200).save(buf, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    _gradient(10, 40).save(tmp_path / "tiny.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "textonly").mkdir()
    (tmp_path / "textonly" / "a.txt").write_text("x")
    cases = [
        (tmp_path / "missing.png", "not found"),
        (tmp_path / "missing_folder", "not found"),
        (tmp_path / "garbage.png", "garbage.png is not a readable image"),
        (tmp_path / "notes.txt", "notes.txt is not a readable image"),
        (tmp_path / "cut.jpg", "cut.jpg is not a readable image"),
        (tmp_path / "tiny.png", "tiny.png is too small"),
        (tmp_path / "empty", "no images found"),
        (tmp_path / "textonly", "no images found"),
    ]
    for path, expected in cases:
        with pytest.raises(InvalidInputError) as excinfo:
            task.read_input(path)
        assert expected in _one_line(excinfo), path.name


def test_folder_names_the_first_bad_file(task, tmp_path):
    (tmp_path / "a").mkdir()
    _gradient(40, 40).save(tmp_path / "a" / "good.png")
    (tmp_path / "a" / "zz_bad.jpg").write_bytes(b"\xff\xd8 truncated")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "worse.png").write_bytes(b"nope")
    with pytest.raises(InvalidInputError) as excinfo:
        task.read_input(tmp_path)
    assert _one_line(excinfo) == "a/zz_bad.jpg is not a readable image"


def test_bad_prepare_inputs(task):
    for raw, expected in [("a string", "expected an image"), (np.zeros((8, 8)), "too small"), ([], "no images"),
                          (np.zeros((2, 20, 20, 5)), "expected an image array"), (np.full((20, 20), np.nan), "NaN")]:
        with pytest.raises(InvalidInputError) as excinfo:
            task.prepare(raw)
        assert expected in _one_line(excinfo)


def test_bad_npz_files(tmp_path):
    task = get_task("pneumonia")
    np.savez(tmp_path / "nolabel.npz", labels=np.zeros(3))
    np.savez(tmp_path / "flat.npz", images=np.zeros((5, 28), np.uint8))
    np.savez(tmp_path / "objects.npz", images=np.array([{"a": 1}], dtype=object))
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not a zip")
    for name, expected in [("nolabel.npz", "no images array"), ("flat.npz", "must be an (N, H, W) image array"),
                           ("objects.npz", "not a readable .npz"), ("broken.npz", "not a readable .npz"),
                           ("absent.npz", "not found")]:
        with pytest.raises(InvalidInputError) as excinfo:
            task.read_input(tmp_path / name)
        assert expected in _one_line(excinfo), name
    with pytest.raises(InvalidInputError, match="no array named 'val_images'"):
        task.read_input(tmp_path / "flat.npz", key="val_images")


def test_train_baseline_names_the_missing_data_folder(task, tmp_path):
    with pytest.raises(DataNotFoundError, match=f"data folder not found: .*{task.data_folder}"):
        task.train_baseline(tmp_path)
    with pytest.raises(DataNotFoundError, match="no data folder given"):
        task.train_baseline(None)


# ----- network, shipped weights and examples -------------------------------------------------------
def test_network_round_trip_and_explain_background(task, tmp_path):
    net = task.build_network()
    net.set_statistics(np.random.default_rng(0).random((8, *_shape(task)), dtype=np.float32))
    net.save_pretrained(tmp_path)
    loaded = ImageNet.from_pretrained(tmp_path, strict=True)
    x = np.random.default_rng(1).random((4, *_shape(task)), dtype=np.float32)
    assert np.allclose(predict_proba(net, x), predict_proba(loaded, x), atol=1e-6)
    background = task.explain_background(loaded)
    assert background.shape == (2, *_shape(task)) and np.isfinite(background).all()


def test_augment_keeps_shape_and_range_and_is_seeded():
    aug = make_augment(AugmentConfig(hflip=True, vflip=True, colour=0.1, padding="zeros"))
    x = torch.rand(6, 3, 32, 32)
    a = aug(x, torch.Generator().manual_seed(3))
    b = aug(x, torch.Generator().manual_seed(3))
    assert a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b) and not torch.allclose(a, x)


def test_shipped_weights_load_strict_and_classify_examples(task):
    folder = SHIPPED / task.name
    record = json.loads((folder / RECORD).read_text())
    assert record["sha256"][WEIGHTS] == sha256_file(folder / WEIGHTS)
    assert (folder / WEIGHTS).stat().st_size < 3_000_000
    net = task.network_class.from_pretrained(folder, strict=True)
    examples = task.example_inputs()
    assert len(examples) == 4
    for path in examples:
        cases = task.read_input(path)
        proba = predict_proba(net, cases.x)
        assert proba.shape == (1, len(task.labels))
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)


def test_examples_are_named_neutrally_and_documented(task):
    examples = task.example_inputs()
    readme = (examples[0].parent / "README.md").read_text()
    for path in examples:
        assert not any(word in path.name.lower() for word in (*task.labels, "_g_")), path.name
        assert path.name in readme  # the README records each example's true label
        assert max(Image.open(path).size) <= 256
    assert "licen" in readme.lower()


# ----- real data -----------------------------------------------------------------------------------
def test_pneumonia_training_data_uses_the_official_splits(shared_data):
    splits = get_task("pneumonia").load_training_data(shared_data)
    assert splits.x_train.shape == (4708, 1, 28, 28) and splits.x_val.shape == (524, 1, 28, 28)
    assert np.bincount(splits.y_train).tolist() == [1214, 3494]
    assert np.bincount(splits.y_val).tolist() == [135, 389]


def test_glaucoma_training_data_is_a_stratified_split(shared_data):
    task = get_task("glaucoma")
    a = task.load_training_data(shared_data, seed=0)
    b = task.load_training_data(shared_data, seed=0)
    assert a.x_train.shape[1:] == (3, 96, 96)
    assert len(a.y_train) + len(a.y_val) == 564 and abs(len(a.y_val) - 113) <= 1
    assert abs(a.y_val.mean() - a.y_train.mean()) < 0.02
    assert np.array_equal(a.y_val, b.y_val) and np.array_equal(a.x_val, b.x_val)


@pytest.mark.parametrize("name", TASKS)
def test_quick_training_on_a_subset_gives_finite_metrics(shared_data, name):
    task = get_task(name)
    full = task.load_training_data(shared_data)
    rng = np.random.default_rng(0)
    tr = rng.choice(len(full.y_train), 64, replace=False)
    va = np.concatenate([np.flatnonzero(full.y_val == k)[:12] for k in (0, 1)])
    small = DataSplits(full.x_train[tr], full.y_train[tr], full.x_val[va], full.y_val[va], description=full.description)
    result = task.train(small, epochs=1, batch_size=16)
    assert set(result.metrics) >= {"roc_auc", "accuracy", "sensitivity_normal", "n"}
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert result.data["citation"]


def test_pneumonia_trains_from_class_folders(tmp_path):
    root = tmp_path / "pneumoniamnist"
    rng = np.random.default_rng(0)
    for label in ("normal", "pneumonia"):
        (root / label).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8), "L").save(root / label / f"{i}.png")
    splits = get_task("pneumonia").load_training_data(tmp_path)
    assert splits.x_train.shape == (16, 1, 28, 28) and sorted(np.bincount(splits.y_val)) == [2, 2]
