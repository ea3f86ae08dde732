"""The model card (README.md) of a registry version, in the Hugging Face format.

YAML front matter carries the Hub's metadata (license, tags, pipeline_tag, library_name, datasets,
model-index with the validation metrics) plus a `medhive:` block that the registry reads back: version,
creation time, metrics, training data description, lineage and the signing key id. The body is written
for people: what the model predicts, its inputs, its data, its metrics, where it came from, how it may be
used. The card is one of the signed files, so what it says about a version cannot be altered unnoticed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import yaml

from hub.errors import RegistryError

NOT_A_DIAGNOSIS = "Not a diagnosis: for use under clinical review."

PIPELINE_TAGS = {"tabular": "tabular-classification", "image": "image-classification", "signal": "other"}

_METRIC_NAMES = {"accuracy": "Accuracy", "macro_f1": "Macro F1", "roc_auc": "ROC AUC", "n": "Validation cases"}


def _plain(value: Any) -> Any:
    """JSON-safe plain data (numpy scalars become numbers) so yaml.safe_dump accepts it."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def _metric_name(key: str) -> str:
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    for prefix, word in (("sensitivity_", "Sensitivity"), ("precision_", "Precision")):
        if key.startswith(prefix):
            return f"{word} ({key[len(prefix):]})"
    return key.replace("_", " ").capitalize()


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isfinite(value) and not value.is_integer():
        return f"{value:.4f}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _metadata(facts: Mapping[str, Any], *, version: str, created_at: str, metrics: Mapping[str, float],
              lineage: Mapping[str, Any], data: Mapping[str, Any], key_id: str,
              trust: Mapping[str, Any] | None = None) -> dict[str, Any]:
    task = facts["task"]
    pipeline = PIPELINE_TAGS.get(facts.get("input_kind", ""), "other")
    federated = lineage.get("source") == "federated"
    tags = ["medhive", task, "medical", str(facts.get("input_kind", "other")), "safetensors"]
    tags.append("federated-learning" if federated else "baseline")
    if lineage.get("epsilon") is not None:
        tags.append("differential-privacy")
    if data.get("synthetic"):
        tags.append("synthetic-data")
    dataset = str(data.get("dataset") or "held-out validation split")
    meta: dict[str, Any] = {
        "license": str(data.get("license") or "other"),
        "tags": tags,
        "pipeline_tag": pipeline,
        "library_name": "medhive",
    }
    if meta["license"] == "other":
        meta["license_name"] = "medhive-clinical-review"
    if data.get("dataset"):
        meta["datasets"] = [dataset]
    meta["model-index"] = [{
        "name": f"medhive-{task}",
        "results": [{
            "task": {"type": pipeline, "name": facts.get("title", task)},
            "dataset": {"name": dataset, "type": task, "split": "validation"},
            "metrics": [{"type": k, "value": float(v), "name": _metric_name(k)} for k, v in metrics.items()],
        }],
    }]
    meta["medhive"] = {
        "task": task, "version": version, "created_at": created_at, "metrics": dict(metrics),
        "data": dict(data), "lineage": dict(lineage), "key_id": key_id, "labels": list(facts.get("labels", [])),
        "trust": dict(trust or {}),
    }
    return _plain(meta)


def _lineage_lines(lineage: Mapping[str, Any]) -> list[str]:
    source = lineage.get("source", "baseline")
    lines = [f"- source: {source}", f"- parent version: {lineage.get('parent') or 'none (first version)'}"]
    if source == "federated":
        lines += [
            f"- training rounds: {lineage.get('rounds', 0)}",
            f"- contributing hospitals: {lineage.get('hospitals', 0)}",
            f"- training samples (all hospitals): {lineage.get('samples', 0)}",
            f"- aggregation strategy: {lineage.get('strategy') or 'not recorded'}",
            f"- secure aggregation: {'yes' if lineage.get('secure_aggregation') else 'no'}",
        ]
    else:
        lines += [f"- training samples: {lineage.get('samples', 0)}", "- trained centrally on public data (no hospitals)"]
    eps = lineage.get("epsilon")
    if eps is None:
        lines.append("- epsilon: not applicable (no DP)")
    else:
        delta = lineage.get("delta")
        lines.append(f"- differential privacy: epsilon = {eps:g}" + (f", delta = {delta:g}" if delta is not None else ""))
    if lineage.get("notes"):
        lines.append(f"- notes: {lineage['notes']}")
    return lines


