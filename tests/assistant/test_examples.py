"""Earlier users' questions as a re-ranking term (`assistant.examples`)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from assistant.examples import EXAMPLES, SectionExamples, load_rows, open_examples
from tests.conftest import REPO

EVAL = REPO / "tests" / "assistant" / "eval"


def test_best_per_section_is_the_highest_cosine_of_an_example_naming_it():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    names = [f"doc.md > s{i}" for i in range(6)]
    sections = tuple(tuple(rng.choice(names, size=int(rng.integers(1, 3)), replace=False)) for _ in range(40))
    examples = SectionExamples(vectors, sections, tuple("a" if i % 2 else "b" for i in range(40)))
    query = rng.normal(size=8).astype(np.float32)
    query /= np.linalg.norm(query)
    section_of = {n: i for i, n in enumerate(names + ["doc.md > never named"])}
    got = examples.best_per_section(query, section_of, len(section_of))
    for name, i in section_of.items():
        cosines = [float(vectors[j] @ query) for j in range(40) if name in sections[j]]
        assert got[i] == (max(cosines) if cosines else 0.0) or abs(got[i] - max(cosines)) < 1e-6
    assert got[section_of["doc.md > never named"]] == 0.0
    without_a = examples.without("a")
    assert len(without_a) == 20 and set(without_a.sources) == {"b"}


class _Counting:
    model_id = "counting"

    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def encode(self, texts):
        self.calls += 1
        return self.inner.encode(texts)


def test_examples_are_embedded_once_and_again_when_the_file_changes(tmp_path, embedder):
    rows = [{"text": "how do I sign up", "label": "answer", "source": "s", "sections": ["accounts.md > Creating an account"]},
            {"text": "a router-only wording", "label": "unknown", "source": "written"}]
    path = tmp_path / "examples.json"
    path.write_text(json.dumps(rows))
    counting = _Counting(embedder)
    first = open_examples(tmp_path / "cache", counting, path=path)
    assert len(first) == 1 and first.sections == (("accounts.md > Creating an account",),)  # rows without sections skipped
    again = open_examples(tmp_path / "cache", counting, path=path)
    assert counting.calls == 1 and np.allclose(np.asarray(again.vectors), np.asarray(first.vectors))
    path.write_text(json.dumps(rows + [{"text": "where is my bill", "label": "answer", "source": "s",
                                        "sections": ["tiers-quotas-pricing.md > Billing and invoices"]}]))
    assert len(open_examples(tmp_path / "cache", counting, path=path)) == 2 and counting.calls == 2


def test_a_question_close_to_an_earlier_one_lifts_the_section_that_answered_it(kindex, embedder):
    """An invented wording the documents do not use, labelled with a section it would never reach: asked
    again in other words, that section comes first with the example and not without it."""
    target = "administration.md > Seeing consents across hospitals"
    taught = "my zebra crossing keeps flashing purple at night"
    asked = "at night my zebra crossing flashes purple"
    example = SectionExamples(np.asarray(embedder.encode([taught]), dtype=np.float32), ((target,),), ("s",))
    saved = kindex.examples
    try:
        kindex.examples = None
        plain = {h.source: h.relevance for h in kindex.search(asked, 1000)}
        assert kindex.search(asked, 5)[0].source != target
        kindex.examples = example
        hits = kindex.search(asked, 5)
        assert hits[0].source == target
        assert hits[0].relevance == plain[target]  # the documents' own cosine ("I don't know" reads it) is not lifted
        kindex.weights = dataclasses.replace(kindex.weights, example=0.0)
        assert kindex.search(asked, 5)[0].source != target  # weight 0 turns the term off
    finally:
        kindex.weights = dataclasses.replace(kindex.weights, example=type(kindex.weights)().example)
        kindex.examples = saved


def test_the_example_sections_are_the_seen_sets_labels_and_exist_in_the_documents(kindex):
    from scripts.routing_examples import SEEN

    rows = load_rows(EXAMPLES)
    sources = {c.source for c in kindex.chunks} | {f"{c.doc} > {c.title}" for c in kindex.chunks}
    stale = sorted({s for r in rows for s in r["sections"] if s not in sources and r["source"] != "eval_questions"})
    assert not stale, f"sections renamed or removed: refresh with scripts/routing_examples.py ({stale[:3]})"
    for name in SEEN:
        want = [(q["q"], [s for s in q.get("relevant") or [] if " > " in s]) for q in
                json.loads((EVAL / f"{name}.json").read_text()) if q["expect"] == "answer"]
        got = [(r["text"], r["sections"]) for r in rows if r["source"] == name]
        assert got == [w for w in want if w[1]], name
    test_set = {q["q"] for q in json.loads((EVAL / "test.json").read_text())}
    assert not {r["text"] for r in rows} & test_set
