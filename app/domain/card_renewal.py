"""5年ごとの更新 (ETCコーポレートカード): which cards are due, and the expiry the renewed card gets.

A corporate card is valid 5 years to the end of the printed month and is exchanged in a batch before
it runs out: the contract holder submits an 「ETCコーポレートカード交換申込書」 months ahead (a card
expiring end of March X: new cards from September X-1; etc-domain.md §4.3,
https://www.firstaccess.co.jp/fa-blog/?p=754). So the office looks at the cards whose expiry month
falls within the next N months, counted in whole months as the printed expiry is a month.
"""
import datetime as dt

from .card_lifecycle import CORPORATE_VALIDITY_YEARS, corporate_valid_until, end_of_month
from .errors import DomainError
from .month import Month

DEFAULT_MONTHS = 6
MAX_MONTHS = 24


def renewal_deadline(today: dt.date, months: int) -> dt.date:
    """Last day of the month `months` after today's month: cards expiring on or before it are due.
    2026-11-15, 6 → 2027-05-31 (a card printed 27年05月 is due; 27年06月 is not yet)."""
    return Month.containing(today).plus(months).last_day


def parse_months(value, default: int = DEFAULT_MONTHS) -> int:
    """The N of 'expiring within N months' as typed in a URL or a form: 1 to 24."""
    if value is None or str(value).strip() == "":
        return default
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_MONTHS:
        raise DomainError(f"月数「{value}」は1〜{MAX_MONTHS}の数字で指定してください。", "months")
    return int(text)


def renewed_valid_until(current_valid_until: dt.date) -> dt.date:
    """The renewed card runs 5 years from the old expiry month: 27年03月 → 32年03月 (card_lifecycle)."""
    return corporate_valid_until(current_valid_until)


def expiry_before_renewal(renewed_until: dt.date) -> dt.date:
    """The expiry a card had before an in-place renewal moved it 5 years on (the event keeps only the
    new one): 2032-03-31 → 2027-03-31."""
    return end_of_month(renewed_until.replace(year=renewed_until.year - CORPORATE_VALIDITY_YEARS, day=1))
