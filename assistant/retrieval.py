"""Search over the knowledge base: FAISS exact inner-product indexes over normalised embeddings, memory-mapped.

The index lives in `index_dir` (under MEDHIVE_HOME): three FAISS `IndexFlatIP` files (`chunks.faiss`, one
vector per chunk; `headings.faiss`, one per chunk's "title: heading"; `sentences.faiss`, one per sentence,
bullet or table row of a chunk), `sentence_chunk.npy` naming each sentence's chunk, `chunks.json`, and
`manifest.json` holding the corpus hash and the embedding model's id. No pickle. Opening maps the FAISS
files read-only (`IO_FLAG_MMAP_IFC`), so a new process copies nothing; the corpus is a few hundred
sections, for which exact search over every vector takes well under a millisecond (a corpus a hundred
times larger would swap `IndexFlatIP` for an HNSW index and score only its candidates). Opening reuses the
files when the hash and the model match and rebuilds them otherwise, writing into a temporary folder that
replaces the old one in one rename, so a reader never sees half an index.

Scores (weights in `Weights`; chosen on tests/assistant/eval/dev.json, never on test.json): the cosine
similarity of the query to the whole chunk, plus the best cosine over the chunk's sentences (a question
answered by one sentence of a long section is not drowned by the rest of it), plus the cosine to the
section's heading, plus a lexical term (BM25 over the chunk's words, scaled to [0, 1] per query) that
rescues rare exact terms such as "epsilon", "429" or "WFDB" which a small embedding model blurs. The
lexical query is expanded with the documentation's words for the user's words (`assistant.vocabulary`).

Three corrections let the whole question decide rather than one word or one broad match (chosen on the
seen question sets, tests/assistant/eval/{dev,fresh,fresh2,fresh3}.json; see `Weights`):
- a question that names a task ("xray", "ckd", "creatinine": the task catalog's words, `task_mentions`) is
  also scored on its other words, the topic: the same four terms with the query vector mean-pooled over the
  tokens outside the task's words (one embedding pass, `encode_excluding`) and the lexical query without
  them, and the two scores are averaged (`Weights.topic`). "if I upload my xray do you keep it?" is then
  scored as much on "upload ... keep" as on "xray", which alone pulls the pneumonia page's Inputs up;
- a section about one task (a task's model page, or a heading naming a task: "Reading a pneumonia result")
  starts `Weights.task_section` lower, and half that (`named_task_section`) when the question names its
  task. Eight model pages built on one template are a third of the sections (with the per-task sections of
  other pages, two fifths) and share the everyday words of inputs, data and training; without the
  handicap one of them wins many a question about accounts,
  storage, the API or versions ("roll back the glaucoma model"), while a question about the model itself
  ("limitations of the x-ray model") still finds that model's section ahead of the general ones;
- a document's introduction (the text under its title) starts `Weights.intro` lower: it summarises the
  whole page, so its title-heading matches broadly ("Privacy and compliance" for "which personal data do
  you store centrally"), while the section it points to says the answer.
Questions asked before (`assistant.examples`, when `examples` is set) lift the sections that answered the
nearest of them (`Weights.example`). Results are distinct sections (document and heading), best first;
`Hit.dense` is the whole-chunk cosine, `Hit.relevance` the best of it and the sentences' (what says whether
the documentation covers a question), both of the question as asked.
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
from typing import Any

import numpy as np

from assistant.embeddings import Embedder
from assistant.knowledge import Chunk, load_corpus

_WORD = re.compile(r"[a-z0-9][a-z0-9_.\-]*[a-z0-9]|[a-z0-9]")
_STOP = frozenset("""a an and are as at be by can do does for from how i if in is it its me my of on or our
so that the their them then there these this to was we what when where which who why will with you your
not no yes i'm it's""".split())


_NAME = re.compile(r"[A-Za-z][\w'-]*")


def tokens(text: str) -> list[str]:
    """Words that count, in order; a hyphenated word also gives its parts ("whole-retina" is "whole" and
    "retina" for someone who typed them apart)."""
    out = []
    for t in _WORD.findall(text.lower()):
        if t not in _STOP:
            out.append(t)
            if "-" in t:
                out += [p for p in t.split("-") if len(p) > 1 and p not in _STOP]
    return out


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    dense: float  # cosine of the query to the whole chunk
    relevance: float = 1.0  # the best cosine of the query to the chunk or one of its sentences

    @property
    def source(self) -> str:
        return self.chunk.source

    def to_dict(self) -> dict[str, object]:
        return {"doc": self.chunk.doc, "heading": self.chunk.heading, "source": self.source,
                "score": round(self.score, 4)}


class _BM25:
    """Okapi BM25 over the chunks' words, with each term's postings precomputed: the documents holding it and
    its BM25 weight in each, so a query adds one small array per term instead of looping over every chunk."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.n = len(docs)
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        avg = float(lengths.mean()) if len(docs) else 1.0
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for i, d in enumerate(docs):
            for term, f in Counter(d).items():
                ids, freqs = postings.setdefault(term, ([], []))
                ids.append(i)
                freqs.append(f)
        self.postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for term, (ids, freqs) in postings.items():
            idf = math.log(1 + (self.n - len(ids) + 0.5) / (len(ids) + 0.5))
            f = np.asarray(freqs, dtype=np.float64)
            rows = np.asarray(ids, dtype=np.int64)
            self.postings[term] = (rows, idf * f * (k1 + 1) / (f + k1 * (1 - b + b * lengths[rows] / avg)))
        self.df = {term: len(rows) for term, (rows, _) in self.postings.items()}  # documents holding each term

    def scores(self, query: list[str], extra: list[str] = (), extra_weight: float = 1.0) -> np.ndarray:
        """BM25 of every document for the query's terms, plus `extra` terms (an expansion) at `extra_weight`."""
        out = np.zeros(self.n)
        weights = {t: extra_weight for t in extra} | {t: 1.0 for t in query}
        for term, weight in weights.items():
            posting = self.postings.get(term)
            if posting is not None:
                out[posting[0]] += weight * posting[1]  # a term's documents are distinct: no repeated index
        return out


