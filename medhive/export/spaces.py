"""`spaces/<task>/` from the task catalog: app.py (thin), README.md (Space front matter) and requirements.txt.

    medhive spaces export [TASK] [--out spaces]

Everything task-specific comes from the task module (`Task.space`, `title`, `summary`, `input_kind`);
the versions pinned are those installed (gradio for `sdk_version`, torch, medhive), so a Space runs what
the tests ran. A test checks that the committed folders equal this export.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from hub.models import all_tasks, get_task
from hub.models.base import Task

PIPELINE_TAGS = {"tabular": "tabular-classification", "image": "image-classification",
                 "signal": "time-series-classification"}
NAMESPACE = "medhive"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist).split("+")[0]
    except metadata.PackageNotFoundError:  # pragma: no cover - installed with the project
        return "0"


def _meta(task: Task) -> dict[str, object]:
    s = dict(task.space)
    short = str(s.get("short_description") or task.summary)
    if len(short) > 60:  # the Hub refuses longer ones
        short = short[:59].rsplit(" ", 1)[0] + "…"
    return {
        "title": s.get("title") or f"MedHive {task.title}",
        "emoji": s.get("emoji") or "🩺",
        "color": s.get("color") or "blue",
        "short_description": short,
        "tags": ["medical", *s.get("tags", [task.name.replace("_", "-")]), PIPELINE_TAGS.get(task.input_kind, "other"),
                 "federated-learning", "shap", "medhive"],
        "intro": s.get("intro") or f"{task.summary} {task.input_description}".strip(),
    }


def render_readme(task: Task) -> str:
    import gradio

    m = _meta(task)
    repo = f"{NAMESPACE}/medhive-{task.name}"
    tags = "".join(f"  - {t}\n" for t in m["tags"])
    return f"""---
title: {m["title"]}
emoji: {m["emoji"]}
colorFrom: {m["color"]}
colorTo: indigo
sdk: gradio
sdk_version: {gradio.__version__}
python_version: "3.11"
app_file: app.py
pinned: false
license: apache-2.0
short_description: {m["short_description"]}
models:
  - {repo}
tags:
{tags}---

# {m["title"]}

{m["intro"]}

Outputs: the class confidences, the explanation figure and its key factors in words, a summary of the
model card (version, validation metrics, hospitals, last update) and a PDF report to download.

> **Not a diagnosis: for use under clinical review.** A research tool trained on public data and, when
> hospitals take part, improved by federated training in MedHive; no patient record leaves a hospital.

## How this Space works

`app.py` is three lines: it builds the Space with `medhive.ui.build_space("{task.name}")`, the same UI the
MedHive portal mounts at `/spaces/{task.name}/`. The model comes from the MedHive registry:

- by default the v1.0 model shipped inside the `medhive` package (seeded into a local registry under
  `MEDHIVE_HOME` on first start, signature verified);
- set the Space variable `MEDHIVE_REGISTRY=hf://medhive` to serve the current `production` version of
  the `{repo}` model repo instead (promotions and rollbacks show without a restart), with
  `MEDHIVE_TRUSTED_KEYS` naming the aggregation service's public key.

Run it locally from a MedHive checkout: `python spaces/{task.name}/app.py`.
"""


def render_app(task: Task) -> str:
    title = _meta(task)["title"]
    return f'''"""Hugging Face Space: {title}. The UI lives in `medhive.ui`; see README.md."""

from medhive.ui import build_space, launch_options

demo = build_space("{task.name}")

if __name__ == "__main__":
    demo.launch(**launch_options())
'''


def render_requirements(task: Task) -> str:
    return ("# CPU-only PyTorch keeps the Space small; gradio itself comes with the Space (sdk_version).\n"
            "--extra-index-url https://download.pytorch.org/whl/cpu\n"
            f"torch=={_version('torch')}\n"
            f"medhive=={_version('medhive')}\n")


def render_space(task_name: str) -> dict[str, str]:
    """The files of `spaces/<task>/` by name."""
    task = get_task(task_name)
    return {"README.md": render_readme(task), "app.py": render_app(task), "requirements.txt": render_requirements(task)}


def export_spaces(out: Path, tasks: list[str] | None = None) -> list[Path]:
    """Write `out/<task>/` for each task (all when None); returns the folders written."""
    written = []
    for name in tasks or list(all_tasks()):
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        for filename, text in render_space(name).items():
            (folder / filename).write_text(text, encoding="utf-8")
        written.append(folder)
    return written
