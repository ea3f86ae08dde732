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

How it combines with the rules (`Routing`): an emergency is flagged when the rules OR the router say so (the
router adds, it never removes one); "onboarding" and "unknown" replace an answer from the documentation only
when the router's probability reaches the class's threshold, chosen out of fold on the held-apart sets'
first-contact verdicts and on today's rules (`python -m benchmarks.router_gated`, results in
benchmarks/results/router_gated.md); "unknown" also needs the offline backend's own signals to agree (a word
the documents never use, no passage close). A class whose threshold is None is never taken.

The fit is cached beside the knowledge index (`open_router`), keyed by the examples' digest, the embedding
model and the fitting settings, as plain .npy arrays (no pickle), so a cold `medhive ask` loads three small
arrays and runs no fit.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant import cache

EXAMPLES = Path(__file__).with_name("routing_examples.json")
#: the classes the router can add; "answer" (a question for the documentation) is every other message
CLASSES = ("emergency", "onboarding", "unknown")
LABELS = ("answer",) + CLASSES
#: the inverse L2 strength of each one-versus-rest fit (scikit-learn's `C`)
C = 10.0
#: the probability at which the router's class is taken.
#: - emergency, re-read as the seen sets grow (`python -m benchmarks.router_threshold`,
#:   benchmarks/results/router_threshold.md), out of fold: with thirteen sets 0.55 flags 149 of 157 emergencies and
#:   7 of 1537 other messages, 0.70 146 and 3 (best by that file's gain, a false alarm counted as two misses). Kept
#:   at 0.55: a missed emergency costs more than a paragraph of guidance, and `safety.learned_emergency_allowed`
#:   holds back the false kinds seen so far;
#: - onboarding and unknown replace an answer from the documentation, chosen on the held-apart sets' first-contact
#:   verdicts and on today's rules, out of fold (`python -m benchmarks.router_gated`,
#:   benchmarks/results/router_gated.md): over thirteen sets, onboarding at 0.8 won 20 joins at first contact and
#:   4 on today's rules and lost none; unknown only where the offline backend's own signals agree
#:   (`UNKNOWN_GATE_RELEVANCE`): at 0.8 it won 23 and 10 for 2 lost on each (ungated it lost 10 on today's rules
#:   over eleven sets)
THRESHOLDS: dict[str, float | None] = {"emergency": 0.55, "onboarding": 0.8, "unknown": 0.8}
#: the router's "unknown" replaces an answer only when the message also uses a word the documents never use
#: (`assistant.scope.unknown_terms`) and no passage is this close (`Hit.relevance`): three signals that agree
UNKNOWN_GATE_RELEVANCE = 0.6
#: whether the assistant uses the router by default (benchmarks/results/router_cv.md says why); the
#: environment variable MEDHIVE_ASSISTANT_ROUTER ("on" / "off") overrides it
ENABLED = True
_FORMAT = 1
#: fits made in this process, by their cache key: the weights are read-only once made
_FITTED: dict[str, tuple[np.ndarray, np.ndarray]] = {}


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
        p = self.probabilities(self.embedder.encode([text])[:1])[0]
        return Routing(dict(zip(CLASSES, (float(v) for v in p))), self.thresholds)


@dataclass
class Routing:
    """The router's probabilities for one message, and what they add to the rules' decision."""

    probabilities: dict[str, float]
    thresholds: dict[str, float | None]

    def _over(self, name: str) -> bool:
        threshold = self.thresholds.get(name)
        return threshold is not None and self.probabilities[name] >= threshold

    @property
    def emergency(self) -> bool:
        return self._over("emergency")

    def instead_of_answer(self, *, unknown_agreed: bool) -> str | None:
        """"onboarding" or "unknown" when that class reaches its threshold (the more probable if both do):
        what replaces an answer from the documentation; None to keep the answer. "unknown" only when
        `unknown_agreed`: the caller's own signals agree (`UNKNOWN_GATE_RELEVANCE`)."""
        over = [(self.probabilities[n], n) for n in ("onboarding", "unknown")
                if self._over(n) and (n != "unknown" or unknown_agreed)]
        return max(over)[1] if over else None


def examples_digest(path: Path | str = EXAMPLES) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def open_router(cache_dir: Path | str, embedder: Any, *, examples: Path | str = EXAMPLES, c: float = C,
                thresholds: dict[str, float] | None = None) -> Router:
    """The router fitted on `examples` with `embedder`: loaded from `cache_dir` when it was fitted there on
    the same examples, model and settings, else fitted (a few seconds: the examples are embedded) and saved."""
    cache_dir = Path(cache_dir)
    key = {"format": _FORMAT, "examples": examples_digest(examples), "model_id": getattr(embedder, "model_id", ""),
           "c": c, "classes": list(CLASSES)}
    try:
        if cache.current(cache_dir, key):
            return Router(weights=np.load(cache_dir / "weights.npy", allow_pickle=False),
                          intercepts=np.load(cache_dir / "intercepts.npy", allow_pickle=False),
                          thresholds=dict(thresholds or THRESHOLDS), embedder=embedder)
    except (OSError, ValueError):
        pass
    fitted = _FITTED.get(json.dumps(key, sort_keys=True))  # fitted in this process already, for another home
    if fitted is None:
        router = Router.fit(load_examples(examples), embedder, c=c, thresholds=thresholds)
        fitted = _FITTED[json.dumps(key, sort_keys=True)] = (router.weights, router.intercepts)

    def write(folder: Path) -> None:
        np.save(folder / "weights.npy", fitted[0], allow_pickle=False)
        np.save(folder / "intercepts.npy", fitted[1], allow_pickle=False)

    cache.replace(cache_dir, key, write)  # an unwritable home: the fit is used, not kept
    return Router(weights=fitted[0], intercepts=fitted[1], thresholds=dict(thresholds or THRESHOLDS),
                  embedder=embedder)
