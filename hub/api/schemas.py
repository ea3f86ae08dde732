"""Request and response bodies of the `/v1` API, with the examples shown in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _example_case() -> dict[str, float]:
    """The shipped malignant breast-cancer example (a public WDBC row) as a JSON case, for the docs."""
    import csv

    from hub.models import get_task

    try:
        csvs = [p for p in get_task("breast_cancer").example_inputs() if p.suffix == ".csv"]
        path = next((p for p in csvs if "malignant" in p.name), csvs[0])
        with open(path, newline="") as fh:
            row = next(csv.DictReader(fh))
        return {k: float(v) for k, v in row.items()}
    except (StopIteration, IndexError, OSError, ValueError, KeyError):
        return {"mean radius": 17.99, "mean texture": 10.38}


BC_CASE = _example_case()


def _example_signal(seconds: float = 10.0) -> list[float]:
    """The first seconds of the shipped MIT-BIH excerpt (360 Hz, mV) as the inline ECG example."""
    from hub.models import get_task

    try:
        path = next(p for p in get_task("ecg").example_inputs() if p.suffix == ".csv")
        rows = [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        return [float(v) for v in rows[1 : 1 + int(seconds * 360)]]
    except (StopIteration, OSError, ValueError):
        return []


ECG_SIGNAL = _example_signal()
MAX_EXPLAINED = 20  # SHAP explanations per request: each costs tens of milliseconds to seconds


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "type": "https://medhive.dev/problems/quota-exceeded", "title": "Monthly quota exceeded", "status": 429,
        "detail": "the monthly quota of 100 predictions of the free tier is used up", "instance": "/v1/models/ecg/predict"}]})
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


class SignUp(BaseModel):
    # the rule "an enterprise sign-up names its organization" is part of the schema (JSON Schema if/then,
    # OpenAPI 3.1), so clients and fuzzers see it; the service enforces it too
    model_config = ConfigDict(json_schema_extra={
        "examples": [
            {"email": "ml-team@acme.example", "password": "a long passphrase", "account_type": "enterprise",
             "organization": "Acme Diagnostics"},
            {"email": "student@uni.example", "password": "another long passphrase", "account_type": "user"}],
        "if": {"properties": {"account_type": {"const": "enterprise"}}, "required": ["account_type"]},
        "then": {"required": ["organization"], "properties": {"organization": {"type": "string", "minLength": 1,
                                                                              "pattern": r"\S"}}},
    })
    email: str = Field(max_length=320)
    password: str = Field(min_length=10, max_length=200)
    account_type: Literal["user", "clinician", "enterprise"] = Field(
        "user", description="user: patient or student (free tier); clinician: self-declared, unverified until an "
                            "admin verifies; enterprise: pay-per-use with API keys")
    organization: str | None = Field(None, min_length=1, max_length=200)
    display_name: str = Field("", max_length=200)


class Login(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "ml-team@acme.example",
                                                               "password": "a long passphrase"}]})
    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


class Account(BaseModel):
    user_id: str
    email: str
    role: str
    org_id: str
    organization: str
    tier: str
    verified: bool = True
    keep_history: bool = False
    keep_inputs: bool = False


class TokenOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"access_token": "eyJhbGciOi...", "token_type": "bearer",
                                                               "expires_at": "2026-11-23T10:00:00+00:00", "role": "enterprise"}]})
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: str
    role: str


class KeyCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "production backend", "expires_in_days": 90}]})
    name: str = Field("", max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class KeyView(BaseModel):
    id: str
    name: str
    prefix: str
    status: Literal["active", "revoked", "expired"]
    created_at: str | None
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None


class KeyCreated(KeyView):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "6f1c...", "name": "production backend", "prefix": "mh_1a2b3c4d", "status": "active",
        "key": "mh_1a2b3c4d_<secret>", "created_at": "2026-11-23T09:00:00+00:00", "expires_at": None,
        "revoked_at": None, "last_used_at": None}]})
    key: str = Field(description="the full key: shown once, store it now; only its hash is kept")


class FileInput(BaseModel):
    filename: str = Field(max_length=200, pattern=r"^[\w.\- ]+$", description="name with the format's extension")
    content_base64: str = Field(max_length=20_000_000)


class PredictRequest(BaseModel):
    """One case (`inputs` an object), a batch (`inputs` a list, at most 100) or a file (`file`)."""

    model_config = ConfigDict(extra="forbid")
    inputs: dict[str, Any] | list[Any] | None = Field(None, description=(
        "tabular tasks: an object of named fields (one case) or a list of them; image tasks: a 2-D array of pixel "
        "values or a list of them; ecg: a list of samples in mV of one lead, with options.fs (Hz) and "
        "optionally options.lead"))
    file: FileInput | None = Field(None, description="one file in a standard format (CSV, PNG/JPEG, ...)")
    files: list[FileInput] | None = Field(None, min_length=2, max_length=4,
                                          description="a multi-file record: a WFDB record's .hea and .dat files")
    version: str = Field("production", max_length=32, description="version tag or alias")
    options: dict[str, float | str] = Field(default_factory=dict, description="task options, e.g. fs, lead")
    explain: bool | Annotated[list[Annotated[int, Field(ge=0, le=100_000)]], Field(max_length=MAX_EXPLAINED)] = Field(
        False,
        description=f"true: explain every case (key factors; at most {MAX_EXPLAINED} cases), or the indices of the "
                    "cases to explain, e.g. [0, 3]")


PREDICT_EXAMPLES = {
    "single": {"summary": "one case", "value": {"inputs": BC_CASE}},
    "batch": {"summary": "a batch", "value": {"inputs": [BC_CASE, BC_CASE]}},
    "explained": {"summary": "with an explanation", "value": {"inputs": BC_CASE, "explain": True}},
    "ecg_inline": {"summary": "ecg: an inline signal (samples in mV, one lead) and its sampling rate",
                   "value": {"inputs": ECG_SIGNAL, "options": {"fs": 360, "lead": "MLII"}}},
    "ecg_wfdb": {"summary": "ecg: a WFDB record uploaded as its .hea and .dat files",
                 "value": {"files": [{"filename": "rec100.hea", "content_base64": "<base64 of rec100.hea>"},
                                     {"filename": "rec100.dat", "content_base64": "<base64 of rec100.dat>"}]}},
    "batch_explained": {"summary": "a batch, the second case explained",
                        "value": {"inputs": [BC_CASE, BC_CASE], "explain": [1]}},
}


class CaseOut(BaseModel):
    id: str
    label: str | None = Field(description="none when the case is refused as out of distribution")
    probabilities: dict[str, float]
    meta: dict[str, Any] = {}
    out_of_distribution: bool = False
    ood_score: float | None = Field(None, description="distance to the training data over the refusal threshold "
                                                      "(above 1: refused); none where not scored")
    ood_reason: str | None = None


class UsageOut(BaseModel):
    units: int = Field(description="units billed for this response: one per case (row, image) or signal, "
                                   "including cases refused as out of distribution (each was judged)")
    refused: int = Field(0, description="how many of the billed cases were refused as out of distribution "
                                        "(marked in `predictions`, no label)")
    tier: str
    monthly_quota: int | None
    remaining: int | None


class PredictResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "task": "breast_cancer", "model_version": "v1.0",
        "predictions": [{"id": "row 1", "label": "malignant", "probabilities": {"benign": 0.02, "malignant": 0.98}, "meta": {}}],
        "summary": None, "usage": {"units": 1, "refused": 0, "tier": "pay_per_use", "monthly_quota": None, "remaining": None},
        "explanation": None, "disclaimer": "Not a diagnosis: for use under clinical review."}]})
    task: str
    model_version: str
    predictions: list[CaseOut]
    summary: dict[str, Any] | None = None
    usage: UsageOut
    explanation: dict[str, Any] | None = Field(None, description="the first explained case (as `explanations[0]`)")
    explanations: list[dict[str, Any]] | None = Field(None, description="one per explained case, with its `index`")
    disclaimer: str
    kept: list[str] | None = Field(None, description="ids in your prediction history (when history is on)")


class Preferences(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"keep_history": True, "keep_inputs": False}]})
    keep_history: bool = Field(description="keep each prediction's output, model version and time")
    keep_inputs: bool = Field(False, description="also keep the input's summary (only with keep_history)")


class KeptPrediction(BaseModel):
    id: str
    task: str
    model_version: str
    label: str
    confidence: float
    probabilities: dict[str, float]
    created_at: str
    input_kept: bool
    input_summary: list[list[str]] | None = None


class PredictionPage(BaseModel):
    total: int
    items: list[KeptPrediction]


class TierChange(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"tier": "enterprise", "monthly_quota": 100000,
                                                               "rate_limit_per_minute": 1200, "price_micros": 800}]})
    tier: Literal["free", "pay_per_use", "enterprise"]
    monthly_quota: int | None = Field(None, ge=0, le=10**12)
    rate_limit_per_minute: int | None = Field(None, ge=0, le=10**9)
    price_micros: int | None = Field(None, ge=0, le=10**12)


class RoleChange(BaseModel):
    role: Literal["admin", "data_provider", "clinician", "user", "enterprise"]


class Promote(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"version": "v1.1", "alias": "production"}]})
    version: str = Field(max_length=32)
    alias: Literal["production", "candidate"] = "production"


class ConsentIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"subject_ref": "cohort-2026-icu", "scope": "federated_training",
                                                               "status": "granted"}]})
    subject_ref: str = Field(max_length=100, description="pseudonymous data set / cohort reference, never a patient")
    scope: Literal["federated_training", "evaluation", "research"]
    status: Literal["granted", "withdrawn"]
    note: str = Field("", max_length=500)


class EnrollmentTokenIn(BaseModel):
    org_id: str = Field(max_length=64)
    valid_hours: float = Field(24, gt=0, le=168)


class EnrollIn(BaseModel):
    token: str = Field(max_length=200)
    node_name: str = Field(min_length=1, max_length=200)
    public_key: str | None = Field(None, max_length=1024, description="the node's OpenSSH EC public key")


class ContributionIn(BaseModel):
    org_id: str = Field(max_length=64)
    task: str = Field(max_length=64)
    model_version: str = Field(max_length=32)
    samples: int = Field(ge=0, le=10**12)
    rounds: int = Field(0, ge=0, le=10**6)


def _problem_doc(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


#: error responses every /v1 route documents (all are problem+json)
PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: _problem_doc("Bad request"), 405: _problem_doc("Method not allowed (the Allow header lists the methods)"),
    413: _problem_doc("Request body (or an input in it) over the size limit"), 401: _problem_doc("Not authenticated, or invalid / expired credentials"),
    403: _problem_doc("The caller's role may not use this route"), 404: _problem_doc("Not found"),
    409: _problem_doc("Conflict"), 410: _problem_doc("Gone (a used or expired one-time token)"),
    422: _problem_doc("The request does not match the schema, or an Idempotency-Key was reused"),
    429: _problem_doc("Rate limited (Retry-After) or monthly quota exceeded"),
    501: _problem_doc("Not implemented"), 502: _problem_doc("Identity provider error"),
}
#: what the model routes add: a version that fails verification is unavailable, the other tasks serve on
MODEL_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **PROBLEMS, 503: _problem_doc("The task's model version failed verification (reason in detail)")}
