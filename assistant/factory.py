"""Builds an `Assistant` from plain arguments (the `medhive` package passes its settings in).

The backend is Groq when `backend` is "groq", or "auto" with an API key; otherwise offline. The index is
kept under `home/assistant/index` and rebuilt only when the documents or the embedding model change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.embeddings import Embedder, SentenceTransformerEmbedder
from assistant.llm.base import Backend
from assistant.llm.offline import OfflineBackend
from assistant.ports import AccountsPort, FederationStatus
from assistant.retrieval import KnowledgeIndex
from assistant.session import Assistant
from assistant.tools import DEFAULT_HUB_URL, DEFAULT_SUPERLINK


def choose_backend(*, backend: str = "auto", groq_api_key: str = "", groq_model: str = "llama-3.3-70b-versatile",
                   groq_base_url: str | None = None, groq_max_retries: int = 3) -> Backend:
    if backend == "groq" or (backend == "auto" and groq_api_key):
        from assistant.llm.groq_backend import GroqBackend

        return GroqBackend(api_key=groq_api_key, model=groq_model, base_url=groq_base_url or None,
                           max_retries=groq_max_retries)
    return OfflineBackend()


def build_assistant(*, knowledge_dir: Path, home: Path, registry: Any, predictor: Any = None,
                    accounts: AccountsPort | None = None, embedder: Embedder | None = None,
                    embedding_model: str | Path | None = None, index: KnowledgeIndex | None = None,
                    backend: str | Backend = "auto", groq_api_key: str = "", groq_model: str = "llama-3.3-70b-versatile",
                    groq_base_url: str | None = None, groq_max_retries: int = 3,
                    superlink: str = DEFAULT_SUPERLINK, root_certificates: str | None = None,
                    hub_url: str = DEFAULT_HUB_URL) -> Assistant:
    from hub.inference import Predictor

    if index is None:
        embedder = embedder or SentenceTransformerEmbedder(embedding_model or None)
        index = KnowledgeIndex.open(Path(knowledge_dir), Path(home) / "assistant" / "index", embedder=embedder)
    chosen = backend if not isinstance(backend, str) else choose_backend(
        backend=backend, groq_api_key=groq_api_key, groq_model=groq_model, groq_base_url=groq_base_url,
        groq_max_retries=groq_max_retries)
    return Assistant(index=index, backend=chosen, registry=registry,
                     predictor=predictor if predictor is not None else Predictor(registry), accounts=accounts,
                     federation=FederationStatus(registry, home), superlink=superlink,
                     root_certificates=root_certificates, hub_url=hub_url)
