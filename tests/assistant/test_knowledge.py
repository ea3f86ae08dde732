"""The knowledge base: heading chunking, the corpus hash, and documentation that matches the shipped models."""

from __future__ import annotations

import json
import re

import pytest

from assistant.errors import KnowledgeError
from assistant.knowledge import chunk_document, document_paths, load_corpus
from tests.assistant.conftest import KNOWLEDGE
from tests.conftest import REPO

DOC = """# Title

Intro text.

## First section

Alpha paragraph.

```
# not a heading inside a fence
```

### Sub section

Beta.

## Empty

## Last
Gamma.
"""


def test_chunks_follow_headings_and_skip_fenced_hashes():
    chunks = chunk_document("doc.md", DOC)
    assert [c.heading for c in chunks] == ["Title", "First section", "Sub section", "Last"]
    assert all(c.title == "Title" for c in chunks)
    assert "# not a heading inside a fence" in chunks[1].text
    assert chunks[1].source == "doc.md > First section"
    assert chunks[0].source == "doc.md"


def test_long_sections_split_on_paragraphs_and_keep_their_heading():
    body = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(10))
    chunks = chunk_document("long.md", f"# Long\n\n## Big\n\n{body}\n", max_chars=700)
    assert len(chunks) > 3
    assert {c.heading for c in chunks} == {"Big"}
    assert all(len(c.text) <= 700 for c in chunks)
    assert "".join(c.text for c in chunks).count("Paragraph") == 10


def test_corpus_hash_changes_with_content(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\n## One\n\ntext\n")
    _, h1 = load_corpus(tmp_path)
    _, h2 = load_corpus(tmp_path)
    (tmp_path / "a.md").write_text("# A\n\n## One\n\ntext changed\n")
    _, h3 = load_corpus(tmp_path)
    assert h1 == h2 != h3


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(KnowledgeError, match="not found"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(KnowledgeError, match="no Markdown"):
        load_corpus(tmp_path)


def test_every_document_has_a_title_and_sections():
    for path in document_paths(KNOWLEDGE):
        text = path.read_text()
        assert text.startswith("# "), path.name
        assert len(re.findall(r"^## ", text, re.M)) >= 2, path.name


@pytest.mark.parametrize("task,doc", [("breast_cancer", "model-breast-cancer.md"), ("pneumonia", "model-pneumonia.md"),
                                      ("glaucoma", "model-glaucoma.md"), ("ecg", "model-ecg.md")])
def test_model_documents_quote_the_shipped_validation_metrics(task, doc):
    """The metrics in each model document are the shipped baseline's, to three decimals."""
    record = json.loads((REPO / "hub" / "models" / "weights" / task / "baseline.json").read_text())
    text = (KNOWLEDGE / doc).read_text()
    m = record["metrics"]
    assert f"{m['roc_auc']:.3f}" in text
    assert f"{m['accuracy']:.3f}" in text
    assert f"{int(m['n']):,}" in text or str(int(m["n"])) in text
    for key, value in m.items():
        if key.startswith(("sensitivity_", "precision_")) and key.split("_", 1)[1] not in ("F", "Q"):
            assert f"{value:.3f}" in text, f"{doc} lacks {key} {value:.3f}"


def test_every_model_has_a_document_and_the_documents_cover_the_issue_topics():
    from hub.models import task_names

    names = {p.name for p in document_paths(KNOWLEDGE)}
    for task in task_names():
        assert f"model-{task.replace('_', '-')}.md" in names
    for needed in ("medhive-overview.md", "reading-predictions.md", "federated-learning-privacy.md",
                   "hospital-onboarding.md", "tiers-quotas-pricing.md", "rest-api.md", "privacy-compliance.md",
                   "troubleshooting.md"):
        assert needed in names
