"""The numpy all-MiniLM-L6-v2 (`assistant.minilm`) against sentence-transformers: the same vectors, the same
persisted index, and no torch import to answer a question from the documents."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from assistant.minilm import NumpyMiniLMEmbedder, supports
from assistant.retrieval import KnowledgeIndex
from tests.assistant.conftest import KNOWLEDGE
from tests.conftest import REPO

TEXTS = ["How accurate is the pneumonia model?", "I have crushing chest pain", "epsilon " * 400,
         "Secure aggregation: the server never sees one hospital's update in the clear.", "a"]


def test_vectors_match_sentence_transformers(embedder):
    mine = NumpyMiniLMEmbedder().encode(TEXTS)
    reference = embedder.encode(TEXTS)  # sentence-transformers (torch), the library this cross-checks
    assert mine.shape == reference.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(mine * reference, axis=1)) > 0.9999
    assert np.abs(mine - reference).max() < 1e-4


def test_a_vector_without_some_words_comes_from_the_same_pass_in_both_embedders(embedder):
    text = "does the site keep my chest x-ray after the prediction?"
    start = text.index("chest x-ray")
    spans = [(start, start + len("chest x-ray"))]
    mine = NumpyMiniLMEmbedder().encode_excluding(text, spans)
    reference = embedder.encode_excluding(text, spans)
    assert mine.shape == reference.shape == (2, 384)
    assert np.abs(mine - reference).max() < 1e-4  # the same token states, pooled the same way
    assert np.abs(mine[0] - embedder.encode([text])[0]).max() < 1e-4  # row 0 is the sentence vector
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-5)
    # leaving the words out moves the vector, towards the text without them; excluding nothing moves nothing
    without = embedder.encode([text.replace("chest x-ray", "")])[0]
    assert float(mine[1] @ mine[0]) < 0.99 and float(mine[1] @ without) > float(mine[0] @ without)
    assert np.abs(NumpyMiniLMEmbedder().encode_excluding(text, [])[1] - mine[0]).max() < 1e-5


def test_the_index_built_by_either_is_the_same(embedder, index_dir, examples_dir, kindex):
    from assistant.examples import open_examples

    numpy_embedder = NumpyMiniLMEmbedder()
    assert numpy_embedder.model_id == embedder.model_id
    reopened = KnowledgeIndex.open(KNOWLEDGE, index_dir, embedder=numpy_embedder)
    assert not reopened.rebuilt
    reopened.examples = open_examples(examples_dir, numpy_embedder)  # the same vectors, read back
    for q in ["what is epsilon?", "how do I get an API key", "my node does not join a round",
              "does medhive keep my x-ray after the prediction?"]:  # names a task: the topic vector too
        assert [h.source for h in reopened.search(q, 5)] == [h.source for h in kindex.search(q, 5)]


def test_only_bert_mean_pooling_folders_are_accepted(tmp_path):
    assert supports(NumpyMiniLMEmbedder().path)
    assert not supports(tmp_path)


def test_answering_from_the_documents_imports_no_torch(home_with_index):
    probe = ("import sys; from medhive.commands.ask import open_session; from medhive.settings import get_settings; "
             "s = open_session(get_settings(), None); a = s.ask('what is secure aggregation?'); "
             "b = s.ask('does medhive keep my x-ray?'); "  # names a task: the topic vector, from numpy too
             "assert a.sources and b.sources, a.text; print('torch' in sys.modules, 'sentence_transformers' in sys.modules, "
             "'faiss' in sys.modules)")
    env = {**os.environ, "MEDHIVE_HOME": str(home_with_index), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=str(REPO), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.split()[:2] == ["False", "False"]  # faiss (the index, ~0.1 s) is the one library it needs


def test_a_repeated_question_is_served_from_the_cache_with_the_same_vector():
    cached = NumpyMiniLMEmbedder(cache_size=2)
    first = cached.encode(["what is epsilon?"])
    first[0, 0] = 42.0  # what a caller does with its copy does not reach the cache
    again = cached.encode(["what is epsilon?"])
    assert np.array_equal(again, NumpyMiniLMEmbedder(cache_size=0).encode(["what is epsilon?"]))
    assert len(cached._cache) == 1 and not any(b"epsilon" in key for key in cached._cache)  # digests, not text
    cached.encode(["how do I get an API key"])
    cached.encode(["my node does not join a round"])  # the oldest entry goes: at most cache_size are kept
    assert len(cached._cache) == 2
    for vector in cached._cache.values():  # mark what is kept: a marked answer came from the cache
        vector[0] = 42.0
    assert cached.encode(["my node does not join a round"])[0, 0] == 42.0
    assert cached.encode(["what is epsilon?"])[0, 0] != 42.0  # the oldest was evicted: computed again
    cached.cache_clear()
    assert not cached._cache


def test_a_repeated_question_naming_a_task_is_served_from_the_cache_too():
    cached = NumpyMiniLMEmbedder(cache_size=4)
    text = "does medhive keep my x-ray?"
    spans = [(text.index("x-ray"), text.index("x-ray") + 5)]
    first = cached.encode_excluding(text, spans)
    first[:] = 42.0  # the caller's copy
    assert len(cached._cache) == 1
    for vectors in cached._cache.values():  # mark what is kept: a marked answer came from the cache
        vectors[1, 0] = 7.0
    assert cached.encode_excluding(text, spans)[1, 0] == 7.0
    assert cached.encode_excluding(text, [])[1, 0] != 7.0  # other spans, another entry
    assert cached.encode([text])[0, 0] != 7.0  # and the plain sentence vector is not confused with it
