"""A node validates its data once and reuses it in later messages (each a fresh process in Flower), and
shares a host's cores with the other nodes of a local federation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from federation.config import JobConfig
from federation.errors import DataValidationError
from federation.node import HospitalNode, NodeConfig
from federation.node_state import NodeState
from tests.federation.conftest import write_wdbc_csv


def _node(csv: Path, state: Path) -> HospitalNode:
    NodeState(state).grant("breast_cancer")
    return HospitalNode(NodeConfig(data_path=str(csv), state_dir=str(state)), JobConfig(task="breast_cancer"))


def test_data_is_validated_once_and_revalidated_when_it_changes(tmp_path, wdbc, monkeypatch):
    import federation.data as data_module

    x, y = wdbc
    csv = write_wdbc_csv(tmp_path / "h" / "data.csv", x, y)
    calls = []
    real = data_module.load_hospital_data
    monkeypatch.setattr(data_module, "load_hospital_data", lambda *a, **k: calls.append(1) or real(*a, **k))

    first = _node(csv, tmp_path / "state").data()
    again = _node(csv, tmp_path / "state").data()  # a new message: a new node object, as in a new process
    assert len(calls) == 1
    for k in ("x_train", "y_train", "x_val", "y_val"):
        assert np.array_equal(getattr(first, k), getattr(again, k))
    assert again.summary == first.summary

    write_wdbc_csv(csv, x[:-50], y[:-50])  # the hospital's data changed: validated again, new split
    os.utime(csv, ns=(os.stat(csv).st_atime_ns, os.stat(csv).st_mtime_ns + 1_000_000))
    changed = _node(csv, tmp_path / "state").data()
    assert len(calls) == 2 and changed.summary["rows"] == len(y) - 50
    assert len(list((tmp_path / "state" / "data-cache").glob("*.npz"))) == 1  # the stale entry is gone


def test_refused_data_is_never_cached(tmp_path, wdbc):
    x, y = wdbc
    csv = write_wdbc_csv(tmp_path / "h" / "data.csv", x, y, extra={"email": [f"a{i}@b.org" for i in range(len(y))]})
    for _ in range(2):
        with pytest.raises(DataValidationError):
            _node(csv, tmp_path / "state").data()
    assert not list((tmp_path / "state").glob("data-cache/*.npz"))


def test_local_federation_gives_each_node_its_share_of_threads(tmp_path):
    from federation.launcher import LocalFederation, NodeSpec

    specs = [NodeSpec(data_path=f"/d{i}.csv", state_dir=f"/s{i}") for i in range(10)]
    specs[0].extra["threads"] = 3  # an explicit setting is kept
    fed = LocalFederation(tmp_path, specs)
    share = max(1, (os.cpu_count() or 1) // 10)
    assert [n.extra["threads"] for n in fed.nodes] == [3] + [share] * 9
    assert "threads=3" in fed.nodes[0].node_config()
    assert NodeConfig.from_node_config({"data-path": "/d.csv", "threads": 2}).threads == 2
