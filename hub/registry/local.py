"""The embedded registry: a local folder laid out like Hugging Face model repos.

    <root>/<task>/versions/v1.0/{model.safetensors, config.json, README.md, lineage.json, signature.json}
    <root>/<task>/refs.json        aliases, e.g. {"production": "v1.1", "candidate": "v1.2"}
    <root>/<task>/history.jsonl    one event per line, append-only
    <root>/<task>/.lock            fcntl lock serialising writers of that task (publishers, promotions)

Publishing stages the version in `versions/.tmp-*`, fsyncs it, signs it and renames it to its final name
(a rename within one directory is atomic), so a process killed mid-publish leaves at most a temp folder,
which listing ignores and the next publish removes. Aliases are replaced with `os.replace`. The alias is
written before its history line, so a crash between the two leaves a move without an event, never an
event for a move that did not happen.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from hub.errors import RegistryError, VersionNotFoundError
from hub.registry.base import TASK_RE, VERSION_RE, Change, Event, Registry, check_task_name, next_version
from hub.registry.signing import SigningKey, TrustedKeys, verify_folder

#: test hook, called with the staged (signed, fsynced) folder just before the atomic rename
_before_commit: Callable[[Path], None] | None = None

_TMP_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_file():
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class LocalRegistry(Registry):
    """A registry in a local folder (the embedded default; also what a Space or node can ship)."""

    def __init__(self, root: Path | str, *, signer: SigningKey | None = None,
                 trusted_keys: TrustedKeys | None = None) -> None:
        super().__init__(signer=signer, trusted_keys=trusted_keys)
        self.root = Path(root).expanduser()
        self.location = f"the local registry at {self.root}"
        # depth of the task lock held by this thread: publish takes it, then moves the alias under it
        self._held = threading.local()

    def __repr__(self) -> str:
        return f"LocalRegistry({str(self.root)!r})"

    # ----- paths and locking ---------------------------------------------------------------------
    def _task_dir(self, task: str) -> Path:
        return self.root / check_task_name(task)

    def _versions_dir(self, task: str) -> Path:
        return self._task_dir(task) / "versions"

    @contextlib.contextmanager
    def _lock(self, task: str) -> Iterator[None]:
        depth: dict[str, int] = self._held.__dict__.setdefault("depth", {})
        if depth.get(task):
            depth[task] += 1
            try:
                yield
            finally:
                depth[task] -= 1
            return
        folder = self._task_dir(task)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as fh:
            # flock: released by the kernel if the holder dies, so a killed publisher never blocks others
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            depth[task] = 1
            try:
                yield
            finally:
                depth[task] = 0
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _writing(self, task: str) -> contextlib.AbstractContextManager[None]:
        return self._lock(task)

    # ----- primitives ----------------------------------------------------------------------------
    def tasks(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if TASK_RE.match(p.name) and self._names(p.name))

    def _names(self, task: str) -> list[str]:
        folder = self._versions_dir(task)
        if not folder.is_dir():
            return []
        return [p.name for p in folder.iterdir() if VERSION_RE.match(p.name) and p.is_dir()]

    def _read(self, task: str, version: str, filename: str) -> bytes | None:
        path = self._versions_dir(task) / version / filename
        return path.read_bytes() if path.is_file() else None

    def _state(self, task: str) -> tuple[dict[str, str], list[Event]]:
        folder = self._task_dir(task)
        aliases: dict[str, str] = {}
        refs = folder / "refs.json"
        if refs.is_file():
            try:
                raw = json.loads(refs.read_text())
                aliases = {str(k): str(v) for k, v in raw.items() if v}
            except (ValueError, AttributeError):
                raise RegistryError(f"{refs} is not valid JSON") from None
        events = []
        history = folder / "history.jsonl"
        if history.is_file():
            for line in history.read_text(encoding="utf-8").splitlines():
                try:
                    events.append(Event.from_dict(json.loads(line)))
                except (ValueError, TypeError):
                    continue  # a line cut short by a crash mid-append
        return aliases, events

    def _transact(self, task: str, change: Change) -> list[Event]:
        with self._lock(task):
            aliases, events = self._state(task)
            new = change(aliases, events)
            folder = self._task_dir(task)
            _write_atomic(folder / "refs.json", json.dumps(dict(sorted(aliases.items())), indent=2) + "\n")
            with open(folder / "history.jsonl", "a", encoding="utf-8") as fh:
                for event in new:
                    fh.write(json.dumps(event.to_dict(), sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            return new

    def _publish_files(self, task: str, version: str | None, stage: Callable[[Path, str], None]) -> str:
        with self._lock(task):
            vdir = self._versions_dir(task)
            vdir.mkdir(parents=True, exist_ok=True)
            # under the lock no other publisher is staging, so every temp folder is a dead one
            for leftover in vdir.glob(f"{_TMP_PREFIX}*"):
                shutil.rmtree(leftover, ignore_errors=True)
            names = self._names(task)
            if version is None:
                version = next_version(names)
            elif version in names:
                raise RegistryError(f"{version} of {task} already exists; versions are immutable")
            tmp = vdir / f"{_TMP_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            try:
                stage(tmp, version)
                _fsync_tree(tmp)
                if _before_commit is not None:
                    _before_commit(tmp)
                os.rename(tmp, vdir / version)
                _fsync_dir(vdir)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            return version

    def fetch(self, task: str, ref: str = "production") -> Path:
        version = self.resolve(task, ref)
        folder = self._versions_dir(task) / version
        if not folder.is_dir():
            raise VersionNotFoundError(f"{version} of {task} is not in {self.location}")
        verify_folder(folder, self.trusted, task=task, version=version)
        return folder
