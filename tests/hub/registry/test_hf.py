"""The Hugging Face backend, run for real (HfApi, create_commit, hf_hub_download) against `fake_hub`.

What this covers: every Hub route the backend uses, in the wire format huggingface_hub 2.4 speaks
(repo creation, preupload, the LFS batch upload of model.safetensors, NDJSON commits with parent_commit
compare-and-swap, tags, branches, refs, repo info, HEAD/GET file resolution with ETag / X-Repo-Commit),
the mapping of versions to tags and of aliases/history to files on main, and tamper detection at
download. Not covered: Xet transfers (the fake server never offers them; these tests switch Xet off),
authentication beyond a bearer token, rate limits, and the real Hub's metadata validation rules.
"""

from __future__ import annotations

import json
import threading

import huggingface_hub.constants as hf_constants
import pytest
import torch

from hub.errors import RegistryError, SignatureError, VersionNotFoundError
from hub.registry import Event, Lineage, SigningKey, TrustedKeys, open_registry, parse_card
from hub.registry.base import now_iso
from hub.registry.hf import HuggingFaceRegistry

from .fake_hub import FakeHub

pytestmark = pytest.mark.integration

TOKEN = "hf_test_token"
TASK = "breast_cancer"
REPO = "acme/medhive-breast_cancer"


@pytest.fixture(scope="module")
def served():
    hub = FakeHub(token=TOKEN)
    with hub.serve() as url:
        yield hub, url


@pytest.fixture
def fake_hub(served, monkeypatch):
    hub, url = served
    hub.reset()
    hub.lfs_suffixes = (".safetensors",)
    # conftest switches the Hub off for every test; these tests talk to the loopback server only.
    # huggingface_hub reads its env once at import, so its constants are patched as well.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    hub.url = url
    return hub


@pytest.fixture
def hf(fake_hub, tmp_path, signer) -> HuggingFaceRegistry:
    return HuggingFaceRegistry("acme", cache_dir=tmp_path / "hf-cache", signer=signer, endpoint=fake_hub.url, token=TOKEN)


def test_publish_versions_promote_rollback(hf, fake_hub, make_network, publish):
    assert hf.tasks() == []
    with pytest.raises(VersionNotFoundError, match="no versions of breast_cancer in hf://acme"):
        hf.resolve(TASK)
    publish(hf, make_network(0), samples=426)
    publish(hf, make_network(1), alias="candidate", parent="v1.0", source="federated", rounds=3, hospitals=2,
            samples=900, strategy="FedAvg", epsilon=1.5, delta=1e-5)
    assert hf.tasks() == [TASK]
    listed = hf.versions(TASK)
    assert [(v.version, v.aliases) for v in listed] == [("v1.0", ["production"]), ("v1.1", ["candidate"])]
    assert listed[1].lineage == Lineage(parent="v1.0", source="federated", rounds=3, hospitals=2, samples=900,
                                        strategy="FedAvg", epsilon=1.5, delta=1e-5)
    assert listed[1].metrics == {"accuracy": 0.9, "roc_auc": 0.95}

    assert hf.promote(TASK, "candidate", actor="admin").previous == "v1.0"
    assert hf.resolve(TASK) == "v1.1"
    assert hf.rollback(TASK, actor="admin").version == "v1.0"
    with pytest.raises(RegistryError, match="no earlier production version"):
        hf.rollback(TASK)
    assert [(e.action, e.version) for e in hf.history(TASK)] == [
        ("publish", "v1.0"), ("publish", "v1.1"), ("promote", "v1.1"), ("demote", "v1.1"), ("rollback", "v1.0")]


