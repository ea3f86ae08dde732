"""Ed25519 signatures over the files of a registry version.

Every version folder carries `signature.json`, a manifest naming the task, the version, the SHA-256 of
every other file, the signing key's id and an ed25519 signature over the canonical JSON of those fields
(sorted keys, no spaces). Verification is strict: every file present must be listed and match, every
listed file must be present, the manifest must name the version it sits in (a signed folder copied to
another version number is refused), and the key must be one of the trusted keys.

The aggregation service holds the private key; everybody who loads a model holds only public keys.
In the embedded default `load_or_create_keypair(home)` makes a local key under `home/keys/`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import RegistryError, SignatureError

SIGNATURE_FILE = "signature.json"
ALGORITHM = "ed25519"
PRIVATE_KEY_FILE = "registry-signing-key.pem"
PUBLIC_KEY_FILE = "registry-signing-key.pub.pem"

# file names a manifest may list: flat, no hidden files, no path separators (a manifest is also used to
# decide which files to download, so it must never be able to point outside the version folder)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def canonical_json(obj: Any) -> bytes:
    """The exact bytes that are signed: sorted keys, no whitespace, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def key_id_of(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_private(path: Path, data: bytes) -> None:
    """Write a private key readable by its owner only, atomically (never a half-written key file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".key-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SigningKey:
    """An ed25519 private key with its public half and a short key id."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path | str) -> SigningKey:
        path = Path(path)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise RegistryError(f"signing key not found: {path}") from None
        except (ValueError, TypeError):
            raise RegistryError(f"{path} is not an unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise RegistryError(f"{path} is not an ed25519 private key")
        return cls(key)

    def save(self, path: Path | str) -> Path:
        """Write the private key as PEM (mode 600); returns the path."""
        path = Path(path)
        pem = self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(path, pem)
        return path

    def save_public(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.public_pem)
        return path

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private.public_key()

    @property
    def public_pem(self) -> bytes:
        return _public_pem(self.public_key)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def __repr__(self) -> str:  # never print key material
        return f"SigningKey(key_id={self.key_id!r})"


class TrustedKeys:
    """The public keys whose signatures are accepted, by key id."""

    def __init__(self, keys: Iterable[Ed25519PublicKey] = ()) -> None:
        self._keys: dict[str, Ed25519PublicKey] = {}
        for key in keys:
            self._keys[key_id_of(key)] = key

    @classmethod
    def of(cls, *sources: Any) -> TrustedKeys:
        """Trusted keys from public key files, PEM strings/bytes, `SigningKey`s or public key objects."""
        out = cls()
        for source in sources:
            out.add(source)
        return out

    def add(self, source: Any) -> str:
        """Trust one more key; returns its key id."""
        if isinstance(source, SigningKey):
            key: Any = source.public_key
        elif isinstance(source, Ed25519PublicKey):
            key = source
        else:
            if isinstance(source, Path) or (isinstance(source, str) and "-----BEGIN" not in source):
                path = Path(source)
                try:
                    pem = path.read_bytes()
                except OSError:
                    raise RegistryError(f"trusted key file not found: {path}") from None
                what = str(path)
            else:
                pem = source.encode() if isinstance(source, str) else bytes(source)
                what = "trusted key"
            try:
                key = serialization.load_pem_public_key(pem)
            except (ValueError, TypeError):
                raise RegistryError(f"{what} is not a PEM public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise RegistryError(f"{what} is not an ed25519 public key")
        kid = key_id_of(key)
        self._keys[kid] = key
        return kid

    def get(self, key_id: str) -> Ed25519PublicKey | None:
        return self._keys.get(key_id)

    @property
    def ids(self) -> list[str]:
        return sorted(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"TrustedKeys({self.ids})"


def load_or_create_keypair(home: Path | str) -> SigningKey:
    """The local signing key under `home/keys/`, created on first use (the embedded aggregation key)."""
    keys = Path(home) / "keys"
    private = keys / PRIVATE_KEY_FILE
    if not private.is_file():
        keys.mkdir(parents=True, exist_ok=True)
        candidate = SigningKey.generate()
        tmp = candidate.save(keys / f".new-{os.getpid()}-{PRIVATE_KEY_FILE}")
        try:
            # link() fails if the key exists: two processes starting together end up with one key
            os.link(tmp, private)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = SigningKey.load(private)
    public = keys / PUBLIC_KEY_FILE
    if not public.is_file() or public.read_bytes() != key.public_pem:
        key.save_public(public)
    return key


# ----- manifests -------------------------------------------------------------------------------------


def _label(task: str, version: str) -> str:
    return f"{version} of {task}"


def build_manifest(files: Mapping[str, str], *, task: str, version: str, signer: SigningKey) -> dict[str, Any]:
    body = {"task": task, "version": version, "files": dict(sorted(files.items())),
            "key_id": signer.key_id, "algorithm": ALGORITHM}
    return {**body, "signature": base64.b64encode(signer.sign(canonical_json(body))).decode("ascii")}


def sign_folder(folder: Path, *, task: str, version: str, signer: SigningKey) -> dict[str, Any]:
    """Hash every file of `folder`, write `signature.json` and return the manifest."""
    files = {}
    for path in sorted(Path(folder).iterdir()):
        if path.name == SIGNATURE_FILE:
            continue
        if not path.is_file() or not _SAFE_NAME.match(path.name):
            raise RegistryError(f"cannot sign {path.name}: a version holds flat, plainly named files only")
        files[path.name] = sha256_file(path)
    manifest = build_manifest(files, task=task, version=version, signer=signer)
    (Path(folder) / SIGNATURE_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def parse_manifest(data: bytes | None, *, task: str, version: str) -> dict[str, Any]:
    """The manifest in `data` (the bytes of signature.json), structurally checked; None: not signed."""
    label = _label(task, version)
    if data is None:
        raise SignatureError(f"{label} is not signed (no {SIGNATURE_FILE})")
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise SignatureError(f"{label}: {SIGNATURE_FILE} is not valid JSON") from None
    ok = (
        isinstance(manifest, dict)
        and all(isinstance(manifest.get(k), str) for k in ("task", "version", "key_id", "algorithm", "signature"))
        and isinstance(manifest.get("files"), dict)
        and all(isinstance(n, str) and _SAFE_NAME.match(n) and n != SIGNATURE_FILE for n in manifest["files"])
        and all(isinstance(d, str) and _HEX64.match(d) for d in manifest["files"].values())
    )
    if not ok:
        raise SignatureError(f"{label}: {SIGNATURE_FILE} is malformed")
    return manifest


def verify_manifest(manifest: Mapping[str, Any], trusted: TrustedKeys, *, task: str, version: str) -> dict[str, Any]:
    """Check the manifest's signature, key and subject (not the files); returns it."""
    label = _label(task, version)
    if manifest["algorithm"] != ALGORITHM:
        raise SignatureError(f"{label}: unsupported signature algorithm {manifest['algorithm']!r}")
    if (manifest["task"], manifest["version"]) != (task, version):
        raise SignatureError(
            f"{label}: its signature was made for {manifest['version']} of {manifest['task']} "
            "(copied from another version?)"
        )
    key = trusted.get(manifest["key_id"])
    if key is None:
        known = ", ".join(trusted.ids) or "none"
        raise SignatureError(f"{label} is signed by untrusted key {manifest['key_id']} (trusted: {known})")
    body = {k: manifest[k] for k in ("task", "version", "files", "key_id", "algorithm")}
    try:
        key.verify(base64.b64decode(manifest["signature"], validate=True), canonical_json(body))
    except (InvalidSignature, ValueError):
        raise SignatureError(f"{label}: the signature does not verify (signature.json altered?)") from None
    return dict(manifest)


def check_digest(manifest: Mapping[str, Any], name: str, data: bytes | None, *, task: str, version: str) -> bytes:
    """`data` (the content of signed file `name`, None if absent) if it matches its signed digest."""
    label = _label(task, version)
    expected = manifest["files"].get(name)
    if expected is None:
        raise SignatureError(f"{label}: {name} is not covered by the signature")
    if data is None:
        raise SignatureError(f"{label}: signed file {name} is missing")
    if sha256_bytes(data) != expected:
        raise SignatureError(f"{label}: {name} does not match its signed digest (tampered?)")
    return data


def verify_folder(folder: Path, trusted: TrustedKeys, *, task: str, version: str) -> dict[str, Any]:
    """Verify a whole version folder; returns the manifest or raises `SignatureError`."""
    folder = Path(folder)
    label = _label(task, version)
    sig = folder / SIGNATURE_FILE
    manifest = parse_manifest(sig.read_bytes() if sig.is_file() else None, task=task, version=version)
    manifest = verify_manifest(manifest, trusted, task=task, version=version)
    listed: dict[str, str] = manifest["files"]
    for path in sorted(folder.iterdir()):
        if path.name == SIGNATURE_FILE:
            continue
        if path.is_dir():
            raise SignatureError(f"{label}: unexpected folder {path.name}/ is not covered by the signature")
        if path.name not in listed:
            raise SignatureError(f"{label}: {path.name} is not covered by the signature (unexpected file)")
    for name, digest in listed.items():
        path = folder / name
        if not path.is_file():
            raise SignatureError(f"{label}: signed file {name} is missing")
        if sha256_file(path) != digest:
            raise SignatureError(f"{label}: {name} does not match its signed digest (tampered?)")
    return manifest
