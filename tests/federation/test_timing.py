"""`federation.timing.process_created` dates a process's creation closely enough to order it against the
exchange that started it (to within /proc's 10 ms ticks, not /proc/stat's whole-second boot time)."""

from __future__ import annotations

import subprocess
import sys
import time


def test_process_created_is_just_before_the_process_first_runs():
    before = time.time()
    code = "import time; t = time.time(); from federation.timing import process_created; print(t, process_created())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    first_line, created = map(float, out.stdout.split())
    assert before - 0.05 <= created <= first_line + 0.02
