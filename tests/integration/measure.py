"""Run Python code in a child process and measure it: wall time and peak resident memory.

The child gets an address-space limit and a timeout, so a test that meets a bomb on code that does
not refuse it fails instead of taking the machine's memory."""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_REPORT = """
import json as _json, resource as _resource
print("MEASURE " + _json.dumps({"peak_mb": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_measured(code: str, timeout: float = 60, max_memory_mb: int = 2048, env: dict | None = None):
    """(seconds, peak_mb or None when the child did not finish, its stdout and stderr)."""

    def limit():
        size = max_memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", code + _REPORT], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit, env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return time.monotonic() - started, None, f"timeout after {timeout} s"
    seconds = time.monotonic() - started
    peak = None
    for line in done.stdout.splitlines():
        if line.startswith("MEASURE "):
            peak = json.loads(line[len("MEASURE "):])["peak_mb"]
    return seconds, peak, done.stdout + done.stderr
