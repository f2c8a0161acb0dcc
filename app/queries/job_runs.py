"""実行の記録 (the job-run ledger) as the history screen reads it: newest first, a page at a time."""
from sqlalchemy import func, select

from app.extensions import db
from app.models.job import JobRun

PAGE = 50


def runs(job_name: str | None = None, status: str | None = None, page: int = 0) -> tuple[list[JobRun], int]:
    query = select(JobRun)
    if job_name:
        query = query.where(JobRun.job_name == job_name)
    if status:
        query = query.where(JobRun.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(query.order_by(JobRun.started_at.desc(), JobRun.id.desc())
                              .offset(page * PAGE).limit(PAGE)).all()
    return list(rows), total


def run(run_id: int) -> JobRun | None:
    return db.session.get(JobRun, run_id)
