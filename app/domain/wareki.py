"""和暦 (Japanese era dates) for documents whose operator prints dates that way: 令和8年11月29日.

An era starts on the day the new emperor acceded (元号法; 令和: 2019-05-01 by 元号を改める政令, 平成31年
政令第143号), so 2019-04-30 is 平成31年 and 2019-05-01 is 令和元年. The first year of an era is written
元年, as official documents do (e.g. 国税庁の様式). Dates before 明治6年 (the Gregorian calendar's
adoption in Japan, 1873-01-01) are not representable and are refused."""
import datetime as dt

# (first day, era name), newest first
ERAS = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
    (dt.date(1912, 7, 30), "大正"),
    (dt.date(1873, 1, 1), "明治"),  # 明治 began 1868, but Japan counted Gregorian dates only from 明治6年
)
MEIJI_FIRST_YEAR = 1868

SEIREKI, WAREKI = "seireki", "wareki"
DATE_STYLES = {SEIREKI: "西暦（2026年11月29日）", WAREKI: "和暦（令和8年11月29日）"}


def era_year(day: dt.date) -> tuple[str, int]:
    """('令和', 8) for 2026-11-29."""
    for first, name in ERAS:
        if day >= first:
            start_year = MEIJI_FIRST_YEAR if name == "明治" else first.year
            return name, day.year - start_year + 1
    raise ValueError(f"{day} は和暦で表せません（明治6年より前）。")


def era_year_text(day: dt.date) -> str:
    name, year = era_year(day)
    return f"{name}{'元' if year == 1 else year}年"


def wareki_date(day: dt.date) -> str:
    """'令和8年11月29日'; '令和元年5月1日'."""
    return f"{era_year_text(day)}{day.month}月{day.day}日"


def format_date(day: dt.date | None, style: str = SEIREKI) -> str:
    """A date as the operator prints it: 2026年11月29日 (西暦) or 令和8年11月29日 (和暦); '' for none."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = day.date()
    if style == WAREKI:
        return wareki_date(day)
    return f"{day.year}年{day.month}月{day.day}日"


def format_month(year: int, month: int, style: str = SEIREKI) -> str:
    """A usage month: 2026年10月 or 令和8年10月 (the era of the month's first day)."""
    if style == WAREKI:
        return f"{era_year_text(dt.date(year, month, 1))}{month}月"
    return f"{year}年{month}月"
