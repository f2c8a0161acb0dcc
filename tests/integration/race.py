"""Two (or more) REAL processes racing on the test database (issue 7 items 12–14).

Each worker is a separate Python process that imports the app, says it is ready (a file), waits for
the go file, then runs `flask etc …` (the real CLI) or one service call. The test holds a database
lock while it lets them go (SQLite: BEGIN IMMEDIATE on its own connection; PostgreSQL: the tables
every writer touches, locked ACCESS EXCLUSIVE), so that both are inside their command, stopped at
the database, when the lock is released: the race happens every time, not by luck.
"""
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WORKER = r"""
import os, sys, time, pathlib
import app, app.cli, app.services.billing.draft  # import before the race: start-up is not the race
folder = pathlib.Path(sys.argv[1])
(folder / f"ready-{os.getpid()}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
kind, args = sys.argv[2], sys.argv[3:]
if kind == "cli":
    from flask.cli import main
    sys.argv = ["flask", "etc", *args]
    main()
else:  # a service call, reported as a screen would: the Japanese message of a DomainError, exit 1
    from app import create_app
    from app.domain.errors import DomainError
    from app.services.actor import acting_as
    application = create_app()
    with application.app_context(), acting_as("race"):
        if kind == "reissue":
            from app.services.billing.corrections import reissue_invoice
            try:
                invoice = reissue_invoice(int(args[0]), "同時訂正の試験", "race")
            except DomainError as error:
                print(error.message, file=sys.stderr)
                sys.exit(1)
            print(f"訂正請求書 {invoice.number}")
        elif kind == "assign":
            from app.services.usage_rematch import assign_unregistered
            try:
                print(f"割当 {assign_unregistered(args[0], int(args[1]))}件")
            except DomainError as error:
                print(error.message, file=sys.stderr)
                sys.exit(1)
        elif kind == "revise":
            import datetime as dt

            from app.extensions import db
            from app.models.tariff import TariffRule
            from app.services.tariff_revision import Revision, revise_rule
            row = db.session.get(TariffRule, int(args[0]))
            revision = Revision(dt.date.fromisoformat(args[1]), row.label, dict(row.params or {}),
                                dict(row.scope or {}), row.rounding)
            try:
                added = revise_rule(row.id, revision)
            except DomainError as error:
                print(error.message, file=sys.stderr)
                sys.exit(1)
            print(f"改定 {added.valid_from}")
        else:
            raise SystemExit(f"unknown worker kind {kind}")
"""


@dataclass
class Outcome:
    args: tuple
    code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.code == 0


def _hold_lock(url: str):
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1], isolation_level=None, timeout=30)
        connection.execute("BEGIN IMMEDIATE")
        return connection
    import psycopg

    connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    connection.execute("LOCK TABLE billing_run, month_lock, import_batch, card_event IN ACCESS EXCLUSIVE MODE")
    return connection


def _waiting(url: str) -> int:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                  "AND wait_event_type = 'Lock'").fetchone()[0]


def race(tmp_path: Path, *workers: tuple, timeout: float = 120) -> list[Outcome]:
    """Run the workers (each ('cli', 'bill', '2026-10') or ('reissue', id) …) at once; their outcomes."""
    from app.extensions import db

    db.session.remove()  # the test's own transaction would hold the tables the workers need
    url = os.environ["DATABASE_URL"]
    folder = tmp_path / f"race-{time.monotonic_ns()}"
    folder.mkdir()
    env = dict(os.environ, FLASK_APP="app:create_app", PYTHONPATH=str(REPO))
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, str(folder), *map(str, worker)], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for worker in workers]
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("ready-*"))) < len(workers):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise AssertionError("workers did not start: "
                                     + " | ".join(p.communicate()[1][-2000:] for p in processes if p.poll() is not None))
            time.sleep(0.02)
        lock = _hold_lock(url)
        try:
            (folder / "go").touch()
            if url.startswith("sqlite"):
                time.sleep(3)  # both workers reach the database (SQLite cannot say who waits)
            else:
                deadline = time.monotonic() + 30
                while _waiting(url) < len(workers) and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            lock.commit()
            lock.close()
        outcomes = []
        for worker, process in zip(workers, processes):
            stdout, stderr = process.communicate(timeout=timeout)
            outcomes.append(Outcome(worker, process.returncode, stdout, stderr))
        return outcomes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
