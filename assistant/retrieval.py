"""Search over the knowledge base: a FAISS inner-product index over normalised embeddings, persisted.

The index lives in `index_dir` (under MEDHIVE_HOME): `index.faiss` (written by faiss, not pickle),
`chunks.json` and `manifest.json` holding the corpus hash and the embedding model's id. Opening the
index reuses it when both match and rebuilds it otherwise, writing into a temporary folder that replaces
the old one in one rename, so a reader never sees half an index.

Scores: the cosine similarity of the query to each chunk (exact search, `IndexFlatIP`; the corpus is a
few hundred chunks), plus a small lexical term (BM25 over the chunk's words, scaled to [0, 1] per query,
weight `lexical_weight`) that rescues rare exact terms such as "epsilon", "429" or "WFDB" which a small
embedding model blurs. Results are distinct sections (document and heading), best first.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.embeddings import Embedder
from assistant.knowledge import Chunk, load_corpus

_WORD = re.compile(r"[a-z0-9][a-z0-9_.\-]*[a-z0-9]|[a-z0-9]")
_STOP = frozenset("""a an and are as at be by can do does for from how i if in is it its me my of on or our
so that the their them then there these this to was we what when where which who why will with you your
not no yes i'm it's""".split())


def tokens(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t not in _STOP]


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    dense: float

    @property
    def source(self) -> str:
        return self.chunk.source

    def to_dict(self) -> dict[str, object]:
        return {"doc": self.chunk.doc, "heading": self.chunk.heading, "source": self.source,
                "score": round(self.score, 4)}


class _BM25:
    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.tf = [Counter(d) for d in docs]
        self.len = np.array([len(d) for d in docs], dtype=np.float64)
        self.avg = float(self.len.mean()) if len(docs) else 1.0
        df = Counter(t for d in docs for t in set(d))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.k1, self.b = k1, b

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(len(self.tf))
        for term in set(query):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i, tf in enumerate(self.tf):
                f = tf.get(term)
                if f:
                    out[i] += idf * f * (self.k1 + 1) / (f + self.k1 * (1 - self.b + self.b * self.len[i] / self.avg))
        return out


class KnowledgeIndex:
    """The searchable knowledge base. Use `KnowledgeIndex.open(...)`."""

    def __init__(self, chunks: list[Chunk], index, *, embedder: Embedder, corpus_hash: str, rebuilt: bool,
                 lexical_weight: float = 0.35) -> None:
        self.chunks = chunks
        self.index = index
        self.embedder = embedder
        self.corpus_hash = corpus_hash
        self.rebuilt = rebuilt
        self.lexical_weight = lexical_weight
        self._bm25 = _BM25([tokens(c.embedding_text()) for c in chunks])

    # ----- building and persistence ----------------------------------------------------------------
    @classmethod
    def open(cls, knowledge_dir: Path, index_dir: Path, *, embedder: Embedder, lexical_weight: float = 0.35
             ) -> KnowledgeIndex:
        """The index for `knowledge_dir`: loaded from `index_dir` when current, else built and saved."""
        import faiss

        chunks, corpus_hash = load_corpus(Path(knowledge_dir))
        index_dir = Path(index_dir)
        manifest = _read_json(index_dir / "manifest.json")
        if (manifest.get("corpus_hash") == corpus_hash and manifest.get("model_id") == embedder.model_id
                and (index_dir / "index.faiss").is_file()):
            index = faiss.read_index(str(index_dir / "index.faiss"))
            if index.ntotal == len(chunks):
                return cls(chunks, index, embedder=embedder, corpus_hash=corpus_hash, rebuilt=False,
                           lexical_weight=lexical_weight)
        vectors = embedder.encode([c.embedding_text() for c in chunks])
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        _save(index_dir, index, chunks, {"corpus_hash": corpus_hash, "model_id": embedder.model_id,
                                         "dim": int(vectors.shape[1]), "chunks": len(chunks),
                                         "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        return cls(chunks, index, embedder=embedder, corpus_hash=corpus_hash, rebuilt=True,
                   lexical_weight=lexical_weight)

    # ----- search ----------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The `k` best distinct sections (document and heading) for `query`, best first."""
        if not query.strip() or not self.chunks:
            return []
        q = self.embedder.encode([query])
        dense, ids = self.index.search(q, len(self.chunks))
        cosine = np.empty(len(self.chunks), dtype=np.float64)
        cosine[ids[0]] = dense[0]
        lexical = self._bm25.scores(tokens(query))
        top = lexical.max()
        score = cosine + (self.lexical_weight * lexical / top if top > 0 else 0.0)
        best: dict[tuple[str, str], Hit] = {}
        for i in np.argsort(-score, kind="stable"):
            chunk = self.chunks[int(i)]
            key = (chunk.doc, chunk.heading)
            if key not in best:
                best[key] = Hit(chunk, float(score[i]), float(cosine[i]))
                if len(best) == k:
                    break
        return list(best.values())


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _save(index_dir: Path, index, chunks: list[Chunk], manifest: dict) -> None:
    import faiss

    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=index_dir.parent))
    try:
        faiss.write_index(index, str(tmp / "index.faiss"))
        (tmp / "chunks.json").write_text(json.dumps([c.to_dict() for c in chunks], indent=1), encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        old = None
        if index_dir.exists():
            old = index_dir.with_name(f".old-{index_dir.name}-{os.getpid()}-{time.monotonic_ns()}")
            os.replace(index_dir, old)
        os.replace(tmp, index_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
