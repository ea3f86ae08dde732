"""The Groq backend: chat completions with tool calling and streaming, grounded in retrieved passages.

Uses the official `groq` client (`chat.completions.create`), so retries on 429 / 5xx / connection errors
(with the server's `retry-after`) are the client's own, `max_retries` times; `base_url` points it at any
OpenAI-compatible server speaking Groq's paths (tests use a local one). Each turn sends the system rules,
the retrieved passages numbered [1]..[k], the redacted history and the user's redacted message, plus the
tool schemas; tool calls run locally with the caller's permissions and their results go back as `tool`
messages until the model answers in text (at most `max_tool_rounds` rounds).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from assistant.errors import BackendError, ToolError
from assistant.llm.base import Answer, ToolCall, Turn, sources_of
from assistant.tools import TOOLS, run_tool

_RULES = """Rules:
- Answer from the numbered documentation passages and tool results only; cite passages as [n]. If they do
  not answer the question, say so and point to the documentation's overview.
- A model output is never a diagnosis. Never tell anyone they have or do not have a disease; say what the
  model's output is, what its score means (how closely the case resembles the training cases of that label,
  not a chance of having it), how reliable the model is, and to talk to a clinician.
- For emergency symptoms, the first sentence tells the user to call their local emergency number.
- For symptom questions give guidance and the relevant model, never a verdict.
- Never give individual medical advice (a treatment, a medicine or its dose, a clinician to see): say MedHive
  cannot advise on treatment, to ask a doctor or pharmacist, and where in the documentation to look.
- Use the tools to act, with the user's own permissions and only on the user's own organization:
{tools}
- To onboard a hospital, collect the organization's name, whether it is a hospital or clinic, the model it
  will train and the data folder, then call onboard_hospital (an administrator) or request_onboarding
  (anyone else) and give the exact commands it returns.
- Do not ask for names, dates of birth or record numbers; never repeat identifiers."""


def system_prompt(role: str) -> str:
    """The system message, written from the task catalog (the models, what each reads and outputs) and the
    tool table (what each tool does): a new task module or tool appears here with no other change."""
    from hub.models import all_tasks

    models = "\n".join(f"- `{name}`: {task.title}; reads {task.input_words or task.input_kind}; outputs "
                       f"{' / '.join(task.labels)}. {task.summary}" for name, task in all_tasks().items())
    tools = "\n".join(f"  - {t.name}: {t.description}" for t in TOOLS.values())
    return ("You are the MedHive assistant. MedHive is a federated model hub for healthcare: hospitals train "
            "diagnostic models together without patient data leaving their premises; others use the models.\n"
            f"The models:\n{models}\n{_RULES.format(tools=tools)}\nThe user is signed in as: {role}.")


def _passages(turn: Turn) -> str:
    return "\n\n".join(f"[{i}] {h.chunk.source}\n{h.chunk.text}" for i, h in enumerate(turn.hits, start=1))


class GroqBackend:
    def __init__(self, *, api_key: str, model: str, base_url: str | None = None, max_retries: int = 3,
                 timeout: float = 30.0, max_tool_rounds: int = 4, temperature: float = 0.2, client: Any = None) -> None:
        if client is None:
            import groq

            kwargs: dict[str, Any] = {"api_key": api_key, "max_retries": max_retries, "timeout": timeout}
            if base_url:
                kwargs["base_url"] = base_url
            client = groq.Groq(**kwargs)
        self.client = client
        self.model = model
        self.max_tool_rounds = max_tool_rounds
        self.temperature = temperature
        self.name = f"groq:{model}"

    def _messages(self, turn: Turn) -> list[dict[str, Any]]:
        system = system_prompt(turn.tools.caller.role)
        if turn.emergency:
            system += "\nThe user's message describes a possible emergency: start with the emergency advice."
        if turn.attached:
            system += f"\nFiles attached to this message: {', '.join(turn.attached)} (pass the name as `file`)."
        context = f"Documentation passages:\n\n{_passages(turn)}" if turn.hits else "No documentation passage matched."
        return [{"role": "system", "content": system}, {"role": "system", "content": context},
                *turn.history, {"role": "user", "content": turn.text}]

    def _create(self, messages: list[dict[str, Any]], *, stream: bool) -> Any:
        import groq

        try:
            return self.client.chat.completions.create(
                model=self.model, messages=messages, tools=[t.schema() for t in TOOLS.values()], tool_choice="auto",
                temperature=self.temperature, stream=stream)
        except groq.APIStatusError as exc:
            raise BackendError(f"Groq answered HTTP {exc.status_code} after retries") from None
        except groq.APIError as exc:
            raise BackendError(f"Groq unreachable: {type(exc).__name__}") from None

    def _run_calls(self, turn: Turn, messages: list[dict[str, Any]], calls: list[ToolCall]) -> None:
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in calls]})
        for c in calls:
            try:
                c.result = run_tool(turn.tools, c.name, c.arguments)
            except ToolError as exc:
                c.error = exc.message
            except TypeError:
                c.error = "invalid arguments"
            payload = c.result if c.result is not None else {"error": c.error}
            messages.append({"role": "tool", "tool_call_id": c.id, "content": json.dumps(payload, default=str)})

    def answer(self, turn: Turn) -> Answer:
        final: Answer | None = None
        for item in self._loop(turn, stream=False):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def stream(self, turn: Turn) -> Iterator[str | Answer]:
        yield from self._loop(turn, stream=True)

    def _loop(self, turn: Turn, *, stream: bool) -> Iterator[str | Answer]:
        messages = self._messages(turn)
        made: list[ToolCall] = []
        for _ in range(self.max_tool_rounds + 1):
            if stream:
                text_parts: list[str] = []
                calls: list[ToolCall] = []
                for piece in self._stream_once(messages, calls):
                    text_parts.append(piece)
                    yield piece
                text = "".join(text_parts)
            else:
                msg = self._create(messages, stream=False).choices[0].message
                text = msg.content or ""
                calls = [ToolCall(id=tc.id, name=tc.function.name, arguments=_args(tc.function.arguments))
                         for tc in (msg.tool_calls or [])]
            if not calls:
                yield Answer(text=text.strip(), sources=_cited(text, turn), tool_calls=made, backend=self.name)
                return
            self._run_calls(turn, messages, calls)
            made.extend(calls)
        raise BackendError("the language model kept calling tools without answering")

    def _stream_once(self, messages: list[dict[str, Any]], calls: list[ToolCall]) -> Iterator[str]:
        partial: dict[int, dict[str, str]] = {}
        try:
            for chunk in self._create(messages, stream=True):
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    yield delta.content
                for tc in delta.tool_calls or []:
                    slot = partial.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    if tc.function is not None:
                        slot["name"] += tc.function.name or ""
                        slot["arguments"] += tc.function.arguments or ""
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken stream is a backend failure, in one line
            raise BackendError(f"Groq stream failed: {type(exc).__name__}") from None
        calls.extend(ToolCall(id=s["id"] or f"call_{i}", name=s["name"], arguments=_args(s["arguments"]))
                     for i, s in sorted(partial.items()))


def _args(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _cited(text: str, turn: Turn) -> list[dict[str, str]]:
    cited = sorted({int(n) for n in re.findall(r"\[(\d{1,2})\]", text) if 1 <= int(n) <= len(turn.hits)})
    hits = [turn.hits[n - 1] for n in cited] or turn.hits[:2]
    return sources_of(hits, limit=5)
