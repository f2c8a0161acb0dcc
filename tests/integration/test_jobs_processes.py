"""Exactly once across REAL processes (issue 13 item 2), on SQLite and on PostgreSQL (TEST_DATABASE_URL):
two processes starting the scheduler at the same moment → one holds the lock, one run of the missed
period; the other takes the lock over when the first ends (retried) and still runs nothing twice; two
`flask etc run-job` of the same job and period at once → one run."""
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, update

from app.models.billing import BillingRun
from app.models.job import DONE, JobRun, ScheduledJob
from app.services.actor import acting_as
from app.services.scheduled_jobs import ensure_scheduled_jobs

REPO = Path(__file__).resolve().parents[2]

SCHEDULER_WORKER = r"""
import os, sys, time, pathlib
from app import create_app
from app.jobs.scheduler import start_scheduler
folder = pathlib.Path(sys.argv[1])
application = create_app()
(folder / f"ready-{os.getpid()}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
scheduler = start_scheduler(application)
first = scheduler.lock.held
deadline = time.monotonic() + 60
while not scheduler.lock.held and time.monotonic() < deadline:
    time.sleep(0.05)
if not scheduler.catch_up_done.wait(120):
    sys.exit("catch-up did not end")
print("FIRST" if first else ("LATER" if scheduler.lock.held else "NEVER"), flush=True)
time.sleep(1.5)  # hold the lock while the other process tries it
"""

CLI_WORKER = r"""
import os, sys, time, pathlib
import app, app.cli, app.jobs.runner, app.services.billing.draft
folder = pathlib.Path(sys.argv[1])
(folder / f"ready-{os.getpid()}").touch()
while not (folder / "go").exists():
    time.sleep(0.002)
from flask.cli import main
sys.argv = ["flask", "etc", *sys.argv[2:]]
main()
"""


def _start_together(tmp_path, script, args_list, extra_env=None, timeout=180):
    from app.extensions import db

    db.session.remove()  # nothing of the test's own transaction holds the database
    folder = tmp_path / f"procs-{time.monotonic_ns()}"
    folder.mkdir()
    env = dict(os.environ, FLASK_APP="app:create_app", PYTHONPATH=str(REPO), TOLLBOOK_SCHEDULER="0",
               **(extra_env or {}))
    processes = [subprocess.Popen([sys.executable, "-c", script, str(folder), *args], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in args_list]
    try:
        deadline = time.monotonic() + 90
        while len(list(folder.glob("ready-*"))) < len(processes):
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise AssertionError("workers did not start: " + " | ".join(
                    p.communicate()[1][-2000:] for p in processes if p.poll() is not None))
            time.sleep(0.02)
        (folder / "go").touch()
        return [(p.wait(timeout), *p.communicate()) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


def _runs(db):
    db.session.expire_all()
    return db.session.scalars(select(JobRun).order_by(JobRun.id)).all()


def test_two_processes_starting_the_scheduler_run_a_missed_period_once(app, db, tmp_path):
    with acting_as("test-setup"):
        ensure_scheduled_jobs()
    # only the monthly draft is on; it was set up in September, so 5 November 07:00 (October) was missed
    db.session.execute(update(ScheduledJob).values(enabled=False))
    db.session.execute(update(ScheduledJob).where(ScheduledJob.name == "billing-draft")
                       .values(enabled=True, cron="0 7 5 * *", updated_at=dt.datetime.now() - dt.timedelta(days=40)))
    db.session.commit()
    outcomes = _start_together(tmp_path, SCHEDULER_WORKER, [[], []], {"SCHEDULER_LOCK_RETRY_SECONDS": "1"})
    assert all(code == 0 for code, _, _ in outcomes), [err[-3000:] for _, _, err in outcomes]
    said = sorted(out.strip() for _, out, _ in outcomes)
    assert said == ["FIRST", "LATER"], outcomes  # one held it at once; the other took it over when it ended
    runs = _runs(db)
    assert len(runs) == 1, [(r.job_name, r.period, r.status) for r in runs]
    [run] = runs
    assert run.job_name == "billing-draft" and run.status == DONE and run.trigger == "catch-up"
    assert db.session.scalar(select(func.count()).select_from(BillingRun)) == 1


def test_two_run_job_commands_at_once_run_the_period_once(app, db, tmp_path):
    outcomes = _start_together(tmp_path, CLI_WORKER, [["run-job", "billing-draft", "--period", "2026-10"]] * 2)
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 3], [(code, out, err[-2000:]) for code, out, err in outcomes]
    texts = " ".join(out + err for _, out, err in outcomes)
    assert "請求の下書き（2026-10）を完了しました" in texts and "実行済みまたは実行中" in texts
    [run] = _runs(db)
    assert (run.job_name, run.period, run.status, run.attempts) == ("billing-draft", "2026-10", DONE, 1)
    assert db.session.scalar(select(func.count()).select_from(BillingRun)) == 1
