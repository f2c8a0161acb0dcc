"""The job-run ledger (issue 13 item 2): exactly one run per job and period, whoever asks.

`claim()` INSERTs the run's row (`job_name`, `period` UNIQUE) with ON CONFLICT DO NOTHING before any work
is done; the caller that got the row back runs the job, everybody else (another process, a second click,
the catch-up) gets None and does nothing. Never read-then-write: two processes that both read "no run yet"
would both run.

Retry: a failed run of the same period — or a running one whose heartbeat has stopped for STALE (its
process died) — is taken over by ONE conditional UPDATE (WHERE status is failed, or running and stale): of
two retries at once only one matches. A done run matches nothing, so a period never succeeds twice.

The ledger writes are their own short transactions on their own connection, not part of the job's unit of
work: the row must be committed before the work starts (that is what makes it a claim), stay visible while
the job runs (progress, log lines), and survive the job's rollback (the error). Each ledger write carries
its audit entry in the same transaction (every run is in the audit log: start and end).
"""
import datetime as dt
import threading

from sqlalchemy import and_, func, insert, or_, select, update

from app.domain.clock import now_jst
from app.extensions import db
from app.models.job import DONE, FAILED, RUNNING, JobRun

from .audit import audit_row
from .bulk import insert_if_absent

# No heartbeat for this long: the process running it is gone. Generous, because on SQLite a beat waits behind
# a long write transaction of the job itself; a run taken over too early would run twice.
STALE = dt.timedelta(minutes=30)
HEARTBEAT_SECONDS = 30
LOG_MAX_LINES = 2000

_table = JobRun.__table__


def _insert_ignoring_conflict(connection, values: dict):
    """INSERT … ON CONFLICT (job_name, period) DO NOTHING RETURNING id (PostgreSQL; SQLite: INSERT OR IGNORE)."""
    statement = insert_if_absent(connection, _table, ["job_name", "period"], **values).returning(_table.c.id)
    return connection.execute(statement).scalar()


def _stale(now: dt.datetime):
    """A running row whose heartbeat stopped for STALE (its process died): the one SQL form of is_stale()."""
    return and_(_table.c.status == RUNNING, _table.c.heartbeat_at < now - STALE)


def _audit(connection, action: str, run_id: int, label: str, values: dict, actor: tuple[str, int | None]):
    connection.execute(insert(_audit_table()), [audit_row(action, "job_run", run_id, label, values, actor)])


def _audit_table():
    from app.models import AuditLog

    return AuditLog.__table__


def claim(job_name: str, period: str, label: str, started_by: tuple[str, int | None], trigger: str,
          take_over: bool = False) -> tuple[int | None, int]:
    """(run id, attempt) if this caller runs the job now; (None, 0) if a run of the period exists (done,
    running, or failed and `take_over` not asked). The attempt number guards every later write of this
    caller: if its run is ever taken over (its heartbeat stopped), what it still writes changes nothing."""
    now = now_jst()
    who = started_by[0]
    with db.engine.begin() as connection:
        run_id = _insert_ignoring_conflict(connection, dict(
            job_name=job_name, period=period, status=RUNNING, trigger=trigger, attempts=1, started_by=who,
            started_at=now, heartbeat_at=now, done=0, log="", counts={}))
        attempt = 1
        if run_id is None and take_over:
            taken = connection.execute(
                update(_table)
                .where(_table.c.job_name == job_name, _table.c.period == period,
                       or_(_table.c.status == FAILED, _stale(now)))
                .values(status=RUNNING, trigger=trigger, attempts=_table.c.attempts + 1, started_by=who,
                        started_at=now, ended_at=None, heartbeat_at=now, error=None)
                .returning(_table.c.id, _table.c.attempts)).first()
            if taken is not None:
                run_id, attempt = taken.id, taken.attempts
                _append(connection, run_id, [f"{now:%Y/%m/%d %H:%M:%S} 再実行（{taken.attempts}回目）: {who}"])
        if run_id is not None:
            _audit(connection, "job_start", run_id, f"{label} {period}",
                   {"status": RUNNING, "period": period, "trigger": trigger, "attempt": attempt}, started_by)
    return run_id, (attempt if run_id is not None else 0)


