"""The aggregation service's private CA, its SuperLink server certificate and the hospitals' node keys.

Made with `cryptography` (no openssl subprocess). On first start the aggregator creates, in its state
folder, a CA (`ca.pem` / `ca.key`) and a server certificate (`server.pem` / `server.key`) whose subject
alternative names are the addresses hospitals dial; a later start with a new address re-issues the server
certificate from the same CA, so enrolled nodes keep trusting it. Private keys are written 0600.

A hospital's node key pair is an EC P-384 key, the format flwr 1.32.1 reads: the private key as an
OpenSSH private key (`flower-supernode --auth-supernode-private-key`) and the public key as an OpenSSH
public key line (what the SuperLink's Control API `RegisterNode` takes).
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825
MAX_PUBLIC_KEY_BYTES = 1024


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


class ServicePki:
    """The CA and server certificate in `folder` (created on first use)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.ca_cert = self.folder / "ca.pem"
        self.ca_key = self.folder / "ca.key"
        self.server_cert = self.folder / "server.pem"
        self.server_key = self.folder / "server.key"

    def ensure(self, hosts: list[str]) -> ServicePki:
        """Create the CA if missing; (re-)issue the server certificate unless it already covers `hosts`."""
        if not (self.ca_cert.is_file() and self.ca_key.is_file()):
            self._make_ca()
        if not self._covers(hosts):
            self._issue_server(hosts)
        return self

    def ca_pem(self) -> str:
        return self.ca_cert.read_text()

    def _make_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP384R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MedHive"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "MedHive aggregation service CA")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=CA_DAYS))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA384()))
        _write_private(self.ca_key, _pem_key(key))
        self.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.server_cert.unlink(missing_ok=True)

    def _covers(self, hosts: list[str]) -> bool:
        if not (self.server_cert.is_file() and self.server_key.is_file()):
            return False
        cert = x509.load_pem_x509_certificate(self.server_cert.read_bytes())
        ca = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        if cert.issuer != ca.subject or cert.not_valid_after_utc < datetime.now(UTC) + timedelta(days=30):
            return False
        have = {str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value}
        return {str(next(iter(_san([h]))).value) for h in hosts} <= have

    def _issue_server(self, hosts: list[str]) -> None:
        ca_key = serialization.load_pem_private_key(self.ca_key.read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate(self.ca_cert.read_bytes())
        key = ec.generate_private_key(ec.SECP384R1())
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
                .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=SERVER_DAYS))
                .add_extension(_san(hosts), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA384()))  # type: ignore[arg-type]
        _write_private(self.server_key, _pem_key(key))
        self.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


# ----- a hospital node's key pair ------------------------------------------------------------------
def node_key_paths(state_dir: Path) -> tuple[Path, Path]:
    keys = Path(state_dir) / "keys"
    return keys / "supernode", keys / "supernode.pub"


def ensure_node_keys(state_dir: Path) -> tuple[Path, str]:
    """The node's private key file and its public key (OpenSSH line), created on first use."""
    private, public = node_key_paths(state_dir)
    if not private.is_file():
        key = ec.generate_private_key(ec.SECP384R1())
        _write_private(private, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                  serialization.NoEncryption()))
        public.write_bytes(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                         serialization.PublicFormat.OpenSSH) + b"\n")
    return private, public.read_text().strip()


def check_public_key(text: str) -> str:
    """An OpenSSH EC public key line on a NIST curve (what the SuperLink accepts), normalized; else ValueError."""
    if len(text) > MAX_PUBLIC_KEY_BYTES:
        raise ValueError("public key too long")
    try:
        key = serialization.load_ssh_public_key(text.strip().encode())
    except (ValueError, TypeError) as exc:
        raise ValueError("not an OpenSSH public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise ValueError("the node key must be an EC key on a NIST curve (P-256, P-384, P-521)")
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
