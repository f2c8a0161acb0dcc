"""Which daily backup copies to keep (issue 13 item 5), pure: the last `daily_days` days of copies, and for
each month of the last `monthly_years` years its first copy (the month as it began); everything else goes.
A month's first copy is the one kept, not its last, so that the kept copy never changes once the month
has a copy: pruning twice gives the same folder."""
import datetime as dt


def backups_to_keep(days: list[dt.date], today: dt.date, daily_days: int = 30, monthly_years: int = 5) -> set[dt.date]:
    daily_from = today - dt.timedelta(days=daily_days - 1)
    monthly_from = dt.date(today.year - monthly_years, today.month, 1)
    keep = {day for day in days if daily_from <= day <= today}
    first_of_month: dict[tuple[int, int], dt.date] = {}
    for day in sorted(days):
        if monthly_from <= day <= today:
            first_of_month.setdefault((day.year, day.month), day)
    return keep | set(first_of_month.values())


def backups_to_prune(days: list[dt.date], today: dt.date, daily_days: int = 30, monthly_years: int = 5) -> list[dt.date]:
    keep = backups_to_keep(days, today, daily_days, monthly_years)
    return sorted(day for day in days if day not in keep and day <= today)


def retention_cutoff(today: dt.date, years: int = 5, fiscal_year_start_month: int = 4) -> str:
    """The first month kept ('YYYY-MM'): the current fiscal year and the `years` fiscal years before it.
    On 2026-11-30 with April fiscal years and 5 years: the current one began 2026-04, kept from 2021-04."""
    start_year = today.year if today.month >= fiscal_year_start_month else today.year - 1
    return f"{start_year - years:04d}-{fiscal_year_start_month:02d}"
