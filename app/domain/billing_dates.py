"""請求日 and 振替日: the dates an invoice carries (etc-domain.md §6: 月末締め, 請求書は翌月20日頃,
口座振替は翌々月5日/6日, a bank holiday moves the debit to the next bank business day)."""
import calendar
import datetime as dt

import jpholiday

BANK_NEW_YEAR_HOLIDAYS = {(12, 31), (1, 1), (1, 2), (1, 3)}  # 銀行休業日 besides weekends and 祝日


def month_first_last(month: str) -> tuple[dt.date, dt.date]:
    year, mon = int(month[:4]), int(month[5:7])
    return dt.date(year, mon, 1), dt.date(year, mon, calendar.monthrange(year, mon)[1])


def add_months(month: str, count: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def day_in_month(month: str, day: int) -> dt.date:
    """Day `day` of `month`, or the month's last day when it has fewer days (31 → 2/28)."""
    first, last = month_first_last(month)
    return first.replace(day=max(1, min(day, last.day)))


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
