"""Publishing from real processes: killed mid-publish leaves nothing partial; concurrent publishers never clash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.registry import LocalRegistry, SigningKey

REPO = Path(__file__).resolve().parents[3]
TASK = "breast_cancer"

# A publisher process. The test-only hook `_before_commit` runs after the version is fully staged and
# signed and before the atomic rename: it announces itself through a marker file and then holds for
# `hold` seconds, the window in which the test kills it (or the other publisher queues on the lock).
PUBLISHER = """
import sys, time
from pathlib import Path
import hub.registry.local as local
from hub.models import get_task
from hub.registry import Lineage, LocalRegistry, SigningKey

root, key, marker, hold, count, go = sys.argv[1:7]

def hook(folder):
    Path(marker).write_text(str(folder))
    time.sleep(float(hold))

local._before_commit = hook
registry = LocalRegistry(root, signer=SigningKey.load(key))
net = get_task("breast_cancer").build_network()
while not Path(go).exists():
    time.sleep(0.01)
for _ in range(int(count)):
    info = registry.publish("breast_cancer", net, metrics={"accuracy": 0.5}, lineage=Lineage(), alias="candidate")
    print(info.version, flush=True)
"""


def _start(tmp_path: Path, name: str, root: Path, key: Path, *, hold: float, count: int, go: Path) -> tuple:
    script = tmp_path / "publisher.py"
    script.write_text(PUBLISHER)
    marker = tmp_path / f"{name}.marker"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(root), str(key), str(marker), str(hold), str(count), str(go)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, marker


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"publisher exited early: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError("publisher never reached the commit point")
        time.sleep(0.02)


@pytest.mark.integration
@pytest.mark.slow
def test_publish_killed_midway_leaves_no_partial_version(tmp_path, make_network, publish):
    key = SigningKey.generate()
    key_path = key.save(tmp_path / "key.pem")
    registry = LocalRegistry(tmp_path / "registry", signer=key)
    publish(registry, make_network())  # v1.0, production
    go = tmp_path / "go"
    go.touch()
    proc, marker = _start(tmp_path, "killed", registry.root, key_path, hold=600, count=1, go=go)
    try:
        _wait_for(marker, proc)
        staged = Path(marker.read_text())
        # the victim had written and signed every file of v1.1 when it died
        assert staged.is_dir() and (staged / "signature.json").is_file() and (staged / "model.safetensors").is_file()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    assert [v.version for v in registry.versions(TASK)] == ["v1.0"]
    assert sorted(p.name for p in (registry.root / TASK / "versions").iterdir() if not p.name.startswith(".")) == ["v1.0"]
    assert registry.resolve(TASK) == "v1.0"
    aliases, events = registry._state(TASK)
    assert aliases == {"production": "v1.0"} and len(events) == 1

    # the next publish (the dead process's lock is gone with it) takes the number and cleans the leftover
    info = publish(registry, make_network(1), alias="candidate")
    assert info.version == "v1.1"
    assert not staged.exists()
    assert [v.version for v in registry.versions(TASK)] == ["v1.0", "v1.1"]
    assert registry.load(TASK, "v1.1").version == "v1.1"


@pytest.mark.integration
@pytest.mark.slow
def test_concurrent_publishers_get_distinct_versions(tmp_path):
    key = SigningKey.generate()
    key_path = key.save(tmp_path / "key.pem")
    root = tmp_path / "registry"
    go = tmp_path / "go"
    procs = [_start(tmp_path, f"p{i}", root, key_path, hold=0.2, count=3, go=go)[0] for i in range(2)]
    go.touch()  # both start publishing at the same moment
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
        outputs += out.split()
    assert sorted(outputs) == [f"v1.{i}" for i in range(6)]  # six publishes, six distinct numbers
    registry = LocalRegistry(root, signer=key)
    assert [v.version for v in registry.versions(TASK)] == [f"v1.{i}" for i in range(6)]
    history = registry.history(TASK)
    assert sorted(e.version for e in history) == [f"v1.{i}" for i in range(6)]
    assert all(e.action == "publish" for e in history)
    assert registry.resolve(TASK, "candidate") == history[-1].version
