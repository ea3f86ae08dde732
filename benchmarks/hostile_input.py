"""Hostile input against `medhive serve` on loopback: peak server memory and response times.

Goal: the server's resident memory stays within 300 MB of its idle figure while the inputs of issue 13
arrive, and `GET /health` answers throughout.

The attacks (each the input that, before the fix, was parsed whole or billed as one unit): a 200 MB JSON
body with its length declared, the same streamed chunked, a 24-hour inline ECG (31 million samples), a
1,000,000-row CSV and the 124,995-row CSV as files, a 20-megapixel image, a 20,000-row CSV inside the
body limit (billed per row: 20,000 units), the same on a free-tier key (refused by the file limit), and
on the CLI a 3-hour ECG CSV (refused from its line count before parsing). Large bodies are sent over a
raw socket so the time to the server's answer is measured while the client is still sending; the body
is generated on the fly, never held in this process either.

A thread polls `/health` every 100 ms and another samples the server's VmRSS every 20 ms (Linux /proc).
Everything runs in a temporary MEDHIVE_HOME; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import io
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.common import busy_warning, md_table, write_result
from benchmarks.serving import Server, _env, _free_port, _medhive

GOAL_MB = 300
MB = 1024 * 1024


# ----- measuring ----------------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Sampler(threading.Thread):
    """Peak RSS of the server, and /health latency and failures, while the attacks run."""

    def __init__(self, pid: int, url: str) -> None:
        super().__init__(daemon=True)
        self.pid, self.url = pid, url
        self.stop = threading.Event()
        self.peak = 0.0
        self.health: list[float] = []
        self.health_failures = 0

    def run(self) -> None:
        import httpx

        last_health = 0.0
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                self.peak = max(self.peak, rss_mb(self.pid))
                if time.perf_counter() - last_health >= 0.1:
                    last_health = time.perf_counter()
                    try:
                        ok = client.get(f"{self.url}/health").status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        self.health.append(time.perf_counter() - last_health)
                    else:
                        self.health_failures += 1
                time.sleep(0.02)


# ----- a raw HTTP/1.1 client that stops sending when the server answers --------------------------------
def raw_post(url: str, path: str, headers: dict[str, str], body: Iterator[bytes], *, length: int | None,
             timeout: float = 120) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if length is not None:
        # as curl does for large bodies: wait for "100 Continue" (or the final answer) before sending
        lines += [f"Content-Length: {length}", "Expect: 100-continue"]
    else:
        lines.append("Transfer-Encoding: chunked")
    started = time.perf_counter()
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    sent, answered = 0, b""
    if length is not None and select.select([sock], [], [], 5)[0]:
        answered = sock.recv(65536)
        if answered.startswith(b"HTTP/1.1 100"):
            answered = answered.partition(b"\r\n\r\n")[2]
        else:
            body = iter(())  # the final answer came first: nothing of the body is sent
    def pieces() -> Iterator[bytes]:  # 64 KiB at a time, so an early answer is noticed (and not lost to a reset)
        for chunk in body:
            for i in range(0, len(chunk), 65536):
                yield chunk[i:i + 65536]

    try:
        for chunk in pieces():
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break  # the server answered before the body was sent: stop, as a browser would
            frame = chunk if length is not None else f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            sock.sendall(frame)
            sent += len(chunk)
        else:
            if length is None:
                sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server closed the connection after answering
    try:
        while b"\r\n\r\n" not in answered:
            data = sock.recv(65536)
            if not data:
                break
            answered += data
        head, _, rest = answered.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head else 0
        elapsed = time.perf_counter() - started
        while len(rest) < 4096:
            data = sock.recv(65536)
            if not data:
                break
            rest += data
    except (TimeoutError, ConnectionResetError):
        status, elapsed, rest = 0, time.perf_counter() - started, b""
    finally:
        sock.close()
    kind = ""
    try:
        kind = json.loads(rest.split(b"\r\n")[-1] if b"\r\n" in rest else rest).get("type", "").rsplit("/", 1)[-1]
    except (ValueError, AttributeError):
        pass
    return {"status": status, "seconds": elapsed, "sent_mb": sent / MB, "type": kind}


def repeated(prefix: bytes, unit: bytes, count: int, suffix: bytes, *, chunk: int = MB) -> tuple[Iterator[bytes], int]:
    """prefix + unit * count + suffix, generated in chunks of about `chunk` bytes, and its total length."""
    per = max(chunk // len(unit), 1)

    def gen() -> Iterator[bytes]:
        yield prefix
        left = count
        while left > 0:
            n = min(per, left)
            yield unit * n
            left -= n
        yield suffix

    return gen(), len(prefix) + len(unit) * count + len(suffix)


def file_body(filename: str, data: bytes) -> bytes:
    return json.dumps({"file": {"filename": filename, "content_base64": base64.b64encode(data).decode()}}).encode()


def plausible_row() -> dict[str, float]:
    """One breast cancer case the model can judge: the shipped example's first row, as the task builds a
    request from it (a row of mid-range values is refused as implausible, so it would measure the refusal,
    not serving)."""
    from hub.models import get_task

    task = get_task("breast_cancer")
    path = next(p for p in task.example_inputs() if p.suffix == ".csv" and "missing" not in p.name)
    return task.request_example(path)[0]["inputs"]


def csv_bytes(rows: int) -> bytes:
    row = plausible_row()
    line = ",".join(f"{v:.6g}" for v in row.values())
    return (",".join(row) + "\n" + (line + "\n") * rows).encode()


def b64_csv_stream(rows: int) -> tuple[Iterator[bytes], int]:
    """A file body whose base64 CSV is streamed: one row's base64 repeated (rows padded to 3 bytes)."""
    from hub.models import get_task

    fields = get_task("breast_cancer").input_fields
    row = ",".join("1" for _ in fields).encode()
    row = row + b" " * (-(len(row) + 1) % 3) + b"\n"  # a multiple of 3 bytes: its base64 concatenates
    return repeated(b'{"file":{"filename":"cases.csv","content_base64":"', base64.b64encode(row), rows, b'"}}')


