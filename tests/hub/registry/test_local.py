"""The local registry: publish, versions, aliases, promotion, rollback, history and safe loading."""

from __future__ import annotations

import json

import pytest
import torch

from hub.errors import RegistryError, SignatureError, VersionNotFoundError
from hub.registry import NOT_A_DIAGNOSIS, Lineage, LocalRegistry, SigningKey, TrustedKeys, open_registry, parse_card
from hub.registry.hf import HuggingFaceRegistry
from hub.registry.signing import sign_folder

TASK = "breast_cancer"


def test_publish_numbers_versions_and_roundtrips_metadata(registry, make_network, publish):
    first = publish(registry, make_network(0), samples=426)
    second = publish(registry, make_network(1), alias="candidate", accuracy=0.95, parent="v1.0",
                     source="federated", rounds=4, hospitals=3, samples=1500, strategy="FedAvg", epsilon=2.0,
                     delta=1e-5, secure_aggregation=True, notes="round 4")
    assert (first.version, second.version) == ("v1.0", "v1.1")
    listed = registry.versions(TASK)
    assert [v.version for v in listed] == ["v1.0", "v1.1"]
    v11 = registry.info(TASK, "candidate")
    assert v11.metrics == {"accuracy": 0.95, "roc_auc": 0.95}
    assert v11.lineage == Lineage(parent="v1.0", source="federated", rounds=4, hospitals=3, samples=1500,
                                  strategy="FedAvg", epsilon=2.0, delta=1e-5, secure_aggregation=True, notes="round 4")
    assert v11.data == {"dataset": "WDBC", "train_cases": 426}
    assert v11.aliases == ["candidate"] and listed[0].aliases == ["production"]
    assert v11.signed_by == registry.signer.key_id and len(v11.digest) == 64
    assert v11.created_at.endswith("+00:00")
    assert v11.to_dict()["lineage"]["hospitals"] == 3
    assert registry.tasks() == [TASK]


def test_version_folder_is_laid_out_like_a_hub_repo(registry, make_network, publish):
    publish(registry, make_network())
    folder = registry.fetch(TASK, "v1.0")
    assert folder == registry.root / TASK / "versions" / "v1.0"
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md", "config.json", "lineage.json", "model.safetensors", "signature.json"]
    meta = parse_card((folder / "README.md").read_text())
    assert meta["library_name"] == "medhive" and meta["medhive"]["version"] == "v1.0"
    assert NOT_A_DIAGNOSIS in (folder / "README.md").read_text()
    assert json.loads((folder / "lineage.json").read_text())["source"] == "baseline"
    assert json.loads((registry.root / TASK / "refs.json").read_text()) == {"production": "v1.0"}


def test_explicit_version_and_immutability(registry, make_network, publish):
    info = registry.publish(TASK, make_network(), metrics={}, lineage=Lineage(), version="v2.0")
    assert info.version == "v2.0"
    assert publish(registry, make_network()).version == "v2.1"
    with pytest.raises(RegistryError, match="v2.0 of breast_cancer already exists"):
        registry.publish(TASK, make_network(), metrics={}, lineage=Lineage(), version="v2.0")
    with pytest.raises(RegistryError, match="invalid version"):
        registry.publish(TASK, make_network(), metrics={}, lineage=Lineage(), version="2.0")


def test_publish_refuses_bad_arguments(tmp_path, registry, make_network):
    net = make_network()
    with pytest.raises(RegistryError, match="unknown alias"):
        registry.publish(TASK, net, metrics={}, lineage=Lineage(), alias="staging")
    with pytest.raises(RegistryError, match="must be a finite number"):
        registry.publish(TASK, net, metrics={"auc": float("nan")}, lineage=Lineage())
    with pytest.raises(RegistryError, match="expects a TabularNet"):
        registry.publish(TASK, torch.nn.Linear(2, 2), metrics={}, lineage=Lineage())
    with pytest.raises(RegistryError, match="no signing key"):
        LocalRegistry(tmp_path / "r2").publish(TASK, net, metrics={}, lineage=Lineage())
    with pytest.raises(RegistryError, match="invalid task name"):
        registry.versions("../etc")
    assert registry.versions(TASK) == []


def test_resolve_errors_list_what_exists(registry, make_network, publish):
    with pytest.raises(VersionNotFoundError, match="no versions of breast_cancer in the local registry"):
        registry.resolve(TASK)
    publish(registry, make_network())
    publish(registry, make_network(), alias=None)
    assert registry.resolve(TASK, "latest") == "v1.1"
    with pytest.raises(VersionNotFoundError, match=r"no version or alias 'v9.9'; versions: v1.0, v1.1; aliases: production -> v1.0"):
        registry.resolve(TASK, "v9.9")
    with pytest.raises(VersionNotFoundError, match="alias 'candidate' is not set"):
        registry.resolve(TASK, "candidate")


