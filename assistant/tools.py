"""The assistant's tools: list models, predict, explain, interpret a result, onboard a hospital, show a
hospital's contributions and rounds, show usage and quota. Each runs with the caller's permissions.

A tool is a name, a description and a JSON schema (what Groq's tool calling sees) plus a function of a
`ToolContext` and the arguments. Inputs come from the chat (field values), from a file the user attached
to this session (by its name; no other path on the server can be read), or from a built-in example.
Results are JSON-safe dicts; nothing a tool receives is logged or written to disk.
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import ToolError
from assistant.ports import AccountsPort, Caller, FederationStatus
from assistant.safety import NOT_A_DIAGNOSIS
from hub.errors import HubError

DEFAULT_SUPERLINK = "127.0.0.1:9092"
DEFAULT_HUB_URL = "http://127.0.0.1:8000"


@dataclass
class ToolContext:
    caller: Caller
    registry: Any
    predictor: Any
    accounts: AccountsPort | None = None
    federation: FederationStatus | None = None
    attachments: dict[str, Path] = field(default_factory=dict)
    superlink: str = DEFAULT_SUPERLINK
    root_certificates: str | None = None
    hub_url: str = DEFAULT_HUB_URL
    #: the last input predicted in this session (kept in memory only, for "explain it")
    last_input: dict[str, Any] | None = None
    #: where "make a PDF" writes the report (the command line: the current folder); None where this surface
    #: cannot hand a file over (the report tool then says where to get one)
    reports_dir: Path | None = None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., dict[str, Any]]

    def schema(self) -> dict[str, Any]:
        """The OpenAI / Groq `tools` entry."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def _tasks() -> dict[str, Any]:
    from hub.models import all_tasks

    return all_tasks()


def _task(name: str) -> Any:
    from hub.models import get_task

    try:
        return get_task(str(name))
    except HubError as exc:
        raise ToolError(exc.message) from None


def _production(ctx: ToolContext, task: str) -> Any | None:
    try:
        return ctx.registry.info(task, "production")
    except HubError:
        return None


# ----- models ---------------------------------------------------------------------------------------
def list_models(ctx: ToolContext) -> dict[str, Any]:
    rows = []
    for name, task in _tasks().items():
        info = _production(ctx, name)
        metrics = info.metrics if info else {}
        rows.append({"task": name, "title": task.title, "labels": list(task.labels),
                     "production": info.version if info else None, "metric": task.primary_metric,
                     "value": metrics.get(task.primary_metric), "roc_auc": metrics.get("roc_auc"),
                     "accuracy": metrics.get("accuracy"), "validation_cases": metrics.get("n"),
                     "source": info.lineage.source if info else None})
    return {"models": rows}


def model_info(ctx: ToolContext, task: str) -> dict[str, Any]:
    spec = _task(task)
    info = _production(ctx, spec.name)
    out: dict[str, Any] = {"task": spec.name, "title": spec.title, "summary": spec.summary,
                           "labels": list(spec.labels), "input": spec.input_description,
                           "input_fields": [{"name": f.name, "unit": f.unit, "min": f.minimum, "max": f.maximum}
                                            for f in spec.input_fields]}
    if info is not None:
        out.update({"production": info.version, "metrics": {k: round(v, 3) for k, v in info.metrics.items()},
                    "data": info.data.get("dataset"), "lineage": info.lineage.to_dict(), "updated": info.created_at})
    return out


# ----- inputs, predict, explain ---------------------------------------------------------------------
_NUMBER = r"[-+]?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?"


def parse_fields(task: Any, text: str) -> dict[str, float]:
    """Field values typed in chat ("mean radius 17.99, worst area = 2019"); longest names match first."""
    found: dict[str, float] = {}
    lowered = text.lower().replace("_", " ")
    for f in sorted(task.input_fields, key=lambda f: -len(f.name)):
        m = re.search(rf"(?<![a-z]){re.escape(f.name.lower())}\s*(?:[:=]|is)?\s*({_NUMBER})", lowered)
        if m:
            found[f.name] = float(m.group(1).replace(",", "."))
            lowered = lowered[:m.start()] + " " * (m.end() - m.start()) + lowered[m.end():]
    return found


