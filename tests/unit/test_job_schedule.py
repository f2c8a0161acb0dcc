"""定期処理 in pure terms: cron in Japan time (weekdays as offices write them), the period of a run, which
backup copies the rotation keeps, and the retention cutoff (issue 13)."""
import datetime as dt

import pytest

from app.domain.backup_rotation import backups_to_keep, backups_to_prune, retention_cutoff
from app.domain.errors import DomainError
from app.domain.job_schedule import last_fire, next_fire, normalize_cron, parse_period, period_for


def test_cron_reads_in_japan_time():
    assert next_fire("0 7 5 * *", dt.datetime(2026, 11, 30, 12, 0)) == dt.datetime(2026, 12, 5, 7, 0)
    assert next_fire("30 2 * * *", dt.datetime(2026, 11, 30, 2, 30)) == dt.datetime(2026, 12, 1, 2, 30)


def test_weekdays_are_numbered_as_in_cron():
    # 2026-11-30 is a Monday: "1" is Monday, "0" and "7" Sunday, 1-5 the working days
    assert next_fire("0 6 * * 1", dt.datetime(2026, 11, 29, 12, 0)) == dt.datetime(2026, 11, 30, 6, 0)
    assert next_fire("0 6 * * 0", dt.datetime(2026, 11, 30, 12, 0)) == dt.datetime(2026, 12, 6, 6, 0)
    assert next_fire("0 6 * * 7", dt.datetime(2026, 11, 30, 12, 0)) == dt.datetime(2026, 12, 6, 6, 0)
    assert next_fire("0 6 * * 1-5", dt.datetime(2026, 12, 4, 12, 0)) == dt.datetime(2026, 12, 7, 6, 0)


@pytest.mark.parametrize("text", ["", "0 7 5 *", "0 7 5 * * *", "61 7 5 * *", "0 25 * * *", "x y z * *", "0 6 * * 9"])
def test_a_cron_that_does_not_parse_is_refused_in_japanese(text):
    with pytest.raises(DomainError) as refused:
        normalize_cron(text)
    assert "実行日時（cron）" in refused.value.message and "分 時 日 月 曜日" in refused.value.message


def test_cron_is_stored_with_single_spaces():
    assert normalize_cron(" 0\u30007  5 * * ") == "0 7 5 * *"


def test_last_fire_is_the_latest_scheduled_time_up_to_now():
    now = dt.datetime(2026, 11, 20, 9, 0)
    assert last_fire("0 7 5 * *", now, now - dt.timedelta(days=62)) == dt.datetime(2026, 11, 5, 7, 0)
    assert last_fire("0 7 5 * *", now, dt.datetime(2026, 11, 6)) is None
    assert last_fire("0 7 5 * *", dt.datetime(2026, 11, 5, 7, 0), dt.datetime(2026, 11, 1)) == dt.datetime(2026, 11, 5, 7, 0)


def test_periods():
    moment = dt.datetime(2026, 11, 5, 7, 0)
    assert period_for("month", moment) == "2026-11"
    assert period_for("previous-month", moment) == "2026-10"
    assert period_for("previous-month", dt.datetime(2026, 1, 5)) == "2025-12"
    assert period_for("day", moment) == "2026-11-05"
    assert period_for("minute", moment) == "2026-11-05 07:00"
    assert parse_period("previous-month", "2026/10") == "2026-10"
    assert parse_period("day", "2026/11/05") == "2026-11-05"
    with pytest.raises(DomainError, match="対象期間"):
        parse_period("day", "11月5日")


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def test_rotation_keeps_30_days_and_the_first_copy_of_each_month_for_5_years():
    today = dt.date(2026, 11, 30)
    days = _days(dt.date(2020, 1, 1), today)
    keep = backups_to_keep(days, today)
    daily = {d for d in days if d > today - dt.timedelta(days=30)}
    assert daily <= keep and len(daily) == 30
    monthly = keep - daily
    # first of each month from 2021-11 to 2026-10 (2026-11-01 is within the 30 days)
    assert all(d.day == 1 for d in monthly)
    assert min(monthly) == dt.date(2021, 11, 1) and len(monthly) == 60
    pruned = backups_to_prune(days, today)
    assert set(pruned) == set(days) - keep
    # pruning again keeps the same copies
    assert backups_to_prune(sorted(keep), today) == []


def test_rotation_keeps_a_month_s_first_copy_even_if_not_on_the_first():
    today = dt.date(2026, 11, 30)
    days = [dt.date(2026, 3, 7), dt.date(2026, 3, 20), dt.date(2021, 10, 31)]
    assert backups_to_prune(days, today) == [dt.date(2021, 10, 31), dt.date(2026, 3, 20)]


def test_retention_cutoff_is_the_fiscal_year_five_years_before_the_current_one():
    assert retention_cutoff(dt.date(2026, 11, 30)) == "2021-04"
    assert retention_cutoff(dt.date(2027, 3, 31)) == "2021-04"
    assert retention_cutoff(dt.date(2027, 4, 1)) == "2022-04"
    assert retention_cutoff(dt.date(2026, 11, 30), years=5, fiscal_year_start_month=1) == "2021-01"


def test_the_scheduler_starts_only_in_a_serving_process(monkeypatch):
    from types import SimpleNamespace

    from app.jobs.scheduler import should_start

    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)

    def app(**config):
        return SimpleNamespace(config=config, testing=config.get("TESTING", False))

    assert should_start(app(SCHEDULER_ENABLED=True))
    assert not should_start(app(SCHEDULER_ENABLED=False))
    assert not should_start(app(SCHEDULER_ENABLED=True, TESTING=True))
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")  # any `flask …` command, `flask run` included
    assert not should_start(app(SCHEDULER_ENABLED=True))
