"""A small learned router beside the rules: it can only add what the regex families miss.

The rules (`assistant.safety.emergency`, `assistant.intents.route`, the "I don't know" checks of the offline
backend) decide first. This router reads the message's sentence embedding (the assistant's own MiniLM, the
instance the index already loaded) and gives, for each of three classes, the probability that the message
is one:

- "emergency": someone is in danger now (the reply must lead with the emergency guidance);
- "onboarding": a hospital or clinic wants to join (the onboarding conversation starts);
- "unknown": something the documentation does not cover, or a request for individual medical advice
  (the honest "I don't know; here is where to look").

Each class is a one-versus-rest logistic regression (L2, classes weighted to balance, intercept not
penalised: scikit-learn's `LogisticRegression(class_weight="balanced")`, fitted here by Newton's method in
numpy so nothing heavy is imported), fitted deterministically from `routing_examples.json`: labelled
messages, the seen question sets' questions (never the test set's) and wordings written for the router.

Beside the fit, two readers of "is this an emergency?" over the same messages and the emergency sets' messages
(`emergency_examples.json`, emergencies and near misses in people's words): a nearest-neighbour vote
(`Neighbours`: most of the 3 nearest at a cosine of 0.5 or more being emergencies flags one too) and a character
n-gram model (`assistant.lexical`), which reads the wording rather than the topic.

How it combines with the rules (`Routing`): an emergency is flagged when the rules OR the router (its fit, its
neighbours or its n-gram model) say so (the router adds, it never removes one); "onboarding" and "unknown" replace an answer from the documentation only
when the router's probability reaches the class's threshold, chosen out of fold on the held-apart sets'
first-contact verdicts and on today's rules (`python -m benchmarks.router_gated`, results in
benchmarks/results/router_gated.md); "unknown" also needs the offline backend's own signals to agree (a word
the documents never use, no passage close). A class whose threshold is None is never taken.

The fit, the neighbours' vectors and the n-gram model are cached beside the knowledge index (`open_router`), keyed
by both files' digests, the embedding model and the fitting settings, as plain .npy arrays (no pickle), so a cold
`medhive ask` loads eight arrays (the neighbours' about 7 MB) and runs no fit.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant import cache, lexical

EXAMPLES = Path(__file__).with_name("routing_examples.json")
#: the emergency sets' messages (tests/assistant/emergency/*.json once scored, refreshed by
#: scripts/routing_examples.py): emergencies and near misses, read by the neighbours only, never by the fit
EMERGENCY_EXAMPLES = Path(__file__).with_name("emergency_examples.json")
#: the nearest-neighbour vote beside the fit (`Neighbours`): a message is an emergency when most of its `K` nearest
#: labelled messages are emergencies at a cosine of at least `NEIGHBOUR_SIMILARITY`. Out of fold over the seen
#: question and emergency sets (`python -m benchmarks.router_neighbours`, benchmarks/results/router_neighbours.md),
#: k=3 at 0.5 recognised 26 of the 85 emergencies the rules and the fit had missed at first contact over 26 sets, for
#: 4 false alarms among 2,786 other first-contact messages (k=1 at 0.55: 29 for 8; k=3 at 0.45: 31 for 6; k=5 at 0.5:
#: 19 for 4). When the choice was made (20 sets): 19 of 66 for 4 of 2,020.
K, NEIGHBOUR_SIMILARITY = 3, 0.5
#: the classes the router can add; "answer" (a question for the documentation) is every other message
CLASSES = ("emergency", "onboarding", "unknown")
LABELS = ("answer",) + CLASSES
#: the inverse L2 strength of each one-versus-rest fit (scikit-learn's `C`)
C = 10.0
#: the probability at which the router's class is taken (None: never).
#: - emergency: not taken from the fit since the n-gram model (`assistant.lexical`) reads it better. On the seven
#:   emergency sets' rule misses at first contact, out of fold (`python -m benchmarks.router_lexical`, second table
#:   of benchmarks/results/router_lexical.md), the fit at 0.55 with the n-gram model at 0.7 and the neighbours
#:   recognised 314 of 331 emergencies for 34 false alarms among 243 near misses; without the fit, the n-gram model
#:   at 0.6 and the neighbours recognise 314 for 21. (Before the n-gram model the fit's threshold was 0.55, read
#:   by `python -m benchmarks.router_threshold`.);
#: - onboarding and unknown replace an answer from the documentation, chosen on the held-apart sets' first-contact
#:   verdicts and on today's rules, out of fold (`python -m benchmarks.router_gated`,
#:   benchmarks/results/router_gated.md): over thirteen sets, onboarding at 0.8 won 20 joins at first contact and
#:   4 on today's rules and lost none; unknown only where the offline backend's own signals agree
#:   (`UNKNOWN_GATE_RELEVANCE`): at 0.8 it won 23 and 10 for 2 lost on each (ungated it lost 10 on today's rules
#:   over eleven sets)
THRESHOLDS: dict[str, float | None] = {"emergency": None, "onboarding": 0.8, "unknown": 0.8}
#: the router's "unknown" replaces an answer only when the message also uses a word the documents never use
#: (`assistant.scope.unknown_terms`) and no passage is this close (`Hit.relevance`): three signals that agree
UNKNOWN_GATE_RELEVANCE = 0.6
#: whether the assistant uses the router by default (benchmarks/results/router_cv.md says why); the
#: environment variable MEDHIVE_ASSISTANT_ROUTER ("on" / "off") overrides it
ENABLED = True
_FORMAT = 3
#: fits made in this process, by their cache key: the weights are read-only once made
_FITTED: dict[str, tuple[np.ndarray, ...]] = {}


def enabled() -> bool:
    """Whether an assistant built without saying uses the router: MEDHIVE_ASSISTANT_ROUTER, else `ENABLED`."""
    value = os.environ.get("MEDHIVE_ASSISTANT_ROUTER", "").strip().lower()
    if value in ("1", "on", "true", "yes"):
        return True
    if value in ("0", "off", "false", "no"):
        return False
    return ENABLED


def load_examples(path: Path | str = EXAMPLES) -> list[dict[str, str]]:
    """The labelled messages: `{"text", "label", "source"}`, `source` the question set it comes from or
    "written" for wordings written for the router."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    bad = [r for r in rows if r.get("label") not in LABELS or not str(r.get("text", "")).strip()]
    if bad:
        raise ValueError(f"{len(bad)} routing example(s) without a text or with a label outside {LABELS}")
    return rows


