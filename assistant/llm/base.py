"""The one interface every answer backend implements, and the records that cross it.

A `Turn` is what the session hands a backend: the user's text with identifiers removed, the raw text
(transient: used only to read values typed for a prediction, never kept), the redacted history, the
retrieved passages, the tool context (the caller's permissions) and the session's state. A backend
returns an `Answer`: the text, the sources it rests on (document and heading), the tool calls it made,
and its own name, which the user is shown. `stream` yields text pieces and ends with the `Answer`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.retrieval import Hit
from assistant.tools import ToolContext


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None = None
    error: str | None = None
    id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments, "result": self.result, "error": self.error}


@dataclass
class Answer:
    text: str
    sources: list[dict[str, str]] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    backend: str = ""
    intent: str | None = None
    emergency: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"answer": self.text, "sources": self.sources, "tool_calls": [t.to_dict() for t in self.tool_calls],
                "backend": self.backend, "intent": self.intent, "emergency": self.emergency}


@dataclass
class Turn:
    text: str
    raw: str
    history: list[dict[str, str]]
    hits: list[Hit]
    tools: ToolContext
    state: dict[str, Any]
    emergency: str | None = None
    #: names of files attached with this message
    attached: list[str] = field(default_factory=list)
    #: the whole knowledge index (for sections an answer must give whole, e.g. the emergency guidance)
    knowledge: Any = None
    #: what the learned router (`assistant.router.Routing`) says of the message, None without one
    routing: Any = None


class Backend(Protocol):
    name: str

    def answer(self, turn: Turn) -> Answer: ...

    def stream(self, turn: Turn) -> Iterator[str | Answer]: ...


def sources_of(hits: list[Hit], limit: int = 3) -> list[dict[str, str]]:
    """Distinct (document, heading) citations of the passages an answer rests on."""
    out: list[dict[str, str]] = []
    for h in hits:
        item = {"doc": h.chunk.doc, "heading": h.chunk.heading}
        if item not in out:
            out.append(item)
        if len(out) == limit:
            break
    return out
