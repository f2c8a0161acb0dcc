"""Dates as Japanese offices write them: 2027/4/1, 2027-04-01, 20270401, R9.4.1, 令和9年4月1日.

Eras (元号) by their first day: 令和 from 2019-05-01 (政令「元号を改める政令」平成31年政令第143号),
平成 from 1989-01-08, 昭和 from 1926-12-25. Year 1 of an era is 元年 (令和元年5月1日). A date before
its era's first day (平成31年5月1日) does not exist and is refused, not moved to another era.
"""
import datetime as dt
import re

from .errors import DomainError
from .text import to_half_width_digits

ERAS = (  # (name, letter, first day), newest first
    ("令和", "R", dt.date(2019, 5, 1)),
    ("平成", "H", dt.date(1989, 1, 8)),
    ("昭和", "S", dt.date(1926, 12, 25)),
)
_BY_NAME = {key: first for name, letter, first in ERAS for key in (name, letter)}

_ERA = re.compile(r"^(令和|平成|昭和|[RHS])\s*(元|\d{1,2})\s*[./年-]\s*(\d{1,2})\s*[./月-]\s*(\d{1,2})\s*日?$",
                  re.IGNORECASE)
_WESTERN = re.compile(r"^(\d{4})\s*[./年-]\s*(\d{1,2})\s*[./月-]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

EXAMPLES = "2027/4/1、2027-04-01、20270401、R9.4.1、令和9年4月1日"


def era_date(era: str, year: int, month: int, day: int) -> dt.date:
    """令和9年4月1日 → 2027-04-01; ValueError if the date does not exist or is before the era began."""
    first = _BY_NAME[era.upper() if len(era) == 1 else era]
    value = dt.date(first.year + year - 1, month, day)
    if value < first:
        raise ValueError(f"{era}{year}年{month}月{day}日はありません")
    return value


def parse_date_input(text: str) -> dt.date:
    """A date typed by a user in any of EXAMPLES' forms (full-width digits too); DomainError in
    Japanese for anything else — never a silent default."""
    value = to_half_width_digits((text or "").strip()).replace("．", ".").replace("／", "/").replace("－", "-")
    try:
        if match := _ERA.match(value):
            era, year, month, day = match.groups()
            return era_date(era, 1 if year == "元" else int(year), int(month), int(day))
        if match := _WESTERN.match(value) or _COMPACT.match(value):
            year, month, day = (int(part) for part in match.groups())
            return dt.date(year, month, day)
    except ValueError:
        raise DomainError(f"日付「{text}」はありません。") from None
    raise DomainError(f"日付「{text}」を読めません。{EXAMPLES} のように入力してください。")


def wareki(value: dt.date) -> str:
    """2026-11-29 → 令和8年11月29日 (元年 for year 1)."""
    for name, _, first in ERAS:
        if value >= first:
            year = value.year - first.year + 1
            return f"{name}{'元' if year == 1 else year}年{value.month}月{value.day}日"
    return f"{value.year}年{value.month}月{value.day}日"