class Speller:
    """Misspelt words ("acount", "pnuemonia", "quoat") put right against the knowledge base's own words.

    A word of five letters or more that the documentation does not use becomes the documentation's word
    one edit away (a letter deleted, added, changed, or two swapped), the most widespread one when several
    are; words of the users' vocabulary (`assistant.vocabulary`) and the task catalog are known as typed. The
    lexical search sees the corrected question; the embedding (word pieces: robust to a typo) the typed one."""

    _LETTERS = "abcdefghijklmnopqrstuvwxyz"

    def __init__(self, df: Counter) -> None:
        from assistant.vocabulary import user_words

        self.df = {t: c for t, c in df.items() if t.isalpha()}
        self.known = set(df) | user_words()

    def _edits(self, w: str) -> set[str]:
        splits = [(w[:i], w[i:]) for i in range(len(w) + 1)]
        return ({a + b[1:] for a, b in splits if b} | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
                | {a + c + b[1:] for a, b in splits if b for c in self._LETTERS}
                | {a + c + b for a, b in splits for c in self._LETTERS})

    def word(self, w: str) -> str:
        if len(w) < 5 or not w.isalpha() or w in self.known:
            return w
        # a plural or a past tense of a word is a word, not a misspelling of it ("write" is not "writes")
        found = [c for c in self._edits(w) if c in self.df and c not in (w + "s", w + "d") and w not in (c + "s", c + "d")]
        return max(found, key=lambda c: (self.df[c], c)) if found else w

    def correct(self, text: str) -> str:
        return re.sub(r"[A-Za-z]+", lambda m: m.group(0) if (c := self.word(m.group(0).lower())) == m.group(0).lower()
                      else c, text)


@dataclass(frozen=True)
class Weights:
    """How the parts of a score add up (see the module docstring)."""

    chunk: float = 0.6
    sentence: float = 0.7
    heading: float = 0.2
    lexical: float = 0.25
    expansion: float = 0.5  # a term added by `assistant.vocabulary` counts this much of a typed one
    # a question naming a task: this share of its score comes from its words without the task's (the topic)
    topic: float = 0.5
    task_section: float = 0.15  # subtracted from a section about one task (see the module docstring)
    named_task_section: float = 0.5  # the share of it kept for a section about a task the question names
    data_or_money: float = 2.0  # times task_section, for a question on what happens to data or what it costs
    intro: float = 0.1  # subtracted from a document's introduction (the text under its title)
    # added to a section as close as the question comes to a seen question it answered, over the floor
    # (`assistant.examples`; chosen by leave-one-set-out cross-validation, benchmarks/retrieval_examples_cv.py)
    example: float = 1.0
    example_floor: float = 0.5


