"""The registry interface, its records, and the logic both backends share.

A registry holds, per task, immutable versions `v1.0`, `v1.1`, ... (each a folder of flat files laid out
like a Hugging Face model repo, signed by `signature.json`), two movable aliases (`production`,
`candidate`) and an append-only history of events. Backends implement a handful of storage primitives
(`_names`, `_read`, `_state`, `_transact`, `_publish_files`, `fetch`); resolving references, reading
version records, publishing, promotion, rollback and safe loading are written once, here.

Listing (`versions`, `info`) checks the manifest signature and the digests of the small files it reads;
`fetch` and `load` verify every file before anything is loaded. Only `model.safetensors` is ever loaded.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hub.errors import ModelIntegrityError, RegistryError, SignatureError, VersionNotFoundError
from hub.models import get_task
from hub.registry.card import parse_card, render_card
from hub.registry.signing import (
    SIGNATURE_FILE,
    SigningKey,
    TrustedKeys,
    check_digest,
    parse_manifest,
    sign_folder,
    verify_manifest,
)

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
LINEAGE = "lineage.json"
#: plausibility statistics, calibration and reference metric of a version (`hub.trust`), signed like the rest
TRUST = "trust.json"
ALIASES = ("production", "candidate")
VERSION_RE = re.compile(r"^v(\d{1,6})\.(\d{1,6})$")
TASK_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# weight formats other than model.safetensors: several unpickle on load, none is ever loaded here
_WEIGHT_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib", ".h5", ".keras", ".gguf",
                    ".msgpack", ".npy", ".npz", ".onnx", ".safetensors"}

Action = Literal["publish", "promote", "rollback", "demote"]

if TYPE_CHECKING:  # torch only where weights are loaded or saved: listing versions stays light
    from torch import nn


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def version_key(version: str) -> tuple[int, int]:
    m = VERSION_RE.match(version)
    if not m:
        raise RegistryError(f"invalid version {version!r}: versions look like v1.0, v1.1, v2.0")
    return int(m.group(1)), int(m.group(2))


def next_version(existing: list[str]) -> str:
    """v1.0 for the first version, then a minor bump of the highest existing one."""
    known = [version_key(v) for v in existing if VERSION_RE.match(v)]
    if not known:
        return "v1.0"
    major, minor = max(known)
    return f"v{major}.{minor + 1}"


def check_task_name(task: str) -> str:
    if not isinstance(task, str) or not TASK_RE.match(task):
        raise RegistryError(f"invalid task name {task!r}")
    return task


@dataclass
class Lineage:
    """Where a version came from: its parent and, for federated versions, who trained it and how."""

    parent: str | None = None
    source: str = "baseline"  # "baseline" | "federated"
    rounds: int = 0
    hospitals: int = 0
    samples: int = 0
    strategy: str | None = None
    epsilon: float | None = None
    delta: float | None = None
    secure_aggregation: bool = False
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lineage:
        # unknown keys are ignored so versions written by a newer release still read
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class VersionInfo:
    task: str
    version: str
    created_at: str
    aliases: list[str]
    metrics: dict[str, float]
    lineage: Lineage
    data: dict[str, Any]
    digest: str  # sha256 of model.safetensors
    signed_by: str  # key id
    #: reference metric (n, interval), calibration error, plausibility: `hub.trust.summary`; {} for old versions
    trust: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lineage": self.lineage.to_dict()}


@dataclass
class LoadedModel:
    task: str
    version: str
    network: nn.Module
    info: VersionInfo
    path: Path
    #: the version's trust.json (verified with the other files); None for versions published without one
    trust: dict[str, Any] | None = None


@dataclass
class Event:
    """One line of a task's history. For `demote`, `version` is the version the alias was taken from."""

    time: str
    action: Action
    task: str
    version: str
    alias: str | None = None
    previous: str | None = None
    actor: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def production_stack(events: list[Event], current: str | None) -> list[str]:
    """The succession of production versions, as rollback sees it: promotions push, rollbacks pop."""
    stack: list[str] = []
    for e in events:
        if e.alias != "production":
            continue
        if e.action in ("publish", "promote") and (not stack or stack[-1] != e.version):
            stack.append(e.version)
        elif e.action == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != e.version:
                stack.append(e.version)
    # the alias file is written before its event: a crash in between leaves a move without an event
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)
    return stack