def test_promote_rollback_and_history(registry, make_network, publish):
    publish(registry, make_network(0))
    publish(registry, make_network(1), alias="candidate")
    publish(registry, make_network(2), alias="candidate")
    ev = registry.promote(TASK, "v1.1", actor="admin", note="better AUC")
    assert (ev.action, ev.version, ev.previous, ev.alias, ev.actor) == ("promote", "v1.1", "v1.0", "production", "admin")
    ev = registry.promote(TASK, "candidate")  # an alias works as the version to promote; it is then cleared
    assert (ev.version, ev.previous) == ("v1.2", "v1.1")
    assert registry.resolve(TASK) == "v1.2"
    with pytest.raises(VersionNotFoundError, match="alias 'candidate' is not set"):
        registry.resolve(TASK, "candidate")

    back = registry.rollback(TASK, actor="admin", note="regression")
    assert (back.action, back.version, back.previous) == ("rollback", "v1.1", "v1.2")
    assert registry.rollback(TASK).version == "v1.0"  # rollback again walks further back, not forth
    assert registry.resolve(TASK) == "v1.0"
    with pytest.raises(RegistryError, match="no earlier production version to roll back to \\(production is v1.0\\)"):
        registry.rollback(TASK)

    actions = [(e.action, e.version, e.alias) for e in registry.history(TASK)]
    assert actions == [
        ("publish", "v1.0", "production"), ("publish", "v1.1", "candidate"), ("publish", "v1.2", "candidate"),
        ("promote", "v1.1", "production"), ("promote", "v1.2", "production"), ("demote", "v1.2", "candidate"),
        ("rollback", "v1.1", "production"), ("rollback", "v1.0", "production"),
    ]
    # the history file is append-only JSON lines
    lines = (registry.root / TASK / "history.jsonl").read_text().splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["action"] == "publish"


def test_demote_and_promote_errors(registry, make_network, publish):
    publish(registry, make_network())
    publish(registry, make_network(), alias="candidate")
    ev = registry.demote(TASK, "candidate", actor="admin")
    assert (ev.action, ev.version, ev.alias) == ("demote", "v1.1", "candidate")
    with pytest.raises(RegistryError, match="not set"):
        registry.demote(TASK, "candidate")
    with pytest.raises(RegistryError, match="only the candidate alias"):
        registry.demote(TASK, "production")
    with pytest.raises(VersionNotFoundError):
        registry.promote(TASK, "v3.0")
    with pytest.raises(RegistryError, match="unknown alias"):
        registry.promote(TASK, "v1.1", alias="latest")


def test_load_gives_the_published_weights_in_eval_mode(registry, make_network, publish):
    net = make_network(3)
    publish(registry, net)
    loaded = registry.load(TASK)
    assert loaded.version == "v1.0" and loaded.info.version == "v1.0" and loaded.path.is_dir()
    assert not loaded.network.training
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[key], value)


def test_load_refuses_tampered_unsigned_and_untrusted_versions(tmp_path, registry, make_network, publish, signer):
    publish(registry, make_network())
    folder = registry.root / TASK / "versions" / "v1.0"
    other = LocalRegistry(registry.root, signer=None, trusted_keys=TrustedKeys.of(SigningKey.generate()))
    with pytest.raises(SignatureError, match="signed by untrusted key"):
        other.load(TASK)
    assert other.versions(TASK) == []  # never listed as usable

    weights = folder / "model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:-4] + b"\0\0\0\0")
    with pytest.raises(SignatureError, match="v1.0 of breast_cancer: model.safetensors does not match its signed digest"):
        registry.load(TASK)
    weights.write_bytes(original)

    (folder / "signature.json").unlink()
    with pytest.raises(SignatureError, match="v1.0 of breast_cancer is not signed"):
        registry.load(TASK, "v1.0")
    assert registry.versions(TASK) == []


def test_load_refuses_a_pickle_weights_file_even_if_signed(registry, make_network, publish, signer):
    publish(registry, make_network())
    folder = registry.root / TASK / "versions" / "v1.0"
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(SignatureError, match="pytorch_model.bin is not covered by the signature"):
        registry.load(TASK)
    sign_folder(folder, task=TASK, version="v1.0", signer=signer)  # even a signed pickle is never loaded
    with pytest.raises(RegistryError, match="refusing to load a folder containing pytorch_model.bin"):
        registry.load(TASK)


def test_load_refuses_a_version_without_safetensors(registry, make_network, publish, signer):
    publish(registry, make_network())
    folder = registry.root / TASK / "versions" / "v1.0"
    (folder / "model.safetensors").unlink()
    sign_folder(folder, task=TASK, version="v1.0", signer=signer)
    with pytest.raises(RegistryError, match="model.safetensors is missing|model.safetensors is not covered"):
        registry.load(TASK)


def test_open_registry_specs(tmp_path, signer):
    local = open_registry("local", home=tmp_path, signer=signer, trusted_keys=None)
    assert isinstance(local, LocalRegistry) and local.root == tmp_path / "registry"
    assert signer.key_id in local.trusted
    path = open_registry(str(tmp_path / "elsewhere"), home=tmp_path, signer=signer, trusted_keys=None)
    assert isinstance(path, LocalRegistry) and path.root == tmp_path / "elsewhere"
    hf = open_registry("hf://acme", home=tmp_path, signer=signer, trusted_keys=None, endpoint="http://127.0.0.1:9")
    assert isinstance(hf, HuggingFaceRegistry) and hf.repo_id(TASK) == "acme/medhive-breast_cancer"
    assert hf.cache_dir == tmp_path / "hf-cache" and hf.api.endpoint == "http://127.0.0.1:9"
    with pytest.raises(RegistryError, match="unknown registry"):
        open_registry("s3://bucket", home=tmp_path, signer=signer, trusted_keys=None)
