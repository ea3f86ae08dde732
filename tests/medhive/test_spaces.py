"""The Spaces: deployable folders (front matter, requirements, thin app.py) generated from the task catalog
(`medhive spaces export`), each launched from its own app.py and driven through `gradio_client.Client`:
one prediction with an example input, one bad input."""

from __future__ import annotations

import io
import runpy
import socket
from pathlib import Path

import pytest
import yaml
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image
from pypdf import PdfReader

from hub.models import get_task, task_names

REPO = Path(__file__).resolve().parents[2]
SPACES = tuple(task_names())
#: tabular tasks on the shared TabularTask pieces (breast_cancer has its own test below)
NEW_TABULAR = ("heart_disease", "diabetes", "chronic_kidney_disease", "parkinsons")


def front_matter(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


@pytest.mark.parametrize("task", SPACES)
def test_space_folder_is_deployable_as_it_is(task):
    folder = REPO / "spaces" / task
    meta = front_matter(folder / "README.md")
    for key in ("title", "sdk", "sdk_version", "app_file", "models", "tags", "short_description"):
        assert meta.get(key), f"{task}: front matter lacks {key}"
    assert meta["sdk"] == "gradio" and (folder / meta["app_file"]).is_file()
    assert len(meta["short_description"]) <= 60 and meta["models"] == [f"medhive/medhive-{task}"]
    import gradio

    assert meta["sdk_version"] == gradio.__version__
    reqs = (folder / "requirements.txt").read_text()
    assert "medhive" in reqs and "torch" in reqs
    code = [ln for ln in (folder / "app.py").read_text().splitlines() if ln.strip() and not ln.startswith('"""')]
    assert len(code) <= 6 and f'build_space("{task}")' in "".join(code)
    assert "Not a diagnosis" in (folder / "README.md").read_text()


def test_committed_space_folders_equal_the_export(tmp_path):
    from medhive.export.spaces import export_spaces

    export_spaces(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SPACES)
    for folder in tmp_path.iterdir():
        for f in folder.iterdir():
            committed = REPO / "spaces" / folder.name / f.name
            assert committed.is_file(), f"spaces/{folder.name}/{f.name} missing: run `medhive spaces export`"
            assert committed.read_text(encoding="utf-8") == f.read_text(encoding="utf-8"), (
                f"spaces/{folder.name}/{f.name} differs from `medhive spaces export`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def launched(request):
    """The Space of `request.param` launched from spaces/<task>/app.py, and a client for it."""
    task = request.param
    demo = runpy.run_path(str(REPO / "spaces" / task / "app.py"), run_name="space")["demo"]
    from medhive.ui import launch_options

    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", server_port=_free_port(),
                **launch_options())
    try:
        yield task, Client(demo.local_url, verbose=False)
    finally:
        demo.close()


def check_result(task: str, result: tuple) -> None:
    label, explanation, figure, _summary, pdf, card = result[-6:]
    spec = get_task(task)
    assert label["label"] in spec.labels
    confidences = {c["label"]: c["confidence"] for c in label["confidences"]}
    assert abs(sum(confidences.values()) - 1) < 1e-3 and max(confidences, key=confidences.get) == label["label"]
    assert explanation.startswith(f"### {label['label'].capitalize()}, ")
    assert Image.open(figure).size[0] > 300
    path = Path(pdf["value"] if isinstance(pdf, dict) else pdf)
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and spec.name in path.name
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "version v1.0" in text and label["label"] in text and "Not a diagnosis" in text
    assert "Model v1.0" in card and "last updated" in card


def bad_input_refused(call, fragment: str) -> None:
    with pytest.raises(AppError) as info:
        call()
    message = str(info.value)
    assert fragment in message, message
    assert "Traceback" not in message and "/tmp/" not in message


@pytest.mark.integration
@pytest.mark.parametrize("launched", ["breast_cancer"], indirect=True)
def test_breast_cancer_space(launched, tmp_path):
    task, client = launched
    values = client.predict("malignant case", api_name="/load_example")
    assert values[-1].startswith("Loaded example") and len(values) == 31
    result = client.predict(*values[:-1], "", api_name="/predict")
    check_result(task, result)
    assert result[0]["label"] == "malignant" and "key factors" in result[1].lower()
    csv = tmp_path / "case.csv"
    csv.write_text(get_task(task).example_inputs()[0].read_text())
    from_csv = client.predict(handle_file(str(csv)), api_name="/load_csv")
    assert from_csv[-1].startswith("Loaded the first row")
    bad = list(values[:-1])
    bad[0] = 500.0
    bad_input_refused(lambda: client.predict(*bad, "", api_name="/predict"), "outside the valid range")
    bad[0] = None
    bad_input_refused(lambda: client.predict(*bad, "", api_name="/predict"), "please fill in every field")


@pytest.mark.integration
@pytest.mark.parametrize("launched", ["pneumonia", "glaucoma"], indirect=True)
def test_image_space(launched, tmp_path):
    task, client = launched
    example = get_task(task).example_inputs()[0]
    result = client.predict(handle_file(str(example)), "ref 12 typed by me", api_name="/predict")
    check_result(task, result)
    assert "strongest in the" in result[1]
    not_an_image = tmp_path / "scan.png"
    not_an_image.write_text("this is not an image")
    bad_input_refused(lambda: client.predict(handle_file(str(not_an_image)), "", api_name="/predict"),
                      "not a readable image")
    tiny = tmp_path / "tiny.png"
    Image.new("L", (8, 8)).save(tiny)
    bad_input_refused(lambda: client.predict(handle_file(str(tiny)), "", api_name="/predict"), "too small")


@pytest.mark.integration
@pytest.mark.parametrize("launched", ["ecg"], indirect=True)
def test_ecg_space(launched, tmp_path):
    task, client = launched
    example = "mitbih 223 excerpt (WFDB)"
    result = client.predict([], example, "", "most notable beat", "", api_name="/predict")
    trace, beats = result[0], result[1]
    check_result(task, result)
    assert Image.open(trace).size[0] > 600
    choices = [c[0] for c in beats["choices"]]
    assert len(choices) > 20 and "Whole record" in result[5]
    # an uploaded WFDB record (header and samples as two files) and a chosen beat
    record = next(p for p in get_task(task).example_inputs() if p.suffix == ".hea")
    chosen = choices[3]
    again = client.predict([handle_file(str(record)), handle_file(str(record.with_suffix(".dat")))], None, "",
                           chosen, "", api_name="/predict")
    check_result(task, again)
    assert chosen.split(":")[0].split(" at ")[1] in again[3]  # the explained beat's time
    flat = tmp_path / "flat.csv"
    flat.write_text("# fs=360\nMLII\n" + "0.0\n" * 4000)
    bad_input_refused(lambda: client.predict([handle_file(str(flat))], None, "", "most notable beat", "",
                                             api_name="/predict"), "flat signal")
    bad_input_refused(lambda: client.predict([handle_file(str(record.with_suffix(".dat")))], None, "",
                                             "most notable beat", "", api_name="/predict"), ".hea header")


@pytest.mark.integration
@pytest.mark.parametrize("launched", NEW_TABULAR, indirect=True)
def test_new_tabular_space(launched):
    task, client = launched
    spec = get_task(task)
    example = spec.example_inputs()[0].stem.replace("_", " ")
    values = client.predict(example, api_name="/load_example")
    assert values[-1].startswith("Loaded example") and len(values) == len(spec.input_fields) + 1
    result = client.predict(*values[:-1], "", api_name="/predict")
    check_result(task, result)
    assert "key factors" in result[1].lower()
    # a blank optional field is imputed and the explanation says so
    optional = [i for i, f in enumerate(spec.input_fields) if f.optional]
    if optional:
        blank = list(values[:-1])
        blank[optional[0]] = None
        again = client.predict(*blank, "", api_name="/predict")
        assert "Imputed" in again[1] and spec.input_fields[optional[0]].name in again[1]
    bad = list(values[:-1])
    k, f = next((i, f) for i, f in enumerate(spec.input_fields) if not f.choices)
    bad[k] = f.maximum * 10 + 1000
    bad_input_refused(lambda: client.predict(*bad, "", api_name="/predict"), "outside the valid range")
