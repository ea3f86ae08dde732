"""The learned router beside the rules (`assistant.router`): a deterministic fit that matches scikit-learn,
emergencies it adds and never removes, and a `medhive ask` path that imports neither torch nor scikit-learn.

Every wording below is written for these tests: none is copied from a question set or from
assistant/routing_examples.json (a test checks that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from assistant import router as learned
from assistant.router import CLASSES, Router, Routing, fit_binary, load_examples, open_router
from assistant.safety import EMERGENCY_NOTICE, emergency
from scripts.routing_examples import SEEN
from tests.assistant.conftest import make_bot
from tests.conftest import REPO

EVAL = REPO / "tests" / "assistant" / "eval"
#: emergencies in words the rule families do not know (checked below: the rules miss each one)
UNSEEN_EMERGENCIES = [
    "my uncle keeled over at dinner and his eyes won't focus on anything",
    "our patient's heart stopped a minute ago, someone is doing cpr",
    "my grandad went stiff in his chair and now he is drooling and his whole body twitches",
    "the boy fell off his bike, cracked his head and is asleep and we can't rouse him",
    "my sister's ankles and eyelids ballooned after the wasp sting and she feels faint",
]
#: emergencies the rules recognise
RULE_EMERGENCIES = ["my dad is clutching his chest and sweating", "she has taken a whole packet of her tablets",
                    "he is bleeding heavily from the head and it won't stop"]
ORDINARY = ["does the heart disease model detect chest pain", "the node stopped responding after the upgrade",
            "what is the price of one prediction on the paid tier", "how do i read the glaucoma model's explanation"]


@pytest.fixture(scope="module")
def vectors(embedder):
    return np.asarray(embedder.encode([e["text"] for e in load_examples()]), dtype=np.float64)


@pytest.fixture(scope="module")
def fitted(embedder, vectors):
    return Router.fit(load_examples(), embedder, vectors=vectors)


class Fixed:
    """A stand-in router that says the same of every message."""

    def __init__(self, **probabilities: float) -> None:
        self.p = {k: probabilities.get(k, 0.0) for k in CLASSES}

    def classify(self, text: str) -> Routing:
        return Routing(dict(self.p), {k: 0.5 for k in CLASSES})


def test_the_newton_fit_is_scikit_learns_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 20))
    y = (x[:, 0] - 0.5 * x[:, 3] + 0.3 * rng.normal(size=300) > 0.8).astype(float)  # unbalanced, not separable
    for c in (0.5, 10.0):
        w, b = fit_binary(x, y, c=c)
        ref = LogisticRegression(C=c, class_weight="balanced", tol=1e-12, max_iter=10000).fit(x, y)
        assert np.abs(ref.coef_[0] - w).max() < 1e-4 and abs(ref.intercept_[0] - b) < 1e-4
        assert np.abs(ref.predict_proba(x)[:, 1] - 1 / (1 + np.exp(-(x @ w + b)))).max() < 1e-5
    with pytest.raises(ValueError):
        fit_binary(x, np.zeros(300))


def test_the_fit_is_deterministic(embedder, vectors, fitted):
    again = Router.fit(load_examples(), embedder, vectors=vectors.copy())
    assert np.array_equal(again.weights, fitted.weights) and np.array_equal(again.intercepts, fitted.intercepts)
    assert fitted.weights.shape == (len(CLASSES), vectors.shape[1])


def test_it_recognises_emergency_wordings_the_rules_miss(router_dir, embedder):
    # the shipped router (its neighbours and its n-gram model: the fit's own emergency is not taken, THRESHOLDS)
    shipped = open_router(router_dir, embedder)
    for text in UNSEEN_EMERGENCIES:
        assert emergency(text) is None, text  # the rules miss it...
        assert shipped.classify(text).emergency, (text, shipped.classify(text))  # ...the router does not
    for text in ORDINARY:
        assert not shipped.classify(text).emergency, (text, shipped.classify(text))


def test_the_examples_are_the_seen_sets_and_written_wordings_never_the_test_set():
    examples = load_examples()
    texts = {" ".join(e["text"].lower().split()) for e in examples}
    test_set = {" ".join(q["q"].lower().split()) for q in json.loads((EVAL / "test.json").read_text())}
    assert not texts & test_set
    assert {e["source"] for e in examples} == {*SEEN, "eval_questions", "written"}
    for name in SEEN:  # refreshed by scripts/routing_examples.py
        rows = [(e["text"], e["label"]) for e in examples if e["source"] == name]
        assert rows == [(q["q"], q["expect"]) for q in json.loads((EVAL / f"{name}.json").read_text())], name
    # this file's wordings are new: the tests measure wording the router was not fitted on
    mine = UNSEEN_EMERGENCIES + RULE_EMERGENCIES + ORDINARY
    assert not texts & {" ".join(t.lower().split()) for t in mine}


def test_an_emergency_the_rules_catch_stays_one_whatever_the_router_says(kindex, registry, predictor, store,
                                                                         medhive_home):
    bot = make_bot(kindex, registry, predictor, store, medhive_home)
    bot.router = Fixed(onboarding=0.99, unknown=0.99)  # the router sees nothing urgent, and wants another route
    for text in RULE_EMERGENCIES:
        answer = bot.session().ask(text)
        assert answer.text.startswith(EMERGENCY_NOTICE) and answer.intent == "emergency", text


def test_the_router_adds_an_emergency_and_replaces_only_answers_from_the_documents(kindex, registry, predictor,
                                                                                     store, medhive_home):
    bot = make_bot(kindex, registry, predictor, store, medhive_home)
    bot.router = Fixed(emergency=0.9)
    answer = bot.session().ask("my dad asks what secure aggregation is")
    assert answer.text.startswith(EMERGENCY_NOTICE) and answer.emergency
    # ... but not to a message that names no person and nothing happening now
    answer = bot.session().ask("try the ecg model on an example")
    assert not answer.emergency and not answer.text.startswith(EMERGENCY_NOTICE)
    # the router's "unknown" replaces an answer only where the backend's own signals agree: a word the documents
    # never use ("uptime", "sla") and no passage close; "what is secure aggregation?" has neither
    uncovered = "what uptime sla do you promise paying customers?"
    bot.router = Fixed(unknown=0.4)
    assert bot.session().ask(uncovered).intent == "question"  # the rules alone answer it from the documents
    bot.router = Fixed(unknown=0.9)
    assert bot.session().ask(uncovered).intent == "unknown"
    assert bot.session().ask("what is secure aggregation?").intent == "question"
    assert bot.session().ask("which models do you have?").intent == "list_models"  # a tool's answer stays
    bot.router = Fixed(onboarding=0.9, unknown=0.6)
    assert bot.session().ask("what is secure aggregation?").intent == "onboarding"
    bot.router = Fixed(emergency=0.4, onboarding=0.4, unknown=0.4)  # under every threshold: the rules' answer
    answer = bot.session().ask("what is secure aggregation?")
    assert answer.intent == "question" and answer.sources and not answer.emergency


def test_the_router_adds_no_emergency_to_a_question_about_changing_ones_own_medicine(kindex, registry, predictor,
                                                                                       store, medhive_home):
    """"It makes me drowsy, can I just stop taking it?" gets the advice to ask the prescriber, not the emergency
    guidance, whatever the router says; an emergency the rules find in such a message still counts."""
    bot = make_bot(kindex, registry, predictor, store, medhive_home)
    bot.router = Fixed(emergency=0.99)
    answer = bot.session().ask("my new blood pressure pills make me drowsy, can I just stop taking them?")
    assert not answer.emergency and answer.intent == "unknown" and "can't advise" in answer.text
    answer = bot.session().ask("I swallowed 40 of my blood pressure pills, should I stop taking them?")
    assert answer.text.startswith(EMERGENCY_NOTICE)


def test_the_fit_is_cached_beside_the_index_and_refitted_when_the_examples_change(embedder, tmp_path, monkeypatch):
    examples = tmp_path / "examples.json"
    rows = [{"text": t, "label": lab, "source": "written"} for t, lab in (
        ("my friend stopped breathing", "emergency"), ("someone is bleeding out here", "emergency"),
        ("we want our hospital to join", "onboarding"), ("please register our clinic", "onboarding"),
        ("write a haiku about rain", "unknown"), ("who won the chess final", "unknown"),
        ("what is epsilon", "answer"), ("how do I get an API key", "answer"))]
    examples.write_text(json.dumps(rows))
    monkeypatch.setattr(learned, "_FITTED", {})
    first = open_router(tmp_path / "router", embedder, examples=examples)
    assert (tmp_path / "router" / "weights.npy").is_file()
    monkeypatch.setattr(learned, "_FITTED", {})
    monkeypatch.setattr(Router, "fit", classmethod(lambda *a, **k: pytest.fail("refitted a cached router")))
    again = open_router(tmp_path / "router", embedder, examples=examples)
    assert np.array_equal(first.weights, again.weights)
    monkeypatch.undo()
    examples.write_text(json.dumps(rows + [{"text": "tell me a riddle", "label": "unknown", "source": "written"}]))
    monkeypatch.setattr(learned, "_FITTED", {})
    changed = open_router(tmp_path / "router", embedder, examples=examples)
    assert not np.array_equal(first.weights, changed.weights)


def test_the_neighbours_are_cached_with_the_fit_and_remade_when_the_emergency_set_changes(embedder, tmp_path,
                                                                                         monkeypatch):
    examples, extra = tmp_path / "examples.json", tmp_path / "emergency.json"
    examples.write_text(json.dumps([{"text": t, "label": lab, "source": "written"} for t, lab in (
        ("my friend stopped breathing", "emergency"), ("we want our hospital to join", "onboarding"),
        ("write a haiku about rain", "unknown"), ("how do I get an API key", "answer"))]))
    extra.write_text(json.dumps([{"text": "ordered a helium tank, nobody knows", "label": "emergency", "source": "e"}]))
    monkeypatch.setattr(learned, "_FITTED", {})
    first = open_router(tmp_path / "router", embedder, examples=examples, emergency_examples=extra)
    assert len(first.neighbours.vectors) == 5 and first.neighbours.emergency.tolist() == [True, False, False, False, True]
    monkeypatch.setattr(learned, "_FITTED", {})
    again = open_router(tmp_path / "router", embedder, examples=examples, emergency_examples=extra)
    assert np.array_equal(first.neighbours.vectors, again.neighbours.vectors)
    extra.write_text(json.dumps([{"text": "ordered a helium tank, nobody knows", "label": "not_emergency", "source": "e"}]))
    monkeypatch.setattr(learned, "_FITTED", {})
    changed = open_router(tmp_path / "router", embedder, examples=examples, emergency_examples=extra)
    assert changed.neighbours.emergency.tolist() == [True, False, False, False, False]


def test_the_neighbours_vote_needs_most_of_k_close_enough():
    from assistant.router import Neighbours

    vectors = np.eye(4, dtype=np.float32)
    near = np.array([1.0, 0.9, 0.0, 0.0], dtype=np.float32)  # cosine 0.74 to rows 0 and 1, 0 to the rest
    both = Neighbours(vectors, np.array([True, True, False, False]), k=3, similarity=0.5)
    assert both.vote(near)  # two of three neighbours are emergencies and close enough
    one = Neighbours(vectors, np.array([True, False, False, False]), k=3, similarity=0.5)
    assert not one.vote(near)  # one of three is not most
    far = Neighbours(vectors, np.array([True, True, False, False]), k=3, similarity=0.8)
    assert not far.vote(near)  # emergencies, but not close enough
    assert not Neighbours(np.zeros((0, 4), np.float32), np.zeros(0, bool)).vote(near)


def test_medhive_ask_with_the_router_imports_neither_torch_nor_sklearn(home_with_index):
    # the index and the router's fit are in MEDHIVE_HOME, as after the first run (which builds both, and may
    # use torch to embed in bulk): a cold `medhive ask` loads them
    probe = ("import sys\n"
             "from medhive.commands.ask import open_session; from medhive.settings import get_settings\n"
             "s = open_session(get_settings(), None); a = s.ask('what is secure aggregation?')\n"
             f"b = s.ask({UNSEEN_EMERGENCIES[0]!r})\n"
             "assert s.assistant.router is not None and a.sources and b.emergency, (a.text, b.text)\n"
             "print('torch' in sys.modules, 'sklearn' in sys.modules, 'scipy' in sys.modules)")
    env = {**os.environ, "MEDHIVE_HOME": str(home_with_index), "PYTHONPATH": str(REPO), "MEDHIVE_ASSISTANT_ROUTER": "on"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=str(REPO), capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-800:]
    assert out.stdout.split() == ["False", "False", "False"]
