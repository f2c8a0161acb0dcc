"""Pure formatting of the member documents: 和暦 and 西暦 dates, masked numbers, yen amounts."""
import datetime as dt

import pytest

from app.documents import formatting
from app.domain.bank_account import mask_account_number
from app.domain.wareki import era_year, format_date, format_month, wareki_date


@pytest.mark.parametrize("day, text", [
    (dt.date(2026, 11, 29), "令和8年11月29日"),
    (dt.date(2019, 5, 1), "令和元年5月1日"),  # the first day of 令和 is 元年
    (dt.date(2019, 4, 30), "平成31年4月30日"),
    (dt.date(1989, 1, 8), "平成元年1月8日"),
    (dt.date(1989, 1, 7), "昭和64年1月7日"),
    (dt.date(1926, 12, 25), "昭和元年12月25日"),
    (dt.date(1926, 12, 24), "大正15年12月24日"),
    (dt.date(1912, 7, 30), "大正元年7月30日"),
    (dt.date(1912, 7, 29), "明治45年7月29日"),
])
def test_wareki_dates_change_era_on_the_accession_day(day, text):
    assert wareki_date(day) == text


def test_dates_before_the_gregorian_calendar_in_japan_are_refused():
    assert era_year(dt.date(1873, 1, 1)) == ("明治", 6)
    with pytest.raises(ValueError, match="和暦で表せません"):
        era_year(dt.date(1872, 12, 31))


def test_date_style_switches_between_seireki_and_wareki():
    day = dt.date(2026, 12, 7)
    assert format_date(day, "seireki") == "2026年12月7日"
    assert format_date(day, "wareki") == "令和8年12月7日"
    assert format_date(dt.datetime(2026, 12, 7, 9, 30), "wareki") == "令和8年12月7日"
    assert format_date(None, "wareki") == ""
    assert format_month(2026, 10, "seireki") == "2026年10月"
    assert format_month(2019, 5, "wareki") == "令和元年5月"
    assert format_month(2019, 4, "wareki") == "平成31年4月"


def test_amounts_have_thousands_separators_and_a_sign():
    assert formatting.amount(1234567) == "1,234,567"
    assert formatting.amount(-6000) == "-6,000"
    assert formatting.amount(0) == "0"
    assert formatting.amount(None) == ""
    assert formatting.yen(40399) == "40,399円"
    assert formatting.yen_mark(40399) == "¥40,399-"
    assert formatting.yen_mark(-1200) == "-¥1,200-"


def test_card_numbers_show_only_the_last_four_digits():
    assert formatting.masked_card("1000010000000011") == "************0011"
    assert formatting.masked_card("49800033334444") == "**********4444"  # 14-digit credit card
    assert formatting.masked_card(None) == ""


def test_account_numbers_show_only_the_last_three_digits():
    assert mask_account_number("1234567") == "****567"
    assert mask_account_number("0012345") == "****345"
    assert mask_account_number("１２３－４５６７") == "****567"
    assert mask_account_number("12") == "**"
    assert mask_account_number(None) == ""


def test_vehicle_classes_print_in_japanese():
    assert [formatting.vehicle_class_name(c) for c in (1, 2, 3, 4, 5, None)] == [
        "普通車", "大型車", "特大車", "中型車", "軽自動車等", ""]
