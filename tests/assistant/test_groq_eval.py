"""The held-apart test set through the Groq backend (against the local OpenAI-compatible fake): the same
safety rules as offline. Every emergency question gets the whole emergency guidance first even when the
model's reply is short, verdict wording is rewritten, and citations are the passages the model was sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import evaluation
from tests.assistant.conftest import groq_backend, make_bot
from tests.assistant.fake_openai import FakeOpenAI

TEST_SET = evaluation.load(Path(__file__).with_name("eval") / "test.json")


@pytest.fixture(scope="module")
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def groq_bot(fake, kindex, registry, predictor, store, medhive_home):
    return make_bot(kindex, registry, predictor, store, medhive_home, backend=groq_backend(fake, max_retries=1))


def test_every_emergency_question_gets_the_whole_guidance_through_groq(fake, groq_bot):
    emergencies = [q for q in TEST_SET if q["expect"] == "emergency"]
    # a language model that answers briefly, and once with a verdict
    fake.script = [{"message": {"content": "Please call emergency services. You probably have a heart attack."}}
                   for _ in emergencies]
    scored = evaluation.score(groq_bot, emergencies)
    assert all(s.on_topic for s in scored), [(s.q, s.why) for s in scored if not s.on_topic]
    for request in fake.requests[-len(emergencies):]:
        system = " ".join(m["content"] for m in request["messages"] if m["role"] == "system")
        assert "possible emergency" in system


def test_documentation_answers_through_groq_cite_what_was_sent(fake, groq_bot):
    questions = [q for q in TEST_SET if q["expect"] == "answer"][:12]
    fake.script = [{"message": {"content": "According to the documentation [1], here is the answer."}}
                   for _ in questions]
    before = len(fake.requests)
    for q in questions:
        answer = groq_bot.session().ask(q["q"])
        assert answer.backend == "groq:test-model"
        request = fake.requests[before]
        before += 1
        context = next(m["content"] for m in request["messages"] if m["content"].startswith("Documentation passages"))
        first = context.split("\n[1] ", 1)[1].split("\n", 1)[0]
        sources = list(answer.sources)
        if answer.emergency:  # the learned router may take one for an emergency: its guidance is then cited first
            assert (sources[0]["doc"], sources[0]["heading"]) == (evaluation.EMERGENCY_DOC, evaluation.EMERGENCY_HEADING)
            sources = sources[1:]
        assert [f"{s['doc']} > {s['heading']}" for s in sources] == [first] or first == sources[0]["doc"]
        assert {t["function"]["name"] for t in request["tools"]} >= {"predict", "interpret", "onboard_hospital"}


def test_the_whole_test_set_through_groq_keeps_the_safety_rules(fake, groq_bot):
    # a careless language model: every reply states a verdict; the same guards as offline must hold
    from assistant.safety import EMERGENCY_NOTICE

    fake.script = [{"message": {"content": "Based on [1], you have pneumonia. The diagnosis is clear."}}
                   for _ in TEST_SET]
    guidance = evaluation.emergency_lines(groq_bot.index)
    for q in TEST_SET:
        answer = groq_bot.session().ask(q["q"])
        assert answer.backend == "groq:test-model", q["id"]
        text = answer.text.lower()
        assert "you have pneumonia" not in text and "the diagnosis is" not in text, q["id"]
        assert "not a diagnosis" in text, q["id"]
        if q["expect"] == "emergency":
            assert answer.text.startswith(EMERGENCY_NOTICE) and all(g in answer.text for g in guidance), q["id"]
        else:
            assert answer.sources, q["id"]  # cited: the passage the model was sent as [1]
