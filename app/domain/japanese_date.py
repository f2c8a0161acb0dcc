"""Dates as Japanese offices write them: 2027/4/1, 2027-04-01, 20270401, R9.4.1, 令和9年4月1日.

Eras (元号) and their first days are app.domain.wareki's (the documents print with the same table).
Year 1 of an era is 元年 (令和元年5月1日). A date before its era's first day (令和1年4月30日) does not
exist and is refused, not moved to another era.
"""
import datetime as dt
import re

from .errors import DomainError
from .text import to_half_width_digits
from .wareki import ERAS, MEIJI_FIRST_YEAR

_LETTERS = {"令和": "R", "平成": "H", "昭和": "S", "大正": "T", "明治": "M"}
_BY_NAME = {key: (name, first) for first, name in ERAS for key in (name, _LETTERS[name])}

_ERA = re.compile(r"^(令和|平成|昭和|大正|明治|[RHSTM])\s*(元|\d{1,2})\s*[./年-]\s*(\d{1,2})\s*[./月-]\s*(\d{1,2})\s*日?$",
                  re.IGNORECASE)
_WESTERN = re.compile(r"^(\d{4})\s*[./年-]\s*(\d{1,2})\s*[./月-]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

EXAMPLES = "2027/4/1、2027-04-01、20270401、R9.4.1、令和9年4月1日"


def era_date(era: str, year: int, month: int, day: int) -> dt.date:
    """令和9年4月1日 → 2027-04-01; ValueError if the date does not exist or is before the era began."""
    name, first = _BY_NAME[era.upper() if len(era) == 1 else era]
    start_year = MEIJI_FIRST_YEAR if name == "明治" else first.year
    value = dt.date(start_year + year - 1, month, day)
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
