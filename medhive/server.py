"""The hub server: one FastAPI app: health, the models and their versions, and the mounts.

The modules named in `MOUNTS` (medhive/mounts/) add the rest, in that order: the metered `/v1` API, the
assistant's chat, the screening page (/screening), the Gradio Spaces (/spaces/<task>/) and the portal at "/". Errors are RFC 9457 problem details (`application/problem+json`).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from hub.api.problems import hub_problem
from hub.api.schemas import PROBLEMS
from hub.errors import HubError, VersionNotFoundError
from hub.health import TaskHealth
from hub.models import all_tasks, get_task
from medhive import wiring
from medhive.settings import Settings


def _models(registry: Any) -> list[dict[str, Any]]:
    out = []
    known = set(registry.tasks())
    for name, task in all_tasks().items():
        versions = registry.versions(name) if name in known else []
        aliases = {a: v.version for v in versions for a in v.aliases}
        prod = next((v for v in versions if v.version == aliases.get("production")), None)
        out.append({
            "task": name, "title": task.title, "summary": task.summary, "labels": list(task.labels),
            "production": aliases.get("production"), "candidate": aliases.get("candidate"),
            "versions": [v.version for v in versions],
            "metric": task.primary_metric,
            "metrics": prod.metrics if prod else {},
            "updated": prod.created_at if prod else None,
        })
    return out


# The mounts, in the order they are mounted (explicit, not discovered): the /v1 API first (the assistant
# shares its accounts store), then the assistant's chat and the Spaces (they append portal navigation
# entries and share the app's predictor), the portal's account pages (sign-up, sign-in, My account) and
# the admin pages (people, models, tokens, audit), and the portal last because it is the catch-all at "/".
MOUNTS = ("api", "assistant", "screening", "spaces", "portal_accounts", "portal_admin", "zz_portal")


def mount_extensions(app: FastAPI, settings: Settings, registry: Any) -> None:
    """Each module in `MOUNTS` adds its routes or apps: `mount(app, settings=..., registry=...)`."""
    import importlib

    for name in MOUNTS:
        importlib.import_module(f"medhive.mounts.{name}").mount(app, settings=settings, registry=registry)


def create_app(settings: Settings, *, registry: Any = None) -> FastAPI:
    registry = registry if registry is not None else settings.open_registry()
    started = time.time()
    # /docs and /redoc from the Swagger UI and ReDoc files fastapi-offline ships (no CDN: they work offline)
    app = FastAPIOffline(title="MedHive", version="0.1.0",
                         description="Federated model hub for healthcare. Predictions are not a diagnosis.")
    app.state.registry = registry
    app.state.settings = settings
    app.state.predictor = wiring.make_predictor(registry)  # one version cache for every mount

    @app.exception_handler(HubError)
    async def _hub_error(request: Request, exc: HubError) -> JSONResponse:
        return hub_problem(request, exc)  # the one mapping (hub.api.problems), before and after /v1 mounts

    checker = TaskHealth(registry)

    @app.get("/health", tags=["hub"])
    def health(request: Request) -> dict[str, Any]:
        """Serving health per task: `ok`, `unavailable` (with the reason) or `no-model`; a broken version
        makes the server `degraded`, never down."""
        state = request.app.state
        api = getattr(state, "medhive_api", None)
        found = [getattr(state, "predictor", None), api.predictor if api is not None else None]
        checker.predictors = [p for i, p in enumerate(found) if p is not None and p not in found[:i]]
        tasks = checker.check()
        served = sum(1 for t in tasks.values() if t["status"] == "ok")
        broken = sum(1 for t in tasks.values() if t["status"] == "unavailable")
        return {"status": "degraded" if broken else "ok", "uptime_s": round(time.time() - started, 1),
                "registry": settings.registry, "tasks_served": served, "tasks": tasks}

    @app.get("/models", tags=["hub"])
    def models() -> list[dict[str, Any]]:
        return _models(registry)

    @app.get("/models/{task}", tags=["hub"], responses={404: PROBLEMS[404]})
    def model(task: str) -> dict[str, Any]:
        get_task(task)
        versions = registry.versions(task) if task in registry.tasks() else []
        if not versions:
            raise VersionNotFoundError(f"no versions of {task!r} in the registry")
        return {"task": task, "versions": [asdict(v) for v in versions],
                "history": [asdict(e) for e in registry.history(task)]}

    mount_extensions(app, settings, registry)

    return app
