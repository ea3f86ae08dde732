"""Errors of the assistant package: one base class, `AssistantError` (a `HubError`, so CLIs print one line)."""

from __future__ import annotations

from hub.errors import HubError


class AssistantError(HubError):
    """Base class of every expected assistant error."""

    kind = "assistant-error"


class KnowledgeError(AssistantError):
    """The knowledge folder is missing or holds no documents."""

    kind = "knowledge-error"


class EmbeddingModelError(AssistantError):
    """The sentence-transformers model folder is missing or unreadable (nothing is ever downloaded)."""

    kind = "embedding-model-error"


class BackendError(AssistantError):
    """The language model could not answer (after retries)."""

    kind = "llm-backend-error"


class ToolError(AssistantError):
    """A tool refused or failed; the message is safe to show the user (no health data, no other org's data)."""

    kind = "tool-error"
