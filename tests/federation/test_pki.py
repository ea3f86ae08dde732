"""The aggregation service's CA and server certificate, and the node key pair, as Flower 1.32.1 reads them."""

from __future__ import annotations

import ipaddress
import ssl
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from federation import flower_cli
from federation.aggregator import Aggregator, AggregatorConfig, Policy, is_loopback
from federation.errors import FederationError
from federation.pki import ServicePki, ensure_node_keys
from hub.accounts.governance import check_public_key


def _sans(path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}


def test_ca_and_server_certificate_chain_and_names(tmp_path):
    pki = ServicePki(tmp_path / "pki").ensure(["fl.example.org", "10.213.1.1", "127.0.0.1"])
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(pki.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)  # raises if the signature or issuer is wrong
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert _sans(pki.server_cert) == {"fl.example.org", "10.213.1.1", "127.0.0.1"}
    for key in (pki.ca_key, pki.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # Python's own TLS stack accepts the pair and trusts the chain (what gRPC's BoringSSL checks too)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    client = ssl.create_default_context(cafile=str(pki.ca_cert))
    assert client.cert_store_stats()["x509_ca"] == 1
    # same names: kept; a new address: re-issued from the same CA (enrolled nodes keep trusting it)
    before = pki.server_cert.read_bytes()
    pki.ensure(["fl.example.org"])
    assert pki.server_cert.read_bytes() == before
    ca_before = pki.ca_cert.read_bytes()
    pki.ensure(["fl2.example.org"])
    assert pki.ca_cert.read_bytes() == ca_before and "fl2.example.org" in _sans(pki.server_cert)
    x509.load_pem_x509_certificate(pki.server_cert.read_bytes()).verify_directly_issued_by(ca)


def test_node_keys_are_what_flower_loads_and_the_hub_accepts(tmp_path):
    private, public = ensure_node_keys(tmp_path / "node")
    assert ensure_node_keys(tmp_path / "node") == (private, public)  # made once
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    # flower-supernode reads the private key like this (flwr/supernode/cli/flower_supernode.py)
    key = serialization.load_ssh_private_key(private.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
    assert check_public_key(public) == public
    # the Control API receives the key in the encoding `flwr supernode register` sends
    from flwr.supercore.primitives.asymmetric import bytes_to_public_key

    assert bytes_to_public_key(flower_cli._ssh_to_der(public)).public_numbers() == key.public_key().public_numbers()
    assert flower_cli._der_to_ssh(flower_cli._ssh_to_der(public)) == public


def test_insecure_only_on_loopback(tmp_path):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback(str(ipaddress.ip_address("::1")))
    assert not is_loopback("0.0.0.0") and not is_loopback("fl.example.org")
    with pytest.raises(FederationError, match="loopback"):
        Aggregator(AggregatorConfig(state_dir=tmp_path / "a", store_url=f"sqlite:///{tmp_path / 'a.db'}",
                                    policies={"breast_cancer": Policy()}, host="0.0.0.0", insecure=True))
    with pytest.raises(FederationError, match="unknown federation policy"):
        Policy.of({"min_hospital": 3})
    with pytest.raises(FederationError):
        Policy.of({"min_hospitals": 1})
