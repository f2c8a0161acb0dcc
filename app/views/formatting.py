"""How values look on screen: yen with separators, dates as 2026/11/25."""
import datetime as dt

from markupsafe import Markup


def yen(value) -> str:
    if value is None or value == "":
        return ""
    return f"{int(value):,}円"


def date_jp(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y/%m/%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y/%m/%d")
    return "" if value is None else str(value)


def yes_no(value) -> str:
    return "はい" if value else "いいえ"


def right(text) -> Markup:
    return Markup('<span style="display:block;text-align:right">{}</span>').format(text)
