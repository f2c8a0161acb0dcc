"""定期処理 (issue 13 items 1 and 3): the schedule of each job, 「今すぐ実行」, and 実行の記録 with 「再実行」.

事務 read the schedule and run jobs now; 責任者 and 管理者 also change the schedule (app/security/roles.py).
A run started here runs in a thread of this process through the same ledger as the scheduler
(app/jobs/runner.py), acting as the person who pressed the button; the page says where to watch it.
"""
import threading

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_login import current_user

from app.domain.clock import now_jst
from app.domain.errors import DomainError
from app.domain.job_schedule import CRON_HELP, next_fire
from app.jobs.scheduled import jobs
from app.extensions import db
from app.models.job import FAILED, RUN_STATUSES, TRIGGERS, ScheduledJob
from app.queries import job_runs as queries
from app.services import job_runs
from app.services.scheduled_jobs import all_settings, ensure_scheduled_jobs, settings_of, spec_of, update_job

from .formatting import date_jp

PERIOD_HINTS = {"month": "例: 2026-11（その月）", "previous-month": "例: 2026-10（請求月）",
                "day": "例: 2026-11-30", "minute": "例: 2026-11-30 06:00"}


def run_state(run, now=None) -> str:
    if job_runs.is_stale(run, now):
        return "中断（サーバーの停止など）"
    return RUN_STATUSES.get(run.status, run.status)


def _start_in_background(name: str, period: str | None, trigger: str) -> None:
    """Run the job in a thread of this process (a long backup must not hold the request)."""
    from app.jobs.runner import run_job

    app = current_app._get_current_object()
    actor = (current_user.username, current_user.id)

    def work():
        with app.app_context():
            try:
                run_job(app, name, period, trigger=trigger, actor=actor)
            except Exception:  # noqa: BLE001  run_job records its own failures; this is the claim itself
                current_app.logger.exception("manual run of %s", name)

    threading.Thread(target=work, name=f"job-{name}", daemon=True).start()


def _param_rows(spec, params: dict) -> list[tuple[str, str, object]]:
    return [(key, spec.param_labels.get(key, key), params.get(key)) for key in spec.params]


class ScheduledJobView(BaseView):
    route_base = "/scheduled-jobs"
    default_view = "list"
    base_permissions = ["can_list", "can_edit", "can_run"]
    method_permission_name = {"list": "list", "edit": "edit", "run": "run"}

    @expose("/")
    @has_access
    def list(self):
        now = now_jst()
        last = job_runs.last_runs()
        rows = []
        for settings in all_settings():
            spec = jobs()[settings.name]
            try:
                upcoming = next_fire(settings.cron, now) if settings.enabled else None
                schedule_error = None
            except DomainError as error:
                upcoming, schedule_error = None, error.message
            run = last.get(settings.name)
            rows.append(dict(name=settings.name, label=spec.label, description=spec.description, cron=settings.cron,
                             enabled=settings.enabled, params=_param_rows(spec, settings.params), next=upcoming,
                             schedule_error=schedule_error, last=run, last_state=run_state(run, now) if run else "",
                             period_hint=PERIOD_HINTS[spec.period_kind]))
        sm = self.appbuilder.sm
        return self.render_template("tollbook/scheduled_jobs.html", rows=rows, date_jp=date_jp, cron_help=CRON_HELP,
                                    can_edit=sm.has_access("can_edit", "ScheduledJobView"),
                                    can_run=sm.has_access("can_run", "ScheduledJobView"),
                                    failed=job_runs.failed_runs(5))

    @expose("/edit/<name>", methods=["GET", "POST"])
    @has_access
    def edit(self, name):
        try:
            spec = spec_of(name)
        except DomainError:
            abort(404)
        settings = settings_of(name)
        values = {"cron": settings.cron, "enabled": settings.enabled, **settings.params}
        error = None
        if request.method == "POST":
            form = request.form
            values = {"cron": form.get("cron", ""), "enabled": form.get("enabled") == "on",
                      **{key: form.get(key, "") for key in spec.params}}
            try:
                ensure_scheduled_jobs()
                row = db.session.query(ScheduledJob).filter_by(name=name).one()
                update_job(row, values["cron"], values["enabled"], {k: values[k] for k in spec.params})
            except DomainError as refused:
                error = refused.message
            else:
                flash(f"「{spec.label}」の設定を保存しました。", "success")
                return redirect(url_for("ScheduledJobView.list"))
        return self.render_template("tollbook/scheduled_job_edit.html", spec=spec, values=values, error=error,
                                    params=_param_rows(spec, values), cron_help=CRON_HELP)

    @expose("/run/<name>", methods=["POST"])
    @has_access
    def run(self, name):
        from app.domain.job_schedule import parse_period

        try:
            spec = spec_of(name)
        except DomainError:
            abort(404)
        period = (request.form.get("period") or "").strip() or None
        try:
            if period:
                period = parse_period(spec.period_kind, period)
        except DomainError as refused:
            flash(refused.message, "danger")
            return redirect(url_for("ScheduledJobView.list"))
        _start_in_background(name, period, "manual")
        flash(f"「{spec.label}」を開始しました。進み具合と結果は実行の記録に表示します"
              "（同じ対象期間を実行済みの場合は実行しません）。", "info")
        return redirect(url_for("JobRunView.list", job=name))


class JobRunView(BaseView):
    route_base = "/job-runs"
    default_view = "list"
    base_permissions = ["can_list", "can_retry"]
    method_permission_name = {"list": "list", "show": "list", "retry": "retry"}

    @expose("/")
    @has_access
    def list(self):
        job = request.args.get("job") or None
        if job not in jobs():
            job = None
        status = request.args.get("status") if request.args.get("status") in RUN_STATUSES else None
        page = max(request.args.get("page", 0, type=int), 0)
        rows, total = queries.runs(job, status, page)
        now = now_jst()
        return self.render_template("tollbook/job_runs.html", rows=rows, total=total, page=page, page_size=queries.PAGE,
                                    job=job, status=status, jobs=jobs(), statuses=RUN_STATUSES, triggers=TRIGGERS,
                                    state=lambda run: run_state(run, now), stale=lambda run: job_runs.is_stale(run, now),
                                    date_jp=date_jp, actor=_actor,
                                    can_retry=self.appbuilder.sm.has_access("can_retry", "JobRunView"))

    @expose("/<int:run_id>")
    @has_access
    def show(self, run_id):
        run = queries.run(run_id)
        if run is None:
            abort(404)
        now = now_jst()
        return self.render_template("tollbook/job_run_show.html", run=run, spec=jobs().get(run.job_name),
                                    state=run_state(run, now), stale=job_runs.is_stale(run, now), triggers=TRIGGERS,
                                    date_jp=date_jp, actor=_actor,
                                    can_retry=self.appbuilder.sm.has_access("can_retry", "JobRunView"))

    @expose("/<int:run_id>/retry", methods=["POST"])
    @has_access
    def retry(self, run_id):
        run = queries.run(run_id)
        if run is None or run.job_name not in jobs():
            abort(404)
        if run.status != FAILED and not job_runs.is_stale(run):
            flash("失敗・中断した実行だけを再実行できます。", "warning")
            return redirect(url_for("JobRunView.show", run_id=run_id))
        _start_in_background(run.job_name, run.period, "retry")
        flash(f"「{jobs()[run.job_name].label}」（{run.period}）を再実行します。完了した分は二重に行いません。", "info")
        return redirect(url_for("JobRunView.show", run_id=run_id))


def _actor(name: str) -> str:
    from app.labels import actor_label

    return actor_label(name)
