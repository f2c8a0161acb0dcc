"""利用月・請求月: one value for "a month", parsed once where text comes in (CLI arguments and
options, URLs, forms) and passed on as a `Month`. str(month) is the stored form 'YYYY-MM'
(usage_record.usage_month, billing_run.month, invoice.month).

Accepted spellings, because staff type what their other tools print: 2026-10, 2026/10, 202610,
2026-1 / 2026/1 (→ 2026-01), 2026年10月, and the same with full-width digits (NFKC).
Anything else is refused with a Japanese message that says what to type.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from .errors import DomainError

_PATTERN = re.compile(r"^(\d{4})(?:[-/年](\d{1,2})月?|(\d{2}))$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self):
        if not (1 <= self.month <= 12 and 1900 <= self.year <= 9999):
            raise DomainError(f"{self.year}年{self.month}月 は月として正しくありません。", "month")

    # ── making one ──────────────────────────────────────────────────────────────────────────

    @classmethod
    def parse(cls, text, what: str = "月") -> Month:
        """'2026-10', '2026/10', '202610', '2026-1', '2026年10月' → Month(2026, 10)."""
        if isinstance(text, Month):
            return text
        raw = "" if text is None else str(text)
        value = unicodedata.normalize("NFKC", raw).strip().replace(" ", "")
        match = _PATTERN.match(value)
        if match:
            year, month = int(match.group(1)), int(match.group(2) or match.group(3))
            if 1 <= month <= 12:
                return cls(year, month)
        raise DomainError(f"{what}「{raw}」は YYYY-MM の形で指定してください（例: 2026-10、2026/10、202610）。",
                          "month")

    @classmethod
    def of(cls, value) -> Month:
        """A Month as it is; text parsed (services accept both, so callers with a stored 'YYYY-MM' need
        no conversion)."""
        return value if isinstance(value, Month) else cls.parse(value)

    @classmethod
    def containing(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)

    # ── what it is ──────────────────────────────────────────────────────────────────────────

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def key(self) -> str:
        """The stored form, 'YYYY-MM'."""
        return str(self)

    @property
    def label(self) -> str:
        """2026年10月 (screens, messages)."""
        return f"{self.year}年{self.month}月"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def plus(self, count: int) -> Month:
        index = self.year * 12 + self.month - 1 + count
        return Month(index // 12, index % 12 + 1)

    def previous(self) -> Month:
        return self.plus(-1)

    def next(self) -> Month:
        return self.plus(1)

    def day(self, day: int) -> dt.date:
        """Day `day` of the month, or its last day when it has fewer days (31 → 2/28)."""
        return self.first_day.replace(day=max(1, min(day, self.last_day.day)))