def test_repo_layout_on_the_hub(hf, fake_hub, make_network, publish):
    publish(hf, make_network(0))
    publish(hf, make_network(1), alias="candidate")
    repo = fake_hub.repos[REPO]
    assert set(repo.tags) == {"v1.0", "v1.1"}
    tagged = repo.commits[repo.tags["v1.1"]].files
    # the version's files flat at the root, the weights stored through LFS
    assert {"model.safetensors", "config.json", "README.md", "lineage.json", "signature.json"} <= set(tagged)
    assert tagged["model.safetensors"].lfs and not tagged["config.json"].lfs
    assert parse_card(tagged["README.md"].data.decode())["medhive"]["version"] == "v1.1"
    # aliases and history on main; aliases mirrored as branches at the version's commit
    assert json.loads(fake_hub.file(REPO, "main", "aliases.json")) == {"candidate": "v1.1", "production": "v1.0"}
    assert len(fake_hub.file(REPO, "main", "history.jsonl").splitlines()) == 2
    assert repo.branches["production"] == repo.tags["v1.0"] and repo.branches["candidate"] == repo.tags["v1.1"]
    hf.promote(TASK, "v1.1")
    assert repo.branches["production"] == repo.tags["v1.1"] and "candidate" not in repo.branches
    assert {
        "POST /api/repos/create", "POST /api/validate-yaml", "POST /api/models/{repo}/preupload/{rev}",
        "POST /{repo}.git/info/lfs/objects/batch", "PUT /_fake_lfs/{oid}", "POST /api/models/{repo}/commit/{rev}",
        "POST /api/models/{repo}/tag/{rev}", "GET /api/models/{repo}/refs", "GET /api/models/{repo}/revision/{rev}",
        "POST /api/models/{repo}/branch/{rev}", "DELETE /api/models/{repo}/branch/{name}",
        "HEAD /{repo}/resolve/{rev}/{path}", "GET /{repo}/resolve/{rev}/{path}",
    } <= fake_hub.routes_used()


def test_fetch_by_tag_and_load(hf, fake_hub, make_network, publish, tmp_path, signer):
    net = make_network(5)
    publish(hf, net)
    publish(hf, make_network(6), alias="candidate")
    fake_hub.calls.clear()
    loaded = hf.load(TASK, "v1.0")
    assert "HEAD /{repo}/resolve/{rev}/{path}" in fake_hub.routes_used()
    assert sorted(p.name for p in loaded.path.iterdir()) == [
        "README.md", "config.json", "lineage.json", "model.safetensors", "signature.json"]
    assert not loaded.network.training
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.network.state_dict()[key], value)
    # a second client with only the public key (what a hospital or a Space holds) loads the same version
    reader = HuggingFaceRegistry("acme", cache_dir=tmp_path / "other-cache", trusted_keys=TrustedKeys.of(signer.public_pem),
                                 endpoint=fake_hub.url)
    assert reader.load(TASK).version == "v1.0" and reader.load(TASK, "candidate").version == "v1.1"
    with pytest.raises(RegistryError, match="no signing key"):
        reader.publish(TASK, net, metrics={}, lineage=Lineage())


def test_a_damaged_local_copy_is_replaced_from_the_hub(hf, fake_hub, make_network, publish):
    net = make_network(4)
    publish(hf, net)
    first = hf.load(TASK)
    (first.path / "model.safetensors").write_bytes(b"damaged")
    again = hf.load(TASK)  # the verified copy no longer verifies: rebuilt from the (intact) Hub files
    assert again.path == first.path
    assert torch.equal(again.network.state_dict()["mean"], net.state_dict()["mean"])


def test_a_file_changed_on_the_hub_is_refused(hf, fake_hub, make_network, publish, tmp_path, signer):
    publish(hf, make_network())
    assert hf.load(TASK).version == "v1.0"
    good = fake_hub.file(REPO, "v1.0", "model.safetensors")
    # someone with write access commits other weights and moves the tag
    fake_hub.tamper(REPO, "v1.0", "model.safetensors", good[:-4] + b"\x00\x00\x00\x00")
    with pytest.raises(SignatureError, match="^v1.0 of breast_cancer: model.safetensors does not match its signed digest"):
        hf.load(TASK)


def test_storage_altered_in_place_is_refused_by_a_fresh_client(hf, fake_hub, make_network, publish, tmp_path, signer):
    publish(hf, make_network())
    fake_hub.tamper(REPO, "v1.0", "config.json", b'{"n_features": 30, "n_classes": 2, "hidden": [64]}', in_place=True)
    fresh = HuggingFaceRegistry("acme", cache_dir=tmp_path / "fresh", trusted_keys=TrustedKeys.of(signer),
                                endpoint=fake_hub.url)
    with pytest.raises(SignatureError, match="config.json does not match its signed digest"):
        fresh.load(TASK)


