"""Conversations: `medhive chat` driven through onboarding in a real terminal (pexpect), `medhive ask
--session` continuing across processes, follow-ups that keep the task and the last prediction, and saved
sessions that hold no typed patient values and belong to one caller."""

from __future__ import annotations

import json
import os
import re
import stat
import sys

import pexpect
import pytest
from typer.testing import CliRunner

from assistant.ports import Caller
from assistant.sessions import SessionError, SessionStore
from tests.conftest import REPO

ENROLL = re.compile(r"medhive node enroll --hub (\S+) --token (mhe_[\w-]+) --name (\S+)")


def _ask(*args: str):
    from medhive.cli import app

    return CliRunner().invoke(app, ["ask", *args])


@pytest.mark.integration
def test_medhive_chat_onboards_a_hospital_to_the_enrollment_command(home_with_index):
    env = {**os.environ, "MEDHIVE_HOME": str(home_with_index), "PYTHONPATH": str(REPO), "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "medhive.cli", "chat", "--session", "intake"], env=env,
                          cwd=str(REPO), encoding="utf-8", timeout=300, dimensions=(60, 200))
    try:
        # generous timeouts: each `expect` returns as soon as the text appears (a loaded 2-core CI machine)
        child.expect_exact("you> ")
        child.sendline("I want to connect our hospital")
        child.expect("organization's name")
        child.expect_exact("you> ")
        child.sendline("Riverside General Hospital")
        child.expect("Which model will your node train")
        child.expect_exact("you> ")
        child.sendline("the pneumonia one")
        child.expect("Please confirm")
        child.expect_exact("you> ")
        child.sendline("yes, data in /srv/medhive/pneumonia")
        child.expect(ENROLL)
        hub, token, name = child.match.groups()
        child.expect("medhive node start")
        child.expect_exact("you> ")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert hub.startswith("http://") and name == "riverside-general-hospital-node-1"
    saved = (home_with_index / "assistant" / "sessions" / "intake.json")
    assert token not in saved.read_text()  # a one-time token is shown once, never kept
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600


def test_ask_session_continues_onboarding_across_processes(home_with_index):
    first = _ask("--session", "s-1", "I want to connect our clinic")
    assert first.exit_code == 0, first.output
    assert "name" in first.stdout
    assert "Please confirm" not in first.stdout
    second = _ask("--session", "s-1", "Lakeside Clinic, training the glaucoma model")
    assert "Please confirm" in second.stdout and "Lakeside Clinic" in second.stdout
    third = _ask("--session", "s-1", "yes", "--json")
    data = json.loads(third.stdout[third.stdout.index("{"):])
    assert data["tool_calls"][0]["name"] == "onboard_hospital"
    assert ENROLL.search(data["answer"])
    # without the session the same "yes" starts nothing
    alone = _ask("yes", "--json")
    assert json.loads(alone.stdout[alone.stdout.index("{"):])["tool_calls"] == []


def test_a_malformed_session_id_is_one_line_and_exit_2(home_with_index):
    result = _ask("--session", "../../etc/passwd", "hello")
    assert result.exit_code == 2 and "session id" in result.output and "Traceback" not in result.output


def test_follow_ups_keep_the_prediction_and_the_task(bot):
    chat = bot.session()
    predicted = chat.ask("try the pneumonia model on an example")
    label = predicted.tool_calls[0].result["predictions"][0]["label"]
    meaning = chat.ask("what does that result mean?")
    assert meaning.intent == "interpret" and f"**{label}**" in meaning.text
    assert meaning.tool_calls[0].arguments["task"] == "pneumonia"
    explained = chat.ask("explain it")
    assert explained.tool_calls[0].name == "explain" and explained.tool_calls[0].error is None

    chat = bot.session()
    chat.ask("how accurate is the glaucoma model?")
    follow = chat.ask("and what data was it trained on?")
    assert {"doc": "model-glaucoma.md", "heading": "Training data"} in follow.sources


def test_saved_sessions_hold_no_typed_values_and_belong_to_one_caller(bot, tmp_path):
    store = SessionStore(tmp_path / "sessions")
    alice = Caller(role="hospital", org_id=None, actor="user:alice")
    chat = bot.session(alice)
    chat.ask("what is secure aggregation?")
    chat.tools.last_input = {"task": "breast_cancer", "inputs": {"mean radius": 17.99}, "file": None, "example": None}
    store.save("a", chat)
    saved = (tmp_path / "sessions" / "a.json").read_text()
    assert "17.99" not in saved and "secure aggregation" in saved
    again = bot.session(alice)
    assert store.load("a", again) and again.history == chat.history
    assert again.tools.last_input == {"task": "breast_cancer", "inputs": None, "file": None, "example": None}
    with pytest.raises(SessionError, match="another account"):
        store.load("a", bot.session(Caller(role="hospital", actor="user:mallory")))
    assert store.end("a") and not store.load("a", bot.session(alice))


def test_sessions_expire(bot, tmp_path):
    store = SessionStore(tmp_path / "sessions", ttl_s=60)
    chat = bot.session()
    chat.ask("what is epsilon?")
    store.save("old", chat)
    path = tmp_path / "sessions" / "old.json"
    os.utime(path, (path.stat().st_atime - 3600, path.stat().st_mtime - 3600))
    assert not store.load("old", bot.session()) and not path.exists()


def test_make_a_pdf_after_a_prediction_writes_its_report(bot, tmp_path):
    chat = bot.session()
    chat.tools.reports_dir = tmp_path / "out"
    early = chat.ask("make a PDF")
    assert early.tool_calls[0].name == "report" and "predict a case first" in early.tool_calls[0].error
    assert not (tmp_path / "out").exists()

    chat.ask("try the pneumonia model on an example")
    for request in ("make a PDF", "export that as a report"):
        answer = chat.ask(request)
        call = answer.tool_calls[0]
        assert answer.intent == "report" and call.name == "report" and call.error is None, (request, call.error)
        path = tmp_path / "out" / call.result["path"].rsplit("/", 1)[-1]
        assert path.read_bytes().startswith(b"%PDF") and path.name in answer.text
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "example" not in path.name  # named by task, version and time, never by the input file
        assert "Not a diagnosis" in answer.text

    # a surface that cannot hand over a file says where the same report is
    web = bot.session()
    web.ask("try the pneumonia model on an example")
    refused = web.ask("make a PDF")
    assert "Space" in refused.tool_calls[0].error and not refused.tool_calls[0].result


def test_explain_that_across_processes_asks_again_for_typed_values(bot, tmp_path):
    store = SessionStore(tmp_path / "sessions")
    chat = bot.session()
    chat.tools.last_input = {"task": "breast_cancer", "inputs": {"mean radius": 17.99}, "file": None, "example": None}
    store.save("typed", chat)
    later = bot.session()
    store.load("typed", later)
    answer = later.ask("explain that")
    assert answer.tool_calls[0].name == "explain" and "give them again" in answer.tool_calls[0].error


def test_an_account_question_continues_across_turns(bot, store):
    from tests.assistant.conftest import make_org

    chat = bot.session(make_org(store, name="Acme Health", role="enterprise", kind="enterprise"))
    first = chat.ask("how much of my quota is left?")
    assert first.tool_calls[0].name == "usage" and first.tool_calls[0].error is None
    follow = chat.ask("and the rate limit?")
    assert follow.intent == "usage" and follow.tool_calls[0].name == "usage"
    assert "Rate limit" in follow.text
    # a new question is not swallowed by the previous one
    assert chat.ask("and what is secure aggregation, in the federation?").intent == "question"
