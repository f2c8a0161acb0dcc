"""Reading one usage row (app.domain.usage_format): dates, times, amounts, discounts, 車種, card numbers."""
import pytest

from app.domain.usage_format import (FIELDS, REQUIRED, Layout, RowError, fits_mask, header_key, is_off_month,
                                     make_extractor, make_row_parser, match_masked_card,
                                     normalize_usage_card_number, parse_amount, parse_date, parse_time,
                                     parse_vehicle_class, plate_serial_of, remark_tokens, resolve_columns)
from app.domain.errors import DomainError

CARD = "4980001234567890"


def parser(**layout):
    """A CSV layout by column index: 0 card, 1 entry date, 2 entry time, 3 exit date, 4 exit time,
    5 amount before discount, 6 discount, 7 amount billed, 8 車種."""
    columns = {"card_number": 0, "entry_date": 1, "entry_time": 2, "exit_date": 3, "exit_time": 4,
               "amount_before_discount": 5, "discount": 6, "amount_billed": 7, "vehicle_class": 8}
    columns.update(layout.pop("columns", {}))
    spec = Layout(columns=columns, **layout)
    extract = make_extractor(spec, resolve_columns(spec, None))
    parse = make_row_parser(spec)
    return lambda *cells: parse(extract(list(cells)))


def row(card=CARD, entry_date="", entry_time="", exit_date="26/10/01", exit_time="07:05", before="", discount="",
        billed="1320", vclass="1"):
    return [card, entry_date, entry_time, exit_date, exit_time, before, discount, billed, vclass]


def error_of(parse, cells) -> RowError:
    with pytest.raises(RowError) as caught:
        parse(*cells)
    return caught.value


# ---- dates ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fmt, iso", [
    ("26/10/01", "YY/MM/DD", "2026-10-01"),
    ("26/1/5", "YY/MM/DD", "2026-01-05"),
    ("2026/10/01", "YYYY/MM/DD", "2026-10-01"),
    ("2026-10-01", "YYYY-MM-DD", "2026-10-01"),
    ("20261001", "YYYYMMDD", "2026-10-01"),
    ("R8/10/01", "和暦", "2026-10-01"),
    ("R8.10.1", "和暦", "2026-10-01"),
    ("令和8年10月1日", "和暦", "2026-10-01"),
    ("令和8年10月01日", "和暦", "2026-10-01"),
    ("R1/05/01", "和暦", "2019-05-01"),
    ("H31/04/30", "和暦", "2019-04-30"),
    ("平成30年12月31日", "和暦", "2018-12-31"),
    (" 26/10/01 ", "YY/MM/DD", "2026-10-01"),
    ("28/02/29", "YY/MM/DD", "2028-02-29"),  # leap year
])
def test_dates_in_each_format(text, fmt, iso):
    assert parse_date(text, fmt, {}) == iso


@pytest.mark.parametrize("text, fmt", [
    ("26/02/30", "YY/MM/DD"), ("27/02/29", "YY/MM/DD"), ("26/13/01", "YY/MM/DD"), ("26-10-01", "YY/MM/DD"),
    ("2026/04/31", "YYYY/MM/DD"), ("2026101", "YYYYMMDD"), ("2026AB01", "YYYYMMDD"), ("20260230", "YYYYMMDD"),
    ("R8/02/30", "和暦"), ("S60/01/01", "和暦"), ("令和8年13月1日", "和暦"), ("", "YY/MM/DD"),
    ("26/10/01", "DD.MM.YYYY"),
])
def test_invalid_dates_are_row_errors(text, fmt):
    with pytest.raises(RowError) as caught:
        parse_date(text, fmt, {})
    assert caught.value.value == text
    assert f"日付「{text}」を読めません" in caught.value.reason


def test_the_date_cache_remembers_good_dates_only():
    cache = {}
    assert parse_date("26/10/01", "YY/MM/DD", cache) == "2026-10-01"
    assert cache == {"26/10/01": "2026-10-01"}
    with pytest.raises(RowError):
        parse_date("26/02/30", "YY/MM/DD", cache)
    assert "26/02/30" not in cache