def _cases(ctx: ToolContext, spec: Any, *, inputs: dict[str, Any] | None, file: str | None,
           example: int | None) -> tuple[Any, str]:
    """Cases from exactly one source, and a description of the source that holds no input values."""
    try:
        if inputs:
            if not spec.input_fields:  # typed values need named fields; images and signals come as files
                raise ToolError(f"the {spec.name} model reads a file ({spec.input_kind}); attach one")
            missing = [f.name for f in spec.input_fields if f.name not in inputs and not f.optional]
            if missing:
                raise ToolError(f"{len(missing)} of {len(spec.input_fields)} values missing, e.g. "
                                f"{', '.join(missing[:4])}")
            return spec.prepare({k: float(v) for k, v in inputs.items()}), "values typed in chat"
        if file:
            path = ctx.attachments.get(Path(str(file)).name)
            if path is None:
                raise ToolError("no attached file of that name in this conversation; attach the file first")
            return spec.read_input(path), f"attached file {path.name}"
        if example is not None:
            examples = spec.example_inputs()
            k = int(example) % len(examples)
            return spec.read_input(examples[k]), f"built-in example {examples[k].name}"
    except HubError as exc:
        raise ToolError(exc.message) from None
    raise ToolError("give the input values, attach a file, or ask for a built-in example")


def _label_reliability(metrics: dict[str, float], label: str) -> dict[str, float]:
    return {k: round(metrics[f"{k}_{label}"], 3) for k in ("sensitivity", "precision") if f"{k}_{label}" in metrics}


def predict(ctx: ToolContext, task: str, inputs: dict[str, Any] | None = None, file: str | None = None,
            example: int | None = None) -> dict[str, Any]:
    spec = _task(task)
    cases, source = _cases(ctx, spec, inputs=inputs, file=file, example=example)
    try:
        batch = ctx.predictor.predict_cases(spec.name, cases)
    except HubError as exc:
        raise ToolError(exc.message) from None
    ctx.last_input = {"task": spec.name, "inputs": inputs, "file": file, "example": example}
    info = _production(ctx, spec.name)
    metrics = info.metrics if info else {}
    preds = batch.predictions
    counts: dict[str, int] = {}
    for p in preds:
        counts[p.label] = counts.get(p.label, 0) + 1
    shown = preds[:10]
    return {"task": spec.name, "model_version": batch.version, "source": source, "cases": len(preds),
            "label_counts": counts,
            "predictions": [{"id": p.id, "label": p.label, "confidence": round(p.confidence, 4),
                             "probabilities": {k: round(v, 4) for k, v in p.probabilities.items()}} for p in shown],
            "summary": _jsonable(batch.summary),
            "reliability": {lab: _label_reliability(metrics, lab) for lab in counts},
            "validation_cases": metrics.get("n"), "disclaimer": NOT_A_DIAGNOSIS}


def _last(ctx: ToolContext, task: str | None, what: str) -> tuple[str, dict[str, Any] | None, str | None, int | None]:
    """The input of this conversation's last prediction (for "explain that", "make a PDF")."""
    last = ctx.last_input
    if last is None or (task and last["task"] != task):
        raise ToolError(f"nothing to {what} yet: predict a case first (values, a file or an example)")
    if not (last.get("inputs") or last.get("file") or last.get("example") is not None):
        raise ToolError(f"the values of the last prediction are not kept between commands; give them again to {what} it")
    return last["task"], last.get("inputs"), last.get("file"), last.get("example")


