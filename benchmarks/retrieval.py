"""Retrieval: the assistant's knowledge index: build time, query latency p50/p95, recall@1 and recall@5 on
the evaluation set (tests/assistant/eval_questions.json; goal: recall@5 >= 0.9).

The index is built from knowledge/ into a temporary folder exactly as the assistant builds it
(`KnowledgeIndex.open` with the packaged all-MiniLM-L6-v2 embedder): a cold build loads the embedding
model, then chunks and embeds every section and writes the FAISS index; reopening the saved index is
timed too. A question counts as found at k when its expected section (document and heading) is among the
k hits, the criterion of tests/assistant/test_retrieval.py.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, busy_warning, md_table, write_result

KNOWLEDGE = ROOT / "knowledge"
EVAL = ROOT / "tests" / "assistant" / "eval_questions.json"


def run(quick: bool) -> str:
    import torch

    from assistant.embeddings import SentenceTransformerEmbedder
    from assistant.retrieval import KnowledgeIndex

    questions = json.loads(EVAL.read_text())
    passes = 1 if quick else 5
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="medhive-bench-retrieval-"))
    try:
        embedder = SentenceTransformerEmbedder()
        started = time.perf_counter()
        embedder._load()  # the model itself (cached per process: a second build in this process reuses it)
        model_s = time.perf_counter() - started
        started = time.perf_counter()
        index = KnowledgeIndex.open(KNOWLEDGE, tmp / "index", embedder=embedder)
        build_s = time.perf_counter() - started
        assert index.rebuilt
        started = time.perf_counter()
        reopened = KnowledgeIndex.open(KNOWLEDGE, tmp / "index", embedder=embedder)
        reopen_s = time.perf_counter() - started
        assert not reopened.rebuilt
        chunks = index.chunks

        for q in questions[:5]:  # warm-up
            index.search(q["q"], 5)
        at1 = at5 = 0
        misses, latencies, embed_lat = [], [], []
        for p in range(passes):
            for q in questions:
                started = time.perf_counter()
                hits = index.search(q["q"], 5)
                latencies.append(time.perf_counter() - started)
                if p:
                    continue
                keys = [(h.chunk.doc, h.chunk.heading) for h in hits]
                expected = (q["doc"], q["heading"])
                at5 += expected in keys
                at1 += bool(keys) and keys[0] == expected
                if expected not in keys:
                    misses.append((q["q"], expected, keys[:2]))
        for q in questions:  # the embedding's share of a query
            started = time.perf_counter()
            embedder.encode([q["q"]])
            embed_lat.append(time.perf_counter() - started)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(questions)
    ms = np.asarray(latencies) * 1000
    r1, r5 = at1 / n, at5 / n
    docs = len({c.doc for c in chunks})
    build_rows = [[docs, len(chunks), embedder.dim, f"{model_s:.2f}", f"{build_s:.2f}", f"{model_s + build_s:.2f}",
                   f"{reopen_s * 1000:.0f}"]]
    query_rows = [[n, len(ms), f"{np.percentile(ms, 50):.1f}", f"{np.percentile(ms, 95):.1f}", f"{ms.max():.1f}",
                   f"{np.median(embed_lat) * 1000:.1f}", f"{r1:.3f}", f"{r5:.3f}"]]
    body = (
        busy_warning(load_before) +
        f"Knowledge base: knowledge/ ({docs} documents); embedder: {embedder.model_id}; CPU, torch threads "
        f"{torch.get_num_threads()}; 1-minute load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} "
        "after (other processes share the CPUs).\n\n"
        "## Index build\n\n"
        "cold build = loading the embedding model + chunking, embedding every chunk, writing the FAISS index; "
        "reopen = opening the saved, current index (no embedding).\n\n"
        + md_table(["documents", "chunks", "dim", "model load s", "chunk + embed + save s", "cold build s",
                    "reopen ms"], build_rows)
        + f"\n## Queries ({passes} pass{'es' if passes > 1 else ''} over the evaluation set after a warm-up of 5)\n\n"
        "query = embed the question + exact inner-product search + BM25 term + distinct sections, top 5.\n\n"
        + md_table(["questions", "queries timed", "p50 ms", "p95 ms", "max ms", "embedding alone p50 ms",
                    "recall@1", "recall@5"], query_rows)
        + f"\nGoal recall@5 >= 0.9: {'met' if r5 >= 0.9 else 'NOT met'} ({r5:.3f}, {at5} of {n} questions).\n"
        + ("\nMissed at 5 (question -> expected section; first two hits):\n\n"
           + "".join(f"- {q} -> {e[0]} / {e[1]}; got {', '.join(f'{d} / {h}' for d, h in got)}\n"
                     for q, e, got in misses) if misses else "")
    )
    write_result("retrieval", "Assistant retrieval: index build, query latency, recall", body, quick=quick)
    return body


if __name__ == "__main__":
    import sys

    print(run("--quick" in sys.argv))