def test_an_invalid_date_in_a_row_names_its_column():
    parse = parser()
    error = error_of(parse, row(exit_date="26/02/30"))
    assert (error.column, error.value) == ("exit_date", "26/02/30")
    assert FIELDS[error.column] == "利用日（出口）"
    error = error_of(parse, row(entry_date="26/02/30", entry_time="06:00"))
    assert (error.column, error.value) == ("entry_date", "26/02/30")


def test_wareki_dates_in_a_row():
    parse = parser(date_format="和暦")
    assert parse(*row(entry_date="令和8年9月30日", entry_time="23:50", exit_date="R8/10/01", exit_time="00:20"))[1:3] == (
        "2026-09-30 23:50:00", "2026-10-01 00:20:00")


# ---- times ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("07:05", "07:05:00"), ("7:05", "07:05:00"), ("0705", "07:05:00"), ("705", "07:05:00"), ("070530", "07:05:30"),
    ("07:05:30", "07:05:30"), ("00:00", "00:00:00"), ("23:59", "23:59:00"),
])
def test_times(text, expected):
    assert parse_time(text, "HH:MM", {}) == expected


@pytest.mark.parametrize("text, reason", [
    ("25:00", "存在しない時刻"), ("24:00", "存在しない時刻"), ("12:60", "存在しない時刻"), ("12:00:61", "存在しない時刻"),
    ("ab:cd", "読めません"), ("1", "読めません"), ("12345", "読めません"),
])
def test_invalid_times_are_row_errors(text, reason):
    with pytest.raises(RowError) as caught:
        parse_time(text, "HH:MM", {})
    assert caught.value.value == text
    assert reason in caught.value.reason


def test_an_invalid_time_in_a_row_names_its_column():
    parse = parser()
    error = error_of(parse, row(exit_time="25:00"))
    assert (error.column, error.value) == ("exit_time", "25:00")
    assert "25:00" in error.reason
    error = error_of(parse, row(entry_date="26/10/01", entry_time="25:00"))
    assert error.column == "entry_time"


def test_missing_times_read_as_midnight_and_missing_entry_date_as_none():
    parsed = parser()(*row(exit_time=""))
    assert parsed[1] is None
    assert parsed[2] == "2026-10-01 00:00:00"


# ---- amounts and discounts --------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("1320", 1320), ("1,320", 1320), ("12,345,678", 12345678), (" 560 ", 560), ("¥1,320", 1320), ("1,320円", 1320),
    ("￥980", 980), ("-1,360", -1360), ("", 0), ("000560", 560),
])
def test_amounts(text, value):
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["1.320", "千円", "1 320", "12a"])
def test_amounts_that_are_not_numbers(text):
    with pytest.raises(RowError) as caught:
        parse_amount(text)
    assert "数字ではありません" in caught.value.reason


def test_amounts_with_commas_in_a_row():
    parsed = parser()(*row(before="12,560", discount="-1,000", billed="11,560"))
    before, discount, discounts, billed = parsed[7:11]
    assert (before, discount, discounts, billed) == (12560, 1000, None, 11560)


def test_a_bad_amount_names_its_column():
    error = error_of(parser(), row(billed="1,3x0"))
    assert (error.column, error.value) == ("amount_billed", "1,3x0")
    error = error_of(parser(), row(before="abc"))
    assert error.column == "amount_before_discount"
    error = error_of(parser(), row(billed=""))
    assert error.column == "amount_billed"
    assert "通行料金がありません" in error.reason


def test_negative_discount_sign_stores_a_positive_discount():
    parse = parser(discount_sign="negative")
    assert parse(*row(before="4560", discount="-1360", billed="3200"))[7:11] == (4560, 1360, None, 3200)
    assert parse(*row(before="1320", discount="0", billed="1320"))[8] == 0
    error = error_of(parse, row(before="4560", discount="1360", billed="3200"))
    assert error.column == "discount"
    assert "符号" in error.reason


def test_positive_discount_sign():
    parse = parser(discount_sign="positive")
    assert parse(*row(before="4560", discount="1,360", billed="3200"))[8] == 1360
    error = error_of(parse, row(before="4560", discount="-1360", billed="3200"))
    assert error.column == "discount"


