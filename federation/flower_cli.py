"""Every Flower command line and Control API call MedHive makes, in one place (flwr 1.32.1).

A Flower upgrade changes flags and the SuperNode registration flow (1.42 serves Fleet, Control and the
runtime APIs on one port): this module is the one to change. Checked against the installed 1.32.1 source:

- `flower-superlink --enable-supernode-auth` needs TLS (`--ssl-ca-certfile/--ssl-certfile/--ssl-keyfile`);
  the old `--auth-list-public-keys` CSV is refused ("no longer supported"). Keys are registered at run time
  through the Control API (`RegisterNode(public_key)`, what `flwr supernode register` sends) and revoked with
  `UnregisterNode(node_id)`; `ListNodes` reports each node's status (`online`, `offline`, `registered`, ...).
  So the aggregator registers an enrolled hospital's key without a restart.
- `flower-supernode --root-certificates CA --auth-supernode-private-key KEY`: the key is an OpenSSH EC
  private key on a NIST curve (see `federation.pki`).
- The ServerAppIo API stays plaintext on 127.0.0.1: only the SuperLink's own `flower-superexec` uses it.
- `--disable-runtime-dependency-installation`: otherwise the SuperLink runs `uv sync` for the app (offline).
- Telemetry: every Flower process (`flwr.supercore.telemetry`) sends a start and an exit event with platform
  details to telemetry.flower.ai unless `FLWR_TELEMETRY_ENABLED=0`, and its exit waits up to 4 s for that
  request. A hospital's node must not call out to a third party, and with no network each call costs a DNS
  timeout: MedHive's Flower processes start with it off unless the operator sets the variable.

The executables are found next to this Python interpreter, never on PATH; a SuperNode runs as this
interpreter's `-m federation.flower_runtime supernode` (Flower's SuperNode with shorter polls).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
TELEMETRY_VARIABLE = "FLWR_TELEMETRY_ENABLED"


def process_env(base: dict[str, str], *, flwr_home: Path | None = None) -> dict[str, str]:
    """The environment for a Flower process: the SuperLink and SuperNode start `flower-superexec` and
    `flwr-serverapp` / `flwr-clientapp` *by name*, so this environment's bin folder goes first on PATH."""
    import os

    env = {**base, "PYTHONUNBUFFERED": "1", "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}"}
    env.setdefault(TELEMETRY_VARIABLE, "0")  # see the module note: no call to telemetry.flower.ai by default
    if flwr_home is not None:
        env["FLWR_HOME"] = str(flwr_home)
    return env


def exe(name: str) -> str:
    """A Flower executable of this environment (`flower-superlink`, `flower-supernode`, `flwr`, ...)."""
    return str(BIN / name)


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path


def superlink_args(*, database: Path, fleet: str, control: str, serverappio: str, tls: Tls | None,
                   node_auth: bool) -> list[str]:
    args = [exe("flower-superlink"), "--disable-runtime-dependency-installation", "--database", str(database),
            "--serverappio-api-address", serverappio, "--fleet-api-address", fleet,
            "--control-api-address", control]
    if tls is None:
        args.append("--insecure")
    else:
        args += ["--ssl-ca-certfile", str(tls.ca), "--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key)]
    if node_auth:
        args.append("--enable-supernode-auth")
    return args


def supernode_args(*, superlink: str, clientappio: str, node_config: str, root_certificates: Path | None,
                   private_key: Path | None, poll: float | None = None, fork: bool = True) -> list[str]:
    """`flower-supernode`'s command line, run through `federation.flower_runtime` (Flower's own SuperNode
    with idle polls of `poll` s instead of its fixed 3 s / 1 s, and a lighter `flwr-clientapp` start);
    `poll=None`: that module's default; `fork` (default): each message's app process is forked from a server
    that has imported Flower's ClientApp runtime (`flower_runtime.ForkServer`), else a fresh interpreter."""
    from federation.flower_runtime import DEFAULT_POLL

    runtime = [sys.executable, "-m", "federation.flower_runtime", "supernode", "--poll",
               repr(float(DEFAULT_POLL if poll is None else poll)), *(["--fork"] if fork else [])]
    return runtime + _supernode_flags(superlink=superlink, clientappio=clientappio, node_config=node_config,
                                      root_certificates=root_certificates, private_key=private_key)


def _supernode_flags(*, superlink: str, clientappio: str, node_config: str, root_certificates: Path | None,
                     private_key: Path | None) -> list[str]:
    args = ["--superlink", superlink, "--clientappio-api-address", clientappio, "--node-config", node_config]
    args += ["--insecure"] if root_certificates is None else ["--root-certificates", str(root_certificates)]
    if private_key is not None:
        args += ["--auth-supernode-private-key", str(private_key)]
    return args


def flwr_run_args(app_dir: Path, connection: str, run_config_file: Path) -> list[str]:
    return [exe("flwr"), "run", str(app_dir), connection, "--stream", "--run-config", str(run_config_file)]


def flwr_config_toml(*, control: str, root_certificates: Path | None, name: str = "local") -> str:
    """`$FLWR_HOME/config.toml` naming the Control API connection `flwr run` uses."""
    tls = "insecure = true\n" if root_certificates is None else f'root-certificates = "{root_certificates}"\n'
    return f'[superlink]\ndefault = "{name}"\n\n[superlink.{name}]\naddress = "{control}"\n{tls}'


@dataclass
class NodeInfo:
    node_id: int
    status: str
    public_key: str


class ControlClient:
    """The SuperLink's Control API (register / unregister / list SuperNodes), over Flower's own channel."""

    def __init__(self, address: str, *, root_certificates: Path | None) -> None:
        from flwr.proto.control_pb2_grpc import ControlStub
        from flwr.supercore.grpc import create_channel
        from flwr.supercore.interceptors.runtime_version_interceptor import RuntimeVersionClientInterceptor

        self._channel = create_channel(server_address=address, insecure=root_certificates is None,
                                       root_certificates=root_certificates.read_bytes() if root_certificates else None,
                                       interceptors=[RuntimeVersionClientInterceptor(component_name="flwr CLI")])
        self._stub = ControlStub(self._channel)

    def register(self, public_key: str) -> int:
        from flwr.proto.control_pb2 import RegisterNodeRequest

        return int(self._stub.RegisterNode(RegisterNodeRequest(public_key=_ssh_to_der(public_key)), timeout=30).node_id)

    def unregister(self, node_id: int) -> None:
        from flwr.proto.control_pb2 import UnregisterNodeRequest

        self._stub.UnregisterNode(UnregisterNodeRequest(node_id=node_id), timeout=30)

    def nodes(self) -> list[NodeInfo]:
        from flwr.proto.control_pb2 import ListNodesRequest

        res = self._stub.ListNodes(ListNodesRequest(), timeout=30)
        return [NodeInfo(int(n.node_id), n.status, _der_to_ssh(n.public_key)) for n in res.nodes_info]

    def close(self) -> None:
        self._channel.close()


def _ssh_to_der(public_key: str) -> bytes:
    # what `flwr supernode register` sends: the key as flwr.supercore.primitives.asymmetric encodes it
    from cryptography.hazmat.primitives import serialization
    from flwr.supercore.primitives.asymmetric import public_key_to_bytes

    return public_key_to_bytes(serialization.load_ssh_public_key(public_key.encode()))  # type: ignore[arg-type]


def _der_to_ssh(data: bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from flwr.supercore.primitives.asymmetric import bytes_to_public_key

    try:
        key = bytes_to_public_key(data)
    except Exception:  # noqa: BLE001 - a node registered by other means; shown without a key
        return ""
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
