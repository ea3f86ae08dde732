"""all-MiniLM-L6-v2 (a 6-layer BERT) in numpy: the same sentence vectors without importing torch.

Why our own forward pass: sentence-transformers imports torch, which alone takes 3 to 20 s on a loaded
2-core machine, while answering a question needs one 384-wide embedding of a dozen tokens (a few ms of
arithmetic). No installed package runs this model without torch (onnxruntime is not a dependency and no
packaged ONNX export exists), so this module reads the very same `model.safetensors` (memory-mapped,
`_map_safetensors`) and the `tokenizer.json` (Hugging Face `tokenizers`, Rust, no
torch), and computes the standard BERT encoder: embeddings + LayerNorm, 6 x (self-attention, GELU MLP,
residual LayerNorms), mean pooling over the attention mask, L2 normalisation, as the model's
`modules.json` prescribes. tests/assistant/test_minilm.py checks it against sentence-transformers.

Only folders of this shape are accepted (a BERT `config.json`, mean pooling, a Normalize module); any other
sentence-transformers model goes through `SentenceTransformerEmbedder`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from assistant.errors import EmbeddingModelError

_LOCK = threading.Lock()
_LOADED: dict[str, _Weights] = {}


def supports(path: Path) -> bool:
    """True when `path` is a BERT sentence-transformers folder with mean pooling and normalisation."""
    try:
        config = json.loads((path / "config.json").read_text())
        modules = json.loads((path / "modules.json").read_text())
        pooling = json.loads((path / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    types = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute"
            and types == ["Transformer", "Pooling", "Normalize"] and pooling.get("pooling_mode_mean_tokens") is True
            and not any(pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens",
                                                  "pooling_mode_mean_sqrt_len_tokens"))
            and (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file())


_INV_SQRT2 = 1.0 / math.sqrt(2.0)  # a Python float: a numpy float64 scalar would turn float32 arrays into float64


def _gelu_(x: np.ndarray) -> np.ndarray:
    """0.5 x (1 + erf(x / sqrt 2)), overwriting `x` (the largest activations of a query: 1536 x tokens).
    erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32 resolution): numpy has no erf and
    scipy.special costs more to import than the whole query. Every step is a whole-array ufunc (a masked
    `where=` step would lose numpy's SIMD loops and cost as much as the rest together)."""
    a = np.abs(x)
    a *= _INV_SQRT2
    t = a * 0.3275911
    t += 1.0
    np.reciprocal(t, out=t)
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    y = t * 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        y += c
        y *= t
    y *= a
    np.subtract(1.0, y, out=y)  # erf(|u|)
    np.copysign(y, x, out=y)  # erf(u), u = x / sqrt 2
    y += 1.0
    x *= y
    x *= 0.5
    return x


def _layer_norm_(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over axis 0 (activations are kept as (hidden, tokens), see `_encode`), overwriting `x`. The
    means over the hidden axis are a (1, hidden) @ (hidden, tokens) product: BLAS sums a short column faster
    than a numpy reduction along axis 0."""
    avg = np.full((1, x.shape[0]), 1.0 / x.shape[0], dtype=x.dtype)
    x -= avg @ x
    var = avg @ np.square(x)
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= w
    x += b
    return x


_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8"}


def _map_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file as a read-only memory map, not a copy: a query touches a few
    rows of the 30522 x 384 token embedding, and the operating system reads only the pages used. The
    format is an 8-byte little-endian header length, a JSON header (name -> dtype, shape, data offsets)
    and the raw little-endian data; nothing in it is executed. Other dtypes go through safetensors."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    header.pop("__metadata__", None)
    if any(v["dtype"] not in _DTYPES for v in header.values()):
        from safetensors.numpy import load_file

        return load_file(str(path))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out = {}
    for name, v in header.items():
        start, end = v["data_offsets"]
        out[name] = data[start:end].view(_DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


class _Weights:
    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.config = json.loads((path / "config.json").read_text())
        st = json.loads((path / "sentence_bert_config.json").read_text()) if (
            path / "sentence_bert_config.json").is_file() else {}
        self.max_len = int(st.get("max_seq_length", 256))
        self.t = {k: v if v.dtype == np.float32 else v.astype(np.float32)
                  for k, v in _map_safetensors(path / "model.safetensors").items()}
        # per layer, as stored: each matrix (out, in) and each vector a column (out, 1), so `W @ x` runs on the
        # memory map itself with activations kept as (hidden, tokens) (no copy, no transpose at load)
        names = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                 "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")
        self.layers = [tuple((self.t[f"encoder.layer.{i}.{n}.weight"] if "LayerNorm" not in n
                              else self.t[f"encoder.layer.{i}.{n}.weight"].reshape(-1, 1),
                              self.t[f"encoder.layer.{i}.{n}.bias"].reshape(-1, 1)) for n in names)
                       for i in range(int(self.config["num_hidden_layers"]))]
        # query, key and value as one (3 * hidden, hidden) matrix: one matmul instead of three (a 10 MB copy;
        # the other matrices stay memory-mapped)
        self.layers = [((np.concatenate([m for m, _ in layer[:3]]), np.concatenate([v for _, v in layer[:3]])),
                        *layer[3:]) for layer in self.layers]
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_len)
        self.tokenizer.no_padding()


def _weights(path: Path) -> _Weights:
    key = str(path.resolve())
    with _LOCK:
        if key not in _LOADED:
            try:
                _LOADED[key] = _Weights(path)
            except Exception as exc:  # noqa: BLE001 - one clear line instead of a library traceback
                raise EmbeddingModelError(f"cannot load the embedding model at {path}: {type(exc).__name__}") from exc
        return _LOADED[key]


_BLAS: list = []  # threadpoolctl's view of numpy's BLAS, found once: looking it up costs ~0.3 ms a query


def _blas_limit(threads: int | None):
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController().select(user_api="blas"))
    return _BLAS[0].limit(limits=threads)


def _query_threads() -> int:
    """BLAS threads for a query: two when the machine has a core to spare, else one. Two halve a query on
    an idle 2-core machine (retrieval p95 ~20 -> ~13 ms measured at load 1.0-1.5), but with one other busy
    process OpenBLAS's spinning threads made it 5 times slower than one thread (p95 136 against 26 ms). A
    core is spare when no other task is running right now (/proc/loadavg's running count, which includes
    this one) and the 1-minute load average is below the core count - 0.5 (the average alone lags a new
    busy process by tens of seconds). Elsewhere than Linux: one."""
    cpus = os.cpu_count() or 1
    if cpus < 2:
        return 1
    try:
        fields = Path("/proc/loadavg").read_text().split()
        load, running = float(fields[0]), int(fields[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 1
    return 2 if running - 1 < cpus - 1 and load < cpus - 0.5 else 1


def encode(path: Path, texts: list[str], *, batch_size: int = 16) -> np.ndarray:
    """(n, 384) float32 sentence vectors, L2-normalised, for the model folder `path`."""
    # building an index (long texts) keeps every thread; a query gets `_query_threads()`
    small = sum(len(t) for t in texts) <= 2000
    w = _weights(path)
    with _blas_limit(_query_threads() if small else None):
        return _encode(w, texts, batch_size)


def _linear(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    y = w @ x
    y += b
    return y


def _heads(m: np.ndarray, shape: tuple[int, int, int, int, int]) -> np.ndarray:
    """(3 * hidden, batch * tokens) -> (3, batch, heads, head dim, tokens): query, key and value split into
    heads, contiguous for the attention matmuls."""
    three, heads, dh, b, n = shape
    return np.ascontiguousarray(m.reshape(three, heads, dh, b, n).transpose(0, 3, 1, 2, 4))


def _encode(w: _Weights, texts: list[str], batch_size: int,
            exclude: list[tuple[int, int]] | None = None) -> np.ndarray:
    """The encoder over batches of similar length. Activations are (hidden, tokens of the batch): every
    projection is `W @ x` with W the stored (out, in) matrix, which OpenBLAS runs faster for a dozen tokens
    than `x @ W.T` and which needs no transposed copy of the weights; element-wise steps work in place.

    `exclude` (one text only): character spans whose tokens a second row leaves out of the mean pooling,
    from the same forward pass (see `NumpyMiniLMEmbedder.encode_excluding`)."""
    c, t = w.config, w.t
    heads, hidden, eps = int(c["num_attention_heads"]), int(c["hidden_size"]), float(c["layer_norm_eps"])
    dh = hidden // heads
    scale = 1.0 / math.sqrt(dh)
    out = np.zeros((len(texts), hidden), dtype=np.float32)
    # one text (a query) skips encode_batch's thread pool
    encodings = [w.tokenizer.encode(texts[0])] if len(texts) == 1 else w.tokenizer.encode_batch(list(texts))
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # similar lengths pad little
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        b, n = len(idx), max(len(encodings[i].ids) for i in idx)
        ids = np.zeros((b, n), dtype=np.int64)
        mask = np.zeros((b, n), dtype=np.float32)
        for row, i in enumerate(idx):
            e = encodings[i].ids
            ids[row, :len(e)] = e
            mask[row, :len(e)] = 1.0
        x = (t["embeddings.word_embeddings.weight"][ids] + t["embeddings.position_embeddings.weight"][:n]
             + t["embeddings.token_type_embeddings.weight"][0])
        x = np.ascontiguousarray(x.reshape(b * n, hidden).T)  # (hidden, b * n): one column per token
        _layer_norm_(x, t["embeddings.LayerNorm.weight"].reshape(-1, 1), t["embeddings.LayerNorm.bias"].reshape(-1, 1),
                     eps)
        # padded keys get the lowest float; a batch without padding (a single query) adds nothing
        bias = None if mask.all() else ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for (wqkv, bqkv), (wo, bo), (g1, b1), (wi, bi), (wd, bd), (g2, b2) in w.layers:
            q, k, v = _heads(_linear(wqkv, bqkv, x), (3, heads, dh, b, n))
            scores = q.transpose(0, 1, 3, 2) @ k  # (b, heads, n query, n key)
            scores *= scale
            if bias is not None:
                scores += bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            attn = (v @ scores.transpose(0, 1, 3, 2)).transpose(1, 2, 0, 3).reshape(hidden, b * n)
            h = _linear(wo, bo, attn)
            h += x
            x = _layer_norm_(h, g1, b1, eps)
            h = _linear(wd, bd, _gelu_(_linear(wi, bi, x)))
            h += x
            x = _layer_norm_(h, g2, b2, eps)
        pooled = (x.reshape(hidden, b, n) * mask).sum(-1).T / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        if exclude is not None:
            keep = _kept_tokens(encodings[0].offsets, exclude)
            pooled = np.vstack([pooled, (x @ keep)[None] / max(float(keep.sum()), 1.0)])
            out = np.zeros((2, hidden), dtype=np.float32)
            idx = [0, 1]
        out[idx] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return out


def _kept_tokens(offsets: list[tuple[int, int]], exclude: list[tuple[int, int]]) -> np.ndarray:
    """1.0 for each token outside every span (the special tokens, with empty offsets, are kept), else 0.0."""
    return np.asarray([0.0 if end > start and any(start < e and end > s for s, e in exclude) else 1.0
                       for start, end in offsets], dtype=np.float32)


class NumpyMiniLMEmbedder:
    """The packaged all-MiniLM-L6-v2 through `encode` above: loaded once per process, on first use.

    One-text calls (a question) are remembered for the last `cache_size` texts: a portal sees the same
    questions again and again, and a repeat then costs a dictionary look-up instead of ~10 ms of CPU.
    `cache_clear()` empties it (the retrieval benchmark times uncached queries). It is keyed by a digest of
    the text, so no question a user typed stays in the process's memory after its session."""

    def __init__(self, model_path: Path | str | None = None, *, cache_size: int = 256) -> None:
        from assistant.embeddings import _fingerprint, default_model_path

        self.path = Path(model_path).expanduser() if model_path else default_model_path()
        if not supports(self.path):
            raise EmbeddingModelError(f"not a BERT mean-pooling sentence-transformers folder: {self.path}")
        # the same fingerprint as SentenceTransformerEmbedder: the vectors are the same, so is the index
        self.model_id = _fingerprint(self.path)
        self.dim = int(json.loads((self.path / "config.json").read_text())["hidden_size"])
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    def cache_clear(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 and self.cache_size > 0:
            key = hashlib.blake2b(texts[0].encode("utf-8", "surrogatepass"), digest_size=16).digest()
            with self._cache_lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit[None].copy()  # a copy: a caller may write into what it gets
            vector = encode(self.path, list(texts))
            with self._cache_lock:
                self._cache[key] = vector[0].copy()
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return vector
        if sum(len(t) for t in texts) > _BULK_CHARS and _torch_available():
            # building the index (hundreds of long passages): torch's fused kernels are ~20x faster than this
            # numpy pass (83 s of CPU against ~4 s measured), and a build is rare, so the one-off torch import
            # pays; the vectors agree to 1e-6 (tests/assistant/test_minilm.py), so the index is the same
            from assistant.embeddings import SentenceTransformerEmbedder

            return SentenceTransformerEmbedder(self.path).encode(list(texts))
        return encode(self.path, list(texts))

    def encode_excluding(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """(2, dim): the sentence vector of `text` (as `encode` gives it) and the vector pooled over the tokens
        outside the character `spans`, both from one forward pass. Retrieval sets a question's task words
        aside this way to see what it asks about the task, for no second embedding (~10 ms of CPU). Remembered
        like a one-text `encode` (the key: a digest of the text and the spans)."""
        key = hashlib.blake2b(f"{text}\x00{sorted(spans)}".encode("utf-8", "surrogatepass"), digest_size=16,
                              person=b"excluding").digest()
        with self._cache_lock:
            hit = self._cache.get(key) if self.cache_size > 0 else None
            if hit is not None:
                self._cache.move_to_end(key)
                return hit.copy()
        w = _weights(self.path)
        with _blas_limit(_query_threads() if len(text) <= 2000 else None):
            vectors = _encode(w, [text], 1, exclude=list(spans))
        if self.cache_size > 0:
            with self._cache_lock:
                self._cache[key] = vectors.copy()
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return vectors


_BULK_CHARS = 20_000


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("sentence_transformers") is not None and importlib.util.find_spec("torch") is not None
