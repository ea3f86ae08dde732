"""A new task is one module: dropped into the task package's search path (the plug-in point: the package
`__path__`), with no other file touched, it gets its Space (driven through gradio_client), its portal
card, the API, the assistant's answer about it, the screening form and `medhive federate`'s splitting."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from gradio_client import Client

import hub.models as models
from hub.models import all_tasks, get_task

MODULE = '''
"""A test task: risk from two liver enzymes (synthetic data)."""
import numpy as np
from hub.models._tabular_task import Table, TabularTask
from hub.models.base import InputField


class LiverToy(TabularTask):
    name = "liver_toy"
    title = "Liver toy (plug-in test)"
    summary = "A test task: high or low risk from two liver enzymes."
    labels = ("low", "high")
    keywords = ("liverish", "hepatology")
    body_system = "hepatic"
    input_words = "two liver enzymes"
    input_description = "ALT and AST in U/l."
    input_fields = (InputField("alt", "U/l", 0, 2000, "alanine aminotransferase", concept="alt"),
                    InputField("ast", "U/l", 0, 2000, "aspartate aminotransferase", optional=True))

    def load_table(self, data_root):
        rng = np.random.default_rng(0)
        x = rng.uniform(5, 200, (300, 2)).astype(np.float32)
        return Table(x=x, y=(x.sum(axis=1) > 200).astype(np.int64), description={"dataset": "synthetic test data"})


TASK = LiverToy()
'''


@pytest.fixture
def fifth(tmp_path, monkeypatch):
    from hub.models import catalog

    (tmp_path / "liver_toy.py").write_text(MODULE)
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(tmp_path)])
    all_tasks.cache_clear()
    catalog.clear()
    try:
        yield get_task("liver_toy")
    finally:
        sys.modules.pop("hub.models.liver_toy", None)
        all_tasks.cache_clear()
        catalog.clear()


@pytest.fixture
def registry(fifth, medhive_home):
    from hub.registry import Lineage, LocalRegistry, SigningKey

    reg = LocalRegistry(medhive_home / "registry", signer=SigningKey.generate())
    splits = fifth.load_training_data(None)
    net = fifth.build_network(hidden=())
    net.set_standardization(splits.x_train)
    reg.publish("liver_toy", net, metrics={"roc_auc": 0.5, "accuracy": 0.5, "n": 75.0},
                data=splits.description, lineage=Lineage(source="baseline"), alias="production", version="v1.0")
    return reg


@pytest.mark.integration
def test_a_dropped_in_module_reaches_every_surface(fifth, registry, tmp_path):
    from hub.inference import Predictor

    predictor = Predictor(registry)
    # the Space, from the same builder a Hugging Face Space's app.py calls, through gradio_client
    from medhive.export.spaces import export_spaces
    from medhive.ui import launch_options

    folder = export_spaces(tmp_path / "spaces", ["liver_toy"])[0]
    assert 'build_space("liver_toy")' in (folder / "app.py").read_text()
    assert "medhive/medhive-liver_toy" in (folder / "README.md").read_text()
    from medhive.ui import build_space

    demo = build_space("liver_toy", predictor=predictor)
    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **launch_options())
    try:
        result = Client(demo.local_url, verbose=False).predict(150.0, None, "", api_name="/predict")
        assert result[0]["label"] in fifth.labels and "Imputed" in result[1] and "ast" in result[1]
    finally:
        demo.close()

    # the portal card and the marketplace filter
    from medhive.ui.portal import render_marketplace

    page = render_marketplace(registry, spaces={"liver_toy": "/spaces/liver_toy/"}, filters={"body": "hepatic"})
    assert "id='card-liver_toy'" in page and "1 of" in page and fifth.title in page

    # the API
    from medhive.mounts import api
    from medhive.settings import get_settings

    app = FastAPI()
    api.mount(app, settings=get_settings(), registry=registry)
    client = TestClient(app)
    body = {"email": "fifth@corp.example", "password": "correct horse battery staple", "account_type": "enterprise",
            "organization": "Fifth"}
    assert client.post("/v1/auth/signup", json=body).status_code == 201
    token = client.post("/v1/auth/login", json={k: body[k] for k in ("email", "password")}).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/v1/models/liver_toy/predict", json={"inputs": {"alt": 150}}, headers=headers)
    assert r.status_code == 200, r.text
    assert set(r.json()["predictions"][0]["probabilities"]) == set(fifth.labels)
    screened = client.post("/v1/screen", json={"values": {"alt": 150}}, headers=headers).json()
    assert [m["task"] for m in screened["models_used"]] == ["liver_toy"]
    app.state.medhive_api.store.dispose()

    # the assistant: its intents and tools read the catalog
    from assistant.intents import detect_task, route
    from assistant.ports import Caller
    from assistant.tools import TOOLS, ToolContext

    question = "How accurate is the liverish model?"
    assert detect_task(question) == "liver_toy" and route(question) == "model_info"
    ctx = ToolContext(caller=Caller(), registry=registry, predictor=predictor)
    info = TOOLS["model_info"].run(ctx, task="liver_toy")
    assert info["title"] == fifth.title and info["production"] == "v1.0"
    from hub.models.catalog import task_choices_text

    assert "`liver_toy` (two liver enzymes)" in task_choices_text()

    # `medhive federate`'s splitting: hospital files every node validates
    from federation.data import validate
    from federation.partition import split_task

    paths = split_task(fifth, tmp_path / "hospitals", 3, data_root=None)
    assert len(paths) == 3 and all(validate(fifth, p, min_rows=30).ok for p in paths)

    # ... counted, loaded and trained on by a node the way every tabular task is (no kind switch anywhere)
    from federation.data import load_hospital_data
    from federation.formats import node_format
    from federation.training import LocalConfig, local_fit

    assert sum(node_format(fifth).count(p) for p in paths) == 300
    data = load_hospital_data(fifth, paths[0], min_rows=30)
    assert set(data.summary["features"]) == {"alt", "ast"}
    net = fifth.build_network(hidden=())
    net.set_standardization(data.x_train)
    result = local_fit(fifth, net, data.x_train, data.y_train, LocalConfig(epochs=1))
    assert result.n == len(data.y_train) and np.isfinite(result.loss)

    # the CLI's and the API's size checks before reading a file: a CSV's rows counted from its lines
    csv_path = tmp_path / "cases.csv"
    csv_path.write_text("alt,ast\n150,\n20,30\n")
    assert fifth.check_file(csv_path) == 2 and len(fifth.read_input(csv_path)) == 2


def test_the_assistant_speaks_of_a_dropped_in_task(fifth):
    # the Groq system prompt, the predict tool's wording and the offline router all read the catalog
    from assistant.intents import detect_task, route
    from assistant.llm.groq_backend import system_prompt

    prompt = system_prompt("user")
    assert "`liver_toy`" in prompt and "two liver enzymes" in prompt and "low / high" in prompt
    assert detect_task("is the hepatology model any good?") == "liver_toy"
    assert route("the liverish model said 80% high, what does it mean") == "interpret"
