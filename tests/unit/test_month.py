"""app.domain.month.Month: the one parser of months (issue 7: five parsers disagreed)."""
import datetime as dt

import pytest

from app.domain.errors import DomainError
from app.domain.month import Month


@pytest.mark.parametrize("text", ["2026-10", "2026/10", "202610", " 2026-10 ", "2026年10月", "２０２６－１０",
                                  "２０２６/１０"])
def test_spellings_of_october(text):
    assert Month.parse(text) == Month(2026, 10)
    assert str(Month.parse(text)) == "2026-10"


@pytest.mark.parametrize("text", ["2026-1", "2026/1", "2026-01", "202601", "2026年1月"])
def test_single_digit_month_is_padded(text):
    assert str(Month.parse(text)) == "2026-01"


@pytest.mark.parametrize("text", ["", None, "2026", "2026-13", "2026-00", "202613", "26-10", "2026-10-01",
                                  "october", "2026-1x", "2026--10"])
def test_refused_in_japanese(text):
    with pytest.raises(DomainError) as caught:
        Month.parse(text)
    assert "YYYY-MM の形で指定してください" in caught.value.message
    assert caught.value.field == "month"


def test_message_names_what_and_the_text():
    with pytest.raises(DomainError, match="利用月「2026-13」"):
        Month.parse("2026-13", "利用月")


def test_days_and_neighbours():
    feb = Month(2028, 2)
    assert (feb.first_day, feb.last_day) == (dt.date(2028, 2, 1), dt.date(2028, 2, 29))
    assert str(Month(2026, 1).previous()) == "2025-12"
    assert str(Month(2026, 12).next()) == "2027-01"
    assert str(Month(2026, 10).plus(-22)) == "2024-12"
    assert feb.day(31) == dt.date(2028, 2, 29)
    assert Month(2026, 10).label == "2026年10月"
    assert Month.containing(dt.date(2026, 3, 31)) == Month(2026, 3)
    assert Month(2026, 9) < Month(2026, 10) < Month(2027, 1)


def test_of_passes_a_month_through():
    month = Month(2026, 10)
    assert Month.of(month) is month
    assert Month.of("2026/10") == month
