"""Versioned, signed model registry: one interface (`Registry`), a local and a Hugging Face backend.

    >>> from hub.registry import open_registry, load_or_create_keypair
    >>> key = load_or_create_keypair(home)
    >>> registry = open_registry("local", home=home, signer=key, trusted_keys=None)
    >>> registry.load("breast_cancer").network        # verified, safetensors only

`open_registry` picks the backend from a spec string (the `MEDHIVE_REGISTRY` setting, read by the
`medhive` package, not here): "local" (the registry under `home/registry`), a filesystem path, or
"hf://<namespace>" for one Hub repo per task, `<namespace>/medhive-<task>`.
"""

from __future__ import annotations

from pathlib import Path

from hub.errors import RegistryError
from hub.registry.base import (
    ALIASES,
    Event,
    Lineage,
    LoadedModel,
    Registry,
    VersionInfo,
    next_version,
    version_key,
)
from hub.registry.card import NOT_A_DIAGNOSIS, parse_card, render_card
from hub.registry.local import LocalRegistry
from hub.registry.signing import SigningKey, TrustedKeys, load_or_create_keypair, verify_folder

__all__ = [
    "ALIASES", "NOT_A_DIAGNOSIS", "Event", "Lineage", "LoadedModel", "LocalRegistry", "Registry", "SigningKey",
    "TrustedKeys", "VersionInfo", "load_or_create_keypair", "next_version", "open_registry", "parse_card",
    "render_card", "verify_folder", "version_key",
]


def open_registry(spec: str, *, home: Path, signer: SigningKey | None = None,
                  trusted_keys: TrustedKeys | None = None, endpoint: str | None = None, token: str | None = None) -> Registry:
    """The registry named by `spec`: "local", a folder path, or "hf://<namespace>".

    `trusted_keys` None trusts the signer's own key only (the embedded default, where the local key is the
    aggregation service's key). For the Hub, `endpoint` / `token` None leave them to huggingface_hub
    (HF_ENDPOINT, HF_TOKEN or a saved login); its download cache goes to `home/hf-cache`.
    """
    spec = (spec or "local").strip()
    home = Path(home).expanduser()
    if spec.startswith("hf://"):
        from hub.registry.hf import HuggingFaceRegistry

        return HuggingFaceRegistry(spec[len("hf://"):], cache_dir=home / "hf-cache", signer=signer,
                                   trusted_keys=trusted_keys, endpoint=endpoint, token=token)
    if spec == "local":
        return LocalRegistry(home / "registry", signer=signer, trusted_keys=trusted_keys)
    if spec.startswith("file://"):
        spec = spec[len("file://"):]
    if "://" in spec:
        raise RegistryError(f"unknown registry {spec!r}: use 'local', a folder path, or hf://<namespace>")
    return LocalRegistry(Path(spec), signer=signer, trusted_keys=trusted_keys)
