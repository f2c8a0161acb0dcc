"""定期処理 (issue 13): the scheduled jobs as data, and the ledger of their runs.

`scheduled_job`: one row per job the code knows (app/jobs/scheduled/), seeded by `flask etc init` and the
migration: when (a cron expression read in Japan time), whether it runs, and its parameters (JSON).

`job_run`: the ledger. One row per job and period (`billing-draft:2026-10`), UNIQUE, inserted before any
work with INSERT … ON CONFLICT DO NOTHING: whoever inserts it runs the job, anybody else (another process,
a second click, the catch-up) sees the conflict and does nothing. The row then carries what people read on
the history screen: status, start and end, progress, counts, log lines, the Japanese error, who started it.
It is generic on purpose: any long task of the application (the upload imports too) can be one run.

States: running → done | failed. A failed run (or a running one whose heartbeat stopped: the process died)
may be taken over for the same period by one conditional UPDATE; a done run never changes, so a period can
never succeed twice (app/services/job_runs.py).
"""
from sqlalchemy import JSON, Boolean, Column, DateTime, Integer, String, Text, UniqueConstraint

from flask_appbuilder import Model

from .mixins import now_jst

RUNNING, DONE, FAILED = "running", "done", "failed"
RUN_STATUSES = {RUNNING: "実行中", DONE: "完了", FAILED: "失敗"}
TRIGGERS = {"schedule": "予定どおり", "catch-up": "停止中の分（起動時）", "manual": "手動", "retry": "再実行"}


class ScheduledJob(Model):
    __tablename__ = "scheduled_job"
    id = Column(Integer, primary_key=True)
    name = Column(String(40), nullable=False, unique=True)
    cron = Column(String(100), nullable=False)
    enabled = Column(Boolean, nullable=False, default=True)
    params = Column(JSON, nullable=False, default=dict)
    updated_at = Column(DateTime, nullable=False, default=now_jst, onupdate=now_jst)

    def __str__(self):
        from app.jobs.scheduled import job_label

        return job_label(self.name)


class JobRun(Model):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_name", "period", name="uq_job_run_job_period"),)
    id = Column(Integer, primary_key=True)
    job_name = Column(String(40), nullable=False, index=True)
    period = Column(String(20), nullable=False)
    status = Column(String(10), nullable=False, default=RUNNING, index=True)
    trigger = Column(String(10), nullable=False, default="manual")
    attempts = Column(Integer, nullable=False, default=1)
    started_by = Column(String(128), nullable=False)
    started_at = Column(DateTime, nullable=False, default=now_jst, index=True)
    ended_at = Column(DateTime)
    heartbeat_at = Column(DateTime, nullable=False, default=now_jst)
    done = Column(Integer, nullable=False, default=0)
    total = Column(Integer)
    counts = Column(JSON)
    log = Column(Text, nullable=False, default="")
    error = Column(Text)

    @property
    def run_key(self) -> str:
        return f"{self.job_name}:{self.period}"

    def __str__(self):
        from app.jobs.scheduled import job_label

        return f"{job_label(self.job_name)} {self.period}"