VECTORS = ("chunks", "headings", "sentences")  # one FAISS IndexFlatIP file each
FILES = (*(f"{n}.faiss" for n in VECTORS), "sentence_chunk.npy", "chunks.json", "manifest.json")
_TABLE_RULE = re.compile(r"\|[\s|:-]+\|?")


def heading_text(chunk: Chunk) -> str:
    return chunk.title if chunk.heading in ("", chunk.title) else f"{chunk.title}: {chunk.heading}"


def sentence_texts(chunks: list[Chunk]) -> tuple[list[str], list[int]]:
    """Every sentence, bullet and table row of every chunk, prefixed by its heading, and its chunk's number."""
    from assistant.compose import units

    texts, owner = [], []
    for i, chunk in enumerate(chunks):
        for unit in units(chunk.text):
            if not _TABLE_RULE.fullmatch(unit):
                texts.append(f"{chunk.heading or chunk.title}: {unit}"[:600])
                owner.append(i)
    return texts, owner


class KnowledgeIndex:
    """The searchable knowledge base. Use `KnowledgeIndex.open(...)`."""

    def __init__(self, chunks: list[Chunk], vectors: Any, *, embedder: Embedder, corpus_hash: str,
                 rebuilt: bool, headings: Any, sentences: Any, sentence_chunk: np.ndarray,
                 weights: Weights | None = None) -> None:
        self.chunks = chunks
        self.vectors = vectors
        self.headings = headings
        self.sentences = sentences
        self.sentence_chunk = np.asarray(sentence_chunk, dtype=np.int64)
        self.embedder = embedder
        self.corpus_hash = corpus_hash
        self.rebuilt = rebuilt
        self.weights = weights or Weights()
        self._bm25 = _BM25([tokens(c.embedding_text()) for c in chunks])
        self._speller = Speller(self._bm25.df)
        self._section_tasks = _tasks_of(chunks)  # the task each section is about, if any
        self._task_section = np.array([bool(t) for t in self._section_tasks], dtype=np.float64)
        self._intro = np.array([c.heading in ("", c.title) for c in chunks], dtype=np.float64)
        sections = sorted({c.source for c in chunks})
        self._n_sections = len(sections)
        self._section_of = {s: i for i, s in enumerate(sections)}
        # a label may name a document's introduction by its title ("doc.md > Title"), as the question sets do
        self._section_of.update({f"{c.doc} > {c.title}": self._section_of[c.source] for c in chunks
                                 if c.source == c.doc and c.title})
        self._chunk_section = np.array([self._section_of[c.source] for c in chunks], dtype=np.int64)
        self.examples = None  # questions asked before and the sections that answered them (`assistant.examples`)

    @property
    def examples(self) -> Any:
        """Questions asked before and the sections that answered them (`assistant.examples`), or None."""
        return self._examples

    @examples.setter
    def examples(self, examples: Any) -> None:
        self._examples = examples
        # which example names which section, resolved once here rather than on every search
        self._example_pairs = examples.pairs(self._section_of) if examples is not None else None

    # ----- building and persistence ----------------------------------------------------------------
    @classmethod
    def open(cls, knowledge_dir: Path, index_dir: Path, *, embedder: Embedder, weights: Weights | None = None
             ) -> KnowledgeIndex:
        """The index for `knowledge_dir`: mapped from `index_dir` when current, else built and saved."""
        chunks, corpus_hash = load_corpus(Path(knowledge_dir))
        index_dir = Path(index_dir)
        manifest = _read_json(index_dir / "manifest.json")
        if manifest.get("corpus_hash") == corpus_hash and manifest.get("model_id") == embedder.model_id:
            try:
                arrays = {n: _read_flat(index_dir / f"{n}.faiss") for n in VECTORS}
                arrays["sentence_chunk"] = np.load(index_dir / "sentence_chunk.npy", mmap_mode="r", allow_pickle=False)
            except (OSError, RuntimeError, ValueError):  # FAISS reports a damaged file as RuntimeError
                arrays = None
            if arrays is not None and arrays["chunks"].ntotal == len(chunks) == arrays["headings"].ntotal \
                    and arrays["sentences"].ntotal == len(arrays["sentence_chunk"]):
                return cls(chunks, arrays["chunks"], embedder=embedder, corpus_hash=corpus_hash, rebuilt=False,
                           headings=arrays["headings"], sentences=arrays["sentences"],
                           sentence_chunk=arrays["sentence_chunk"], weights=weights)
        texts, owner = sentence_texts(chunks)
        vectors = embedder.encode([c.embedding_text() for c in chunks] + [heading_text(c) for c in chunks] + texts)
        n = len(chunks)
        dim = int(vectors.shape[1])
        arrays = {"chunks": _flat(vectors[:n], dim), "headings": _flat(vectors[n:2 * n], dim),
                  "sentences": _flat(vectors[2 * n:], dim)}
        _save(index_dir, arrays, np.asarray(owner, dtype=np.int32), chunks,
              {"corpus_hash": corpus_hash, "model_id": embedder.model_id, "dim": dim, "chunks": n,
               "sentences": len(texts), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        return cls(chunks, arrays["chunks"], embedder=embedder, corpus_hash=corpus_hash, rebuilt=True,
                   headings=arrays["headings"], sentences=arrays["sentences"], sentence_chunk=owner,
                   weights=weights)

    # ----- search ----------------------------------------------------------------------------------
    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The `k` best distinct sections (document and heading) for `query`, best first."""
        if not query.strip() or not self.chunks:
            return []
        from hub.models.catalog import task_mentions

        w = self.weights
        mentions = task_mentions(query)
        spans = [(start, end) for start, end, _ in mentions]
        topic = _without(query, spans) if spans else ""
        if spans and topic:
            vectors = self._query_vectors(query, spans)
        else:
            vectors = self.embedder.encode([query])[:1]
        vectors = np.asarray(vectors, dtype=np.float32)
        cosines = _all_scores(self.vectors, vectors)
        headings = _all_scores(self.headings, vectors)
        sentences = _all_scores(self.sentences, vectors) if self.sentences.ntotal else None
        parts = []
        for row, text in enumerate((query, topic)[:len(vectors)]):
            best_sentence = np.full(len(self.chunks), -1.0)
            if sentences is not None:
                np.maximum.at(best_sentence, self.sentence_chunk, sentences[row])
            best_sentence = np.where(best_sentence < -0.5, cosines[row], best_sentence)  # a chunk with no sentence
            lexical = self._lexical(text)
            top = lexical.max()
            parts.append((w.chunk * cosines[row] + w.sentence * best_sentence + w.heading * headings[row]
                          + (w.lexical * lexical / top if top > 0 else 0.0), best_sentence))
        score = parts[0][0] if len(parts) == 1 else (1 - w.topic) * parts[0][0] + w.topic * parts[1][0]
        handicap = self._task_section
        if _about_data_or_money(query):  # about privacy or billing: a task's own sections start further back
            handicap = handicap * w.data_or_money
        elif mentions:  # the named task's own sections keep their score
            named = {task for _, _, task in mentions}
            handicap = handicap * np.array([w.named_task_section if t & named else 1.0 for t in self._section_tasks])
        score = score - w.task_section * handicap - w.intro * self._intro
        if self.examples is not None and w.example > 0 and len(self.examples):
            near = self.examples.best_per_section(vectors[0], self._section_of, self._n_sections, self._example_pairs)
            lift = np.clip((near - w.example_floor) / (1.0 - w.example_floor), 0.0, 1.0)
            score = score + w.example * lift[self._chunk_section]
        cosine, best_sentence = cosines[0], parts[0][1]
        best: dict[tuple[str, str], Hit] = {}
        for i in np.argsort(-score, kind="stable"):
            chunk = self.chunks[int(i)]
            key = (chunk.doc, chunk.heading)
            if key not in best:
                best[key] = Hit(chunk, float(score[i]), float(cosine[i]),
                                float(max(cosine[i], best_sentence[i])))
                if len(best) == k:
                    break
        return list(best.values())

    def _lexical(self, text: str) -> np.ndarray:
        from assistant.vocabulary import expand

        spelled = self._speller.correct(text)
        return self._bm25.scores(tokens(spelled), tokens(expand(spelled)), self.weights.expansion)

    def _query_vectors(self, query: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """The question's vector and its topic vector (pooled without the task's words): one pass where the
        embedder can (`encode_excluding`), else the text without those words embedded again."""
        encode_excluding = getattr(self.embedder, "encode_excluding", None)
        if encode_excluding is not None:
            return encode_excluding(query, spans)
        return self.embedder.encode([query, _without(query, spans)])

    def foreign_names(self, text: str) -> list[str]:
        """Capitalised names and acronyms in `text` (not its first word) of which no word occurs in the
        documentation nor in the users' words the expansion knows: "Lyon", "Epic", "ChatGPT", "SOC", "HL7" say
        the question is about something the documents do not cover; "DPO", "GUI", "EHR", "Thursday" do not
        (`assistant.vocabulary`)."""
        from assistant.vocabulary import EVERYDAY_NAMES, ORGANISATION_WORDS, user_words

        df, mapped = self._bm25.df, user_words()  # a user's word the expansion maps ("MRNs") is not foreign
        out = []
        for m in _NAME.finditer(text):
            word = m.group(0)
            sentence_start = m.start() == 0 or bool(re.search(r"[.!?;:]\s+['\"(]*$", text[:m.start()]))
            if sentence_start or len(word) < 2 or (word.isupper() and len(word) == 2) or (
                    word.lower().replace("'", "") in EVERYDAY_NAMES):
                continue  # two capitals ("IT", "UK", "OK") are too often a plain word or a place everyone knows
            if not (word[0].isupper() or re.search(r"[a-z][A-Z]", word)):
                continue
            following = re.match(r"\s+([\w']+)", text[m.end():])
            if following and following.group(1).lower() in ORGANISATION_WORDS:
                continue  # "Lakeside Regional", "Northfield Community Hospital": an organisation's own name
            words = tokens(word)
            # (a plural of a documented word, "PNGs", "APIs", is documented too)
            if words and not any(w in df or w.rstrip("s") in df or w in mapped or w.rstrip("s") in mapped for w in words):
                out.append(word)
        return out


# A question that names a task but asks what happens to the data typed or uploaded (kept, shared, used for
# training, leaving the hospital) or what it costs is about privacy or billing, not about the task: "when I
# upload my chest X-ray, is the image kept", "do my glucose numbers get used to train the AI", "do I have to pay
# for the kidney model". The task's own sections then lose the head start a named task gives them.
_DATA_OR_MONEY = re.compile(
    r"\b(?:(?:get|gets|be|is|are)\s+(?:saved|stored|kept|shared|used|sent|uploaded)|(?:saved|stored|kept|shared)\s+"
    r"(?:somewhere|anywhere|with)|leave[s]?\s+the\s+(?:hospital|building|site)|used\s+to\s+train|end\s+up\s+"
    r"training|train(?:ing)?\s+(?:the|your)\s+(?:ai|model|models)|have\s+to\s+pay|(?:is|it'?s)\s+(?:it\s+)?free|"
    r"cost[s]?\s+(?:money|anything)|free\s+predictions?)\b", re.IGNORECASE)


def _about_data_or_money(query: str) -> bool:
    return bool(_DATA_OR_MONEY.search(query))


def _without(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the character spans taken out (the topic of a question that names a task)."""
    kept = [ch if not any(start <= i < end for start, end in spans) else " " for i, ch in enumerate(text)]
    return re.sub(r"\s+", " ", "".join(kept)).strip()


def _tasks_of(chunks: list[Chunk]) -> list[frozenset[str]]:
    """The task each section is about: its model page's, or those its heading names ("Reading a pneumonia
    result"); empty for a general section."""
    from hub.models import all_tasks
    from hub.models.catalog import knowledge_doc, task_mentions

    pages = {knowledge_doc(t): t for t in all_tasks()}
    return [frozenset({pages[c.doc]}) if c.doc in pages else frozenset(task for _, _, task in task_mentions(c.heading))
            for c in chunks]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _flat(vectors: np.ndarray, dim: int) -> Any:
    import faiss

    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _read_flat(path: Path) -> Any:
    import faiss

    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def _all_scores(index: Any, q: np.ndarray) -> np.ndarray:
    """The inner product of `q` with every vector of `index`, in the index's own order (exact search over
    all of them: every section's score is needed to fuse it with the lexical and sentence terms); for a
    (m, dim) matrix of queries, an (m, ntotal) array, one row each, from one search."""
    queries = np.ascontiguousarray(np.atleast_2d(q), dtype=np.float32)
    out = np.zeros((len(queries), index.ntotal), dtype=np.float64)
    if index.ntotal:
        scores, ids = index.search(queries, index.ntotal)
        np.put_along_axis(out, ids, scores, axis=1)
    return out[0] if np.ndim(q) == 1 else out


def _save(index_dir: Path, arrays: dict[str, Any], sentence_chunk: np.ndarray, chunks: list[Chunk],
          manifest: dict) -> None:
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".index-", dir=index_dir.parent))
    try:
        import faiss

        for name, index in arrays.items():
            faiss.write_index(index, str(tmp / f"{name}.faiss"))
        np.save(tmp / "sentence_chunk.npy", sentence_chunk, allow_pickle=False)
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
