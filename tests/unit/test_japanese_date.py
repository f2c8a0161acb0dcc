"""Dates typed as Japanese offices write them (issue 9 item 13)."""
import datetime as dt

import pytest

from app.domain.errors import DomainError
from app.domain.japanese_date import parse_date_input

APRIL_1_2027 = dt.date(2027, 4, 1)


@pytest.mark.parametrize("typed", ["2027/4/1", "2027/04/01", "2027-04-01", "20270401", "R9.4.1", "r9.4.1",
                                   "R9/4/1", "令和9年4月1日", "令和9年4月1", "２０２７／４／１", "Ｒ9.4.1",
                                   " 2027年4月1日 "])
def test_every_usual_form_is_read(typed):
    assert parse_date_input(typed) == APRIL_1_2027


def test_eras_and_their_first_year():
    assert parse_date_input("令和元年5月1日") == dt.date(2019, 5, 1)
    assert parse_date_input("H31.4.30") == dt.date(2019, 4, 30)
    assert parse_date_input("平成元年1月8日") == dt.date(1989, 1, 8)
    assert parse_date_input("S64.1.7") == dt.date(1989, 1, 7)


@pytest.mark.parametrize("typed, reason", [
    ("abc", "読めません"), ("2027/13/01", "ありません"), ("2027/2/30", "ありません"), ("20271", "読めません"),
    ("令和1年4月30日", "ありません"),  # 令和 began on 2019-05-01
    ("4/1", "読めません"),  # no year: never guessed
])
def test_what_cannot_be_read_is_refused_in_japanese(typed, reason):
    with pytest.raises(DomainError, match=reason) as error:
        parse_date_input(typed)
    assert typed in str(error.value)
