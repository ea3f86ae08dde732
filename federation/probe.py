"""Test instrumentation (off unless the run config names a `probe-dir`): what crossed the wire.

`RecordingGrid` wraps the ServerApp's `Grid` and writes every message the server *receives* (arrays
as .npy without pickle, config and metric records as JSON) plus each round's aggregate, so tests can
check that no individual update is ever held in the clear with SecAgg+ on and that no canary leaves a
node. `record_client_update` lets a node write the update it hands to SecAgg+ (before masking) into
the same folder; on a real deployment the folder would be the node's own disk.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_counter = itertools.count()


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": base64.b64encode(value).decode()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _dump_content(folder: Path, tag: str, content: Any) -> None:
    for name, rec in content.array_records.items():
        for key, arr in rec.items():
            np.save(folder / f"{tag}-{name}-{key}.npy".replace("/", "_"), arr.numpy(), allow_pickle=False)
    records = {"configs": {n: {k: _jsonable(v) for k, v in r.items()} for n, r in content.config_records.items()},
               "metrics": {n: {k: _jsonable(v) for k, v in r.items()} for n, r in content.metric_records.items()}}
    (folder / f"{tag}-records.json").write_text(json.dumps(records, default=str))


class RecordingGrid:
    """Delegates to a `Grid`, pulling replies every `poll_interval` s; reports each exchange to
    `on_exchange(kind, replies, errors)` and, with a probe folder, records every reply the server receives."""

    def __init__(self, grid: Any, folder: str | Path | None = None,
                 on_exchange: Callable[[str, int, int], None] | None = None, *, poll_interval: float = 3.0) -> None:
        self._grid = grid
        self.poll_interval = poll_interval
        self.on_exchange = on_exchange
        self.folder = Path(folder) / "server-received" if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grid, name)

    def send_and_receive(self, messages: Any, *, timeout: float | None = None) -> Any:
        self.started_at = time.time()  # when the exchange began (the exchange event marks its end)
        replies = self._exchange(messages, timeout)
        if self.on_exchange and replies:
            errors = sum(1 for m in replies if m.has_error())
            self.on_exchange(str(replies[0].metadata.message_type), len(replies) - errors, errors)
        if self.folder is None:
            return replies
        for msg in replies:
            tag = f"m{next(_counter):05d}-{msg.metadata.message_type}"
            if msg.has_error():
                (self.folder / f"{tag}-error.txt").write_text(str(msg.error.reason))
            else:
                _dump_content(self.folder, tag, msg.content)
        return replies

    def _exchange(self, messages: Any, timeout: float | None) -> list[Any]:
        """`Grid.send_and_receive` with our own interval between reply pulls.

        flwr 1.32.1's gRPC grid sleeps a fixed 3 s between pulls (no setting), so every exchange ended up
        to 3 s after its last reply had arrived. The same loop over the Grid's public `push_messages` /
        `pull_messages`, pulling every `poll_interval` seconds (a cheap loopback or LAN request).
        """
        msg_ids = set(self._grid.push_messages(messages))
        end = time.time() + (timeout if timeout is not None else 0.0)
        replies: list[Any] = []
        while timeout is None or time.time() < end:
            got = list(self._grid.pull_messages(msg_ids))
            replies.extend(got)
            msg_ids.difference_update(m.metadata.reply_to_message_id for m in got)
            if not msg_ids:
                break
            time.sleep(self.poll_interval)
        return replies

    def save_aggregate(self, round_: int, arrays: list[np.ndarray]) -> None:
        if self.folder is None:
            return
        folder = self.folder.parent / "aggregates"
        folder.mkdir(exist_ok=True)
        for i, a in enumerate(arrays):
            np.save(folder / f"r{round_}-{i:03d}.npy", np.asarray(a), allow_pickle=False)


def record_client_update(folder: str | Path, *, hospital: str, round_: int, n: int, arrays: list[np.ndarray]) -> None:
    out = Path(folder) / "client-updates" / f"{hospital}-r{round_}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "n.txt").write_text(str(n))
    for i, a in enumerate(arrays):
        np.save(out / f"{i:03d}.npy", np.asarray(a), allow_pickle=False)
