"""Signing: keys, trusted keys, and strict verification of a version folder's signature.json."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from hub.errors import RegistryError, SignatureError
from hub.registry.signing import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    SigningKey,
    TrustedKeys,
    load_or_create_keypair,
    sign_folder,
    verify_folder,
)

TASK, VERSION = "breast_cancer", "v1.1"


@pytest.fixture
def folder(tmp_path: Path, signer: SigningKey) -> Path:
    d = tmp_path / "v1.1"
    d.mkdir()
    (d / "model.safetensors").write_bytes(b"\x00weights" * 64)
    (d / "config.json").write_text('{"n_features": 30}')
    (d / "README.md").write_text("---\nlicense: other\n---\n")
    sign_folder(d, task=TASK, version=VERSION, signer=signer)
    return d


def verify(folder: Path, trusted) -> dict:
    return verify_folder(folder, trusted, task=TASK, version=VERSION)


def test_roundtrip(folder, signer):
    manifest = verify(folder, TrustedKeys.of(signer))
    assert manifest["key_id"] == signer.key_id and len(signer.key_id) == 16
    assert set(manifest["files"]) == {"model.safetensors", "config.json", "README.md"}
    assert manifest["algorithm"] == "ed25519" and manifest["task"] == TASK and manifest["version"] == VERSION


def test_tampered_file_is_refused(folder, signer):
    (folder / "model.safetensors").write_bytes(b"\x01weights" * 64)
    with pytest.raises(SignatureError, match=r"^v1.1 of breast_cancer: model.safetensors does not match its signed digest \(tampered\?\)$"):
        verify(folder, TrustedKeys.of(signer))


def test_extra_file_is_refused(folder, signer):
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(SignatureError, match="pytorch_model.bin is not covered by the signature"):
        verify(folder, TrustedKeys.of(signer))


def test_extra_folder_is_refused(folder, signer):
    (folder / "sub").mkdir()
    with pytest.raises(SignatureError, match="unexpected folder sub/"):
        verify(folder, TrustedKeys.of(signer))


def test_missing_file_is_refused(folder, signer):
    (folder / "config.json").unlink()
    with pytest.raises(SignatureError, match="signed file config.json is missing"):
        verify(folder, TrustedKeys.of(signer))


def test_unsigned_version_is_refused(folder, signer):
    (folder / "signature.json").unlink()
    with pytest.raises(SignatureError, match=r"^v1.1 of breast_cancer is not signed"):
        verify(folder, TrustedKeys.of(signer))


def test_untrusted_key_is_refused(folder, signer):
    other = SigningKey.generate()
    with pytest.raises(SignatureError, match=f"signed by untrusted key {signer.key_id} \\(trusted: {other.key_id}\\)"):
        verify(folder, TrustedKeys.of(other))
    with pytest.raises(SignatureError, match="trusted: none"):
        verify(folder, TrustedKeys())


def test_altered_manifest_is_refused(folder, signer):
    # an attacker replaces the weights and rewrites the digest in the manifest: the signature breaks
    (folder / "model.safetensors").write_bytes(b"evil")
    manifest = json.loads((folder / "signature.json").read_text())
    import hashlib

    manifest["files"]["model.safetensors"] = hashlib.sha256(b"evil").hexdigest()
    (folder / "signature.json").write_text(json.dumps(manifest))
    with pytest.raises(SignatureError, match="the signature does not verify"):
        verify(folder, TrustedKeys.of(signer))


def test_signature_of_another_version_is_refused(folder, signer):
    # a correctly signed v1.1 copied to the name v1.2 must not pass as v1.2
    with pytest.raises(SignatureError, match=r"made for v1.1 of breast_cancer \(copied from another version\?\)"):
        verify_folder(folder, TrustedKeys.of(signer), task=TASK, version="v1.2")


@pytest.mark.parametrize("content", [b"not json", b'{"task": "x"}', b"[]"])
def test_malformed_manifest_is_refused(folder, signer, content):
    (folder / "signature.json").write_bytes(content)
    with pytest.raises(SignatureError, match="signature.json is"):
        verify(folder, TrustedKeys.of(signer))


def test_manifest_cannot_name_paths_outside_the_folder(folder, signer):
    manifest = json.loads((folder / "signature.json").read_text())
    manifest["files"]["../../etc/passwd"] = "0" * 64
    (folder / "signature.json").write_text(json.dumps(manifest))
    with pytest.raises(SignatureError, match="malformed"):
        verify(folder, TrustedKeys.of(signer))


def test_key_save_load_and_permissions(tmp_path, signer):
    path = signer.save(tmp_path / "k.pem")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = SigningKey.load(path)
    assert loaded.key_id == signer.key_id
    assert "PRIVATE" not in repr(loaded)
    pub = signer.save_public(tmp_path / "k.pub.pem")
    trusted = TrustedKeys.of(pub, signer.public_pem.decode(), signer.public_pem)
    assert trusted.ids == [signer.key_id] and signer.key_id in trusted


def test_bad_key_files_give_clear_errors(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("hello")
    with pytest.raises(RegistryError, match="not an unencrypted PEM private key"):
        SigningKey.load(bad)
    with pytest.raises(RegistryError, match="signing key not found"):
        SigningKey.load(tmp_path / "missing.pem")
    with pytest.raises(RegistryError, match="not a PEM public key"):
        TrustedKeys.of(bad)
    with pytest.raises(RegistryError, match="trusted key file not found"):
        TrustedKeys.of(tmp_path / "missing.pub")


def test_load_or_create_keypair_is_stable(tmp_path):
    first = load_or_create_keypair(tmp_path)
    second = load_or_create_keypair(tmp_path)
    assert first.key_id == second.key_id
    keys = tmp_path / "keys"
    assert stat.S_IMODE((keys / PRIVATE_KEY_FILE).stat().st_mode) == 0o600
    assert TrustedKeys.of(keys / PUBLIC_KEY_FILE).ids == [first.key_id]
    assert sorted(p.name for p in keys.iterdir()) == [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]
