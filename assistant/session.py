"""The chat: an `Assistant` shared by every conversation, and one `ChatSession` per conversation.

A turn: identifiers are removed from the message (`safety.redact`), emergencies are recognised, the
knowledge index is searched, the backend answers (Groq falls back to the offline backend if it fails
after its retries, and says so), the answer is guarded against diagnosis wording, an emergency notice
goes first, and the redacted exchange joins the in-memory history. Nothing of the conversation is
written to disk or to the logs: the log line of a turn holds the intent, backend, tool names and timing.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assistant.intents import detect_task
from assistant.llm.base import Answer, Backend, Turn
from assistant.llm.offline import OfflineBackend
from assistant.ports import ANONYMOUS, AccountsPort, Caller, FederationStatus
from assistant.retrieval import KnowledgeIndex
from assistant.safety import EMERGENCY_NOTICE, emergency, guard, learned_emergency_allowed, medical_advice, redact
from assistant.tools import DEFAULT_HUB_URL, DEFAULT_SUPERLINK, ToolContext

log = logging.getLogger("medhive.assistant")
#: a message that leans on the previous one ("and ...", "what about ...", "it", "that model")
_FOLLOW_UP = re.compile(r"^\W*(and|also|what about|how about|then)\b|\b(it|its|it's|that model|this model|that one|"
                        r"the same)\b", re.I)
MAX_HISTORY = 12
#: `Answer.emergency` when the learned router, not a rule family, recognised the emergency
LEARNED_EMERGENCY = "emergency (learned router)"


class Assistant:
    def __init__(self, *, index: KnowledgeIndex, backend: Backend, registry: Any, predictor: Any,
                 accounts: AccountsPort | None = None, federation: FederationStatus | None = None,
                 superlink: str = DEFAULT_SUPERLINK, root_certificates: str | None = None,
                 hub_url: str = DEFAULT_HUB_URL, top_k: int = 5, router: Any = None) -> None:
        self.index = index
        #: the learned router beside the rules (`assistant.router`), or None for the rules alone
        self.router = router
        self.backend = backend
        self.offline = backend if isinstance(backend, OfflineBackend) else OfflineBackend()
        self.registry = registry
        self.predictor = predictor
        self.accounts = accounts
        self.federation = federation
        self.superlink = superlink
        self.hub_url = hub_url
        self.root_certificates = root_certificates
        self.top_k = top_k

    def session(self, caller: Caller = ANONYMOUS) -> ChatSession:
        return ChatSession(self, caller)

    def caller_from_api_key(self, key: str) -> Caller:
        if self.accounts is None:
            from assistant.errors import ToolError

            raise ToolError("accounts are not available in this deployment")
        return self.accounts.caller_from_api_key(key)


class ChatSession:
    def __init__(self, assistant: Assistant, caller: Caller) -> None:
        self.assistant = assistant
        self.history: list[dict[str, str]] = []
        self.state: dict[str, Any] = {}
        self.tools = ToolContext(caller=caller, registry=assistant.registry, predictor=assistant.predictor,
                                 accounts=assistant.accounts, federation=assistant.federation,
                                 superlink=assistant.superlink, root_certificates=assistant.root_certificates,
                                 hub_url=assistant.hub_url)

    @property
    def caller(self) -> Caller:
        return self.tools.caller

    def snapshot(self) -> dict[str, Any]:
        """What a saved session keeps (see `assistant.sessions`): no value typed in chat for a prediction."""
        last = self.tools.last_input
        # typed values stay in this process; what remains says only which task they were for
        keep_last = last if last and not last.get("inputs") else (
            {"task": last["task"], "inputs": None, "file": None, "example": None} if last else None)
        return {"history": self.history, "state": self.state, "last_input": keep_last,
                "attachments": {name: str(path) for name, path in self.tools.attachments.items()}}

    def restore(self, data: dict[str, Any]) -> None:
        self.history = list(data.get("history") or [])[-MAX_HISTORY:]
        self.state = dict(data.get("state") or {})
        self.tools.last_input = data.get("last_input") or None
        self.tools.attachments.update({n: Path(p) for n, p in (data.get("attachments") or {}).items()})

    def attach(self, path: Path | str) -> str:
        """Make a file readable by this conversation's tools; returns the name to refer to it by."""
        path = Path(path)
        self.tools.attachments[path.name] = path
        return path.name

    def _turn(self, text: str, files: tuple[Path | str, ...]) -> Turn:
        attached = [self.attach(f) for f in files]
        clean = redact(text)
        task = detect_task(clean)
        query = clean
        if task:
            self.state["topic"] = task
        elif self.state.get("topic") and _FOLLOW_UP.search(clean):
            # "and what data was it trained on?": the task of the conversation so far is what "it" is
            query = f"{clean} ({self.state['topic'].replace('_', ' ')} model)"
        hits = self.assistant.index.search(query, self.assistant.top_k)
        # the learned router can add an emergency the rules miss, never remove one (`assistant.router`), where
        # `safety.learned_emergency_allowed` lets it ("it makes me dizzy, can I stop taking it?", "it says healthy",
        # "the job looks stuck, can I kill it?" are not); a rule emergency in such a message still counts
        routing = self.assistant.router.classify(clean) if self.assistant.router is not None else None
        learned = routing is not None and routing.emergency and learned_emergency_allowed(clean)
        found = emergency(text) or (LEARNED_EMERGENCY if learned else None)
        return Turn(text=clean, raw=text, history=list(self.history), hits=hits, tools=self.tools, state=self.state,
                    emergency=found, attached=attached, knowledge=self.assistant.index, routing=routing)

    def ask(self, text: str, *, files: tuple[Path | str, ...] = ()) -> Answer:
        """One finished answer (the backend's non-streaming path)."""
        from assistant.errors import BackendError

        started = time.perf_counter()
        turn = self._turn(text, files)
        try:
            answer, note = self._backend(turn).answer(turn), ""
        except BackendError as exc:
            answer, note = self.assistant.offline.answer(turn), self._fallback_note(exc)
        return self._finish(turn, answer, note, started)

    def stream(self, text: str, *, files: tuple[Path | str, ...] = ()) -> Iterator[str | Answer]:
        """Text pieces as they come (Groq streams; offline gives one piece), then the finished `Answer`.

        The pieces are the backend's raw text; the final `Answer` holds the guarded text to display."""
        from assistant.errors import BackendError

        started = time.perf_counter()
        turn = self._turn(text, files)
        if turn.emergency:
            yield EMERGENCY_NOTICE + "\n\n"
        answer: Answer | None = None
        note = ""
        try:
            for item in self._backend(turn).stream(turn):
                if isinstance(item, Answer):
                    answer = item
                else:
                    yield item
        except BackendError as exc:
            answer, note = self.assistant.offline.answer(turn), self._fallback_note(exc)
            yield "\n\n" + answer.text
        assert answer is not None
        yield self._finish(turn, answer, note, started)

    def _backend(self, turn: Turn) -> Any:
        """The configured backend, except for a request for individual medical advice (a dose, a treatment, a
        clinician to see: `safety.medical_advice`), which the offline backend's fixed reply answers whatever
        the configuration: a language model told not to advise may still do it; the rule is not left to it."""
        if not turn.emergency and medical_advice(turn.text):
            return self.assistant.offline
        return self.assistant.backend

    @staticmethod
    def _fallback_note(exc: Exception) -> str:
        return f"({getattr(exc, 'message', exc)}; the offline backend answered instead.)"

    def _finish(self, turn: Turn, answer: Answer, note: str, started: float) -> Answer:
        about = answer.intent in ("symptom", "interpret", "explain", "predict", "report") or any(
            c.name in ("predict", "explain", "interpret", "report") for c in answer.tool_calls)
        body = guard(answer.text, about_prediction=about)
        if turn.emergency and answer.intent != "emergency":
            # whatever the backend said (a language model may shorten it), the whole guidance goes first
            guidance = self.assistant.offline.emergency_answer(turn)
            body = f"{guidance.text}\n\n{body}"
            answer.sources = guidance.sources + [s for s in answer.sources if s not in guidance.sources]
        if turn.emergency and not body.startswith(EMERGENCY_NOTICE):
            body = f"{EMERGENCY_NOTICE}\n\n{body}"
        answer.text = f"{body}\n\n{note}" if note else body
        answer.emergency = turn.emergency
        self._remember(turn.text, answer)
        log.info("assistant turn: intent=%s backend=%s tools=%s sources=%d %.0f ms", answer.intent, answer.backend,
                 [c.name for c in answer.tool_calls], len(answer.sources), (time.perf_counter() - started) * 1000)
        return answer

    def _remember(self, clean_text: str, answer: Answer) -> None:
        reply = answer.text
        for call in answer.tool_calls:  # a one-time token is shown once and never kept
            token = (call.result or {}).get("token")
            if token:
                reply = reply.replace(token, "[token shown once]")
        self.history += [{"role": "user", "content": clean_text},
                         {"role": "assistant", "content": redact(re.sub(r"\n{3,}", "\n\n", reply))}]
        del self.history[:-MAX_HISTORY]


def render(answer: Answer) -> str:
    """The answer as Markdown for a chat window or a terminal: text, sources, and who answered."""
    out = answer.text
    if answer.sources:
        out += "\n\nSources: " + "; ".join(f"{s['doc']} > {s['heading']}" for s in answer.sources)
    who = "offline backend (no language model)" if answer.backend == "offline" else answer.backend.replace(
        "groq:", "Groq, model ")
    return f"{out}\n\n_Answered by the {who}._"
