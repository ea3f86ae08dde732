"""Retrieval: the assistant's knowledge index: build time, query latency p50/p95, recall@1 and recall@5 on
the evaluation set (tests/assistant/eval_questions.json; goal: recall@5 >= 0.9).

The index is built from knowledge/ into a temporary folder exactly as the assistant builds it
(`KnowledgeIndex.open` with `default_embedder()`, the packaged all-MiniLM-L6-v2 in numpy, which hands a
bulk build to sentence-transformers when torch is installed): a cold build loads the embedding model, then
chunks and embeds every section and writes the FAISS index; reopening the saved index is timed too.
Queries are timed with the embedder the assistant answers with (the numpy forward, one BLAS thread), wall
time and CPU time per query, and again with the sentence-transformers (torch) embedder for comparison
(results before commit ec90ec5 timed only that one). A question counts as found at k when its expected section (document and heading) is among the
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


def _time_queries(index, questions: list[dict], passes: int) -> dict:
    """Latencies (wall and CPU, seconds) of `passes` passes over the questions after a warm-up of 5, and what
    the first pass found. Every timed query is uncached: the embedder's cache of repeated questions (if it
    has one) is emptied before each; a repeat, served from that cache, is timed apart."""
    clear = getattr(index.embedder, "cache_clear", lambda: None)
    for q in questions[:5]:  # warm-up
        index.search(q["q"], 5)
    at1 = at5 = 0
    misses, wall, cpu, repeat = [], [], [], []
    for p in range(passes):
        for q in questions:
            clear()
            started, started_cpu = time.perf_counter(), time.process_time()
            hits = index.search(q["q"], 5)
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            if hasattr(index.embedder, "cache_clear"):
                started = time.perf_counter()
                index.search(q["q"], 5)  # the same question again: its embedding comes from the cache
                repeat.append(time.perf_counter() - started)
            if p:
                continue
            keys = [(h.chunk.doc, h.chunk.heading) for h in hits]
            expected = (q["doc"], q["heading"])
            at5 += expected in keys
            at1 += bool(keys) and keys[0] == expected
            if expected not in keys:
                misses.append((q["q"], expected, keys[:2]))
    embed = []
    for q in questions:  # the embedding's share of a query
        clear()
        started = time.perf_counter()
        index.embedder.encode([q["q"]])
        embed.append(time.perf_counter() - started)
    clear()
    return {"wall": wall, "cpu": cpu, "embed": embed, "repeat": repeat, "at1": at1, "at5": at5, "misses": misses}


def run(quick: bool) -> str:
    import torch

    from assistant.embeddings import SentenceTransformerEmbedder, default_embedder
    from assistant.examples import open_examples
    from assistant.retrieval import KnowledgeIndex

    questions = json.loads(EVAL.read_text())
    passes = 1 if quick else 5
    load_before = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="medhive-bench-retrieval-"))
    try:
        embedder = default_embedder()
        started = time.perf_counter()
        embedder.encode(["load the model"])  # the model itself (cached per process)
        model_s = time.perf_counter() - started
        started = time.perf_counter()
        index = KnowledgeIndex.open(KNOWLEDGE, tmp / "index", embedder=embedder)
        build_s = time.perf_counter() - started
        assert index.rebuilt
        started = time.perf_counter()
        reopened = KnowledgeIndex.open(KNOWLEDGE, tmp / "index", embedder=embedder)
        reopen_s = time.perf_counter() - started
        assert not reopened.rebuilt
        # as the assistant searches: with the earlier users' questions (`assistant.examples`), less this
        # benchmark's own questions, which are among them
        examples = open_examples(tmp / "examples", embedder).without("eval_questions")
        index.examples = examples
        chunks = index.chunks
        runs = {f"{type(embedder).__name__} (what the assistant answers with)": _time_queries(index, questions, passes)}
        torch_index = KnowledgeIndex.open(KNOWLEDGE, tmp / "index", embedder=SentenceTransformerEmbedder())
        assert not torch_index.rebuilt  # the same vectors, so the same index
        torch_index.examples = examples
        runs[f"SentenceTransformerEmbedder (torch, {torch.get_num_threads()} threads)"] = _time_queries(
            torch_index, questions, passes)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = len(questions)
    main = next(iter(runs.values()))
    r5 = main["at5"] / n
    docs = len({c.doc for c in chunks})
    build_rows = [[docs, len(chunks), embedder.dim, f"{model_s:.2f}", f"{build_s:.2f}", f"{model_s + build_s:.2f}",
                   f"{reopen_s * 1000:.0f}"]]
    query_rows = []
    for name, r in runs.items():
        ms, cpu_ms = np.asarray(r["wall"]) * 1000, np.asarray(r["cpu"]) * 1000
        query_rows.append([name, n, len(ms), f"{np.percentile(ms, 50):.1f}", f"{np.percentile(ms, 95):.1f}",
                           f"{ms.max():.1f}", f"{cpu_ms.mean():.1f}", f"{np.median(r['embed']) * 1000:.1f}",
                           f"{np.median(r['repeat']) * 1000:.1f}" if r["repeat"] else "-",
                           f"{r['at1'] / n:.3f}", f"{r['at5'] / n:.3f}"])
    p95 = float(np.percentile(np.asarray(main["wall"]) * 1000, 95))
    body = (
        busy_warning(load_before) +
        f"Knowledge base: knowledge/ ({docs} documents); embedder: {embedder.model_id}; CPU; 1-minute load average "
        f"{load_before:.1f} before and {os.getloadavg()[0]:.1f} after (other processes share the CPUs).\n\n"
        "## Index build\n\n"
        "cold build = loading the embedding model + chunking, embedding every chunk, writing the FAISS index; "
        "reopen = opening the saved, current index (no embedding).\n\n"
        + md_table(["documents", "chunks", "dim", "model load s", "chunk + embed + save s", "cold build s",
                    "reopen ms"], build_rows)
        + f"\n## Queries ({passes} pass{'es' if passes > 1 else ''} over the evaluation set after a warm-up of 5)\n\n"
        "query = embed the question + exact inner-product search + BM25 term + distinct sections, top 5; "
        "CPU ms = this process's CPU time per query (what the query costs whatever else runs). Timed "
        "queries are uncached; repeat = the same question asked again at once, its embedding from the "
        "embedder's cache (not in p50/p95).\n\n"
        + md_table(["query embedder", "questions", "queries timed", "p50 ms", "p95 ms", "max ms", "CPU ms / query",
                    "embedding alone p50 ms", "recall@1", "recall@5"], query_rows)
        + f"\nGoal recall@5 >= 0.9: {'met' if r5 >= 0.9 else 'NOT met'} ({r5:.3f}, {main['at5']} of {n} questions). "
        f"Goal p95 <= 20 ms with the assistant's embedder: {'met' if p95 <= 20 else 'NOT met'} ({p95:.1f} ms).\n"
        + ("\nMissed at 5 (question -> expected section; first two hits):\n\n"
           + "".join(f"- {q} -> {e[0]} / {e[1]}; got {', '.join(f'{d} / {h}' for d, h in got)}\n"
                     for q, e, got in main["misses"]) if main["misses"] else "")
    )
    write_result("retrieval", "Assistant retrieval: index build, query latency, recall", body, quick=quick)
    return body


if __name__ == "__main__":
    import sys

    print(run("--quick" in sys.argv))
