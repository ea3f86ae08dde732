"""`medhive accounts requests|approve|reject` and `medhive federation jobs|run|cancel|nodes|revoke`."""

from __future__ import annotations

import json
import shlex

from typer.testing import CliRunner

from hub.accounts import Store, default_url, governance, onboarding
from medhive.cli import app

TASKS = ["breast_cancer", "ecg", "glaucoma", "pneumonia"]


def test_onboarding_and_federation_commands(medhive_home, monkeypatch):
    monkeypatch.setenv("MEDHIVE_PUBLIC_URL", "https://hub.example.org/")
    store = Store(default_url(medhive_home))
    with store.transaction() as s:
        req = onboarding.file_request(s, organization="Riverside General", contact_email="it@riverside.example",
                                      tasks=["breast_cancer"], known_tasks=TASKS)
        other = onboarding.file_request(s, organization="Lakeside", contact_email="it@lakeside.example",
                                        tasks=["ecg"], known_tasks=TASKS)
    runner = CliRunner()
    listed = runner.invoke(app, ["accounts", "requests", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [r["organization"] for r in json.loads(listed.stdout)] == ["Riverside General", "Lakeside"]
    approved = runner.invoke(app, ["accounts", "approve", str(req.id), "--json"])
    assert approved.exit_code == 0, approved.output
    out = json.loads(approved.stdout)
    enroll = shlex.split(out["enroll_command"])
    assert enroll[enroll.index("--hub") + 1] == "https://hub.example.org" and out["token"] in enroll
    again = runner.invoke(app, ["accounts", "approve", str(req.id)])
    assert again.exit_code == 2 and "already approved" in again.output and len(again.output.strip().splitlines()) == 1
    assert runner.invoke(app, ["accounts", "reject", str(other.id)]).exit_code == 0
    bad = runner.invoke(app, ["accounts", "approve", "not-an-id"])
    assert bad.exit_code == 2 and "UUID" in bad.output

    with store.transaction() as s:
        node = governance.enroll(s, token=out["token"], node_name="riverside-1")
    assert "no federation jobs yet" in runner.invoke(app, ["federation", "jobs"]).output
    queued = runner.invoke(app, ["federation", "run", "breast_cancer", "--json"])
    assert queued.exit_code == 0, queued.output
    job = json.loads(queued.stdout)
    assert job["status"] == "queued" and job["trigger"] == "admin (cli)"
    twice = runner.invoke(app, ["federation", "run", "breast_cancer"])
    assert twice.exit_code == 2 and "already queued or running" in twice.output
    assert runner.invoke(app, ["federation", "run", "astrology"]).exit_code == 2
    assert runner.invoke(app, ["federation", "cancel", job["id"]]).exit_code == 0
    jobs = json.loads(runner.invoke(app, ["federation", "jobs", "--json"]).stdout)
    assert jobs[0]["id"] == job["id"] and jobs[0]["cancel_requested"]
    nodes = json.loads(runner.invoke(app, ["federation", "nodes", "--json"]).stdout)
    assert [(n["organization"], n["name"], n["status"]) for n in nodes] == [("Riverside General", "riverside-1", "enrolled")]
    assert runner.invoke(app, ["federation", "revoke", str(node.id)]).exit_code == 0
    nodes = json.loads(runner.invoke(app, ["federation", "nodes", "--json"]).stdout)
    assert nodes[0]["status"] == "revoked" and nodes[0]["revoked_at"]
    store.dispose()