def explain(ctx: ToolContext, task: str | None = None, inputs: dict[str, Any] | None = None,
            file: str | None = None, example: int | None = None, index: int = 0) -> dict[str, Any]:
    if task is None or not (inputs or file or example is not None):
        task, inputs, file, example = _last(ctx, task, "explain")
    spec = _task(task)
    cases, source = _cases(ctx, spec, inputs=inputs, file=file, example=example)
    try:
        from hub.explain import explain as explain_case

        loaded = ctx.predictor.model(spec.name)
        e = explain_case(spec.name, loaded.network, cases, index=int(index))
    except HubError as exc:
        raise ToolError(exc.message) from None
    d = e.to_dict()
    keep = ("task", "method", "case_id", "label", "probability", "explained_label", "explained_probability",
            "base_value", "top_factors", "text")
    return {**{k: _jsonable(d.get(k)) for k in keep}, "model_version": loaded.version, "source": source,
            "disclaimer": NOT_A_DIAGNOSIS}


def report(ctx: ToolContext, task: str | None = None, notes: str = "") -> dict[str, Any]:
    """The PDF report of this conversation's last prediction (`hub.reports`, as the Spaces make it): the
    model version, what the model read (no file name), the probabilities, the key factors and the model
    card's facts. Written to `ctx.reports_dir` under a name without identifiers, readable by its owner only."""
    task, inputs, file, example = _last(ctx, task, "report")
    if ctx.reports_dir is None:
        raise ToolError("this chat cannot hand over a file; the model's Space and the portal's prediction page "
                        "give the same PDF report")
    spec = _task(task)
    cases, _ = _cases(ctx, spec, inputs=inputs, file=file, example=example)
    try:
        from hub.explain import explain as explain_case
        from hub.reports import build_report

        batch = ctx.predictor.predict_cases(spec.name, cases)
        loaded = ctx.predictor.model(spec.name, batch.version)
        pred = batch.predictions[0]
        if pred.out_of_distribution:
            raise ToolError(f"the model cannot judge this input ({pred.ood_reason}), so there is nothing to report")
        e = explain_case(spec.name, loaded.network, cases, index=0)
        pdf = build_report(spec, loaded.info, pred, cases, 0, explanation=e, batch_summary=batch.summary,
                           notes=str(notes or ""))
    except HubError as exc:
        raise ToolError(exc.message) from None
    folder = Path(ctx.reports_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"medhive-report-{spec.name}-{batch.version}-{time.strftime('%Y%m%d-%H%M%S')}.pdf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pdf)
    return {"task": spec.name, "model_version": batch.version, "label": pred.label,
            "confidence": round(float(pred.confidence), 4), "path": str(path), "bytes": len(pdf),
            "disclaimer": NOT_A_DIAGNOSIS}


def interpret(ctx: ToolContext, task: str, label: str, probability: float | None = None) -> dict[str, Any]:
    spec = _task(task)
    if label not in spec.labels:
        raise ToolError(f"{spec.name} labels are {', '.join(spec.labels)}")
    info = _production(ctx, spec.name)
    metrics = info.metrics if info else {}
    p = None if probability is None else float(probability)
    if p is not None and p > 1:
        p = p / 100.0
    band = None if p is None else ("uncertain (close to chance)" if abs(p - 1 / len(spec.labels)) < 0.15
                                   else "high" if p >= 0.85 else "moderate")
    return {"task": spec.name, "label": label, "probability": p, "band": band,
            "reliability": _label_reliability(metrics, label), "roc_auc": metrics.get("roc_auc"),
            "validation_cases": metrics.get("n"), "model_version": info.version if info else None,
            # calibration error from the model card, where the card reports one
            "ece": metrics.get("ece", metrics.get("expected_calibration_error")),
            "disclaimer": NOT_A_DIAGNOSIS}


# ----- hospitals ------------------------------------------------------------------------------------
def node_command(*, task: str, data_path: str) -> str:
    """The exact `medhive node start` command line for a hospital's node. The SuperLink's address, its CA
    certificate (TLS) and the node's key (SuperNode authentication) come from `medhive node enroll`."""
    return shlex.join(["medhive", "node", "start", "--data", data_path, "--task", task])


def enroll_command(*, hub_url: str, token: str, node_name: str) -> str:
    """The node's one-time enrollment (`medhive node enroll`, which calls `POST /v1/nodes/enroll`; the token
    is the credential). It links the node to its organization, which is credited for published versions."""
    return shlex.join(["medhive", "node", "enroll", "--hub", hub_url.rstrip("/"), "--token", token,
                       "--name", node_name])


def onboard_hospital(ctx: ToolContext, name: str, kind: str, task: str, data_path: str | None = None,
                     valid_hours: float = 24) -> dict[str, Any]:
    if ctx.accounts is None:
        raise ToolError("accounts are not available in this deployment")
    spec = _task(task)
    org = ctx.accounts.create_organization(ctx.caller, name=name, kind=kind)
    token = ctx.accounts.create_enrollment_token(ctx.caller, org_id=org["id"], valid_hours=float(valid_hours))
    data = data_path or f"/path/to/{spec.name}-data"
    node_name = (re.sub(r"[^a-z0-9]+", "-", org["name"].lower()).strip("-") or "hospital") + "-node-1"
    return {"organization": org, "token": token["token"], "token_id": token["token_id"],
            "expires_at": token["expires_at"], "task": spec.name, "data_path": data, "node_name": node_name,
            "validate_command": shlex.join(["medhive", "node", "validate", data, "--task", spec.name]),
            "consent_command": shlex.join(["medhive", "node", "consent", "grant", spec.name, "--by",
                                           "data protection officer"]),
            "enroll_command": enroll_command(hub_url=ctx.hub_url, token=token["token"], node_name=node_name),
            "node_command": node_command(task=spec.name, data_path=data)}


def request_onboarding(ctx: ToolContext, name: str, email: str, task: str) -> dict[str, Any]:
    """File a hospital's onboarding request (anyone may); an admin approves it, which creates the
    organization, a staff sign-in for `email` and the node's enrollment token."""
    if ctx.accounts is None:
        raise ToolError("accounts are not available in this deployment")
    spec = _task(task)
    req = ctx.accounts.file_onboarding_request(ctx.caller, organization=name, contact_email=email, tasks=[spec.name])
    return {"request": req, "hub_url": ctx.hub_url.rstrip("/"),
            "consent_command": shlex.join(["medhive", "node", "consent", "grant", spec.name]),
            "enroll_command": shlex.join(["medhive", "node", "enroll", "--hub", ctx.hub_url.rstrip("/"), "--token",
                                          "TOKEN"]),
            "node_command": node_command(task=spec.name, data_path=f"/path/to/{spec.name}-data")}


def contributions(ctx: ToolContext, task: str | None = None) -> dict[str, Any]:
    if ctx.accounts is None:
        raise ToolError("accounts are not available in this deployment")
    rows = ctx.accounts.contributions(ctx.caller)
    if task:
        rows = [r for r in rows if r["task"] == task]
    fed = ctx.federation
    return {"contributions": _jsonable(rows),
            "federated_versions": fed.versions(task) if fed else [], "jobs": fed.jobs(task) if fed else []}


def tiers(ctx: ToolContext) -> dict[str, Any]:
    if ctx.accounts is None or not hasattr(ctx.accounts, "tiers"):
        raise ToolError("accounts are not available in this deployment")
    return {"tiers": _jsonable(ctx.accounts.tiers())}


def usage(ctx: ToolContext) -> dict[str, Any]:
    if ctx.accounts is None:
        raise ToolError("accounts are not available in this deployment")
    return _jsonable(ctx.accounts.usage(ctx.caller))


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"<array {value.shape}>"
    return value


def _task_param() -> dict[str, Any]:
    from hub.models.catalog import task_names_text

    return {"type": "string", "description": f"task name: {task_names_text()}"}


def _predict_description() -> str:
    """Which tasks take typed values and which a file, from the task catalog."""
    from hub.models.catalog import tabular_tasks

    return (f"Predict with a model's production version: typed field values for {', '.join(tabular_tasks())}; "
            "an attached file for any task; or a built-in example.")


_TASK = _task_param()
_INPUT = {
    "task": _TASK,
    "inputs": {"type": "object", "description": "tabular tasks: every input field name with its value",
               "additionalProperties": {"type": "number"}},
    "file": {"type": "string", "description": "the name of a file the user attached in this conversation"},
    "example": {"type": "integer", "description": "index of a built-in example input (0, 1, ...)"},
}
TOOLS: dict[str, Tool] = {t.name: t for t in [
    Tool("list_models", "List every model with its production version and validation metrics.",
         {"type": "object", "properties": {}}, list_models),
    Tool("model_info", "One model's inputs (fields, units, ranges), labels, metrics, training data and lineage.",
         {"type": "object", "properties": {"task": _TASK}, "required": ["task"]}, model_info),
    Tool("predict", _predict_description(), {"type": "object", "properties": _INPUT, "required": ["task"]}, predict),
    Tool("explain", "Explain a prediction (SHAP key factors); without inputs, the last prediction of this chat.",
         {"type": "object", "properties": {**_INPUT, "index": {"type": "integer", "description": "case index"}}},
         explain),
    Tool("report", "Make the PDF report of this chat's last prediction (model version, what the model read, "
                   "probabilities, key factors, model card facts) and save it for the user.",
         {"type": "object", "properties": {"task": _TASK, "notes": {"type": "string", "description":
                                                                     "optional free text printed on the report"}}},
         report),
    Tool("interpret", "What a label and probability from a model mean, with the model's reliability for it.",
         {"type": "object", "properties": {"task": _TASK, "label": {"type": "string"},
                                           "probability": {"type": "number"}}, "required": ["task", "label"]},
         interpret),
    Tool("onboard_hospital", "Create a hospital's organization and a time-limited node enrollment token; "
                             "returns the exact node command. Needs the admin role.",
         {"type": "object", "properties": {
             "name": {"type": "string", "description": "the organization's name"},
             "kind": {"type": "string", "enum": ["hospital", "clinic"]}, "task": _TASK,
             "data_path": {"type": "string", "description": "folder of the training data on the node machine"},
             "valid_hours": {"type": "number", "description": "token validity in hours (default 24, max 168)"}},
          "required": ["name", "kind", "task"]}, onboard_hospital),
    Tool("request_onboarding", "File a hospital's request to join as a data provider (no sign-in needed); an "
                               "admin approves it and sends the staff sign-in and the node enrollment token.",
         {"type": "object", "properties": {
             "name": {"type": "string", "description": "the organization's name"},
             "email": {"type": "string", "description": "the contact e-mail (staff sign-in goes to it)"}, "task": _TASK},
          "required": ["name", "email", "task"]}, request_onboarding),
    Tool("contributions", "The caller's hospital contributions to model versions and the federation round status.",
         {"type": "object", "properties": {"task": _TASK}}, contributions),
    Tool("usage", "The caller's organization usage this month, tier, quota and rate limit.",
         {"type": "object", "properties": {}}, usage),
    Tool("tiers", "Every usage tier with its monthly quota, rate limit and price, as enforced now.",
         {"type": "object", "properties": {}}, tiers),
]}


def run_tool(ctx: ToolContext, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Run a tool by name; unknown arguments are dropped (a language model may invent some)."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolError(f"unknown tool {name!r}")
    allowed = set(tool.parameters.get("properties", {}))
    return tool.run(ctx, **{k: v for k, v in (arguments or {}).items() if k in allowed and v is not None})
