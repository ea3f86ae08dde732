"""Every question set under tests/assistant/eval/ is well formed: each label names a heading (or a document)
that exists in knowledge/, each "answer" question has at least one label, and each expected tool exists.

A label that drifts from the documents (a renamed heading) would silently make a question unanswerable;
this test fails instead. Messages name the set, the question id and the label, never the question text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import evaluation
from assistant.knowledge import load_corpus
from assistant.tools import TOOLS
from tests.assistant.conftest import KNOWLEDGE

EVAL = Path(__file__).with_name("eval")
SETS = sorted(EVAL.glob("*.json"))
EXPECTS = {"answer", "emergency", "onboarding", "unknown"}


@pytest.fixture(scope="module")
def headings() -> tuple[set[str], set[str]]:
    chunks, _ = load_corpus(KNOWLEDGE)
    return {f"{c.doc} > {c.heading}" for c in chunks}, {c.doc for c in chunks}


def test_there_are_question_sets():
    assert {"dev.json", "test.json", "fresh2.json"} <= {p.name for p in SETS}


@pytest.mark.parametrize("path", SETS, ids=[p.name for p in SETS])
def test_every_label_names_an_existing_heading(path, headings):
    sections, docs = headings
    questions = evaluation.load(path)
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids)), f"{path.name}: duplicate ids"
    for q in questions:
        where = f"{path.name} {q['id']}"
        assert q["expect"] in EXPECTS, where
        assert q["q"].strip() and q["persona"], where
        labels = q.get("relevant") or []
        assert (q["expect"] == "answer") == bool(labels), f"{where}: labels only and always on answer questions"
        for label in labels:
            assert label in sections or label in docs, f"{where}: no heading {label!r}"
        for tool in q.get("tools") or []:
            assert tool in TOOLS, f"{where}: no tool {tool!r}"
