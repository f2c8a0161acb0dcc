"""定期処理 (issue 13 items 1-3, scheduled parts of 5): the ledger runs a job once per period, a failed
run is retried without a second success, a missed run is caught up at start (frozen time), the daily
backup keeps the right copies, the retention purge keeps open months and recent data and refuses
without a backup, failures show on the home checklist, every run is in the audit log, and the screens
are Japanese and closed to members."""
import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.jobs import scheduler as scheduler_module
from app.jobs.runner import run_job
from app.models import AuditLog, UsageRecord
from app.models.billing import CLOSED, BillingRun
from app.models.job import DONE, FAILED, JobRun, ScheduledJob
from app.services import job_runs
from app.services.actor import acting_as
from app.services.scheduled_jobs import ensure_scheduled_jobs

from .test_billing import add_usage
from .test_japanese_ui import english_on

ACTOR = ("tester-jobs", None)


def runs(db, name=None):
    query = select(JobRun).order_by(JobRun.id)
    if name:
        query = query.where(JobRun.job_name == name)
    db.session.expire_all()
    return db.session.scalars(query).all()


@pytest.fixture()
def scheduled(app, db):
    with acting_as("test-setup"):
        ensure_scheduled_jobs()
    return db


def set_job(db, name, **values):
    db.session.execute(update(ScheduledJob).where(ScheduledJob.name == name).values(**values))
    db.session.commit()


# ---- the ledger ----------------------------------------------------------------------------------------

def test_a_period_runs_once(app, scheduled):
    first = run_job(app, "billing-draft", "2026-10", actor=ACTOR)
    second = run_job(app, "billing-draft", "2026/10", actor=ACTOR)
    assert first.status == DONE and second.status == "skipped"
    assert "実行済みまたは実行中" in second.message
    [run] = runs(scheduled, "billing-draft")
    assert run.period == "2026-10" and run.status == DONE and run.ended_at and run.started_by == "tester-jobs"
    assert "締めは自動では行いません" in run.log  # no approval step exists: the job says it drafts only
    assert scheduled.session.scalar(select(func.count()).select_from(BillingRun)) == 1


def test_a_failed_run_is_retried_for_the_same_period_without_a_second_success(app, scheduled, monkeypatch):
    calls = []

    def broken(month):
        calls.append(str(month))
        raise RuntimeError("boom")

    monkeypatch.setattr("app.services.billing.draft.run_billing", broken)
    failed = run_job(app, "billing-draft", "2026-10", trigger="schedule", actor=ACTOR)
    assert failed.status == FAILED and "予期しないエラー" in failed.message and "RuntimeError" in failed.message
    # the schedule itself does not retry a failed period; a person does
    assert run_job(app, "billing-draft", "2026-10", trigger="schedule", actor=ACTOR).status == "skipped"
    monkeypatch.undo()
    retried = run_job(app, "billing-draft", "2026-10", trigger="retry", actor=ACTOR)
    assert retried.status == DONE and "再実行し" in retried.message
    again = run_job(app, "billing-draft", "2026-10", trigger="retry", actor=ACTOR)
    assert again.status == "skipped"
    [run] = runs(scheduled, "billing-draft")
    assert run.status == DONE and run.attempts == 2 and run.error is None and "再実行（2回目）" in run.log
    assert calls == ["2026-10"]
    actions = scheduled.session.execute(select(AuditLog.action, AuditLog.after).where(AuditLog.table_name == "job_run")
                                        .order_by(AuditLog.id)).all()
    assert [a for a, _ in actions] == ["job_start", "job_end", "job_start", "job_end"]
    assert actions[1][1]["status"] == FAILED and actions[3][1]["status"] == DONE


