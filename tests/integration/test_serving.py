"""Issue 13 item 6: the production server (`make serve`: gunicorn, several workers), the health endpoint,
request ids and structured logs."""
import contextlib
import json
import re
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, text

REPO = Path(__file__).resolve().parents[2]


def test_health_says_ok_without_login_or_session(client, db):
    sessions = db.session.execute(text("SELECT COUNT(*) FROM http_session")).scalar()
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "schema": "current"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers  # a monitor polling every few seconds makes no sessions
    db.session.rollback()
    assert db.session.execute(text("SELECT COUNT(*) FROM http_session")).scalar() == sessions


def test_health_is_503_when_the_schema_is_not_the_codes(client, monkeypatch):
    monkeypatch.setattr("app.services.backup.code_revision", lambda: "ffffffffffff")
    response = client.get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "error" and body["schema"] == "outdated" and "flask db upgrade" in body["message"]


def test_a_sane_request_id_from_the_proxy_is_kept_else_one_is_made(client):
    kept = client.get("/login/", headers={"X-Request-ID": "proxy-7f3a9c21"})
    assert kept.headers["X-Request-ID"] == "proxy-7f3a9c21"
    for offered in ("", "short", "a b c d e f g h", "x" * 65, "abc;Set-Cookie: y", "../../etc/passwd"):
        made = client.get("/login/", headers={"X-Request-ID": offered} if offered else {})
        assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != offered
    assert client.get("/login/").headers["X-Request-ID"] != client.get("/login/").headers["X-Request-ID"]


LOGS = r"""
import json, logging, sys
from app import create_app
app = create_app()
@app.get("/_log_test")
def log_test():
    logging.getLogger("app.services.example").warning("取込ファイルを確認しました")
    return "ok"
client = app.test_client()
response = client.get("/_log_test", headers={"X-Request-ID": "req-12345678"})
print(response.headers["X-Request-ID"], flush=True)
logging.getLogger("app.jobs.example").info("定期処理を開始しました")
"""


