"""The MedHive assistant: retrieval over the knowledge base, LLM backends, tools that act, and the chat.

    >>> from assistant import build_assistant
    >>> bot = build_assistant(knowledge_dir=Path("knowledge"), home=home, registry=registry)
    >>> answer = bot.session(caller).ask("How accurate is the pneumonia model?")
    >>> answer.text, answer.sources, answer.tool_calls, answer.backend

Layout: `knowledge.py` reads and chunks the Markdown documents by heading; `embeddings.py` and
`retrieval.py` embed them and search a persisted FAISS index; `llm/` holds the backends (Groq, offline)
behind one interface; `tools.py` the actions, run with the caller's own permissions through the ports in
`ports.py`; `safety.py` the guards; `session.py` the conversation. Configuration arrives as arguments:
only the `medhive` package reads the environment.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_assistant"]


def __getattr__(name: str) -> Any:
    # lazy: importing the package must not pull in torch, faiss or gradio
    if name == "build_assistant":
        from assistant.factory import build_assistant

        return build_assistant
    raise AttributeError(name)
