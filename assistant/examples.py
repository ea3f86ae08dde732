"""Questions people asked before, and the sections that answered them: a retrieval term beside the documents.

A new user's question is often closer in wording to another user's question than to the documentation
("we want the registry on the hub instead of local disk" is far from "MEDHIVE_REGISTRY=hf://<namespace>" and
close to "keep the models on hugging face hub instead of the local folder"). The seen question sets hold
several hundred such questions, each labelled by a person with the sections that answer it
(`assistant/routing_examples.json`, rows with `sections`, refreshed by `scripts/routing_examples.py`; the
repository's test set and any held-apart set not yet scored are never in it). `KnowledgeIndex.search` adds
to a section's score in proportion to how close the question is to the nearest seen question that section
answered, above a floor (`Weights.example`, `Weights.example_floor`): a question like no earlier one is
ranked by the documents alone. It only re-ranks sections: whether the documents cover a question at all
(`Hit.relevance`, which the "I don't know" answer reads) is still the documents' own cosine.

The weight and floor were chosen by leave-one-set-out cross-validation over the seen sets (each set scored
with the examples of the other sets only): `python -m benchmarks.retrieval_examples_cv`, results in
benchmarks/results/retrieval_examples_cv.md. A label whose section no longer exists is ignored.

The example vectors are embedded once with the index's model and kept under MEDHIVE_HOME
(`assistant/examples/`: `vectors.npy`, `examples.json`, `manifest.json` with the examples' digest and the
model's id; no pickle), so a cold `medhive ask` maps one small array.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant import cache

EXAMPLES = Path(__file__).with_name("routing_examples.json")
_FORMAT = 1


@dataclass(frozen=True)
class SectionExamples:
    """Example questions: their vectors (L2-normalised rows), the sections answering each, their set."""

    vectors: np.ndarray
    sections: tuple[tuple[str, ...], ...]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.sections)

    def without(self, source: str) -> SectionExamples:
        """These examples less those of one question set (to score that set as if it were new)."""
        keep = [i for i, s in enumerate(self.sources) if s != source]
        return SectionExamples(np.asarray(self.vectors)[keep], tuple(self.sections[i] for i in keep),
                               tuple(self.sources[i] for i in keep))

    def pairs(self, section_of: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """(section number, example number) for every section an example names that `section_of` knows: what
        an index computes once, not per query."""
        pairs = [(section_of[s], i) for i, secs in enumerate(self.sections) for s in secs if s in section_of]
        sec, ex = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
        return sec, ex

    def best_per_section(self, query: np.ndarray, section_of: dict[str, int], n_sections: int,
                         pairs: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """For each section (numbered by `section_of`), the highest cosine of `query` to an example it
        answered; 0 for a section no example names. `pairs`: `self.pairs(section_of)`, if already made."""
        best = np.zeros(n_sections, dtype=np.float64)
        sec, ex = pairs if pairs is not None else self.pairs(section_of)
        if len(sec):
            sims = np.asarray(self.vectors, dtype=np.float32) @ np.asarray(query, dtype=np.float32).ravel()
            np.maximum.at(best, sec, sims[ex].astype(np.float64))
        return best


def load_rows(path: Path | str = EXAMPLES) -> list[dict[str, Any]]:
    """The rows of the examples file that name answering sections."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    return [r for r in rows if r.get("sections")]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def open_examples(cache_dir: Path | str, embedder: Any, *, path: Path | str = EXAMPLES) -> SectionExamples:
    """The examples of `path` embedded with `embedder`: read from `cache_dir` when embedded there from the same
    file with the same model, else embedded (a few seconds) and kept there (an unwritable home keeps nothing)."""
    cache_dir, path = Path(cache_dir), Path(path)
    key = {"format": _FORMAT, "examples": _digest(path), "model_id": getattr(embedder, "model_id", "")}
    try:
        if cache.current(cache_dir, key):
            meta = json.loads((cache_dir / "examples.json").read_text(encoding="utf-8"))
            vectors = np.load(cache_dir / "vectors.npy", mmap_mode="r", allow_pickle=False)
            if len(vectors) == len(meta):
                return SectionExamples(vectors, tuple(tuple(m["sections"]) for m in meta),
                                       tuple(m["source"] for m in meta))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    rows = load_rows(path)
    vectors = np.asarray(embedder.encode([r["text"] for r in rows]), dtype=np.float32) if rows else (
        np.zeros((0, 1), dtype=np.float32))
    examples = SectionExamples(vectors, tuple(tuple(r["sections"]) for r in rows), tuple(r["source"] for r in rows))

    def write(folder: Path) -> None:
        np.save(folder / "vectors.npy", vectors, allow_pickle=False)
        (folder / "examples.json").write_text(json.dumps([{"sections": list(s), "source": src} for s, src in zip(
            examples.sections, examples.sources)]), encoding="utf-8")

    cache.replace(cache_dir, key, write)  # an unwritable home keeps nothing
    return examples
