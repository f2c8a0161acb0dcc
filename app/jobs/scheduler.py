"""The in-process scheduler (issue 13 item 2; stack-notes.md §5): APScheduler 3 in exactly one process.

Several server processes (gunicorn workers) each call `start_scheduler(app)`; only the one holding the
scheduler lock runs an APScheduler BackgroundScheduler, the others retry the lock every
SCHEDULER_LOCK_RETRY_SECONDS (so a new holder takes over when the holder dies):
- PostgreSQL: a session-level pg_try_advisory_lock on a connection of its own, held for the process's
  lifetime (a session lock ends with its connection, so a dead holder frees it at once);
- SQLite: fcntl.flock(LOCK_EX | LOCK_NB) on `<database>.scheduler.lock` next to the database file.
APScheduler's shared job store does not prevent double runs (measured, §5), so there is none: the jobs
are read from the scheduled_job table, and every run goes through the ledger anyway (app/jobs/runner.py),
which is what makes a run happen once even if two schedulers ever ran.

At start (and at each reload) the holder catches up: for each enabled job, the latest scheduled time
since the job was last changed (at most CATCH_UP_DAYS back) whose period has no run is run now —
a month-end billing missed while the server was down happens when it comes back. Edits on the 定期処理
screen are picked up within RELOAD_SECONDS.
"""
import datetime as dt
import hashlib
import logging
import os
import threading
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from app.domain.clock import now_jst
from app.domain.errors import DomainError
from app.domain.job_schedule import TOKYO, last_fire, parse_cron

log = logging.getLogger(__name__)

CATCH_UP_DAYS = 62
RELOAD_SECONDS = 60
SCHEDULER_ACTOR = ("定期処理", None)
# pg_try_advisory_lock takes a bigint: a constant of Tollbook's own (first 8 bytes of a hash of its name).
ADVISORY_KEY = int.from_bytes(hashlib.sha256(b"tollbook-scheduler").digest()[:8], "big", signed=True)


