"""The Groq backend against a local OpenAI-compatible server (via `base_url`): a tool-call round trip,
streaming (text and tool calls), a 429 followed by a retry, and the fallback when Groq stays down."""

from __future__ import annotations

import json

import pytest

from assistant.llm.groq_backend import GroqBackend
from tests.assistant.conftest import REPO, groq_backend, make_bot
from tests.assistant.fake_openai import FakeOpenAI


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def groq_bot(fake, kindex, registry, predictor, store, medhive_home):
    return make_bot(kindex, registry, predictor, store, medhive_home, backend=groq_backend(fake, max_retries=2))


def _tool_call(name: str, arguments: dict, call_id: str = "call_1") -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


def test_tool_call_round_trip(fake, groq_bot):
    fake.script = [
        {"message": {"tool_calls": [_tool_call("predict", {"task": "breast_cancer", "example": 1})]}},
        {"message": {"content": "The model's output for the example is malignant [1]."}},
    ]
    answer = groq_bot.session().ask("Try the breast cancer model on the malignant example, I'm jane@example.org")
    assert answer.backend == "groq:test-model"
    assert [c.name for c in answer.tool_calls] == ["predict"]
    result = answer.tool_calls[0].result
    assert result["predictions"][0]["label"] == "malignant"
    first, second = fake.requests
    assert first["model"] == "test-model"
    assert {t["function"]["name"] for t in first["tools"]} >= {"predict", "explain", "onboard_hospital", "usage"}
    assert "jane@example.org" not in json.dumps(first)  # identifiers never leave
    assert any("Documentation passages" in (m.get("content") or "") for m in first["messages"])
    tool_msgs = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_msgs[0]["tool_call_id"] == "call_1"
    assert json.loads(tool_msgs[0]["content"])["model_version"] == "v1.0"
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "predict"
    assert answer.text.startswith("The model's output for the example is malignant [1].")
    assert "Not a diagnosis" in answer.text
    assert answer.sources == [{"doc": groq_bot.index.search(
        "Try the breast cancer model on the malignant example, I'm [e-mail]", 5)[0].chunk.doc,
        "heading": answer.sources[0]["heading"]}]


def test_a_refused_tool_goes_back_to_the_model_as_an_error(fake, groq_bot):
    fake.script = [
        {"message": {"tool_calls": [_tool_call("usage", {})]}},
        {"message": {"content": "You need to sign in to see usage."}},
    ]
    answer = groq_bot.session().ask("how much quota do I have left?")
    assert answer.tool_calls[0].error
    tool_msg = [m for m in fake.requests[1]["messages"] if m["role"] == "tool"][0]
    assert "error" in json.loads(tool_msg["content"])


def test_streaming_text(fake, groq_bot):
    fake.script = [{"stream": [{"role": "assistant", "content": ""}, {"content": "Secure aggregation "},
                               {"content": "masks each update [1]."}]}]
    pieces = list(groq_bot.session().stream("How does secure aggregation work?"))
    text_pieces = [p for p in pieces if isinstance(p, str)]
    assert text_pieces[:2] == ["Secure aggregation ", "masks each update [1]."]
    answer = pieces[-1]
    assert answer.text == "Secure aggregation masks each update [1]."
    assert answer.sources[0]["heading"] == "Secure aggregation"
    assert fake.requests[0]["stream"] is True


def test_streaming_tool_call_deltas_are_assembled(fake, groq_bot):
    args = json.dumps({"task": "pneumonia"})
    fake.script = [
        {"stream": [{"role": "assistant", "tool_calls": [
            {"index": 0, "id": "call_9", "type": "function", "function": {"name": "model_info", "arguments": ""}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": args[:7]}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": args[7:]}}]}], "finish": "tool_calls"},
        {"stream": [{"content": "Its ROC AUC is 0.997 on validation [1]."}]},
    ]
    answer = list(groq_bot.session().stream("How accurate is the pneumonia model?"))[-1]
    assert answer.tool_calls[0].name == "model_info" and answer.tool_calls[0].arguments == {"task": "pneumonia"}
    # the tool read the shipped v1.0's own record (not a number written into this test)
    shipped = json.loads((REPO / "hub" / "models" / "weights" / "pneumonia" / "baseline.json").read_text())
    assert answer.tool_calls[0].result["metrics"]["roc_auc"] == pytest.approx(shipped["metrics"]["roc_auc"], abs=1e-3)
    assert "0.997" in answer.text  # the scripted model's words are passed through as they came