def test_an_abandoned_run_can_be_taken_over_but_a_live_one_cannot(app, scheduled):
    run_id, attempt = job_runs.claim("billing-draft", "2026-10", "請求の下書き", ACTOR, "schedule")
    assert attempt == 1
    assert run_job(app, "billing-draft", "2026-10", actor=ACTOR).status == "skipped"  # still beating
    scheduled.session.execute(update(JobRun).where(JobRun.id == run_id)
                              .values(heartbeat_at=dt.datetime(2026, 1, 1)))
    scheduled.session.commit()
    assert [r.id for r in job_runs.failed_runs()] == [run_id]  # 中断 shows as needing somebody
    assert run_job(app, "billing-draft", "2026-10", actor=ACTOR).status == DONE
    # the first attempt, were it still alive, can no longer change the outcome
    assert job_runs.finish(run_id, 1, "請求の下書き", ACTOR, {}, error="遅れて届いた失敗") == "superseded"
    [run] = runs(scheduled, "billing-draft")
    assert (run.status, run.attempts, run.error) == (DONE, 2, None)


def test_a_job_that_raises_records_the_error_and_the_next_run_happens(app, scheduled, monkeypatch):
    set_job(scheduled, "inbox-import", enabled=True, cron="0 6 * * *")
    from app.jobs.scheduled import inbox_import

    def broken(lines=None, report=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("app.services.inbox.import_inbox", broken)
    scheduler_module.fire(app, "inbox-import", now=dt.datetime(2026, 11, 29, 6, 0, 1))
    monkeypatch.undo()
    scheduler_module.fire(app, "inbox-import", now=dt.datetime(2026, 11, 30, 6, 0, 2))
    first, second = runs(scheduled, "inbox-import")
    assert (first.period, first.status) == ("2026-11-29 06:00", FAILED) and "予期しないエラー" in first.error
    assert (second.period, second.status) == ("2026-11-30 06:00", DONE)
    assert inbox_import.JOB.period_kind == "minute"


# ---- catch-up ------------------------------------------------------------------------------------------

def test_a_monthly_run_missed_while_the_server_was_down_is_caught_up_once(app, scheduled, monkeypatch):
    set_job(scheduled, "billing-draft", enabled=True, cron="0 7 5 * *", updated_at=dt.datetime(2026, 9, 1))
    # the server was down from 4 November to the 20th: the 5 November run (October's draft) was missed
    now = dt.datetime(2026, 11, 20, 9, 0)
    monkeypatch.setattr(scheduler_module, "now_jst", lambda: now)
    # a manual run of another month in between does not hide the missed one
    assert run_job(app, "billing-draft", "2026-08", actor=ACTOR).status == DONE
    outcomes = scheduler_module.catch_up(app, now)
    assert [(o.job_name, o.period, o.status) for o in outcomes] == [("billing-draft", "2026-10", DONE)]
    run = runs(scheduled, "billing-draft")[-1]
    assert run.trigger == "catch-up" and run.started_by == "定期処理"
    # a second start does not run it again, nor the older missed October run (only the latest counts)
    assert scheduler_module.catch_up(app, now) == []
    assert [r.period for r in runs(scheduled)] == ["2026-08", "2026-10"]


def test_no_catch_up_for_times_before_the_job_was_set_up(app, scheduled):
    set_job(scheduled, "billing-draft", enabled=True, cron="0 7 5 * *", updated_at=dt.datetime(2026, 11, 10))
    assert scheduler_module.catch_up(app, dt.datetime(2026, 11, 20, 9, 0)) == []
    set_job(scheduled, "billing-draft", enabled=False, updated_at=dt.datetime(2026, 9, 1))
    assert scheduler_module.catch_up(app, dt.datetime(2026, 11, 20, 9, 0)) == []


# ---- backup --------------------------------------------------------------------------------------------

def test_daily_backup_keeps_30_days_and_monthly_copies(app, scheduled, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    for day in (dt.date(2020, 5, 1), dt.date(2022, 3, 1), dt.date(2022, 3, 2), dt.date(2026, 10, 15),
                dt.date(2026, 10, 31), dt.date(2026, 11, 2)):
        (folder / f"tollbook-{day:%Y-%m-%d}.tar").write_bytes(b"old")
    (folder / "notes.txt").write_text("not a backup")
    set_job(scheduled, "backup", params={"folder": str(folder), "keep_daily_days": 30, "keep_monthly_years": 5})
    outcome = run_job(app, "backup", "2026-11-30", actor=ACTOR)
    assert outcome.status == DONE, outcome.message
    left = sorted(p.name for p in folder.iterdir())
    # kept: the last 30 days (from 2026-11-01) and each month's first copy since 2021-11; gone: 2020-05-01
    # (older than 5 years), 2022-03-02 (March 2022 keeps its 1st), 2026-10-31 (October keeps its 15th)
    assert left == ["notes.txt", "tollbook-2022-03-01.tar", "tollbook-2026-10-15.tar", "tollbook-2026-11-02.tar",
                    "tollbook-2026-11-30.tar"]
    from app.services.backup import read_manifest

    assert read_manifest(folder / "tollbook-2026-11-30.tar")["format"] == "tollbook-backup-1"
    [run] = runs(scheduled, "backup")
    assert run.counts["削除"] == 3 and "tollbook-2020-05-01.tar" in run.log


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_backup_folder_fails_in_japanese_and_prunes_nothing(app, scheduled, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "tollbook-2020-01-01.tar").write_bytes(b"old")
    folder.chmod(0o500)
    try:
        set_job(scheduled, "backup", params={"folder": str(folder), "keep_daily_days": 30, "keep_monthly_years": 5})
        outcome = run_job(app, "backup", "2026-11-30", actor=ACTOR)
    finally:
        folder.chmod(0o700)
    assert outcome.status == FAILED and "書き込めません" in outcome.message
    assert sorted(p.name for p in folder.iterdir()) == ["tollbook-2020-01-01.tar"]


def test_a_backup_folder_that_cannot_be_created_fails_in_japanese(app, scheduled, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    set_job(scheduled, "backup", params={"folder": str(blocker / "sub"), "keep_daily_days": 30, "keep_monthly_years": 5})
    outcome = run_job(app, "backup", "2026-11-30", actor=ACTOR)
    assert outcome.status == FAILED and "バックアップの保存先" in outcome.message and "何も作成していません" in outcome.message
    [run] = runs(scheduled, "backup")
    assert run.status == FAILED and run.error.startswith("バックアップの保存先")


# ---- retention -----------------------------------------------------------------------------------------

def _usage_months(db):
    db.session.expire_all()
    return dict(db.session.execute(select(UsageRecord.usage_month, func.count()).group_by(UsageRecord.usage_month)).all())


def test_retention_purges_only_closed_old_months_and_only_after_a_backup(app, scheduled, tmp_path):
    add_usage(scheduled, "2020-01", [("9999000000000001", "NEXCO東日本", 1000)] * 3)
    add_usage(scheduled, "2020-02", [("9999000000000001", "NEXCO東日本", 1000)] * 2)  # never closed
    add_usage(scheduled, "2021-04", [("9999000000000001", "NEXCO東日本", 1000)])  # within the retention
    add_usage(scheduled, "2026-10", [("9999000000000001", "NEXCO東日本", 1000)])
    scheduled.session.add_all([BillingRun(month="2020-01", status=CLOSED), BillingRun(month="2021-04", status=CLOSED)])
    scheduled.session.commit()
    refused = run_job(app, "retention", "2026-11", actor=ACTOR)
    assert refused.status == FAILED and "直近のバックアップがない" in refused.message
    assert _usage_months(scheduled) == {"2020-01": 3, "2020-02": 2, "2021-04": 1, "2026-10": 1}
    set_job(scheduled, "backup", params={"folder": str(tmp_path), "keep_daily_days": 30, "keep_monthly_years": 5})
    assert run_job(app, "backup", actor=ACTOR).status == DONE
    done = run_job(app, "retention", "2026-11", trigger="retry", actor=ACTOR)
    assert done.status == DONE, done.message
    assert _usage_months(scheduled) == {"2020-02": 2, "2021-04": 1, "2026-10": 1}
    [run] = runs(scheduled, "retention")
    assert run.counts == {"削除した明細": 3, "削除した月": 1, "残した未締めの月": 1}
    assert "2020-02 の明細は残しました" in run.log
    purge = scheduled.session.scalar(select(AuditLog).where(AuditLog.action == "purge"))
    assert purge.after["rows"] == 3


# ---- CLI -----------------------------------------------------------------------------------------------

def test_cli_lists_jobs_and_runs_one_through_the_ledger(app, scheduled):
    cli = app.test_cli_runner()
    result = cli.invoke(args=["etc", "run-job", "billing-draft", "--period", "2026-10"])
    assert result.exit_code == 0 and "請求の下書き（2026-10）を完了しました" in result.output
    result = cli.invoke(args=["etc", "run-job", "billing-draft", "--period", "2026-10"])
    assert result.exit_code == 3 and "実行済みまたは実行中" in result.output
    result = cli.invoke(args=["etc", "run-job", "no-such-job"])
    assert result.exit_code == 1 and "定期処理「no-such-job」はありません" in result.output
    result = cli.invoke(args=["etc", "jobs"])
    assert result.exit_code == 0
    assert "billing-draft" in result.output and "最後の実行: 2026-10 完了" in result.output
    assert "backup" in result.output and "有効" in result.output
    [run] = runs(scheduled, "billing-draft")
    assert run.started_by == "flask etc run-job"


# ---- screens -------------------------------------------------------------------------------------------

def _failed_run(app, scheduled, monkeypatch):
    monkeypatch.setattr("app.services.billing.draft.run_billing", _raise_domain)
    outcome = run_job(app, "billing-draft", "2026-10", trigger="schedule", actor=("定期処理", None))
    monkeypatch.undo()
    return outcome


def _raise_domain(month):
    from app.domain.errors import DomainError

    raise DomainError("2026年10月は締め済みのため、下書きを作り直せません。")


def test_screens_are_japanese_and_show_runs(app, scheduled, staff_client, monkeypatch):
    run_job(app, "billing-draft", "2026-09", actor=("staff", None))
    failed = _failed_run(app, scheduled, monkeypatch)
    failed_run = runs(scheduled, "billing-draft")[-1]
    for url in ("/scheduled-jobs/", "/job-runs/", "/job-runs/?job=billing-draft&status=failed",
                f"/job-runs/{failed_run.id}", "/"):
        page = staff_client.get(url)
        assert page.status_code == 200, url
        text = page.get_data(as_text=True)
        assert english_on(text) == [], (url, english_on(text))
    jobs_page = staff_client.get("/scheduled-jobs/").get_data(as_text=True)
    assert "請求の下書き" in jobs_page and "今すぐ実行" in jobs_page and "設定を変更" not in jobs_page
    history = staff_client.get("/job-runs/").get_data(as_text=True)
    assert "失敗" in history and "締め済みのため" in history and "再実行" in history
    home = staff_client.get("/").get_data(as_text=True)
    assert "失敗した処理 1件" in home and "請求の下書き 2026-10" in home
    assert failed.status == FAILED


def test_retry_from_the_history_screen(app, scheduled, staff_client, monkeypatch):
    _failed_run(app, scheduled, monkeypatch)
    run = runs(scheduled, "billing-draft")[-1]
    response = staff_client.post(f"/job-runs/{run.id}/retry", follow_redirects=True)
    assert response.status_code == 200 and "再実行します" in response.get_data(as_text=True)
    _wait_for(scheduled, run.id)
    [run] = runs(scheduled, "billing-draft")
    assert run.status == DONE and run.attempts == 2 and run.started_by == "staff"
    home = staff_client.get("/").get_data(as_text=True)
    assert "失敗した処理はありません" in home


def _wait_for(db, run_id, timeout=60):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        run = db.session.get(JobRun, run_id)
        if run is not None and run.status != "running":
            return run
        time.sleep(0.2)
    raise AssertionError("run did not end")


def test_run_now_from_the_schedule_screen(app, scheduled, staff_client):
    response = staff_client.post("/scheduled-jobs/run/billing-draft", data={"period": "2026/10"}, follow_redirects=True)
    assert response.status_code == 200 and "開始しました" in response.get_data(as_text=True)
    deadline = dt.datetime.now() + dt.timedelta(seconds=60)
    while not runs(scheduled, "billing-draft") and dt.datetime.now() < deadline:
        pass
    run = _wait_for(scheduled, runs(scheduled, "billing-draft")[0].id)
    assert run.period == "2026-10" and run.status == DONE and run.trigger == "manual"
    bad = staff_client.post("/scheduled-jobs/run/billing-draft", data={"period": "十月"}, follow_redirects=True)
    assert "YYYY-MM の形で" in bad.get_data(as_text=True)


def test_manager_edits_the_schedule_with_a_japanese_error_for_a_bad_cron(app, scheduled, manager_client):
    page = manager_client.get("/scheduled-jobs/edit/renewals").get_data(as_text=True)
    assert english_on(page) == [] and "何か月先までの期限を対象にするか" in page
    bad = manager_client.post("/scheduled-jobs/edit/renewals", data={"cron": "毎月1日", "enabled": "on", "months": "3"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "実行日時（cron）「毎月1日」を読めません" in text and "保存していません" in text
    bad = manager_client.post("/scheduled-jobs/edit/renewals", data={"cron": "0 7 1 * *", "months": "99"})
    assert "1〜24 の整数" in bad.get_data(as_text=True)
    row = scheduled.session.scalar(select(ScheduledJob).where(ScheduledJob.name == "renewals"))
    scheduled.session.refresh(row)
    assert (row.cron, row.enabled, row.params) == ("0 7 1 * *", False, {"months": 3})  # nothing half-saved
    ok = manager_client.post("/scheduled-jobs/edit/renewals", data={"cron": "0  8 1 * *", "enabled": "on", "months": "６"},
                             follow_redirects=True)
    assert "設定を保存しました" in ok.get_data(as_text=True)
    scheduled.session.refresh(row)
    assert (row.cron, row.enabled, row.params) == ("0 8 1 * *", True, {"months": 6})
    change = scheduled.session.scalar(select(AuditLog).where(AuditLog.table_name == "scheduled_job"))
    assert change.username == "manager" and change.after["cron"] == "0 8 1 * *"
    # the parameters read in Japanese in the audit log, as the edit screen names them
    assert "何か月先までの期限を対象にするか: 6" in change.changes() and "months" not in change.changes()
    assert "何か月先までの期限を対象にするか: 6" in change.after_text()


def test_staff_cannot_change_the_schedule(app, scheduled, staff_client):
    assert staff_client.get("/scheduled-jobs/edit/backup").status_code in (302, 403)
    assert staff_client.post("/scheduled-jobs/edit/backup", data={"cron": "0 0 * * *"}).status_code in (302, 403)
    row = scheduled.session.scalar(select(ScheduledJob).where(ScheduledJob.name == "backup"))
    assert row.cron == "30 2 * * *"


def test_members_cannot_reach_the_job_screens(app, scheduled, client):
    from app.extensions import appbuilder
    from app.models import Member
    from app.models.member import MemberAccount
    from tests.conftest import MEMBER_PASSWORD, login

    with acting_as("test-setup"):
        member = Member(code="J0001", name="定期運輸株式会社", kana="テイキウンユ")
        scheduled.session.add(member)
        scheduled.session.flush()
        scheduled.session.add(MemberAccount(user_id=appbuilder.sm.find_user(username="member1").id, member_id=member.id))
        scheduled.session.commit()
    run_job(app, "billing-draft", "2026-10", actor=ACTOR)
    run = runs(scheduled)[0]
    login(client, "member1", MEMBER_PASSWORD)
    for url in ("/scheduled-jobs/", "/job-runs/", f"/job-runs/{run.id}", "/scheduled-jobs/edit/backup"):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        assert "定期処理" not in response.get_data(as_text=True)
    for url in ("/scheduled-jobs/run/backup", f"/job-runs/{run.id}/retry", "/scheduled-jobs/edit/backup"):
        assert client.post(url).status_code in (302, 403, 404), url
    assert [r.job_name for r in runs(scheduled)] == ["billing-draft"]
