"""Fixtures for the assistant tests: the real embedding model and index (built once per run), a seeded
registry, an accounts store on SQLite, and assistants wired to them with the offline backend."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO

KNOWLEDGE = REPO / "knowledge"


@pytest.fixture(scope="session")
def embedder():
    from assistant.embeddings import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()  # the packaged all-MiniLM-L6-v2; loading never downloads


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("assistant-index") / "index"


@pytest.fixture(scope="session")
def examples_dir(index_dir) -> Path:
    return index_dir.with_name("examples")


@pytest.fixture(scope="session")
def kindex(embedder, index_dir, examples_dir):
    """The index as an assistant uses it: with the earlier users' questions (`assistant.examples`) attached,
    so every test sees the same ranking whatever ran before it."""
    from assistant.examples import open_examples
    from assistant.retrieval import KnowledgeIndex

    index = KnowledgeIndex.open(KNOWLEDGE, index_dir, embedder=embedder)
    index.examples = open_examples(examples_dir, embedder)
    return index


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    from hub.registry import load_or_create_keypair, open_registry
    from hub.registry.seed import seed_baselines

    home = tmp_path_factory.mktemp("registry-home")
    reg = open_registry("local", home=home, signer=load_or_create_keypair(home))
    seed_baselines(reg)
    return reg


@pytest.fixture(scope="session")
def predictor(registry):
    from hub.inference import Predictor

    return Predictor(registry)


@pytest.fixture
def store(tmp_path):
    from hub.accounts import Store

    s = Store(f"sqlite:///{tmp_path / 'accounts.db'}")
    yield s
    s.dispose()


def make_bot(kindex, registry, predictor, store, home, *, backend="offline"):
    """An assistant with real accounts (SQLite) and the seeded registry, on `backend` ("offline" or an
    instance, e.g. a GroqBackend pointed at the local fake)."""
    from assistant import build_assistant
    from assistant.ports import HubAccounts

    return build_assistant(knowledge_dir=KNOWLEDGE, home=home, registry=registry, predictor=predictor,
                           accounts=HubAccounts(store), index=kindex, backend=backend)


def groq_backend(fake, *, max_retries: int):
    from assistant.llm.groq_backend import GroqBackend

    return GroqBackend(api_key="gsk_test", model="test-model", base_url=fake.url, max_retries=max_retries, timeout=20)


@pytest.fixture
def bot(kindex, registry, predictor, store, medhive_home):
    """An assistant on the offline backend with real accounts (SQLite) and the seeded registry."""
    return make_bot(kindex, registry, predictor, store, medhive_home)


@pytest.fixture(scope="session")
def router_dir(tmp_path_factory, embedder) -> Path:
    """The learned router fitted once (`assistant.router.open_router`), as a first run leaves it."""
    from assistant.router import open_router

    path = tmp_path_factory.mktemp("assistant-router") / "router"
    open_router(path, embedder)
    return path


@pytest.fixture
def home_with_index(medhive_home, index_dir, kindex, router_dir, examples_dir) -> Path:
    """MEDHIVE_HOME holding the already-built index, the router's fit and the embedded example questions, so
    surfaces reuse them instead of re-embedding."""
    target = medhive_home / "assistant" / "index"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(index_dir, target)
    shutil.copytree(router_dir, medhive_home / "assistant" / "router")
    shutil.copytree(examples_dir, medhive_home / "assistant" / "examples")
    return medhive_home


def make_org(store, *, name: str, role: str, kind: str = "hospital", email: str | None = None):
    """An organization with one user of `role`; returns the assistant `Caller` for that user."""
    from assistant.ports import Caller
    from hub.accounts import users

    with store.transaction() as s:
        org = users.create_org(s, name=name, kind=kind)
        user = users.create_user(s, email=email or f"{role}@{name.lower().replace(' ', '')}.example",
                                 password=None, role=role, org_id=org.id)
        return Caller(role=role, org_id=str(org.id), user_id=str(user.id), actor=f"user:{user.id}")