def test_amount_before_discount_defaults_to_billed_plus_discount():
    parse = parser(discount_sign="positive")
    assert parse(*row(before="", discount="870", billed="2030"))[7] == 2900


def test_amounts_summed_from_several_columns():
    parse = parser(columns={"amount_billed": [7, 9]})
    assert parse(*row(billed="560"), "1,000")[10] == 1560
    assert parse(*row(billed="560"), "")[10] == 560


def test_discounts_by_kind():
    parse = parser(discount_sign="negative", columns={"discount": {"深夜割引": 6, "休日割引": 9}})
    parsed = parse(*row(before="5000", discount="-1,500", billed="3000"), "-500")
    assert parsed[8] == 2000
    assert parsed[9] == "深夜割引:1500;休日割引:500"
    parsed = parse(*row(before="5000", discount="0", billed="3500"), "-1500")
    assert parsed[9] == "休日割引:1500"  # kinds with no discount are left out
    assert parse(*row(before="1000", discount="0", billed="1000"), "0")[9] is None
    error = error_of(parse, row(before="5000", discount="1500", billed="3500") + ["0"])
    assert error.column == "discount"


# ---- vehicle classes --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [("1", 1), ("2", 2), ("3", 3), ("4", 4), ("5", 5), (" 4 ", 4), ("", None)])
def test_vehicle_class_numbers(text, value):
    assert parse_vehicle_class(text, None) == value
    assert parser()(*row(vclass=text))[6] == value


@pytest.mark.parametrize("text", ["0", "6", "普通", "1.0"])
def test_vehicle_class_out_of_range(text):
    with pytest.raises(RowError):
        parse_vehicle_class(text, None)
    error = error_of(parser(), row(vclass=text))
    assert (error.column, error.value) == ("vehicle_class", text)


def test_two_digit_vehicle_class_without_a_code_table_is_read_as_the_number():
    # "03" is 特大車 (3) whether or not the profile lists codes
    assert parse_vehicle_class("03", None) == 3
    assert parser()(*row(vclass="03"))[6] == 3


def test_vehicle_class_codes_of_the_profile():
    codes = {"01": 1, "02": 2, "03": 3, "04": 4, "05": 5}
    assert parse_vehicle_class("04", codes) == 4
    parse = parser(vehicle_class_codes=codes)
    assert [parse(*row(vclass=code))[6] for code in codes] == [1, 2, 3, 4, 5]
    error = error_of(parse, row(vclass="06"))
    assert error.column == "vehicle_class"
    assert "車種コード" in error.reason
    error = error_of(parse, row(vclass="1"))  # the file must use its own codes
    assert error.column == "vehicle_class"


# ---- card numbers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, number", [
    ("4980001234567890", "4980001234567890"),  # 16: corporate card
    ("498000123456789", "498000123456789"),  # 15: old NEXCO fixed layout, Amex
    ("36123456789012", "36123456789012"),  # 14: Diners
    ("4980-0012-3456-7890", "4980001234567890"),
    ("4980 0012 3456 7890", "4980001234567890"),
    (" 4980001234567890 ", "4980001234567890"),
])
def test_card_numbers_14_to_16_digits(text, number):
    assert normalize_usage_card_number(text) == number
    assert parser()(*row(card=text))[0] == number


@pytest.mark.parametrize("text", ["4980001234567", "49800012345678901", "4980ABCD34567890", "", "*************890",
                                  "****************", "********6598101X"])
def test_bad_card_numbers(text):
    with pytest.raises(RowError):
        normalize_usage_card_number(text)
    error = error_of(parser(), row(card=text))
    assert (error.column, error.value) == ("card_number", text.strip())
    assert "14〜16桁" in error.reason


# ---- columns ----------------------------------------------------------------------------------------

def test_columns_by_header_text_and_optional_columns():
    spec = Layout(columns={"card_number": "カード番号", "exit_date": "出口日付", "amount_billed": "通行料金",
                           "plate": "車両番号", "exit_ic": 3})
    columns = resolve_columns(spec, ["\ufeff通行料金", " カード番号 ", "出口日付", "出口IC"])
    assert columns == {"card_number": 1, "exit_date": 2, "amount_billed": 0, "exit_ic": 3}  # plate: not in the file
    extract = make_extractor(spec, columns)
    parsed = make_row_parser(spec)(extract(["1,070", CARD, "26/10/02", "八王子"]))
    assert (parsed[0], parsed[2], parsed[4], parsed[10], parsed[11]) == (
        CARD, "2026-10-02 00:00:00", "八王子", 1070, None)


