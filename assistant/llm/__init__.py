"""Answer backends behind one interface (`Backend`): Groq chat completions, and the offline backend."""

from __future__ import annotations

from assistant.llm.base import Answer, Backend, ToolCall, Turn

__all__ = ["Answer", "Backend", "ToolCall", "Turn"]
