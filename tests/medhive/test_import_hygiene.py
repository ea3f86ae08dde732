"""Light commands, and a tabular prediction, never import torch (nor the web stack, Flower or SHAP): checked
in a fresh interpreter per command. Import hygiene, not timing: the timings are in benchmarks/cli_latency.py."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "gradio", "fastapi", "flwr", "shap", "scipy.signal")


def _run_in_fresh_interpreter(args: list[str], tmp_path: Path) -> tuple[int, list[str]]:
    """Run `medhive ARGS` in a new Python process; return its exit status and the heavy modules it loaded."""
    report = tmp_path / "modules.json"
    script = (
        "import json, sys\n"
        "from medhive.cli import app\n"
        "code = 0\n"
        "try:\n"
        "    app(sys.argv[2:], prog_name='medhive')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code or 0\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "open(sys.argv[1], 'w').write(json.dumps([code, heavy]))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script, str(report), *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert report.is_file(), proc.stderr[-2000:]
    code, heavy = json.loads(report.read_text())
    return code, heavy


@pytest.fixture
def seeded(medhive_home):
    from medhive.wiring import open_registry

    open_registry()  # seeding loads the shipped weights (torch); listing afterwards must not
    return medhive_home


def test_light_commands_do_not_import_torch(seeded, tmp_path):
    from sklearn.datasets import load_breast_cancer

    from hub.models import get_task

    task = get_task("breast_cancer")
    data = load_breast_cancer()
    path = tmp_path / "hospital.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f.name for f in task.input_fields] + ["diagnosis"])
        for row, target in zip(data.data, data.target):
            w.writerow([f"{v:.6g}" for v in row] + [task.labels[int(target == 0)]])

    for args in (["--help"], ["models", "list"], ["models", "show", "breast_cancer"],
                 ["node", "validate", str(path), "--task", "breast_cancer"], ["audit", "show"]):
        code, heavy = _run_in_fresh_interpreter(args, tmp_path)
        assert code == 0, f"medhive {' '.join(args[:2])} exited {code}"
        assert heavy == [], f"medhive {' '.join(args[:2])} imported {heavy}"


def test_a_tabular_prediction_does_not_import_torch(seeded, tmp_path):
    """A one-row prediction of a tabular task runs on the numpy forward (hub.models._tabular_numpy)."""
    for task in ("breast_cancer", "heart_disease"):
        code, heavy = _run_in_fresh_interpreter(["predict", task, str(get_example(task))], tmp_path)
        assert code == 0, f"medhive predict {task} exited {code}"
        assert heavy == [], f"medhive predict {task} imported {heavy}"


def test_the_hygiene_check_sees_torch(seeded, tmp_path):
    """The same probe reports torch for a command that needs it (an image prediction), so the tests above
    can fail."""
    code, heavy = _run_in_fresh_interpreter(["predict", "glaucoma", str(get_example("glaucoma"))], tmp_path)
    assert code == 0 and "torch" in heavy


def get_example(task: str = "breast_cancer") -> Path:
    from hub.models import get_task

    return Path(get_task(task).example_inputs()[0])
