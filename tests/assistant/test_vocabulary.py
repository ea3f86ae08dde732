"""Query expansion: users' words mapped to the documentation's, for the lexical half of retrieval."""

from __future__ import annotations

from assistant.knowledge import load_corpus
from assistant.retrieval import tokens
from assistant.vocabulary import _FAMILIES, expand
from tests.assistant.conftest import KNOWLEDGE


def test_every_added_word_is_a_word_of_the_documentation():
    # a word the documents never use could only add noise to BM25
    chunks, _ = load_corpus(KNOWLEDGE)
    vocabulary = {t for c in chunks for t in tokens(c.embedding_text())}
    added = {w for _, docs in _FAMILIES for w in docs.split()}
    assert added - vocabulary == set()


def test_a_patients_words_gain_the_documentations_words():
    out = expand("do you keep my pictures?")
    assert out.startswith("do you keep my pictures?")
    assert {"stored", "image"} <= set(tokens(out))
    assert "pneumonia" in tokens(expand("what happens to my xray"))  # the task the catalog's keywords name


def test_nothing_is_added_to_words_it_does_not_know():
    assert expand("zebra quantum") == "zebra quantum"