class SchedulerLock:
    """Held by at most one process at a time; `acquire()` never waits."""

    def __init__(self, url):
        self.url = url
        self._handle = None  # the lock file (SQLite) or the connection (PostgreSQL) holding the lock

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> bool:
        if self._handle is not None:
            return True
        if self.url.get_backend_name() == "sqlite":
            return self._acquire_file()
        return self._acquire_advisory()

    def lock_path(self) -> Path:
        return Path(f"{self.url.database}.scheduler.lock")

    def _acquire_file(self) -> bool:
        import fcntl

        handle = open(self.lock_path(), "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return True

    def _acquire_advisory(self) -> bool:
        engine = create_engine(self.url, poolclass=NullPool)
        connection = engine.connect()
        try:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
            connection.commit()  # the session lock outlives the transaction; no transaction is left open
        except Exception:
            connection.close()
            raise
        if not got:
            connection.close()
            return False
        self._handle = connection
        return True

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()  # closing the file or the connection ends the lock


class TollbookScheduler:
    def __init__(self, app):
        self.app = app
        self.lock = SchedulerLock(_engine_url(app))
        self.scheduler = None
        self._signature: dict = {}
        self._retry: threading.Timer | None = None
        self._stopped = False
        self.catch_up_done = threading.Event()

    # -- the lock ---------------------------------------------------------------------------------------

    def start(self, retry: bool = True) -> bool:
        """Start scheduling if this process gets the lock; else retry later (unless `retry` is False)."""
        try:
            got = self.lock.acquire()
        except Exception:  # noqa: BLE001  the database is not reachable now: try again later
            log.exception("scheduler lock")
            got = False
        if got:
            self._start_scheduler()
            return True
        if retry and not self._stopped:
            seconds = float(self.app.config.get("SCHEDULER_LOCK_RETRY_SECONDS", 60))
            self._retry = threading.Timer(seconds, self.start)
            self._retry.daemon = True
            self._retry.start()
        return False

    def stop(self) -> None:
        self._stopped = True
        if self._retry is not None:
            self._retry.cancel()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.lock.release()

    # -- APScheduler ------------------------------------------------------------------------------------

    def _start_scheduler(self):
        from apscheduler.schedulers.background import BackgroundScheduler

        self.scheduler = BackgroundScheduler(timezone=TOKYO, daemon=True, job_defaults=dict(
            coalesce=True, max_instances=1, misfire_grace_time=3600))
        self.scheduler.start()
        log.info("scheduler started in process %s", os.getpid())
        # the first reload (with its catch-up) runs in the scheduler's own thread, not in the start-up
        self.scheduler.add_job(self.reload, id="tollbook-reload", trigger="interval", seconds=RELOAD_SECONDS,
                               next_run_time=dt.datetime.now(TOKYO), max_instances=1, coalesce=True)

    def reload(self):
        """Schedule the enabled jobs as the table says now; catch up at the first pass."""
        from app.services.scheduled_jobs import all_settings, ensure_scheduled_jobs

        try:
            with self.app.app_context():
                if not self.catch_up_done.is_set():
                    ensure_scheduled_jobs()  # a job a new version brings gets its row (once per start)
                wanted = {}
                for settings in all_settings():
                    if not settings.enabled:
                        continue
                    try:
                        parse_cron(settings.cron)
                    except DomainError:
                        log.error("job %s: cron %r does not parse; not scheduled", settings.name, settings.cron)
                        continue
                    wanted[settings.name] = settings.cron
                if wanted != self._signature:
                    self._apply(wanted)
                if not self.catch_up_done.is_set():
                    catch_up(self.app)
        except Exception:  # noqa: BLE001  next reload tries again
            log.exception("scheduler reload")
        finally:
            self.catch_up_done.set()

    def _apply(self, wanted: dict):
        for name in set(self._signature) - set(wanted):
            self.scheduler.remove_job(f"job:{name}")
        for name, cron in wanted.items():
            if self._signature.get(name) != cron:
                self.scheduler.add_job(fire, parse_cron(cron), args=(self.app, name), id=f"job:{name}",
                                       replace_existing=True)
        self._signature = dict(wanted)


def _engine_url(app):
    from sqlalchemy.engine import make_url

    return make_url(app.config["SQLALCHEMY_DATABASE_URI"])


def fire(app, name: str, now: dt.datetime | None = None):
    """A scheduled time has come: run the job for the period of that time (the latest scheduled time up to
    now, so a run started late still covers the period it was due for)."""
    from app.jobs.runner import default_period, run_job
    from app.services.scheduled_jobs import settings_of

    with app.app_context():
        try:
            now = now or now_jst()
            settings = settings_of(name)
            # the time it was due: within the hour, else (a late start) within two days
            due = (last_fire(settings.cron, now, now - dt.timedelta(hours=1))
                   or last_fire(settings.cron, now, now - dt.timedelta(days=2)) or now)
            outcome = run_job(app, name, default_period(name, due), trigger="schedule", actor=SCHEDULER_ACTOR)
            log.info("%s", outcome)
        except Exception:  # noqa: BLE001  never stops the scheduler; the next run happens
            log.exception("scheduled job %s", name)


def catch_up(app, now: dt.datetime | None = None) -> list:
    """Run, once, each enabled job's latest scheduled time missed while no scheduler ran: the latest time
    since the job was last changed (at most CATCH_UP_DAYS back) whose period has no run. Returns the outcomes."""
    from app.jobs.runner import default_period, run_job
    from app.services import job_runs
    from app.services.scheduled_jobs import all_settings

    now = now or now_jst()
    outcomes = []
    with app.app_context():
        latest = job_runs.last_scheduled_starts()
        for settings in all_settings():
            if not settings.enabled:
                continue
            since = max(now - dt.timedelta(days=CATCH_UP_DAYS), settings.changed_at or now)
            if settings.name in latest and latest[settings.name] < now:
                # nothing was missed before its latest scheduled run (keeps a frequent schedule's walk short);
                # manual runs do not count: they may be for any period
                since = max(since, latest[settings.name] - dt.timedelta(minutes=1))
            try:
                due = last_fire(settings.cron, now, since)
            except DomainError:
                continue
            if due is None:
                continue
            period = default_period(settings.name, due)
            if job_runs.run_of(settings.name, period) is not None:
                continue
            try:
                outcomes.append(run_job(app, settings.name, period, trigger="catch-up", actor=SCHEDULER_ACTOR))
            except Exception:  # noqa: BLE001
                log.exception("catch-up of %s %s", settings.name, period)
    return outcomes


_instance: dict = {}


def start_scheduler(app, retry: bool = True) -> TollbookScheduler:
    """Called once per serving process (app/__init__.py). Returns the process's scheduler object, running
    or waiting for the lock."""
    scheduler = _instance.get(id(app))
    if scheduler is None:
        scheduler = _instance[id(app)] = TollbookScheduler(app)
        scheduler.start(retry=retry)
    return scheduler


def should_start(app) -> bool:
    """Only a serving process: SCHEDULER_ENABLED set, not a test, not a `flask …` command (Flask sets
    FLASK_RUN_FROM_CLI for every command, `flask run` and its reloader included), and not a helper process of
    multiprocessing — the document renderer's fork server imports `__main__` (run.py, which builds an app)
    again as `__mp_main__`, and must not become a second scheduler candidate. run.py never uses Werkzeug's
    reloader, so there is no reloader parent to leave out."""
    import multiprocessing
    import sys

    if not app.config.get("SCHEDULER_ENABLED") or app.testing:
        return False
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true":
        return False
    if os.environ.get("WERKZEUG_RUN_MAIN") not in (None, "true"):
        return False
    main = sys.modules.get("__main__")
    if getattr(main, "__name__", "__main__") == "__mp_main__" or multiprocessing.parent_process() is not None \
            or multiprocessing.current_process().name != "MainProcess":
        return False
    return True
