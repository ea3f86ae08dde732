"""The REST walkthrough in hub/api/README.md runs as it is: its bash block, copied from the README at test
time, against a live server (uvicorn on 127.0.0.1). Every curl uses -f, so any 4xx/5xx fails the block."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from tests.hub.accounts.gotrue_server import LocalServer

REPO = Path(__file__).resolve().parents[3]
BLOCK = re.compile(r"<!-- example:quickstart[^>]*-->\s*```bash\n(.*?)```\s*<!-- /example:quickstart -->", re.S)


def test_quickstart_block_runs_against_a_live_server(app, tmp_path):
    script = BLOCK.search((REPO / "hub" / "api" / "README.md").read_text()).group(1)
    assert '"..."' not in script and "<" not in script.replace("<<", "")  # no placeholders left
    (tmp_path / "hub" / "models").mkdir(parents=True)
    (tmp_path / "hub" / "models" / "examples").symlink_to(REPO / "hub" / "models" / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with LocalServer(app) as base:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300, env={**env, "API": base + "/v1"})
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    out = done.stdout
    assert '"label"' in out and "ratelimit-policy" in out.lower() and '"explanations"' in out
    assert '"total":1' in out.replace(" ", "")  # the kept prediction was listed (then deleted)
    assert '"status":"revoked"' in out.replace(" ", "")
    pdf = tmp_path / "report.pdf"
    assert "MedHive prediction report" in PdfReader(pdf).pages[0].extract_text()