def test_a_required_column_missing_from_the_header():
    spec = Layout(columns={"card_number": "カード番号", "exit_date": "出口日付", "amount_billed": "通行料金"})
    with pytest.raises(DomainError) as caught:
        resolve_columns(spec, ["カード番号", "出口日付"])
    assert "見出し行に列「通行料金」がありません" in caught.value.message
    assert set(REQUIRED) == {"card_number", "exit_date", "amount_billed"}


def test_short_rows_read_missing_cells_as_empty():
    parsed = parser()(CARD, "", "", "26/10/01", "07:05", "", "", "1320")  # no 車種 cell
    assert parsed[6] is None


def test_fixed_width_fields_are_cut_from_bytes_then_decoded():
    # 髙崎 is 4 bytes in cp932: the name field is 20 bytes, not 20 characters
    spec = Layout(columns={"card_number": [0, 15], "exit_date": [15, 8], "exit_ic": [23, 20],
                           "amount_billed": [[43, 6], [49, 6]], "vehicle_class": [55, 2]},
                  file_type="fixed", date_format="YYYYMMDD", discount_sign="positive",
                  vehicle_class_codes={"01": 1, "02": 2, "03": 3, "04": 4, "05": 5}, encoding="cp932")
    name = "髙崎".encode("cp932")
    line = b"498000123456789" + b"20261001" + name + b" " * (20 - len(name)) + b"000560" + b"000310" + b"02"
    assert len(line) == 57
    extract = make_extractor(spec, resolve_columns(spec, None))
    parsed = make_row_parser(spec)(extract(line))
    assert parsed[0] == "498000123456789"
    assert parsed[2] == "2026-10-01 00:00:00"
    assert parsed[4] == "髙崎"
    assert parsed[6] == 2
    assert parsed[10] == 870


def test_a_fixed_width_line_shorter_than_the_layout_is_refused():
    # a cut-off record must not read its missing amounts as 0 yen
    spec = Layout(columns={"card_number": [0, 15], "exit_date": [15, 8], "amount_billed": [[23, 6], [29, 6]]},
                  file_type="fixed", date_format="YYYYMMDD", discount_sign="positive")
    extract = make_extractor(spec, resolve_columns(spec, None))
    line = b"498000123456789" + b"20261001" + b"000560" + b"000310"
    assert make_row_parser(spec)(extract(line))[10] == 870
    with pytest.raises(ValueError) as caught:
        extract(line[:30])
    assert "30バイトしかありません" in str(caught.value) and "35バイト" in str(caught.value)


# ---- real ETC利用照会 downloads: masked numbers, header variants, 備考 tokens, 還元額 / 後納 -------------

@pytest.mark.parametrize("text", ["********65981010", "＊＊＊＊＊＊＊＊65981010", "************7890", "4980********1010"])
def test_masked_card_numbers_are_read_as_written(text):
    number = normalize_usage_card_number(text)
    assert number == text.replace("＊", "*")
    assert parser()(*row(card=text))[0] == number


def test_a_masked_number_fits_the_cards_with_the_same_visible_digits():
    assert fits_mask("********65981010", "4980000065981010")
    assert not fits_mask("********65981010", "4980000065981011")
    assert not fits_mask("********65981010", "498000065981010")  # 15 digits: another length
    assert fits_mask("4980********1010", "4980123465981010")
    assert not fits_mask("4981********1010", "4980123465981010")


@pytest.mark.parametrize("plate, serial", [("5050", 5050), ("品川 300 あ 12-34", 1234), ("なにわ 130 た ・123", 123),
                                           ("５０５０", 5050), ("", None), (None, None), ("品川 300 あ", None)])
def test_plate_serial_as_files_write_it(plate, serial):
    assert plate_serial_of(plate) == serial


