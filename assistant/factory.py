"""Builds an `Assistant` from plain arguments (the `medhive` package passes its settings in).

The backend is Groq when `backend` is "groq", or "auto" with an API key; otherwise offline. The index is
kept under `home/assistant/index` and rebuilt only when the documents or the embedding model change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant import router as learned_router
from assistant.embeddings import Embedder, default_embedder
from assistant.examples import open_examples
from assistant.llm.base import Backend
from assistant.llm.offline import OfflineBackend
from assistant.ports import AccountsPort, FederationStatus
from assistant.retrieval import KnowledgeIndex
from assistant.session import Assistant
from assistant.tools import DEFAULT_HUB_URL, DEFAULT_SUPERLINK


class Deferred:
    """A stand-in that builds the real object on first use: the registry, the predictor and the accounts
    store import torch or SQLAlchemy, which a question answered from the documents never needs."""

    def __init__(self, build: Any) -> None:
        self._build = build
        self._obj: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._obj is None:
            self._obj = self._build()
        return getattr(self._obj, name)


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
                    hub_url: str = DEFAULT_HUB_URL, router: Any = None, use_router: bool | None = None,
                    use_examples: bool = True) -> Assistant:
    if index is None:
        embedder = embedder or default_embedder(embedding_model or None)
        index = KnowledgeIndex.open(Path(knowledge_dir), Path(home) / "assistant" / "index", embedder=embedder)
    if use_examples and getattr(index, "examples", False) is None:
        # earlier users' questions and the sections that answered them, embedded once beside the index
        index.examples = open_examples(Path(home) / "assistant" / "examples", index.embedder)
    if router is None and (use_router if use_router is not None else learned_router.enabled()):
        # fitted once beside the index with the same embedder, then loaded (three small arrays)
        router = learned_router.open_router(Path(home) / "assistant" / "router", index.embedder)
    chosen = backend if not isinstance(backend, str) else choose_backend(
        backend=backend, groq_api_key=groq_api_key, groq_model=groq_model, groq_base_url=groq_base_url,
        groq_max_retries=groq_max_retries)
    return Assistant(index=index, backend=chosen, registry=registry,
                     predictor=predictor if predictor is not None else Deferred(lambda: _predictor(registry)),
                     accounts=accounts,
                     federation=FederationStatus(registry, home), superlink=superlink,
                     root_certificates=root_certificates, hub_url=hub_url, router=router)


def _predictor(registry: Any) -> Any:
    from hub.inference import Predictor

    return Predictor(registry)
