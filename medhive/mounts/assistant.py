"""Mounts the assistant's chat at /assistant on the hub server (a Gradio chat, also the Space's UI).

The assistant is built on the first message, not at start-up, so the server (and every test that creates
it) starts without loading the embedding model. It shares the server's registry, predictor and accounts
store. A visitor chats anonymously (documentation, models, predictions, explanations) or pastes an API
key to act as that account (usage, contributions, onboarding for administrators). Conversations live in
memory only, per browser session, at most `MAX_SESSIONS` at a time; nothing is saved (no chat history in
the browser, no flagging). A PDF report asked for in the chat is handed over as a download and removed
from the server within the hour.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

PATH = "/assistant"
MAX_SESSIONS = 500
EXAMPLES = [
    "Which models are available and how accurate are they?",
    "Try the pneumonia model on an example",
    "What does epsilon mean for our hospital?",
    "I want to connect our hospital",
    "How much of my quota is left?",
]
INTRO = ("Ask about MedHive's models, reading a result, federated learning and privacy, onboarding a hospital, "
         "the API and pricing; attach an X-ray, fundus photo, ECG record or CSV to get a prediction. "
         "**Not a diagnosis: for use under clinical review. In an emergency call your local emergency number.**")


def lazy(build: Callable[[], Any]) -> Callable[[], Any]:
    """`build()` once, on first use, thread-safely."""
    lock = threading.Lock()
    box: list[Any] = []

    def get() -> Any:
        with lock:
            if not box:
                box.append(build())
            return box[0]

    return get


def prune(folder: Path, max_age_s: float = 3600.0) -> None:
    """Remove reports older than `max_age_s` (medhive.ui.common's rule, without importing the model stack)."""
    cutoff = time.time() - max_age_s
    for f in folder.glob("*/*.pdf"):
        try:
            if f.stat().st_mtime < cutoff:
                f.unlink()
        except OSError:
            continue


def chat_launch_options(demo: gr.Blocks) -> dict[str, Any]:
    """Launch / mount options of a chat from `build_chat`: the theme, and its reports folder as the one
    folder of its own Gradio may serve (each conversation writes into a random sub-folder of it)."""
    from medhive.ui import launch_options

    return {**launch_options(), "allowed_paths": [demo.medhive_reports]}


def build_chat(get_assistant: Callable[[], Any], *, title: str = "MedHive assistant",
               session_caller: Callable[[Any], Any] | None = None) -> gr.Blocks:
    """The chat UI as a `gr.Blocks` (not launched): streaming answers with sources and the backend named."""
    from assistant.errors import AssistantError
    from assistant.ports import ANONYMOUS
    from assistant.session import render

    sessions: OrderedDict[str, Any] = OrderedDict()
    lock = threading.Lock()
    # "make a PDF": reports go to a private folder of this process and are handed to the browser as a
    # download; files older than an hour are removed (as the Spaces do), so none outlives its visitor long
    reports = Path(tempfile.mkdtemp(prefix="medhive-chat-reports-"))

    def session_for(request: gr.Request | None, api_key: str) -> tuple[Any, str]:
        bot = get_assistant()
        # signed in on the portal (session cookie): act as that account without pasting an API key
        signed_in = session_caller(request) if session_caller is not None and not api_key.strip() else None
        who = api_key + ("|" + signed_in.actor if signed_in is not None else "")
        key = (getattr(request, "session_hash", None) or "local") + ":" + hashlib.sha256(who.encode()).hexdigest()
        with lock:
            if key in sessions:
                sessions.move_to_end(key)
                return sessions[key], ""
        note = ""
        caller = signed_in or ANONYMOUS
        if api_key.strip():
            try:
                caller = bot.caller_from_api_key(api_key)
            except AssistantError as exc:
                note = f"_API key not accepted ({exc.message}); answering as a guest._\n\n"
        session = bot.session(caller)
        session.tools.reports_dir = Path(tempfile.mkdtemp(dir=reports))  # a folder per conversation
        with lock:
            sessions[key] = session
            while len(sessions) > MAX_SESSIONS:
                sessions.popitem(last=False)
        return session, note

    def respond(message: Any, history: list, api_key: str = "", request: gr.Request | None = None) -> Iterator[str]:
        text = message.get("text", "") if isinstance(message, dict) else str(message or "")
        files = [f if isinstance(f, str) else f.get("path", "") for f in (message.get("files", [])
                                                                         if isinstance(message, dict) else [])]
        if not text.strip() and files:
            text = "What does the model say about this file?"
        if not text.strip():
            yield "Ask me something, or attach a file."
            return
        session, note = session_for(request, api_key or "")
        shown = note
        prune(reports)
        for item in session.stream(text, files=tuple(f for f in files if f)):
            if isinstance(item, str):
                shown += item
                yield shown
            else:
                pdfs = [c.result["path"] for c in item.tool_calls if c.name == "report" and c.result]
                yield [note + render(item), *({"role": "assistant", "content": {"path": p}} for p in pdfs)] if pdfs \
                    else note + render(item)

    with gr.Blocks(title=title) as demo:
        gr.Markdown(f"# {title}\n\n{INTRO}")
        key = gr.Textbox(label="API key (optional: signed in on the portal you already act as your account)",
                         type="password", placeholder="mh_...",
                         render=False)
        gr.ChatInterface(respond, multimodal=True, additional_inputs=[key],
                         additional_inputs_accordion=gr.Accordion("Sign in", open=False, render=False),
                         examples=[[{"text": e, "files": []}] for e in EXAMPLES], cache_examples=False,
                         flagging_mode="never", save_history=False, fill_height=True, api_name="ask",
                         delete_cache=(3600, 3600))
    demo.medhive_reports = str(reports)
    return demo


def mount(app: FastAPI, *, settings: Any, registry: Any) -> None:
    from medhive import wiring

    predictor = app.state.predictor  # the server's one predictor, shared with the Spaces
    api = getattr(app.state, "medhive_api", None)

    def build() -> Any:
        return wiring.build_assistant(settings, registry=registry, predictor=predictor,
                                      store=api.store if api is not None else None)

    def session_caller(request: Any) -> Any:
        from assistant.ports import Caller
        from hub.api import web_session as ws

        cookies = getattr(request, "cookies", None) or {}
        p = ws.principal_from_session(api, cookies.get(ws.SESSION_COOKIE)) if api is not None else None
        return None if p is None else Caller(role=p.role, org_id=str(p.org_id), user_id=str(p.user_id),
                                             actor=f"assistant:{p.actor}")

    chat = build_chat(lazy(build), session_caller=session_caller)
    gr.mount_gradio_app(app, chat, path=PATH, ssr_mode=False, show_error=True, footer_links=[],
                        **chat_launch_options(chat))
    nav = getattr(app.state, "portal_nav", None)
    if nav is None:
        nav = app.state.portal_nav = []
    nav.append({"label": "Assistant", "href": f"{PATH}/"})


def build_space_app(*, knowledge_dir: Any = None) -> gr.Blocks:
    """The assistant as a standalone Space: the configured registry (seeded) and accounts, built lazily."""
    from pathlib import Path

    from medhive import wiring

    settings = wiring.settings()
    if settings.knowledge_dir is None and knowledge_dir is not None and Path(knowledge_dir).is_dir():
        settings.knowledge_dir = Path(knowledge_dir)

    def build() -> Any:
        registry = wiring.open_registry(settings, say=lambda _: None)
        return wiring.build_assistant(settings, registry=registry)

    return build_chat(lazy(build))