def test_logs_are_json_lines_carrying_the_request_id(tmp_path):
    env = {**os.environ, "LOG_FORMAT": "json", "TOLLBOOK_INSTANCE": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("TEST_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", LOGS], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    by_message = {line["message"]: line for line in lines}
    warning = by_message["取込ファイルを確認しました"]
    assert warning["level"] == "WARNING" and warning["logger"] == "app.services.example"
    assert warning["request_id"] == "req-12345678" == done.stdout.strip()
    assert warning["time"].endswith("+09:00")  # Japan time, as the office reads it
    access = next(line for line in lines if line["logger"] == "tollbook.access")
    assert access["request_id"] == "req-12345678" and access["path"] == "/_log_test" and access["status"] == 200
    assert by_message["定期処理を開始しました"]["request_id"] == "-"  # outside a request


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


@contextlib.contextmanager
def _serve(tmp_path, db, **extra_env):
    """`make serve`'s command (TOLLBOOK_ENV=production python run.py) on the test database, 2 workers."""
    port = _free_port()
    env = {**os.environ, "TOLLBOOK_ENV": "production", "SECRET_KEY": "s" * 64, "PORT": str(port),
           "WORKERS": "2", "THREADS": "2", "SCHEDULER_LOCK_RETRY_SECONDS": "1", "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
           "TOLLBOOK_INSTANCE": str(tmp_path), **extra_env}
    env.pop("TEST_DATABASE_URL", None)
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([sys.executable, "run.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/health", timeout=10).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):  # the workers are still booting
            pass
        assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
        time.sleep(0.3)
    try:
        yield server, base, tmp_path / "server.log"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture()
def production_server(tmp_path, db):
    with _serve(tmp_path, db) as running:
        yield running


def _log_lines(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def _scheduler_pids(log: Path) -> list[int]:
    return [int(line["message"].rsplit(" ", 1)[1]) for line in _log_lines(log)
            if line["logger"] == "app.jobs.scheduler" and line["message"].startswith("scheduler started in process")]


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.3)
    return value


def test_make_serve_runs_gunicorn_workers_one_scheduler_and_replaces_a_killed_one(production_server):
    server, base, log = production_server
    response = requests.get(f"{base}/login/", timeout=10)
    assert response.status_code == 200 and response.headers["Server"] == "gunicorn"
    assert "ログイン" in response.text and response.headers["X-Request-ID"]
    def two_workers(without=None):
        found = _children(server.pid)
        return found if len(found) == 2 and without not in found else None

    def schedulers(count):
        found = _scheduler_pids(log)
        return found if len(found) == count else None

    workers = _wait(two_workers, 30, "two workers")
    # both workers are candidates; exactly one runs the scheduler (the lock), the other keeps retrying
    holder = _wait(lambda: _scheduler_pids(log), 60, "a scheduler started")[0]
    time.sleep(3)  # three of the other worker's retries (SCHEDULER_LOCK_RETRY_SECONDS=1)
    assert _scheduler_pids(log) == [holder] and holder in workers

    os.kill(holder, signal.SIGKILL)  # the scheduler's worker dies: the master replaces it, the other takes over
    replacement = _wait(lambda: two_workers(without=holder), 30, "the killed worker replaced")
    assert requests.get(f"{base}/health", timeout=10).json()["status"] == "ok"
    pids = _wait(lambda: schedulers(2), 60, "the scheduler taken over")
    assert pids[1] != holder and pids[1] in replacement
    time.sleep(3)
    assert len(_scheduler_pids(log)) == 2  # still one at a time

    lines = _log_lines(log)
    assert any(line.get("path") == "/login/" and line.get("request_id") == response.headers["X-Request-ID"]
               for line in lines)
    # gunicorn's own lines are JSON too: the killed worker and its replacement are in the log
    assert any(line["logger"] == "gunicorn.error" and line["message"].startswith("Booting worker") for line in lines)


def _login_attempt(base: str, number: int) -> int:
    """One wrong login as a browser makes it (the form's CSRF token, the session cookie), each request on a
    new connection so that either worker may take it."""
    page = requests.get(f"{base}/login/", timeout=20, headers={"Connection": "close"})
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    cookie = page.headers["Set-Cookie"].split(";", 1)[0]
    return requests.post(f"{base}/login/", data={"username": "staff", "password": f"wrong-{number}", "csrf_token": token},
                         headers={"Cookie": cookie, "Connection": "close"}, allow_redirects=False,
                         timeout=20).status_code


def test_the_login_limit_counts_once_across_the_workers_and_a_restart(tmp_path, db):
    """AUTH_RATE_LIMIT per address for the installation, not per gunicorn worker (app/security/rate_limits.py):
    with 5 per minute and 2 workers, 5 attempts pass and every later one is refused, whichever worker takes
    it, also by a worker started after the count."""
    from concurrent.futures import ThreadPoolExecutor

    from app.models import RateLimitCounter

    with _serve(tmp_path, db, AUTH_RATE_LIMIT="5 per minute") as (server, base, _log):
        workers = _wait(lambda: _children(server.pid) if len(_children(server.pid)) == 2 else None, 30, "two workers")
        with ThreadPoolExecutor(4) as pool:  # at once, so both workers take some
            statuses = list(pool.map(lambda n: _login_attempt(base, n), range(12)))
        assert statuses.count(429) == 7 and statuses.count(302) == 5, statuses  # 302: back to the form
        db.session.rollback()
        assert db.session.execute(select(RateLimitCounter.count)).scalars().all() == [12]

        killed = min(workers)
        os.kill(killed, signal.SIGKILL)  # its replacement remembers: the count is in the database
        _wait(lambda: len(found := _children(server.pid)) == 2 and killed not in found, 30, "the worker replaced")
        assert [_login_attempt(base, n) for n in range(12, 16)] == [429] * 4
