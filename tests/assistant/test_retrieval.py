"""Retrieval: the evaluation set (recall@5 >= 0.9), normalised inner-product search, and an index that is
persisted and rebuilt only when the corpus or the embedding model changes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.retrieval import FILES, KnowledgeIndex
from tests.assistant.conftest import KNOWLEDGE

EVAL = Path(__file__).with_name("eval_questions.json")


def evaluate(index: KnowledgeIndex, questions: list[dict], k: int = 5) -> tuple[float, float, list, list[float]]:
    at1 = at_k = 0
    misses, latencies = [], []
    for q in questions:
        started = time.perf_counter()
        hits = index.search(q["q"], k)
        latencies.append(time.perf_counter() - started)
        keys = [(h.chunk.doc, h.chunk.heading) for h in hits]
        expected = (q["doc"], q["heading"])
        at_k += expected in keys
        at1 += bool(keys) and keys[0] == expected
        if expected not in keys:
            misses.append((q["q"], expected, keys[:2]))
    return at1 / len(questions), at_k / len(questions), misses, latencies


def test_evaluation_set_is_realistic_and_points_at_real_sections(kindex):
    questions = json.loads(EVAL.read_text())
    assert len(questions) >= 40
    assert {q["persona"] for q in questions} >= {"patient", "student", "hospital", "enterprise", "admin"}
    sections = {(c.doc, c.heading) for c in kindex.chunks}
    for q in questions:
        assert (q["doc"], q["heading"]) in sections, q


def test_recall_at_5_on_the_evaluation_set(kindex):
    questions = json.loads(EVAL.read_text())
    at1, at5, misses, latencies = evaluate(kindex, questions)
    latencies.sort()
    print(f"\nrecall@1 {at1:.3f}  recall@5 {at5:.3f}  ({len(questions)} questions)  "
          f"latency p50 {latencies[len(latencies) // 2] * 1000:.1f} ms  max {latencies[-1] * 1000:.1f} ms")
    assert at5 >= 0.9, misses


def test_scores_are_cosine_similarities_of_normalised_vectors(kindex, embedder):
    vectors = embedder.encode(["secure aggregation", "monthly quota of the free tier"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    hits = kindex.search("secure aggregation", 3)
    assert hits[0].chunk.heading == "Secure aggregation"
    direct = float(embedder.encode([hits[0].chunk.embedding_text()])[0] @ vectors[0])
    assert hits[0].dense == pytest.approx(direct, abs=1e-4)
    assert len({(h.chunk.doc, h.chunk.heading) for h in hits}) == len(hits)  # distinct sections


class CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.texts = 0

    def encode(self, texts):
        self.texts += len(texts)
        return self.inner.encode(texts)


def test_index_is_persisted_and_rebuilt_only_when_the_corpus_changes(tmp_path, embedder):
    docs = tmp_path / "docs"
    shutil.copytree(KNOWLEDGE, docs, ignore=shutil.ignore_patterns("[!m]*"))  # the model-*/medhive-* documents
    where = tmp_path / "index"
    counting = CountingEmbedder(embedder)
    first = KnowledgeIndex.open(docs, where, embedder=counting)
    # each chunk, its heading and each of its sentences is embedded once
    assert first.rebuilt and counting.texts == 2 * len(first.chunks) + first.sentences.ntotal
    assert {p.name for p in where.iterdir()} == set(FILES)

    counting.texts = 0
    again = KnowledgeIndex.open(docs, where, embedder=counting)
    assert not again.rebuilt and counting.texts == 0
    # reopened as read-only maps of the files, not copies
    mapped = Path("/proc/self/maps").read_text()
    assert all(str(where / f"{n}.faiss") in mapped for n in ("chunks", "headings", "sentences"))
    assert isinstance(again.sentence_chunk, np.ndarray) and again.vectors.ntotal == len(again.chunks)
    assert again.search("ECG sampling rate", 1)[0].chunk.doc == "model-ecg.md"

    with (docs / "model-ecg.md").open("a") as fh:
        fh.write("\n## Added section\n\nA brand-new paragraph about sampling at 500 Hz.\n")
    counting.texts = 0
    changed = KnowledgeIndex.open(docs, where, embedder=counting)
    assert changed.rebuilt and counting.texts == 2 * len(changed.chunks) + changed.sentences.ntotal
    assert any(c["heading"] == "Added section" for c in json.loads((where / "chunks.json").read_text()))

    class OtherModel(CountingEmbedder):
        pass

    other = OtherModel(embedder)
    other.model_id = "another-model"
    assert KnowledgeIndex.open(docs, where, embedder=other).rebuilt


def test_no_pickle_in_the_persisted_index(index_dir, kindex):
    for path in index_dir.iterdir():
        assert path.suffix in (".faiss", ".npy", ".json")
        assert not path.read_bytes().startswith(b"\x80")  # pickle protocol header


def test_misspelt_words_are_put_right_against_the_documentation_words():
    from collections import Counter

    from assistant.retrieval import Speller

    speller = Speller(Counter({"account": 3, "pneumonia": 5, "quota": 2, "writes": 1, "learning": 4}))
    assert speller.correct("how do i make an acount, my quoat") == "how do i make an account, my quota"
    assert speller.correct("Pnuemonia") == "pneumonia"
    # real words stay as typed: a plural or past tense is no misspelling, and unknown words have no neighbour
    assert speller.correct("write me a poem about football") == "write me a poem about football"


def test_task_mentions_are_whole_words_from_the_catalog():
    from hub.models.catalog import task_mentions

    text = "my kidneys, the x-rays and the breast cancer model"
    found = [(text[a:b], task) for a, b, task in task_mentions(text)]
    assert found == [("kidneys", "chronic_kidney_disease"), ("x-rays", "pneumonia"),
                     ("breast cancer", "breast_cancer")]  # the longest keyword, not "breast" and a stray "cancer"
    assert task_mentions("how do I make an account?") == []


def test_a_question_naming_a_task_but_asking_about_storage_ranks_the_privacy_section_first(kindex):
    # the task word ("x-ray") alone pulls the pneumonia page's Inputs; the rest of the question is about storage
    hits = kindex.search("does medhive hold on to my x-ray once the prediction is done?", 5)
    sources = [h.source for h in hits]
    privacy = "privacy-compliance.md > What MedHive stores and what it does not"
    assert privacy in sources, sources
    pneumonia = [i for i, h in enumerate(hits) if h.chunk.doc == "model-pneumonia.md"]
    assert all(i > sources.index(privacy) for i in pneumonia), sources


def test_a_question_about_the_model_itself_still_gets_that_models_section(kindex):
    assert kindex.search("which dataset trained the parkinsons model", 1)[0].source == \
        "model-parkinsons.md > Training data of the parkinsons model"
    assert kindex.search("what are the known limits of the glaucoma model", 1)[0].source == \
        "model-glaucoma.md > Limits of the glaucoma model"
    # naming a task and asking about versions: the general section, not the task's page
    assert kindex.search("can I roll back the diabetes model to its previous version", 1)[0].source == \
        "medhive-overview.md > Model versions, aliases and rollback"


def test_the_topic_score_needs_no_second_embedding_pass(kindex):
    class Counting:
        def __init__(self, inner) -> None:
            self.inner, self.model_id, self.calls = inner, inner.model_id, []

        def encode(self, texts):
            self.calls.append(("encode", len(texts)))
            return self.inner.encode(texts)

        def encode_excluding(self, text, spans):
            self.calls.append(("encode_excluding", len(spans)))
            return self.inner.encode_excluding(text, spans)

    counting = Counting(kindex.embedder)
    index = KnowledgeIndex(kindex.chunks, kindex.vectors, embedder=counting, corpus_hash=kindex.corpus_hash,
                           rebuilt=False, headings=kindex.headings, sentences=kindex.sentences,
                           sentence_chunk=kindex.sentence_chunk)
    index.search("is my kidney result kept?", 3)
    index.search("how do I make an account?", 3)
    assert counting.calls == [("encode_excluding", 1), ("encode", 1)]  # one pass per question either way


def test_a_specific_section_ranks_above_its_documents_introduction(kindex):
    # the introduction summarises the page ("...everything that is stored centrally is non-personal or kept to
    # the minimum"); the section under it lists what is stored
    hits = kindex.search("what exactly is stored centrally about our clinicians", 2)
    assert [h.source for h in hits] == ["privacy-compliance.md > What MedHive stores and what it does not",
                                        "privacy-compliance.md"]


def test_a_question_on_what_happens_to_the_data_or_what_it_costs_is_not_a_question_about_its_task(kindex):
    from assistant.retrieval import _about_data_or_money

    for text in ("if I type my blood sugar into the diabetes form, is that stored anywhere?",
                 "my ECG recordings: do they get used to train your models?",
                 "is the heart disease checker free or do I have to pay for it"):
        assert _about_data_or_money(text), text
    for text in ("what inputs does the diabetes model need", "how was the ECG model trained",
                 "which data set trained the heart disease model"):
        assert not _about_data_or_money(text), text
    hits = kindex.search("if I type my blood sugar and weight into the diabetes form, is that stored anywhere?", 3)
    sources = [h.source for h in hits]
    assert sources[0] == "privacy-compliance.md > What MedHive stores and what it does not", sources
    # the diabetes page's Inputs came second before; the neighbours now are about what is kept, not the form
    assert not any(h.chunk.doc == "model-diabetes.md" for h in hits[:2]), sources
