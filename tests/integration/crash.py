"""Kill a real `flask etc …` process with SIGKILL in the middle of its work (issue 13 item 4).

The worker is a separate Python process running the real CLI. Before the command starts, one function of
the code is wrapped (the test names it, e.g. the bulk writer's `write`): after its Nth call returns, the
worker touches a file and sleeps. The work done so far (rows written, numbers taken) is then inside an
open transaction, exactly as in a crash half-way. The test waits for the file and kills the worker's whole
process group (a renderer's worker processes too) with SIGKILL: no handler, no rollback, no cleanup runs.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WORKER = r"""
import importlib, pathlib, sys, time
folder, target, after, args = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
module_name, _, attribute = target.partition(":")
owner = importlib.import_module(module_name)
*parents, name = attribute.split(".")
for parent in parents:
    owner = getattr(owner, parent)
original = getattr(owner, name)
calls = [0]

def trapped(*positional, **named):
    result = original(*positional, **named)
    calls[0] += 1
    if calls[0] == after:
        (folder / "reached").touch()
        time.sleep(600)  # killed here
    return result

setattr(owner, name, trapped)
from flask.cli import main
sys.argv = ["flask", "etc", *args]
main()
"""


def flask_env(instance: Path) -> dict:
    env = dict(os.environ, FLASK_APP="app:create_app", PYTHONPATH=str(REPO), TOLLBOOK_INSTANCE=str(instance))
    env.pop("TEST_DATABASE_URL", None)  # DATABASE_URL (set by the test session) is the test database
    return env


def kill_midway(tmp_path: Path, target: str, after: int, *args: str, timeout: float = 120) -> None:
    """Run `flask etc ARGS…`, SIGKILL it once `target` has returned `after` times. Fails if the command
    ended (or never got there) before that: the test would otherwise prove nothing."""
    from app.extensions import db

    db.session.remove()  # the test's own transaction would hold what the worker needs
    folder = tmp_path / f"crash-{time.monotonic_ns()}"
    folder.mkdir()
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(folder), target, str(after), *args], cwd=REPO,
                              env=flask_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not (folder / "reached").exists():
            if worker.poll() is not None:
                out, err = worker.communicate()
                raise AssertionError(f"the command ended before the kill point ({target} × {after}): "
                                     f"exit {worker.returncode}\n{out}\n{err}")
            assert time.monotonic() < deadline, f"{target} not reached in {timeout} s"
            time.sleep(0.02)
    finally:
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait(30)
    assert worker.returncode == -signal.SIGKILL


def flask_etc(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The same command, run to its end (the re-run after the crash)."""
    from app.extensions import db

    db.session.remove()
    return subprocess.run([sys.executable, "-m", "flask", "etc", *args], cwd=REPO, env=flask_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)