# ----- accounts -----------------------------------------------------------------------------------
def _keys(url: str, home: Path) -> dict[str, str]:
    """An enterprise key (contract with no rate limit: file limit 100,000 cases) and a free-tier key."""
    import uuid

    import httpx

    from hub.accounts import users
    from medhive.mounts.api import open_store
    from medhive.settings import Settings

    out = {}
    for name, kind in (("enterprise", "enterprise"), ("free", "user")):
        cred = {"email": f"{name}@bench.example", "password": "a long benchmark passphrase"}
        body = {**cred, "account_type": kind, **({"organization": "Bench Corp"} if kind == "enterprise" else {})}
        r = httpx.post(f"{url}/v1/auth/signup", json=body, timeout=30)
        r.raise_for_status()
        org_id, user_id = r.json()["org_id"], r.json()["user_id"]
        store = open_store(Settings(home=home, database_url=""))
        try:
            with store.transaction() as s:
                if name == "enterprise":
                    users.set_tier(s, uuid.UUID(org_id), "enterprise", actor="benchmark", rate_limit_per_minute=10**9)
                else:  # keys are for API roles; the free tier's limits stay the tier's
                    users.set_role(s, uuid.UUID(user_id), "clinician", actor="benchmark")
        finally:
            store.dispose()
        token = httpx.post(f"{url}/v1/auth/login", json=cred, timeout=30).json()["access_token"]
        r = httpx.post(f"{url}/v1/keys", json={"name": "bench"}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        r.raise_for_status()
        out[name] = r.json()["key"]
    return out


# ----- the benchmark ------------------------------------------------------------------------------
def attacks(url: str, keys: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    import httpx
    from PIL import Image

    ent, free = {"X-API-Key": keys["enterprise"]}, {"X-API-Key": keys["free"]}
    bc, ecg, px = "/v1/models/breast_cancer/predict", "/v1/models/ecg/predict", "/v1/models/pneumonia/predict"
    out = []
    body, n = repeated(b'{"inputs":[', b"0.001,", 200 * MB // 6, b"0]}")
    out.append(("200 MB JSON body, length declared", raw_post(url, bc, ent, body, length=n)))
    body, _ = repeated(b'{"inputs":[', b"0.001,", 200 * MB // 6, b"0]}")
    out.append(("200 MB JSON body, chunked (no length)", raw_post(url, bc, ent, body, length=None)))
    samples = 24 * 3600 * 360
    body, n = repeated(b'{"options":{"fs":360},"inputs":[', b"0.01,", samples - 1, b"0.01]}")
    out.append((f"24 h inline ECG ({samples:,} samples, {n / MB:.0f} MB)", raw_post(url, ecg, ent, body, length=n)))
    body, n = b64_csv_stream(1_000_000)
    out.append((f"1,000,000-row CSV as a file ({n / MB:.0f} MB)", raw_post(url, bc, ent, body, length=n)))
    body, n = b64_csv_stream(124_995)
    out.append((f"124,995-row CSV as a file ({n / MB:.0f} MB)", raw_post(url, bc, ent, body, length=n)))

    def post(label: str, path: str, headers: dict[str, str], data: bytes) -> None:
        started = time.perf_counter()
        r = httpx.post(url + path, content=data, headers={**headers, "Content-Type": "application/json"}, timeout=600)
        info = {"status": r.status_code, "seconds": time.perf_counter() - started, "sent_mb": len(data) / MB,
                "type": r.json().get("type", "").rsplit("/", 1)[-1] if r.status_code != 200 else "",
                "units": r.json()["usage"]["units"] if r.status_code == 200 else 0}
        out.append((label, info))

    buf = io.BytesIO()
    Image.new("1", (5000, 4000)).save(buf, format="PNG")
    post("20-megapixel PNG (5000 x 4000)", px, ent, file_body("xray.png", buf.getvalue()))
    data = csv_bytes(20_000)
    post(f"20,000-row CSV as a file ({len(data) / MB:.1f} MB), enterprise", bc, ent, file_body("cases.csv", data))
    post("150-row CSV as a file, free tier (file limit: its rate limit, 10 per minute)", bc, free,
         file_body("cases.csv", csv_bytes(150)))
    return out


def cli_long_ecg(env: dict[str, str], folder: Path) -> dict[str, Any]:
    """`medhive predict ecg` on a 3-hour CSV (one sample per line): its time and peak RSS (wait4)."""
    path = folder / "holter-3h.csv"
    with path.open("w") as fh:
        fh.write("# fs=360\n")
        block = "0.01\n" * 360 * 60
        for _ in range(180):
            fh.write(block)
    started = time.perf_counter()
    proc = subprocess.Popen(_medhive("predict", "ecg", str(path)), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    return {"exit": os.waitstatus_to_exitcode(status), "seconds": elapsed, "peak_mb": usage.ru_maxrss / 1024,
            "file_mb": path.stat().st_size / MB, "message": err[-1] if err else ""}


def run(quick: bool) -> str:
    import shutil

    home = Path(tempfile.mkdtemp(prefix="medhive-bench-hostile-"))
    port = _free_port()
    env = _env(home, port)
    load_before = os.getloadavg()[0]
    server = None
    started_all = time.perf_counter()
    try:
        out = subprocess.run(_medhive("seed"), env=env, capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"medhive seed failed: {out.stderr.strip()[-600:]}")
        server = Server(home, port)
        server.wait_healthy()
        keys = _keys(server.url, home)
        import httpx

        # the model the attacks reach is loaded first, so the idle figure is a serving server's
        row = plausible_row()
        httpx.post(f"{server.url}/v1/models/breast_cancer/predict", json={"inputs": row},
                   headers={"X-API-Key": keys["enterprise"]}, timeout=60).raise_for_status()
        time.sleep(1)
        idle = rss_mb(server.proc.pid)
        sampler = Sampler(server.proc.pid, server.url)
        sampler.start()
        results = attacks(server.url, keys)
        sampler.stop.set()
        sampler.join(timeout=30)
        after = rss_mb(server.proc.pid)
        cli = cli_long_ecg(env, home)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(home, ignore_errors=True)

    def status(r: dict[str, Any]) -> str:
        # 0: the server closed the connection while the client was still sending (uvicorn does no lingering
        # close, so the kernel may reset the connection and drop the 413 before the client reads it)
        return str(r["status"]) if r["status"] else "connection closed by the server mid-send"

    rows = [[label, status(r), r["type"] or (f"{r.get('units', 0):,} units billed" if r["status"] == 200 else "-"),
             f"{r['seconds']:.2f}", f"{r['sent_mb']:.1f}"] for label, r in results]
    delta = sampler.peak - idle
    health = sorted(sampler.health)
    p50 = health[len(health) // 2] * 1000 if health else float("nan")
    worst = health[-1] * 1000 if health else float("nan")
    met_rss = delta <= GOAL_MB
    met_health = sampler.health_failures == 0 and bool(health)
    body = (
        "Goal: the server's resident memory stays within 300 MB of its idle figure during the hostile inputs, and "
        f"`GET /health` answers throughout: **{'met' if met_rss and met_health else 'NOT met'}** "
        f"(peak {sampler.peak:.0f} MB vs idle {idle:.0f} MB: +{delta:.0f} MB; /health {len(health)} answers, "
        f"{sampler.health_failures} failures).\n\n"
        + busy_warning(load_before)
        + f"`medhive serve` (one uvicorn process, default settings: body limit "
        f"{8} MiB) on 127.0.0.1 in a fresh MEDHIVE_HOME; whole run {time.perf_counter() - started_all:.0f} s. "
        "Large bodies go over a raw socket (with `Expect: 100-continue` when the length is declared, as curl "
        "sends large bodies) that stops sending once the server has answered, so *sent* is how "
        "much of the body the client managed to send before the answer (the server read at most the limit, "
        "the rest sits in socket buffers). A chunked body gets its 413 once the limit is read; the server then "
        "closes the connection, and a client still sending may see a reset instead of the answer (uvicorn does "
        "no lingering close).\n\n"
        + md_table(["input", "status", "problem type / billed", "answer after (s)", "sent (MB)"], rows)
        + f"\nServer RSS: idle {idle:.0f} MB, peak {sampler.peak:.0f} MB during the attacks, {after:.0f} MB after. "
        f"`GET /health` while they ran: {len(health)} answers, p50 {p50:.1f} ms, slowest {worst:.0f} ms, "
        f"{sampler.health_failures} failures.\n\n"
        f"CLI: `medhive predict ecg` on a 3-hour ECG CSV ({cli['file_mb']:.0f} MB, one sample per line): exit "
        f"{cli['exit']} after {cli['seconds']:.1f} s, peak RSS {cli['peak_mb']:.0f} MB (the interpreter and its "
        f"imports included): `{cli['message']}`\n"
    )
    path = write_result("hostile_input", "Hostile input: memory and response times", body, quick=quick)
    return str(path)


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
