"""The held-apart test set (tests/assistant/eval/test.json, never used for tuning): >= 90% of answers on
topic offline, every emergency question answered with the whole emergency guidance first, and honest
"I don't know" answers for questions the documentation does not cover."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import evaluation

EVAL = Path(__file__).with_name("eval")


@pytest.fixture(scope="module")
def sets():
    return {name: evaluation.load(EVAL / f"{name}.json") for name in ("dev", "test")}


def test_sets_are_apart_well_formed_and_point_at_real_sections(sets, kindex):
    dev, test = sets["dev"], sets["test"]
    assert len(test) >= 60
    assert not {q["q"].lower() for q in dev} & {q["q"].lower() for q in test}
    assert {"patient", "clinician", "hospital", "enterprise", "admin"} <= {q["persona"] for q in test}
    sections = {f"{c.doc} > {c.heading}" for c in kindex.chunks}
    docs = {c.doc for c in kindex.chunks}
    for q in dev + test:
        assert q["expect"] in ("answer", "emergency", "onboarding", "unknown"), q
        for r in q.get("relevant") or []:
            assert r in sections or r in docs, (q["id"], r)
        assert (q["expect"] == "answer") == bool(q.get("relevant")), q["id"]
    assert sum(q["expect"] == "emergency" for q in test) >= 8


def test_held_apart_test_set_is_answered_on_topic(bot, sets):
    scored = evaluation.score(bot, sets["test"])
    s = evaluation.summary(scored)
    misses = [(x.id, x.q, x.why) for x in scored if not x.on_topic]
    print(f"\non topic {s['on_topic']:.3f}, recall@5 {s['recall_at_k']:.3f}, emergencies "
          f"{s['emergencies_handled']}/{s['emergencies']}; misses: {misses}")
    assert s["emergencies_handled"] == s["emergencies"], [m for m in misses if "emergency" in m[2] or "notice" in m[2]]
    # the goal (>= 0.9, NOT met) is tracked in benchmarks/results/assistant*.md; this guards the measured
    # level against regressions: 0.568 before issue 15, 0.770 after it, 0.716 once main added the heart
    # disease and diabetes documents, 0.878 (65 of 74) with sentence and heading vectors, BM25 over everyday
    # words mapped to the documentation's, and the routing fixes (all chosen on dev.json); 0.865 (64) once
    # knowledge/accounts.md joined the corpus; then the scorer became stricter (a reply that starts onboarding,
    # leads with a tool's failure or asks which model to use is off topic): the same code scored 0.838 (62) by
    # the strict rules, and 0.851 (63) after the routing and retrieval changes of issue-15r, chosen on dev.json
    # (by the old rules those changes scored 0.851 as well: one question fewer than 0.865)
    assert s["on_topic"] >= 0.85, misses


def test_scorer_can_fail(bot):
    # the scorer is not a rubber stamp: a question pointed at the wrong section scores off topic
    wrong = [{"id": "x", "persona": "patient", "q": "What is secure aggregation?", "expect": "answer",
              "relevant": ["tiers-quotas-pricing.md > The three tiers"]},
             {"id": "y", "persona": "patient", "q": "What is secure aggregation?", "expect": "emergency"},
             {"id": "z", "persona": "patient", "q": "What is secure aggregation?", "expect": "unknown"}]
    assert not any(x.on_topic for x in evaluation.score(bot, wrong))


class _Canned:
    """A bot that gives one fixed reply, to test the scorer's rules on their own."""

    def __init__(self, answer, index):
        self.answer, self.index = answer, index

    def session(self, caller=None):
        return self

    def ask(self, text):
        return self.answer


def test_scorer_counts_a_reply_that_starts_another_conversation_as_off_topic(kindex):
    from assistant.llm.base import Answer, ToolCall

    q = [{"id": "a", "persona": "admin", "q": "how do i approve a hospital's onboarding request", "expect": "answer",
          "relevant": ["hospital-onboarding.md"]}]
    cited = [{"doc": "hospital-onboarding.md",
              "heading": "Step 1: register the organization and get an enrollment token"}]
    onboarding = Answer(text="Let's connect your organization. What is its name?", sources=cited, intent="onboarding")
    failed_first = Answer(text="I could not show your contributions: you are not signed in.\n\nStep 1 ...",
                          sources=cited, intent="contributions",
                          tool_calls=[ToolCall(name="contributions", arguments={}, error="you are not signed in")])
    which_model = Answer(text="Which model should I use: ...?", sources=cited, intent="predict")
    answered = Answer(text="An administrator approves it with `medhive accounts approve REQUEST_ID`.",
                      sources=cited, intent="question")
    for reply in (onboarding, failed_first, which_model):
        [s] = evaluation.score(_Canned(reply, kindex), q)
        assert not s.on_topic and s.why, reply.intent
    # the same sources with an answer that answers: on topic; a refusal noted after the answer is not a derail
    noted = Answer(text=answered.text + "\n\n(I did not show your contributions here: not signed in.)",
                   sources=cited, intent="question", tool_calls=failed_first.tool_calls)
    assert all(s.on_topic for r in (answered, noted) for s in evaluation.score(_Canned(r, kindex), q))


def test_the_labellers_corrections_count_only_an_unknown_answered_from_the_section_its_note_names():
    from assistant.evaluation import labeller_corrections

    sections = {"rest-api.md > SDK and client libraries", "assistant.md > Languages"}
    questions = [
        {"id": "a", "expect": "unknown", "labeller_note": "wrong: rest-api.md > SDK and client libraries says there is none"},
        {"id": "b", "expect": "unknown", "labeller_note": "wrong: assistant.md > Languages says English only"},
        {"id": "c", "expect": "unknown"},  # no note
        {"id": "d", "expect": "answer", "labeller_note": "gap: rest-api.md > SDK and client libraries"},
        {"id": "e", "expect": "unknown", "labeller_note": "wrong: rest-api.md > SDK and client libraries"},
    ]
    scored = [
        {"id": "a", "on_topic": False, "sources": ["rest-api.md > SDK and client libraries"]},
        {"id": "b", "on_topic": False, "sources": ["rest-api.md > SDK and client libraries"]},  # another section
        {"id": "c", "on_topic": False, "sources": ["assistant.md > Languages"]},
        {"id": "d", "on_topic": False, "sources": ["rest-api.md > SDK and client libraries"]},  # not unknown
        {"id": "e", "on_topic": True, "sources": []},  # already on topic: the honest "I don't know"
    ]
    assert labeller_corrections(questions, scored, sections) == ["a"]
