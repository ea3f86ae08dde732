"""The surfaces: `medhive ask` (text and --json), the chat mounted at /assistant, and the Space's app."""

from __future__ import annotations

import json
import os
import re
import runpy
import threading
import time

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO

runner = CliRunner()


def _ask(*args: str):
    from medhive.cli import app

    return runner.invoke(app, ["ask", *args])


def test_ask_json_gives_the_answer_sources_and_tool_calls(home_with_index):
    result = _ask("How do I create an API key?", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{"):])
    assert data["backend"] == "offline"
    assert {"doc": "rest-api.md", "heading": "Authentication and API keys"} in data["sources"]
    assert "POST /v1/keys" in data["answer"]
    assert data["tool_calls"] == []


def test_ask_with_a_file_runs_the_prediction_tool(home_with_index):
    xray = next((REPO / "hub" / "models" / "examples" / "pneumonia").glob("*.png"))
    result = _ask("what does the pneumonia model say about this image?", "--file", str(xray), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout[result.stdout.index("{"):])
    call = data["tool_calls"][0]
    assert call["name"] == "predict" and call["result"]["task"] == "pneumonia"
    assert "Not a diagnosis" in data["answer"]


def test_ask_text_output_names_sources_and_backend(home_with_index):
    result = _ask("What does epsilon mean for a hospital?")
    assert result.exit_code == 0, result.output
    assert "Sources: federated-learning-privacy.md > Differential privacy" in result.stdout
    assert "Answered by the offline backend" in result.stdout


def test_ask_refuses_a_missing_file_in_one_line(home_with_index, tmp_path):
    result = _ask("predict this", "--file", str(tmp_path / "nope.png"))
    assert result.exit_code == 2
    assert "file not found" in result.output and "Traceback" not in result.output


def test_local_operator_onboards_from_the_cli(home_with_index):
    """On the embedded default (local SQLite), the CLI user administers the installation."""
    from assistant.ports import Caller
    from medhive.commands.ask import local_caller
    from medhive.settings import Settings

    assert local_caller(Settings(), None, None) == Caller(role="admin", actor="cli:local-operator")
    assert local_caller(Settings(database_url="postgresql://db/x"), None, None).role == "anonymous"


@pytest.mark.integration
def test_chat_is_mounted_at_assistant_and_answers(home_with_index, registry):
    import uvicorn
    from fastapi.testclient import TestClient
    from gradio_client import Client

    from medhive.server import create_app
    from medhive.settings import Settings

    app = create_app(Settings(), registry=registry)
    client = TestClient(app)
    assert client.get("/assistant/").status_code == 200
    assert {"label": "Assistant", "href": "/assistant/"} in app.state.portal_nav
    assert 'href="/assistant/"' in client.get("/").text or "/assistant/" in client.get("/").text

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 600  # readiness, not a short timeout: CI is a loaded 2-core machine
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        chat = Client(f"http://127.0.0.1:{port}/assistant/", verbose=False)
        # a documentation question (the tiers question is now answered by the tiers tool, from the database)
        reply = chat.predict({"text": "How does secure aggregation protect a hospital's model update?",
                              "files": []}, "", api_name="/ask")
        text = reply if isinstance(reply, str) else json.dumps(reply)
        assert re.search(r"[\w-]+\.md", text) and "offline backend" in text
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_space_app_builds_without_loading_anything(medhive_home, monkeypatch):
    import gradio as gr

    import medhive.wiring as wiring

    called = []
    monkeypatch.setattr(wiring, "build_assistant", lambda *a, **k: called.append(1))
    module = runpy.run_path(str(REPO / "spaces" / "assistant" / "app.py"))
    assert isinstance(module["demo"], gr.Blocks)
    assert called == []  # the assistant (embedding model, index) is built on the first message
    readme = (REPO / "spaces" / "assistant" / "README.md").read_text()
    assert readme.startswith("---\n") and "sdk: gradio" in readme and "app_file: app.py" in readme


@pytest.mark.integration
def test_the_portal_chat_hands_over_the_pdf_report(bot):
    from gradio_client import Client

    from medhive.mounts.assistant import build_chat, chat_launch_options

    demo = build_chat(lambda: bot)
    demo.launch(prevent_thread_lock=True, quiet=True, server_name="127.0.0.1", **chat_launch_options(demo))
    try:
        chat = Client(demo.local_url, verbose=False)  # one client: one browser session, one conversation
        chat.predict({"text": "try the pneumonia model on an example", "files": []}, "", api_name="/ask")
        reply = json.dumps(chat.predict({"text": "make a PDF", "files": []}, "", api_name="/ask"))
    finally:
        demo.close()
    assert "Saved the PDF report" in reply, reply[:500]
    # the text names the file; the download is a file the client received, a real PDF
    received = [p for p in re.findall(r'"([^"]+\.pdf)"', reply) if os.path.isfile(p)]
    assert received and open(received[0], "rb").read(4) == b"%PDF", reply[:800]
