"""Generated knowledge pages: committed pages equal `medhive knowledge export`, hand-written ones are kept,
and every task has a page the assistant indexes."""

from __future__ import annotations

from typer.testing import CliRunner

from hub.models import get_task, task_names
from hub.models.catalog import knowledge_doc
from medhive.cli import app
from medhive.export.pages import export_pages, is_generated, render_page
from tests.conftest import REPO

KNOWLEDGE = REPO / "knowledge"


def test_every_task_has_a_knowledge_page_and_generated_ones_equal_the_export():
    for name in task_names():
        page = KNOWLEDGE / knowledge_doc(name)
        assert page.is_file(), f"{page.name} missing: run `medhive knowledge export`"
        if is_generated(page):
            assert page.read_text(encoding="utf-8") == render_page(get_task(name)), (
                f"{page.name} differs from `medhive knowledge export`")


def test_a_generated_page_states_fields_metrics_and_limits(tmp_path):
    text = render_page(get_task("heart_disease"))
    for fragment in ("serum cholesterol (column `chol`): 80-700 mg/dl; may be blank (imputed)",
                     "ST depression (column `oldpeak`): -5 to 10 mm", "| ROC AUC |", "Not a diagnosis",
                     "POST /v1/models/heart_disease/predict", "4 centres pooled"):
        assert fragment in text


def test_export_keeps_hand_written_pages_and_the_command_writes_the_rest(tmp_path):
    hand = tmp_path / knowledge_doc("breast_cancer")
    hand.write_text("# written by a person\n")
    written = export_pages(tmp_path)
    assert hand.read_text() == "# written by a person\n" and hand not in written
    assert (tmp_path / knowledge_doc("parkinsons")) in written
    out = CliRunner().invoke(app, ["knowledge", "export", "diabetes", "--out", str(tmp_path / "k")])
    assert out.exit_code == 0 and (tmp_path / "k" / "model-diabetes.md").is_file()
    bad = CliRunner().invoke(app, ["knowledge", "export", "no_such_task", "--out", str(tmp_path / "k")])
    assert bad.exit_code == 2 and "unknown task" in bad.output
    spaces = CliRunner().invoke(app, ["spaces", "export", "parkinsons", "--out", str(tmp_path / "s")])
    assert spaces.exit_code == 0 and (tmp_path / "s" / "parkinsons" / "README.md").is_file()
