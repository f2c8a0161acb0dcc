"""One run of a scheduled job through the ledger (issue 13 items 2-3): the scheduler, the catch-up,
`flask etc run-job` and the screens' 「今すぐ実行」/「再実行」 all come here.

1. claim the ledger row for the job and period (app/services/job_runs.py) — nobody else runs it then;
2. run the job (app/jobs/scheduled/<name>.py) as the one who started it, with a heartbeat;
3. record done, or failed with a Japanese message. A job that raises never stops the scheduler: the
   error is in the row and the audit log, and the next scheduled run happens as planned.
"""
import datetime as dt
import logging
from dataclasses import dataclass

from app.domain.clock import now_jst
from app.domain.errors import DomainError
from app.domain.job_schedule import parse_period, period_for
from app.extensions import db
from app.models.job import DONE, FAILED, RUN_STATUSES  # noqa: F401  (FAILED: for callers)
from app.services import job_runs
from app.services.actor import acting_as
from app.services.scheduled_jobs import settings_of, spec_of

log = logging.getLogger(__name__)

UNEXPECTED = ("予期しないエラーで止まりました（{kind}）。途中までの変更は取り消しています。"
              "サーバーのログを確認し、原因を直してから再実行してください。")
SKIPPED = "skipped"


@dataclass(frozen=True)
class RunOutcome:
    job_name: str
    period: str
    status: str  # done / failed / skipped (a run of the period exists)
    run_id: int | None
    message: str

    def __str__(self):
        return self.message


class JobContext:
    """What a job sees: its period and parameters, and the ledger's log, progress and counts."""

    def __init__(self, run_id: int, period: str, params: dict):
        self.run_id, self.period, self.params = run_id, period, params
        self.counts: dict = {}

    def log(self, line: str) -> None:
        job_runs.add_log(self.run_id, str(line))

    def progress(self, done: int, total: int | None = None) -> None:
        job_runs.set_progress(self.run_id, done=done, total=total)

    def count(self, **values) -> None:
        self.counts.update(values)
        job_runs.set_progress(self.run_id, counts=self.counts)


def default_period(name: str, now: dt.datetime | None = None) -> str:
    return period_for(spec_of(name).period_kind, now or now_jst())


def run_job(app, name: str, period: str | None = None, *, trigger: str = "manual",
            actor: tuple[str, int | None] = ("定期処理", None), now: dt.datetime | None = None,
            take_over: bool | None = None) -> RunOutcome:
    """Run the job for the period (default: the period of now) unless a run of it exists. A manual run or
    a retry takes over a failed (or abandoned) run of the same period; the schedule never does."""
    app = app._get_current_object() if hasattr(app, "_get_current_object") else app  # threads need the object
    spec = spec_of(name)
    period = parse_period(spec.period_kind, period) if period else default_period(name, now)
    if take_over is None:
        take_over = trigger in ("manual", "retry")
    params = settings_of(name).params
    db.session.rollback()  # the settings read ends here: the job starts with a fresh transaction
    run_id, attempt = job_runs.claim(name, period, spec.label, actor, trigger, take_over)
    if run_id is None:
        existing = job_runs.run_of(name, period)
        state = RUN_STATUSES.get(existing.status, existing.status) if existing else "不明"
        db.session.rollback()
        return RunOutcome(name, period, SKIPPED, existing.id if existing else None,
                          f"{spec.label}（{period}）は実行済みまたは実行中のため、実行しませんでした（状態: {state}）。")
    context = JobContext(run_id, period, params)
    error = None
    with job_runs.Heartbeat(run_id, attempt, app), acting_as(*actor):
        try:
            job_runs.add_log(run_id, f"開始: {spec.label} {period}（{actor[0]}）")
            spec.run(context)
        except DomainError as refused:
            error = refused.message
        except Exception as unexpected:  # noqa: BLE001  recorded in Japanese; the trace goes to the log
            log.exception("job %s %s failed", name, period)
            error = UNEXPECTED.format(kind=type(unexpected).__name__)
        finally:
            db.session.rollback()  # whatever the job left open (its services committed what they did)
    if error:
        job_runs.add_log(run_id, f"失敗: {error}")
    status = job_runs.finish(run_id, attempt, spec.label, actor, context.counts, error)
    what = "再実行し、" if attempt > 1 else ""
    if status == DONE:
        return RunOutcome(name, period, DONE, run_id, f"{spec.label}（{period}）を{what}完了しました。")
    if status == FAILED:
        return RunOutcome(name, period, FAILED, run_id, f"{spec.label}（{period}）は失敗しました: {error}")
    return RunOutcome(name, period, SKIPPED, run_id, f"{spec.label}（{period}）は、止まっていると見なされて別の実行に"
                                                      "引き継がれたため、この実行の結果は記録していません。")