def test_unsigned_and_untrusted_versions_are_refused(hf, fake_hub, make_network, publish, tmp_path):
    publish(hf, make_network())
    stranger = HuggingFaceRegistry("acme", cache_dir=tmp_path / "s", trusted_keys=TrustedKeys.of(SigningKey.generate()),
                                   endpoint=fake_hub.url)
    assert stranger.versions(TASK) == []
    with pytest.raises(SignatureError, match="signed by untrusted key"):
        stranger.load(TASK)
    repo = fake_hub.repos[REPO]
    tagged = repo.commits[repo.tags["v1.0"]]
    del tagged.files["signature.json"]
    fresh = HuggingFaceRegistry("acme", cache_dir=tmp_path / "f", trusted_keys=hf.trusted, endpoint=fake_hub.url)
    with pytest.raises(SignatureError, match="v1.0 of breast_cancer is not signed"):
        fresh.load(TASK, "v1.0")


def test_concurrent_publishers_do_not_clash(fake_hub, tmp_path, signer, make_network, publish):
    registries = [HuggingFaceRegistry("acme", cache_dir=tmp_path / f"c{i}", signer=signer, endpoint=fake_hub.url,
                                      token=TOKEN) for i in range(3)]
    publish(registries[0], make_network())
    versions, errors = [], []

    def run(reg):
        try:
            versions.append(publish(reg, make_network(), alias="candidate").version)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in registries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert sorted(versions) == ["v1.1", "v1.2", "v1.3"]
    assert [v.version for v in registries[0].versions(TASK)] == ["v1.0", "v1.1", "v1.2", "v1.3"]
    assert sorted(e.version for e in registries[0].history(TASK)) == ["v1.0", "v1.1", "v1.2", "v1.3"]


def test_alias_moves_are_compare_and_swap(hf, fake_hub, tmp_path, signer, make_network, publish):
    publish(hf, make_network())
    publish(hf, make_network(), alias="candidate")
    other = HuggingFaceRegistry("acme", cache_dir=tmp_path / "other", signer=signer, endpoint=fake_hub.url, token=TOKEN)
    seen = []

    def change(aliases, events):
        seen.append(dict(aliases))
        if len(seen) == 1:
            other.demote(TASK, "candidate")  # another writer commits to main after we read it
        aliases["production"] = "v1.1"
        return [Event(time=now_iso(), action="promote", task=TASK, version="v1.1", alias="production", previous="v1.0")]

    hf._transact(TASK, change)
    # our first commit was refused (412, stale parent) and the change re-applied to the new state
    assert seen == [{"production": "v1.0", "candidate": "v1.1"}, {"production": "v1.0"}]
    assert json.loads(fake_hub.file(REPO, "main", "aliases.json")) == {"production": "v1.1"}
    assert [e.action for e in hf.history(TASK)] == ["publish", "publish", "demote", "promote"]


def test_regular_uploads_when_the_hub_asks_for_no_lfs(hf, fake_hub, make_network, publish):
    fake_hub.lfs_suffixes = ()
    publish(hf, make_network())
    assert "POST /{repo}.git/info/lfs/objects/batch" not in fake_hub.routes_used()
    assert hf.load(TASK).version == "v1.0"


def test_errors_are_one_line(fake_hub, tmp_path, signer, make_network, monkeypatch):
    wrong = HuggingFaceRegistry("acme", cache_dir=tmp_path / "w", signer=signer, endpoint=fake_hub.url, token="nope")
    with pytest.raises(RegistryError, match="HTTP 401") as err:
        wrong.publish(TASK, make_network(), metrics={}, lineage=Lineage())
    assert "\n" not in str(err.value)
    down = HuggingFaceRegistry("acme", cache_dir=tmp_path / "d", signer=signer, endpoint="http://127.0.0.1:9", token=TOKEN)
    with pytest.raises(RegistryError, match="cannot") as err:
        down.versions(TASK)
    assert "\n" not in str(err.value)
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(RegistryError, match="HF_HUB_OFFLINE is set"):
        HuggingFaceRegistry("acme", cache_dir=tmp_path / "o", endpoint=fake_hub.url).tasks()


def test_selected_by_configuration_with_hf_endpoint(fake_hub, tmp_path, signer, make_network, publish, monkeypatch):
    # endpoint and token left to huggingface_hub's own configuration (HF_ENDPOINT, HF_TOKEN)
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setattr(hf_constants, "ENDPOINT", fake_hub.url)
    monkeypatch.setattr(hf_constants, "HUGGINGFACE_CO_URL_TEMPLATE", fake_hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    registry = open_registry("hf://acme", home=tmp_path, signer=signer, trusted_keys=None)
    assert registry.api.endpoint == fake_hub.url
    publish(registry, make_network())
    assert registry.load(TASK).version == "v1.0"
    assert (tmp_path / "hf-cache").is_dir()