def load_emergency_examples(path: Path | str = EMERGENCY_EXAMPLES) -> list[dict[str, str]]:
    """The emergency sets' messages: `{"text", "label" ("emergency" or "not_emergency"), "source"}`; none when
    the file is missing."""
    path = Path(path)
    if not path.exists():
        return []
    rows = json.loads(path.read_text(encoding="utf-8"))
    if any(r.get("label") not in ("emergency", "not_emergency") or not str(r.get("text", "")).strip() for r in rows):
        raise ValueError(f"{path.name}: a row without a text or with a label other than emergency / not_emergency")
    return rows


@dataclass(frozen=True)
class Neighbours:
    """Labelled messages' unit embeddings and whether each is an emergency: the vote of the nearest ones.

    Why a vote beside the fit: the fit is one hyperplane per class, and an emergency worded like a few earlier ones
    but unlike most ("ordered a helium tank, nobody knows") can sit on the wrong side of it. A vote of the nearest
    labelled messages reads such local wordings; needing most of `k` at a cosine of at least `similarity` keeps a
    lone look-alike from deciding."""

    vectors: np.ndarray  # (n, dim) float32, unit length
    emergency: np.ndarray  # (n,) bool
    k: int = K
    similarity: float = NEIGHBOUR_SIMILARITY

    def vote(self, vector: np.ndarray) -> bool:
        if not len(self.vectors):
            return False
        v = np.asarray(vector, dtype=np.float32)
        v = v / (np.linalg.norm(v) or 1.0)
        sims = self.vectors @ v
        top = np.argsort(-sims, kind="stable")[:self.k]
        return int(np.sum(self.emergency[top] & (sims[top] >= self.similarity))) * 2 > self.k


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def fit_binary(x: np.ndarray, y: np.ndarray, *, c: float = C, iterations: int = 50, tol: float = 1e-10
               ) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression, classes weighted to balance (`n / (2 * n_class)` per sample),
    intercept not penalised: the minimiser of `0.5 * |w|^2 + c * sum_i s_i * log-loss_i`, by Newton's method
    (the objective is strictly convex: the same answer every time, and scikit-learn's to its tolerance)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    pos = y.sum()
    if pos == 0 or pos == n:
        raise ValueError("a one-versus-rest fit needs both classes")
    s = np.where(y > 0, n / (2 * pos), n / (2 * (n - pos)))
    xb = np.hstack([x, np.ones((n, 1))])
    reg = np.ones(d + 1)
    reg[-1] = 0.0  # the intercept is not penalised
    theta = np.zeros(d + 1)

    def objective(t: np.ndarray) -> float:
        z = xb @ t
        return float(0.5 * (reg * t) @ t + c * np.sum(s * (np.logaddexp(0.0, z) - y * z)))

    current = objective(theta)
    for _ in range(iterations):
        p = _sigmoid(xb @ theta)
        grad = reg * theta + c * xb.T @ (s * (p - y))
        hess = (xb * (c * s * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-12)
        step = np.linalg.solve(hess, grad)
        rate = 1.0
        while True:  # backtracking: Newton's full step, halved until the objective decreases
            candidate = theta - rate * step
            value = objective(candidate)
            if value <= current or rate < 1e-8:
                break
            rate /= 2
        theta, previous, current = candidate, current, value
        if previous - current <= tol * max(1.0, abs(current)):
            break
    return theta[:-1].copy(), float(theta[-1])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


@dataclass
class Router:
    """One weight vector and intercept per class of `CLASSES`, over unit-length sentence embeddings."""

    weights: np.ndarray  # (len(CLASSES), dim)
    intercepts: np.ndarray  # (len(CLASSES),)
    thresholds: dict[str, float | None]
    embedder: Any = None
    neighbours: Neighbours | None = None
    #: the character n-gram reading of the same messages (`assistant.lexical`), or None
    lexical: lexical.CharGrams | None = None

    @classmethod
    def fit(cls, examples: list[dict[str, str]], embedder: Any, *, c: float = C,
            thresholds: dict[str, float] | None = None, vectors: np.ndarray | None = None) -> Router:
        """Fitted from labelled `examples` (`vectors`: their embeddings, if already computed)."""
        x = np.asarray(embedder.encode([e["text"] for e in examples]) if vectors is None else vectors,
                       dtype=np.float64)
        labels = np.array([e["label"] for e in examples])
        fits = [fit_binary(x, (labels == name).astype(np.float64), c=c) for name in CLASSES]
        return cls(weights=np.stack([w for w, _ in fits]), intercepts=np.array([b for _, b in fits]),
                   thresholds=dict(thresholds or THRESHOLDS), embedder=embedder)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, len(CLASSES)): each class's probability for each embedded message."""
        return _sigmoid(np.atleast_2d(np.asarray(vectors, dtype=np.float64)) @ self.weights.T + self.intercepts)

    def classify(self, text: str) -> Routing:
        """What the router says of one message."""
        vector = self.embedder.encode([text])[:1]
        p = self.probabilities(vector)[0]
        vote = self.neighbours is not None and self.neighbours.vote(vector[0])
        grams = self.lexical is not None and self.lexical.says_emergency(text)
        return Routing(dict(zip(CLASSES, (float(v) for v in p))), self.thresholds, neighbours_say_emergency=vote,
                       lexical_says_emergency=grams)


@dataclass
class Routing:
    """The router's probabilities for one message, and what they add to the rules' decision."""

    probabilities: dict[str, float]
    thresholds: dict[str, float | None]
    #: most of the nearest labelled messages are emergencies (`Neighbours.vote`)
    neighbours_say_emergency: bool = False
    #: the character n-gram model's probability reaches its threshold (`assistant.lexical`)
    lexical_says_emergency: bool = False

    def _over(self, name: str) -> bool:
        threshold = self.thresholds.get(name)
        return threshold is not None and self.probabilities[name] >= threshold

    @property
    def emergency(self) -> bool:
        return self._over("emergency") or self.neighbours_say_emergency or self.lexical_says_emergency

    def instead_of_answer(self, *, unknown_agreed: bool) -> str | None:
        """"onboarding" or "unknown" when that class reaches its threshold (the more probable if both do):
        what replaces an answer from the documentation; None to keep the answer. "unknown" only when
        `unknown_agreed`: the caller's own signals agree (`UNKNOWN_GATE_RELEVANCE`)."""
        over = [(self.probabilities[n], n) for n in ("onboarding", "unknown")
                if self._over(n) and (n != "unknown" or unknown_agreed)]
        return max(over)[1] if over else None


def examples_digest(path: Path | str = EXAMPLES) -> str:
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "none"


def open_router(cache_dir: Path | str, embedder: Any, *, examples: Path | str = EXAMPLES,
                emergency_examples: Path | str = EMERGENCY_EXAMPLES, c: float = C,
                thresholds: dict[str, float] | None = None) -> Router:
    """The router fitted on `examples` with `embedder`, with the neighbours and the character n-gram model of
    `examples` and `emergency_examples`: loaded from `cache_dir` when made there from the same files, model and
    settings, else made (several seconds: the messages are embedded, the n-gram model fitted) and saved."""
    cache_dir = Path(cache_dir)
    key = {"format": _FORMAT, "examples": examples_digest(examples),
           "emergency_examples": examples_digest(emergency_examples), "model_id": getattr(embedder, "model_id", ""),
           "c": c, "classes": list(CLASSES),
           "lexical": {"ngrams": list(lexical.NGRAMS), "min_df": lexical.MIN_DF, "c": lexical.C}}
    names = ("weights", "intercepts", "neighbour_vectors", "neighbour_emergency",
             "lexical_vocabulary", "lexical_idf", "lexical_coef", "lexical_intercept")

    def made(arrays: tuple[np.ndarray, ...]) -> Router:
        return Router(weights=arrays[0], intercepts=arrays[1], thresholds=dict(thresholds or THRESHOLDS),
                      embedder=embedder, neighbours=Neighbours(arrays[2], arrays[3].astype(bool)),
                      lexical=lexical.CharGrams.from_arrays(arrays[4:]))

    try:
        if cache.current(cache_dir, key):
            return made(tuple(np.load(cache_dir / f"{n}.npy", allow_pickle=False) for n in names))
    except (OSError, ValueError):
        pass
    fitted = _FITTED.get(json.dumps(key, sort_keys=True))  # made in this process already, for another home
    if fitted is None:
        rows = load_examples(examples)
        both = rows + load_emergency_examples(emergency_examples)
        x = np.asarray(embedder.encode([r["text"] for r in both]), dtype=np.float64)
        router = Router.fit(rows, embedder, c=c, thresholds=thresholds, vectors=x[:len(rows)])
        is_emergency = np.array([r["label"] == "emergency" for r in both], dtype=bool)
        grams = lexical.fit([r["text"] for r in both], is_emergency)
        fitted = _FITTED[json.dumps(key, sort_keys=True)] = (router.weights, router.intercepts, _unit(x), is_emergency,
                                                             *grams.arrays())

    def write(folder: Path) -> None:
        for name, array in zip(names, fitted):
            np.save(folder / f"{name}.npy", array, allow_pickle=False)

    cache.replace(cache_dir, key, write)  # an unwritable home: the fit is used, not kept
    return made(fitted)
