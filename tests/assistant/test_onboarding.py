"""Hospital onboarding in conversation on the offline backend: organization, a valid token, the node command."""

from __future__ import annotations

import shlex
import uuid

import pytest

from assistant.ports import Caller
from hub.accounts import governance
from hub.accounts.models import Organization


def _converse(session, *messages):
    return [session.ask(m) for m in messages]


def test_onboarding_creates_the_organization_and_a_valid_enrollment_token(bot, store):
    admin = Caller(role="admin", actor="cli:local-operator")
    s = bot.session(admin)
    replies = _converse(s, "Hi, I'd like to connect our hospital to MedHive",
                        "We are Riverside General Hospital",
                        "We have chest x-rays, about 2,000 of them",
                        "yes, the data is in /srv/medhive/xrays")
    assert "name" in replies[0].text.lower()
    assert "Which model" in replies[1].text
    assert "Please confirm" in replies[2].text and not replies[2].tool_calls  # nothing before "yes"
    final = replies[3]
    call = final.tool_calls[0]
    assert call.name == "onboard_hospital" and call.error is None, call.error
    result = call.result
    assert result["organization"]["name"] == "Riverside General Hospital"
    assert result["organization"]["kind"] == "hospital"
    with store.transaction() as db:
        org = db.get(Organization, uuid.UUID(result["organization"]["id"]))
        assert org is not None and org.kind == "hospital"
    token = result["token"]
    assert token in final.text and result["node_command"] in final.text
    argv = shlex.split(result["node_command"])
    assert argv[:3] == ["medhive", "node", "start"]
    assert argv[argv.index("--task") + 1] == "pneumonia"
    assert argv[argv.index("--data") + 1] == "/srv/medhive/xrays"
    assert "--insecure" not in argv and "--superlink" not in argv  # address, CA and key come from enrollment
    enroll = shlex.split(result["enroll_command"])
    assert enroll[:3] == ["medhive", "node", "enroll"]
    assert enroll[enroll.index("--token") + 1] == token
    assert enroll[enroll.index("--name") + 1] == "riverside-general-hospital-node-1"
    # the token is real: one enrollment succeeds, a second is refused
    with store.transaction() as db:
        node = governance.enroll(db, token=token, node_name="riverside-node-1")
        assert str(node.org_id) == result["organization"]["id"]
    from hub.accounts.errors import Gone

    with pytest.raises(Gone), store.transaction() as db:
        governance.enroll(db, token=token, node_name="riverside-node-2")
    # the one-time token is not kept in the conversation's memory
    assert token not in repr(s.history)


def test_the_node_commands_parse_with_the_medhive_cli():
    """`medhive node enroll` and `medhive node start` must accept the commands the assistant prints."""
    import typer

    from assistant.tools import enroll_command, node_command
    from medhive.cli import app

    node = typer.main.get_command(app).commands["node"]
    start = node.commands["start"]
    argv = shlex.split(node_command(task="ecg", data_path="/srv/ecg data"))
    ctx = start.make_context("start", argv[3:])
    assert ctx.params["task"] == "ecg" and str(ctx.params["data"]) == "/srv/ecg data"
    assert ctx.params["superlink"] is None and ctx.params["root_certificates"] is None and not ctx.params["insecure"]
    enroll = shlex.split(enroll_command(hub_url="https://hub.example.org/", token="tok 1", node_name="ward-7"))
    ctx = node.commands["enroll"].make_context("enroll", enroll[3:])
    assert (ctx.params["hub"], ctx.params["token"], ctx.params["name"]) == ("https://hub.example.org", "tok 1", "ward-7")


def test_anyone_files_an_onboarding_request_and_nothing_is_created_before_approval(bot, store):
    from hub.accounts import onboarding

    s = bot.session(Caller())  # anonymous: not signed in
    replies = _converse(s, "Please onboard Lakeside Clinic for the ECG model",
                        "you can reach us at it-team@lakeside.example", "yes")
    assert "e-mail" in replies[0].text and "Please confirm" in replies[1].text and not replies[1].tool_calls
    call = replies[-1].tool_calls[0]
    assert call.name == "request_onboarding" and call.error is None, call.error
    assert "Filed the onboarding request for **Lakeside Clinic**" in replies[-1].text
    enroll = shlex.split(call.result["enroll_command"])
    assert enroll[enroll.index("--hub") + 1] == bot.hub_url.rstrip("/")  # the configured public URL
    assert "--superlink" not in call.result["node_command"]  # the enrollment hands over the address
    with store.transaction() as db:
        assert db.query(Organization).filter(Organization.name == "Lakeside Clinic").count() == 0
        [req] = onboarding.list_requests(db, status="pending")
    assert (req["organization"], req["contact_email"], req["tasks"]) == ("Lakeside Clinic", "it-team@lakeside.example",
                                                                         ["ecg"])


def test_onboarding_can_be_cancelled(bot, store):
    s = bot.session(Caller(role="admin", actor="test"))
    replies = _converse(s, "I want to register our clinic", "Hillview Clinic", "cancel")
    assert "cancelled" in replies[-1].text.lower()
    with store.transaction() as db:
        assert db.query(Organization).filter(Organization.name == "Hillview Clinic").count() == 0
    assert s.ask("How do I create an API key?").intent == "question"  # back to normal questions