def data_statement(lineage: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """One line on what a version was trained on; a federated version adds its hospitals to its parent's."""
    if lineage.get("source") == "federated":
        return (f"the data of its parent {lineage.get('parent') or '(unknown)'}, then {lineage.get('hospitals', 0)} "
                f"hospital(s) with {lineage.get('samples', 0)} training samples in {lineage.get('rounds', 0)} "
                "federated round(s); no hospital data left its hospital")
    return str(data.get("dataset") or "not stated")


def reference_lines(trust: Mapping[str, Any] | None) -> list[str]:
    """The card's like-for-like section: reference metric with n and interval, and calibration error."""
    ref = (trust or {}).get("reference")
    cal = (trust or {}).get("calibration")
    if not ref:
        return ["No reference-split evaluation recorded for this version (published before it existed).", ""]
    out = [f"Scored on the hub's fixed public reference split, the same for every version of this task: "
           f"{ref.get('dataset', '')}, {ref.get('split', '')}. No hospital data.", "",
           "| metric | value | cases | 95% interval |", "|---|---|---|---|",
           f"| {_metric_name(ref['metric'])} | {_fmt(float(ref['value']))} | {ref['n']} | "
           f"{_fmt(float(ref['ci_low']))} .. {_fmt(float(ref['ci_high']))} |",
           *([f"| {_metric_name(ref['metric'])}, parent {ref['parent_version']} (same cases) | "
              f"{_fmt(float(ref['parent_value']))} | {ref['n']} | - |"] if ref.get("parent_version") else []), "",
           f"Interval: {ref.get('interval', '')}."]
    if cal:
        out += ["", f"Calibration: expected calibration error {_fmt(float(cal['ece']))} after temperature scaling "
                f"(T = {cal['temperature']:g}; {_fmt(float(cal['ece_uncalibrated']))} before), on {cal['n']} reference "
                f"cases; {cal.get('ece_note', '')}. A score is how sure the model is, not the chance of a diagnosis."]
    return [*out, ""]


def render_card(facts: Mapping[str, Any], *, version: str, created_at: str, metrics: Mapping[str, float],
                lineage: Mapping[str, Any], data: Mapping[str, Any], key_id: str,
                trust: Mapping[str, Any] | None = None) -> str:
    """README.md text for one version; `facts` is `task.card_facts()`, `lineage` a `Lineage.to_dict()`,
    `trust` the summary of its trust profile (`hub.trust.summary`)."""
    meta = _metadata(facts, version=version, created_at=created_at, metrics=metrics, lineage=lineage,
                     data=data, key_id=key_id, trust=trust)
    title = facts.get("title", facts["task"])
    labels = ", ".join(f"`{label}`" for label in facts.get("labels", []))
    out = ["---", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).rstrip(), "---", ""]
    out += [f"# MedHive {title} — {version}", "", f"> **{NOT_A_DIAGNOSIS}**", ""]
    out += ["## What it predicts", "", str(facts.get("summary", "")), "", f"Labels: {labels}.", ""]
    out += ["## Inputs", "", str(facts.get("input_description") or f"Input kind: {facts.get('input_kind')}."), ""]
    fields = facts.get("input_fields") or []
    if fields:
        out += ["| field | unit | valid range |", "|---|---|---|"]
        out += [f"| {f['name']} | {f.get('unit') or '-'} | {f['minimum']:g} .. {f['maximum']:g} |" for f in fields]
        out.append("")
    out += ["## Training data", "", f"- data: {data_statement(lineage, data)}"]
    if data:
        out += [f"- {k.replace('_', ' ')}: {json.dumps(v) if isinstance(v, (dict, list)) else v}" for k, v in _plain(data).items()]
    else:
        out.append("- not recorded")
    if data.get("synthetic"):
        out += ["", "This model was trained on **synthetic data**; its metrics say nothing about real patients."]
    out += ["", "## Reference evaluation (like for like)", "", *reference_lines(trust)]
    federated = lineage.get("source") == "federated"
    if federated:
        n = metrics.get("n")
        out += ["## Hospitals' own validation (federated)", "",
                f"Each hospital scored the model on its own held-out split; sample-weighted mean over "
                f"{lineage.get('hospitals', 0)} hospital(s), {int(n) if n else 'unknown'} cases. Not comparable with "
                "the reference metric above: different cases, different hospitals.", ""]
    else:
        out += ["## Validation metrics (training split)", ""]
    out += ["| metric | value |", "|---|---|"]
    out += [f"| {_metric_name(k)} | {_fmt(v)} |" for k, v in metrics.items()]
    out += ["", "## Lineage", "", *_lineage_lines(lineage), f"- signed by key: `{key_id}`", ""]
    out += [
        "## Intended use", "",
        "Decision support and education: a second look at a case by a qualified clinician, teaching, and research. "
        "Every prediction comes with a confidence and an explanation that a clinician must review.", "",
        "## Limitations", "",
        "- Validated only on the data described above; performance on other populations, devices and sites is unknown.",
        "- Not a medical device. Do not use it to diagnose, treat or triage patients without clinical review.",
    ]
    if lineage.get("source") == "federated":
        out.append("- Trained on data that never left the hospitals: its quality was checked there, not centrally.")
    out += ["", NOT_A_DIAGNOSIS, ""]
    return "\n".join(out)


# libyaml's safe loader where PyYAML was built with it: the same safe subset, parsed in C. The pure-Python one took
# 0.2-0.4 s of `medhive models list` for eight cards; `tests/hub/registry/test_card.py` checks both give the same data.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_card(text: str) -> dict[str, Any]:
    """The YAML front matter of a model card as a dict (a safe loader only; never evaluates tags)."""
    if not text.startswith("---"):
        raise RegistryError("model card has no YAML metadata block")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise RegistryError("model card metadata block is not closed")
    try:
        meta = yaml.load(parts[0][3:], Loader=SAFE_LOADER)  # noqa: S506 - a safe loader (C or Python)
    except yaml.YAMLError:
        raise RegistryError("model card metadata is not valid YAML") from None
    if not isinstance(meta, dict):
        raise RegistryError("model card metadata is not a mapping")
    return meta