def _append(connection, run_id: int, lines: list[str]) -> None:
    current = connection.execute(select(_table.c.log).where(_table.c.id == run_id)).scalar() or ""
    merged = (current.splitlines() + lines)[-LOG_MAX_LINES:]
    connection.execute(update(_table).where(_table.c.id == run_id).values(log="\n".join(merged),
                                                                        heartbeat_at=now_jst()))


def add_log(run_id: int, line: str) -> None:
    """One log line (with the time), visible at once on the history screen."""
    with db.engine.begin() as connection:
        _append(connection, run_id, [f"{now_jst():%H:%M:%S} {line}"])


def set_progress(run_id: int, done: int | None = None, total: int | None = None, counts: dict | None = None) -> None:
    values = {"heartbeat_at": now_jst()}
    if done is not None:
        values["done"] = done
    if total is not None:
        values["total"] = total
    if counts is not None:
        values["counts"] = counts
    with db.engine.begin() as connection:
        connection.execute(update(_table).where(_table.c.id == run_id).values(**values))


def finish(run_id: int, attempt: int, label: str, actor: tuple[str, int | None], counts: dict,
           error: str | None = None) -> str:
    """End the run: done, or failed with the Japanese `error`. Only this attempt's running row is ended."""
    status = FAILED if error else DONE
    now = now_jst()
    with db.engine.begin() as connection:
        ended = connection.execute(update(_table).where(_table.c.id == run_id, _table.c.status == RUNNING,
                                                        _table.c.attempts == attempt)
                                   .values(status=status, ended_at=now, heartbeat_at=now, error=error, counts=counts))
        if ended.rowcount != 1:
            status = "superseded"  # taken over meanwhile: the other attempt's outcome stands
        row = connection.execute(select(_table.c.period, _table.c.started_at).where(_table.c.id == run_id)).one()
        _audit(connection, "job_end", run_id, f"{label} {row.period}",
               {"status": status, "period": row.period, "error": error, **counts,
                "seconds": round((now - row.started_at).total_seconds(), 1)}, actor)
    return status


class Heartbeat:
    """Touches the run's heartbeat every HEARTBEAT_SECONDS while the job works, so a run whose process
    died can be told from one that is merely long. Failures are ignored (SQLite busy: next beat)."""

    def __init__(self, run_id: int, attempt: int, app):
        self.run_id, self.attempt, self.app = run_id, attempt, app
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-heartbeat-{run_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                with self.app.app_context(), db.engine.begin() as connection:
                    connection.execute(update(_table).where(_table.c.id == self.run_id, _table.c.status == RUNNING,
                                                            _table.c.attempts == self.attempt)
                                       .values(heartbeat_at=now_jst()))
            except Exception:  # noqa: BLE001  a missed beat only matters after STALE
                pass


# ---- reading ---------------------------------------------------------------------------------------

def is_stale(run: JobRun, now: dt.datetime | None = None) -> bool:
    return run.status == RUNNING and run.heartbeat_at < (now or now_jst()) - STALE


def run_of(job_name: str, period: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.job_name == job_name, JobRun.period == period))


def last_runs() -> dict[str, JobRun]:
    """The latest run of each job (by start)."""
    latest = (select(JobRun.job_name, func.max(JobRun.started_at).label("started_at"))
              .group_by(JobRun.job_name).subquery())
    rows = db.session.scalars(select(JobRun).join(latest, and_(JobRun.job_name == latest.c.job_name,
                                                               JobRun.started_at == latest.c.started_at)))
    return {run.job_name: run for run in rows}


def last_scheduled_starts() -> dict[str, dt.datetime]:
    """When each job's latest run by the schedule (or its catch-up) started."""
    return dict(db.session.execute(select(JobRun.job_name, func.max(JobRun.started_at))
                                   .where(JobRun.trigger.in_(("schedule", "catch-up"))).group_by(JobRun.job_name)).all())


def failed_runs(limit: int = 20) -> list[JobRun]:
    """Runs that need somebody: failed, or stopped with their process (stale), newest first."""
    now = now_jst()
    return list(db.session.scalars(
        select(JobRun).where(or_(JobRun.status == FAILED, _stale(now)))
        .order_by(JobRun.started_at.desc()).limit(limit)))


def last_success(job_name: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.job_name == job_name, JobRun.status == DONE)
                             .order_by(JobRun.ended_at.desc()).limit(1))
