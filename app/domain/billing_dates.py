"""請求日 and 振替日: the dates an invoice carries (etc-domain.md §6: 月末締め, 請求書は翌月20日頃,
口座振替は翌々月5日/6日, a bank holiday moves the debit to the next bank business day)."""
import datetime as dt

import jpholiday

from .month import Month

BANK_NEW_YEAR_HOLIDAYS = {(12, 31), (1, 1), (1, 2), (1, 3)}  # 銀行休業日 besides weekends and 祝日


def month_first_last(month: Month | str) -> tuple[dt.date, dt.date]:
    month = Month.of(month)
    return month.first_day, month.last_day


def add_months(month: Month | str, count: int) -> str:
    return str(Month.of(month).plus(count))


def day_in_month(month: Month | str, day: int) -> dt.date:
    """Day `day` of `month`, or the month's last day when it has fewer days (31 → 2/28)."""
    return Month.of(month).day(day)


def is_bank_business_day(day: dt.date) -> bool:
    return (day.weekday() < 5 and not jpholiday.is_holiday(day)
            and (day.month, day.day) not in BANK_NEW_YEAR_HOLIDAYS)


def next_bank_business_day(day: dt.date) -> dt.date:
    """`day` itself when banks are open, else the next day they are."""
    while not is_bank_business_day(day):
        day += dt.timedelta(days=1)
    return day


def invoice_date_for(month: str, invoice_day: int = 20) -> dt.date:
    """請求日: `invoice_day` of the month after the usage month (2026-10 → 2026-11-20)."""
    return day_in_month(add_months(month, 1), invoice_day)


def debit_date_for(month: str, debit_day: int = 5, month_offset: int = 2) -> dt.date:
    """振替日: `debit_day` of usage month + `month_offset`, moved to the next bank business day
    (2026-10 → 2026-12-05 (土) → 2026-12-07)."""
    return next_bank_business_day(day_in_month(add_months(month, month_offset), debit_day))