def test_matching_a_masked_number_never_guesses():
    one, two = "card-1", "card-2"
    assert match_masked_card("5050", [(one, 1234)]) == one  # the only card ending so
    assert match_masked_card(None, [(one, 1234)]) == one
    assert match_masked_card("5050", []) is None  # unknown
    assert match_masked_card(None, [(one, 1234), (two, 5050)]) is None  # ambiguous, no plate
    assert match_masked_card("5050", [(one, 1234), (two, 5050)]) == two  # the plate serial decides
    assert match_masked_card("9999", [(one, 1234), (two, 5050)]) is None
    assert match_masked_card("5050", [(one, 5050), (two, 5050)]) is None  # still two


ETC_ALIASES = {"（入）": "（自）", "（出）": "（至）", "時刻": "時分"}


def test_header_variants_of_real_downloads_resolve_to_the_profile_columns():
    spec = Layout(columns={"entry_date": "利用年月日（自）", "entry_time": "時分（自）", "exit_date": "利用年月日（至）",
                           "exit_time": "時分（至）", "entry_ic": "利用ＩＣ（自）", "exit_ic": "利用ＩＣ（至）",
                           "amount_billed": "通行料金", "card_number": "ＥＴＣカード番号"},
                  header_aliases=ETC_ALIASES)
    header = ["利用年月日（入）", "時刻（入）", "利用年月日（出）", "時刻（出）", "利用IC（入）", "利用IC(出)", "通行料金",
              "ETCカード番号"]
    assert resolve_columns(spec, header) == {"entry_date": 0, "entry_time": 1, "exit_date": 2, "exit_time": 3,
                                             "entry_ic": 4, "exit_ic": 5, "amount_billed": 6, "card_number": 7}
    assert header_key("利用ＩＣ（自）") == header_key("利用IC(自)") == "利用IC(自)"
    assert header_key("\ufeff 時刻（入）", ETC_ALIASES) == "時分(自)"
    without = Layout(columns=spec.columns)  # no variants in the profile: （入） is another column
    with pytest.raises(DomainError):
        resolve_columns(without, header)


def test_remark_tokens_and_the_peak_time_mark():
    assert remark_tokens("確定;（朝夕）") == ["確定", "（朝夕）"]
    assert remark_tokens("確定; 休日割引 ;") == ["確定", "休日割引"]
    assert remark_tokens(None) == []
    parse = parser(peak_time_remark="（朝夕）", columns={"remarks": 9})
    assert parse(*row(), "確定;（朝夕）")[12:] == ("確定;（朝夕）", None, None, None, None, None, True)
    assert parse(*row(), "確定;(朝夕)")[-1] is True  # half-width brackets: the same token
    assert parse(*row(), "確定;休日割引")[-1] is False
    assert parse(*row(), "朝夕割引対象外")[-1] is False  # a token, not a substring
    assert parser(columns={"remarks": 9})(*row(), "確定;（朝夕）")[-1] is False  # profile without the mark


def test_rebate_and_deferred_amounts_blank_discounts_accepted():
    parse = parser(columns={"amount_rebate_applied": 9, "amount_deferred": 10})
    paid_by_rebate = parse(*row(before="", discount="", billed="2680"), "2680", "0")
    assert paid_by_rebate[7:11] == (2680, 0, None, 2680)
    assert paid_by_rebate[13:15] == (2680, 0)
    assert parse(*row(billed="1320"), "", "1320")[13:15] == (None, 1320)  # blank: not given, not 0
    error = error_of(parse, row(billed="1320") + ["12x", ""])
    assert (error.column, error.value) == ("amount_rebate_applied", "12x")
    assert FIELDS["amount_rebate_applied"] == "還元額適用料金" and FIELDS["amount_deferred"] == "後納料金"


@pytest.mark.parametrize("row_month, file_month, off", [
    ("2026-10", "2026-10", False), ("2026-09", "2026-10", False), ("2026-11", "2026-10", False),
    ("2026-08", "2026-10", True), ("2026-12", "2026-10", True), ("2025-10", "2026-10", True),
    ("2026-12", "2027-01", False), ("2026-11", "2027-01", True),
])
def test_off_month_is_more_than_one_month_away(row_month, file_month, off):
    assert is_off_month(row_month, file_month) is off
