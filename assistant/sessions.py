"""Conversations that outlive one process: `medhive ask --session ID` and `medhive chat --session ID`.

A saved session is a small JSON file under `home/assistant/sessions/` (mode 0600): the redacted history,
the onboarding record, the files attached by name and path, the last prediction's output (task, label,
score: for "what does that mean?") and its input when that was a file or a built-in example (for "explain
that", "make a PDF"). Values typed in chat for a prediction are never written: they stay in the process
that received them (a later `explain` in another process says so and asks for them again). A session belongs
to the caller that started it (its actor, hashed) and expires `ttl_s` after its last turn; expired files
are removed whenever the store is used. Writing goes through a temporary file and one rename, so a
reader never sees half a session.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_TTL_S = 24 * 3600
MAX_FILE_BYTES = 256 * 1024


class SessionError(AssistantError):
    """A session id that is malformed, belongs to another caller, or whose file is unreadable."""

    kind = "session-error"


def _owner(caller: Any) -> str:
    return hashlib.sha256(str(getattr(caller, "actor", "anonymous")).encode()).hexdigest()[:32]


class SessionStore:
    def __init__(self, folder: Path, *, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.folder = Path(folder)
        self.ttl_s = ttl_s

    def _path(self, session_id: str) -> Path:
        if not _ID.match(session_id or ""):
            raise SessionError("a session id is 1 to 64 letters, digits, '.', '_' or '-'")
        return self.folder / f"{session_id}.json"

    def _expire(self) -> None:
        now = time.time()
        for f in self.folder.glob("*.json") if self.folder.is_dir() else []:
            try:
                if now - f.stat().st_mtime > self.ttl_s:
                    f.unlink()
            except OSError:
                pass

    def load(self, session_id: str, session: Any) -> bool:
        """Restore `session` (a `ChatSession`) from its saved file; False when there is none yet."""
        path = self._path(session_id)
        self._expire()
        if not path.is_file():
            return False
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SessionError(f"session {session_id} is unreadable; start a new one")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SessionError(f"session {session_id} is unreadable; start a new one") from None
        if data.get("owner") != _owner(session.caller):
            raise SessionError(f"session {session_id} belongs to another account; start a new one")
        session.restore(data.get("session") or {})
        return True

    def save(self, session_id: str, session: Any) -> None:
        path = self._path(session_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"owner": _owner(session.caller), "saved_at": time.time(), "session": session.snapshot()})
        fd, tmp = tempfile.mkstemp(prefix=".session-", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(body)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def end(self, session_id: str) -> bool:
        """Forget a session now; True when there was one."""
        path = self._path(session_id)
        if path.is_file():
            path.unlink()
            return True
        return False
