"""A local HTTP server speaking the OpenAI-compatible chat completions API with scripted replies.

Serves `POST /openai/v1/chat/completions` (the path the `groq` client calls) and `/v1/chat/completions`.
Each request takes the next scripted reply: an HTTP error (`{"status": 429, "headers": {...}}`), a
message (`{"message": {...}}`, answered as one JSON completion), or a stream (`{"stream": [delta, ...]}`,
answered as server-sent events ending with `[DONE]`). Every request body is recorded for assertions.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse


def _completion(message: dict[str, Any], model: str) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, **message},
                         "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _chunk(delta: dict[str, Any], model: str, finish: str | None = None) -> str:
    body = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(body)}\n\n"


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/openai/v1/chat/completions")(self._handle)
        self.app.post("/v1/chat/completions")(self._handle)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: Request):
        body = await request.json()
        self.requests.append(body)
        if not self.script:
            return JSONResponse({"error": {"message": "no scripted reply left"}}, status_code=500)
        reply = self.script.pop(0)
        model = body.get("model", "test")
        if "status" in reply:
            return JSONResponse({"error": {"message": "scripted error", "type": "rate_limit"}},
                                status_code=reply["status"], headers=reply.get("headers", {}))
        if "stream" in reply:
            def events():
                for delta in reply["stream"]:
                    yield _chunk(delta, model)
                yield _chunk({}, model, finish=reply.get("finish", "stop"))
                yield "data: [DONE]\n\n"
            return StreamingResponse(events(), media_type="text/event-stream")
        return JSONResponse(_completion(reply["message"], model))

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