def test_429_then_retry(fake, groq_bot):
    fake.script = [{"status": 429, "headers": {"retry-after-ms": "50"}},
                   {"message": {"content": "The free tier allows 100 predictions a month [1]."}}]
    answer = groq_bot.session().ask("How many free predictions do I get?")
    assert len(fake.requests) == 2
    assert fake.requests[0]["messages"] == fake.requests[1]["messages"]
    assert answer.backend == "groq:test-model" and "100 predictions" in answer.text


def test_falls_back_to_offline_when_groq_stays_down(fake, groq_bot):
    fake.script = [{"status": 503}] * 3
    answer = groq_bot.session().ask("How do I create an API key?")
    assert len(fake.requests) == 3  # the first try and two retries
    assert answer.backend == "offline"
    assert "offline backend answered instead" in answer.text
    assert "POST /v1/keys" in answer.text


def test_backend_is_chosen_by_configuration():
    from assistant.factory import choose_backend
    from assistant.llm.offline import OfflineBackend

    assert isinstance(choose_backend(groq_api_key=""), OfflineBackend)
    chosen = choose_backend(groq_api_key="gsk_x", groq_model="llama-3.1-8b-instant", groq_base_url="http://127.0.0.1:9")
    assert isinstance(chosen, GroqBackend) and chosen.name == "groq:llama-3.1-8b-instant"
    assert str(chosen.client.base_url).startswith("http://127.0.0.1:9")
    assert isinstance(choose_backend(backend="offline", groq_api_key="gsk_x"), OfflineBackend)


def test_groq_answers_are_guarded_and_emergencies_come_first(fake, groq_bot):
    fake.script = [{"message": {"content": "From what you describe, you probably have pneumonia."}}]
    answer = groq_bot.session().ask("I can't breathe and I have a fever, do I have pneumonia?")
    from assistant.safety import EMERGENCY_NOTICE

    assert answer.text.startswith(EMERGENCY_NOTICE)
    assert "you probably have pneumonia" not in answer.text.lower()
    assert "only a clinician" in answer.text and "Not a diagnosis" in answer.text
    system = " ".join(m["content"] for m in fake.requests[0]["messages"] if m["role"] == "system")
    assert "possible emergency" in system


def test_the_system_prompt_is_written_from_the_catalog_and_the_tools():
    from assistant.llm.groq_backend import system_prompt
    from assistant.tools import TOOLS
    from hub.models import all_tasks

    prompt = system_prompt("clinician")
    for name, task in all_tasks().items():
        assert f"`{name}`" in prompt and " / ".join(task.labels) in prompt
    assert all(f"- {name}: " in prompt for name in TOOLS)
    assert prompt.endswith("signed in as: clinician.")
    assert "never a diagnosis" in prompt and "emergency number" in prompt


def test_a_request_for_medical_advice_never_reaches_the_language_model(fake, groq_bot):
    """A dose, a treatment, a clinician to see (assistant.safety.medical_advice): the offline backend's fixed
    reply answers it, not Groq; the next question goes to Groq, whose standing rule still says no advice."""
    fake.script = [{"message": {"content": "Secure aggregation masks each update."}}]
    s = groq_bot.session()
    advice = s.ask("what dosage of ibuprofen works for back pain")
    assert advice.intent == "unknown" and "can't advise on treatment" in advice.text
    assert fake.requests == []
    s.ask("how does secure aggregation work?")
    assert len(fake.requests) == 1
    systems = " ".join(m["content"] for m in fake.requests[0]["messages"] if m["role"] == "system")
    assert "Never give individual medical advice" in systems