Change = Callable[[dict[str, str], list[Event]], list[Event]]


class Registry(ABC):
    """Versioned, signed model storage for every task. See the module docstring."""

    def __init__(self, *, signer: SigningKey | None = None, trusted_keys: TrustedKeys | None = None) -> None:
        self.signer = signer
        if trusted_keys is None:
            trusted_keys = TrustedKeys.of(signer) if signer is not None else TrustedKeys()
        self.trusted = trusted_keys

    #: where the registry lives, for messages ("local registry at ...", "hf://namespace")
    location: str = "registry"

    # ----- storage primitives (backends) -------------------------------------------------------
    @abstractmethod
    def tasks(self) -> list[str]: ...

    @abstractmethod
    def _names(self, task: str) -> list[str]:
        """Every version name present for `task`, usable or not, in any order."""

    @abstractmethod
    def _read(self, task: str, version: str, filename: str) -> bytes | None:
        """The bytes of one (small) file of a version, None when absent."""

    @abstractmethod
    def _state(self, task: str) -> tuple[dict[str, str], list[Event]]:
        """Aliases (alias -> version) and the history of `task`."""

    @abstractmethod
    def _transact(self, task: str, change: Change) -> list[Event]:
        """Apply `change(aliases, events)` (it mutates aliases, returns new events) atomically, serialised."""

    @abstractmethod
    def _publish_files(self, task: str, version: str | None, stage: Callable[[Path, str], None]) -> str:
        """Pick the version (or check the given one is free), `stage(folder, version)`, commit atomically."""

    @abstractmethod
    def fetch(self, task: str, ref: str = "production") -> Path:
        """A local folder holding exactly the signed files of that version, verified."""

    def _writing(self, task: str) -> contextlib.AbstractContextManager[Any]:
        """Held around publish + its alias move; local: the task lock, remote: nothing (CAS instead)."""
        return contextlib.nullcontext()

    # ----- reading -------------------------------------------------------------------------------
    def versions(self, task: str) -> list[VersionInfo]:
        """Usable versions (signed by a trusted key, metadata intact), ascending by version number."""
        check_task_name(task)
        aliases, _ = self._state(task)
        out = []
        for name in sorted((n for n in self._names(task) if VERSION_RE.match(n)), key=version_key):
            try:
                out.append(self._version_info(task, name, aliases))
            except RegistryError:
                continue  # unsigned, untrusted or altered: never listed; loading it by name says why
        return out

    def resolve(self, task: str, ref: str = "production") -> str:
        """The version tag `ref` names: an alias, `latest`, or a version tag that exists."""
        check_task_name(task)
        names = sorted((n for n in self._names(task) if VERSION_RE.match(n)), key=version_key)
        if not names:
            raise VersionNotFoundError(f"no versions of {task} in {self.location}")
        if VERSION_RE.match(ref) and ref in names:
            return ref
        aliases, _ = self._state(task)
        if ref in aliases and aliases[ref] in names:
            return aliases[ref]
        if ref == "latest":
            usable = self.versions(task)
            if usable:
                return usable[-1].version
        shown = ", ".join(names[-8:]) + (f" (and {len(names) - 8} earlier)" if len(names) > 8 else "")
        set_aliases = ", ".join(f"{a} -> {v}" for a, v in sorted(aliases.items())) or "none set"
        what = f"alias {ref!r} is not set" if ref in ALIASES else f"no version or alias {ref!r}"
        raise VersionNotFoundError(f"{task}: {what}; versions: {shown}; aliases: {set_aliases}")

    def info(self, task: str, ref: str = "production") -> VersionInfo:
        version = self.resolve(task, ref)
        aliases, _ = self._state(task)
        return self._version_info(task, version, aliases)

    def version_names(self, task: str) -> list[str]:
        """Every version present for `task`, usable or not, ascending: a broken version still occupies its tag."""
        check_task_name(task)
        return sorted((n for n in self._names(task) if VERSION_RE.match(n)), key=version_key)

    def aliases(self, task: str) -> dict[str, str]:
        """alias -> version, whether or not that version still verifies."""
        check_task_name(task)
        return dict(self._state(task)[0])

    def problem(self, task: str, ref: str = "production", *, deep: bool = False) -> str | None:
        """Why `ref` of `task` cannot serve (None when it can): signature and small files, or with `deep`
        every file's digest and a strict load of the weights. Only `RegistryError`s are reasons."""
        try:
            if deep:
                self.load(task, ref)
            else:
                self.info(task, ref)
        except RegistryError as exc:
            return exc.message
        return None

    def history(self, task: str) -> list[Event]:
        check_task_name(task)
        return self._state(task)[1]

    def _version_info(self, task: str, version: str, aliases: dict[str, str]) -> VersionInfo:
        manifest = parse_manifest(self._read(task, version, SIGNATURE_FILE), task=task, version=version)
        manifest = verify_manifest(manifest, self.trusted, task=task, version=version)
        if WEIGHTS not in manifest["files"]:
            raise SignatureError(f"{version} of {task}: {WEIGHTS} is not covered by the signature")
        card = check_digest(manifest, CARD, self._read(task, version, CARD), task=task, version=version)
        lin = check_digest(manifest, LINEAGE, self._read(task, version, LINEAGE), task=task, version=version)
        try:
            meta = parse_card(card.decode("utf-8")).get("medhive") or {}
            lineage = Lineage.from_dict(json.loads(lin))
        except (ValueError, TypeError, RegistryError):
            raise ModelIntegrityError(f"{version} of {task}: its model card or lineage.json cannot be read") from None
        return VersionInfo(
            task=task, version=version, created_at=str(meta.get("created_at", "")),
            aliases=sorted(a for a, v in aliases.items() if v == version),
            metrics={k: float(v) for k, v in (meta.get("metrics") or {}).items()},
            lineage=lineage, data=dict(meta.get("data") or {}),
            digest=manifest["files"][WEIGHTS], signed_by=manifest["key_id"],
            trust=dict(meta.get("trust") or {}),
        )

    # ----- loading -------------------------------------------------------------------------------
    def load(self, task: str, ref: str = "production", *, inference: bool = False) -> LoadedModel:
        """Fetch, verify every file, then load `model.safetensors` into the task's network class.

        `inference=True` (predicting and explaining): the task's numpy twin of the network where it has
        one (`Task.numpy_network`, no torch import), else the same torch module.
        """
        version = self.resolve(task, ref)
        folder = self.fetch(task, version)
        info = self._version_info(task, version, self._state(task)[0])
        spec, label = get_task(task), f"{version} of {task}"
        network = (load_inference_network(spec, folder, label=label) if inference
                   else load_network(spec.network_class, folder, label=label))
        trust = None
        if (folder / TRUST).is_file():  # fetch verified it against the signature with every other file
            try:
                trust = json.loads((folder / TRUST).read_text())
            except ValueError:
                raise RegistryError(f"{version} of {task}: {TRUST} cannot be read") from None
        return LoadedModel(task=task, version=version, network=network, info=info, path=folder, trust=trust)

    # ----- writing -------------------------------------------------------------------------------
    def publish(self, task: str, network: nn.Module, *, metrics: dict[str, float], lineage: Lineage | dict[str, Any],
                data: dict[str, Any] | None = None, alias: str | None = "production", actor: str | None = None,
                version: str | None = None, trust: dict[str, Any] | None = None) -> VersionInfo:
        """Write, sign and commit a new version atomically, then move `alias` to it.

        `trust` (from `hub.trust.build_profile`) is written as trust.json; its summary goes on the card.
        """
        from hub.trust import summary as trust_summary
        spec = get_task(check_task_name(task))
        if self.signer is None:
            raise RegistryError(f"cannot publish to {self.location}: no signing key configured")
        if alias is not None and alias not in ALIASES:
            raise RegistryError(f"unknown alias {alias!r}; aliases are {', '.join(ALIASES)}")
        if version is not None:
            version_key(version)
        if not isinstance(network, spec.network_class):
            raise RegistryError(f"{task} expects a {spec.network_class.__name__} network, got {type(network).__name__}")
        clean_metrics = _clean_metrics(metrics)
        lineage = lineage if isinstance(lineage, Lineage) else Lineage.from_dict(dict(lineage))
        if lineage.source not in ("baseline", "federated"):
            raise RegistryError(f"lineage source must be 'baseline' or 'federated', not {lineage.source!r}")
        data = json.loads(json.dumps(data or {}, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
        created = now_iso()
        signer = self.signer
        trust = json.loads(json.dumps(trust, default=float)) if trust else None
        shown = trust_summary(trust)

        def stage(folder: Path, chosen: str) -> None:
            network.save_pretrained(folder)
            (folder / CARD).write_text(render_card(
                spec.card_facts(), version=chosen, created_at=created, metrics=clean_metrics,
                lineage=lineage.to_dict(), data=data, key_id=signer.key_id, trust=shown), encoding="utf-8")
            (folder / LINEAGE).write_text(json.dumps(lineage.to_dict(), indent=2, sort_keys=True) + "\n")
            if trust:
                (folder / TRUST).write_text(json.dumps(trust) + "\n")
            check_loadable(folder, label=f"{chosen} of {task}")
            sign_folder(folder, task=task, version=chosen, signer=signer)

        with self._writing(task):
            chosen = self._publish_files(task, version, stage)

            def record(aliases: dict[str, str], events: list[Event]) -> list[Event]:
                previous = aliases.get(alias) if alias else None
                if alias:
                    aliases[alias] = chosen
                return [Event(time=now_iso(), action="publish", task=task, version=chosen, alias=alias,
                              previous=previous, actor=actor, note=lineage.source)]

            self._transact(task, record)
        return self.info(task, chosen)

    def promote(self, task: str, version: str, *, alias: str = "production", actor: str | None = None,
                note: str = "") -> Event:
        """Point `alias` at `version` (a tag or another alias); promoting the candidate clears it."""
        if alias not in ALIASES:
            raise RegistryError(f"unknown alias {alias!r}; aliases are {', '.join(ALIASES)}")
        target = self.resolve(task, version)
        self.info(task, target)  # refuses an unsigned, untrusted or altered version with its reason

        def change(aliases: dict[str, str], events: list[Event]) -> list[Event]:
            out = [Event(time=now_iso(), action="promote", task=task, version=target, alias=alias,
                         previous=aliases.get(alias), actor=actor, note=note)]
            aliases[alias] = target
            if alias == "production" and aliases.get("candidate") == target:
                del aliases["candidate"]
                out.append(Event(time=now_iso(), action="demote", task=task, version=target, alias="candidate",
                                 previous=target, actor=actor, note=f"promoted to production; {note}".rstrip("; ")))
            return out

        return self._transact(task, change)[0]

    def rollback(self, task: str, *, actor: str | None = None, note: str = "") -> Event:
        """Production goes back to the version that was production before the current one."""
        check_task_name(task)
        usable = {v.version for v in self.versions(task)}

        def change(aliases: dict[str, str], events: list[Event]) -> list[Event]:
            current = aliases.get("production")
            stack = production_stack(events, current)
            if current is None or len(stack) < 2:
                raise RegistryError(f"{task}: no earlier production version to roll back to"
                                    + (f" (production is {current})" if current else " (production is not set)"))
            target = stack[-2]
            if target not in usable:
                raise RegistryError(f"{task}: cannot roll back to {target}: it no longer verifies")
            aliases["production"] = target
            return [Event(time=now_iso(), action="rollback", task=task, version=target, alias="production",
                          previous=current, actor=actor, note=note)]

        return self._transact(task, change)[0]

    def demote(self, task: str, alias: str = "candidate", *, actor: str | None = None, note: str = "") -> Event:
        """Unset an alias (not production: roll back or promote instead)."""
        check_task_name(task)
        if alias not in ALIASES or alias == "production":
            raise RegistryError("only the candidate alias can be unset; move production with promote or rollback")

        def change(aliases: dict[str, str], events: list[Event]) -> list[Event]:
            if alias not in aliases:
                raise RegistryError(f"{task}: alias {alias!r} is not set")
            old = aliases.pop(alias)
            return [Event(time=now_iso(), action="demote", task=task, version=old, alias=alias, previous=old,
                          actor=actor, note=note)]

        return self._transact(task, change)[0]


def _clean_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in (metrics or {}).items():
        try:
            value = float(v)
        except (TypeError, ValueError):
            raise RegistryError(f"metric {k!r} must be a number") from None
        if not math.isfinite(value):
            raise RegistryError(f"metric {k!r} must be a finite number")
        out[str(k)] = value
    return out


def check_loadable(folder: Path, *, label: str) -> None:
    """Refuse a folder without model.safetensors or with any other weights file (pickle and friends)."""
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        raise ModelIntegrityError(f"{label}: {WEIGHTS} is missing")
    for path in folder.iterdir():
        if path.name != WEIGHTS and path.suffix.lower() in _WEIGHT_SUFFIXES:
            raise ModelIntegrityError(f"{label}: refusing to load a folder containing {path.name} (only {WEIGHTS} is loaded)")


def load_network(network_class: type[nn.Module], folder: Path, *, label: str) -> nn.Module:
    """Build `network_class(**config.json)` and load model.safetensors into it strictly, in eval mode.

    Done by hand rather than through `from_pretrained`, whose fallback can unpickle a
    `pytorch_model.bin` and which prints to stdout; the result is the same module.
    """
    check_loadable(folder, label=label)
    try:
        config = _read_config(folder)
        import safetensors.torch

        network = network_class(**config)
        safetensors.torch.load_model(network, str(Path(folder) / WEIGHTS), strict=True)
    except Exception as exc:  # a shape or key mismatch: one line, no traceback material
        raise _unfit(label, network_class.__name__, exc) from None
    network.eval()
    return network


def load_inference_network(task: Any, folder: Path, *, label: str) -> Any:
    """The network predictions run on: `task.numpy_network` built from config.json and model.safetensors
    read as numpy arrays (keys and shapes checked as strictly as `load_network`), else `load_network`."""
    twin = getattr(task, "numpy_network", None)
    if twin is None:
        return load_network(task.network_class, folder, label=label)
    check_loadable(folder, label=label)
    try:
        config = _read_config(folder)
        import safetensors.numpy

        return twin.from_state(config, safetensors.numpy.load_file(str(Path(folder) / WEIGHTS)))
    except Exception as exc:
        raise _unfit(label, twin.__name__, exc) from None


def _read_config(folder: Path) -> dict[str, Any]:
    config = json.loads((Path(folder) / CONFIG).read_text())
    if not isinstance(config, dict):
        raise ValueError("config.json is not an object")
    return config


def _unfit(label: str, name: str, exc: Exception) -> ModelIntegrityError:
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return ModelIntegrityError(f"{label}: weights do not fit {name} ({reason})")
