"""車両番号: 地名, 分類番号, ひらがな, 一連番号."""
import pytest
from hypothesis import given, strategies as st

from app.domain.errors import DomainError
from app.domain.plate import Plate, format_serial, make_plate, parse_plate, parse_serial


def test_make_plate_with_four_parts():
    plate = make_plate("品川", "300", "あ", "12-34")
    assert plate == Plate("品川", "300", "あ", 1234)
    assert str(plate) == "品川 300 あ 12-34"


@pytest.mark.parametrize("region", ["品川", "尾張小牧", "富士山", "袖ケ浦", "つくば", "とちぎ"])
def test_regions_of_one_to_five_kanji_or_kana(region):
    assert make_plate(region, "100", "あ", 1).region == region


@pytest.mark.parametrize("region", ["", "Shinagawa", "品川123", "長い長い地名です"])
def test_bad_regions_are_refused(region):
    with pytest.raises(DomainError) as error:
        make_plate(region, "100", "あ", 1)
    assert error.value.field == "plate_region"
    assert "地名" in error.value.message


@pytest.mark.parametrize("typed, stored", [
    ("1", "1"), ("30", "30"), ("300", "300"), ("30A", "30A"), ("3AA", "3AA"), ("5XY", "5XY"),
    ("30a", "30A"), ("３００", "300"), ("３０Ａ", "30A"), ("1C", "1C"), ("80P", "80P"),
])
def test_class_numbers_with_digits_and_the_allowed_letters(typed, stored):
    assert make_plate("品川", typed, "あ", 1).class_number == stored


@pytest.mark.parametrize("typed", ["0", "030", "A30", "30B", "30I", "30O", "1000", "", "30-"])
def test_bad_class_numbers_are_refused(typed):
    with pytest.raises(DomainError) as error:
        make_plate("品川", typed, "あ", 1)
    assert error.value.field == "plate_class_number"
    assert "分類番号" in error.value.message


@pytest.mark.parametrize("kana", list("おしへん"))
def test_kana_never_used_on_plates_are_refused(kana):
    with pytest.raises(DomainError) as error:
        make_plate("品川", "100", kana, 1)
    assert error.value.field == "plate_kana"
    assert error.value.message == f"ひらがな「{kana}」はナンバープレートに使われません（お・し・へ・ん は不可）。"


@pytest.mark.parametrize("kana", ["ア", "あい", "", "a", "品"])
def test_kana_must_be_one_hiragana(kana):
    with pytest.raises(DomainError) as error:
        make_plate("品川", "100", kana, 1)
    assert error.value.field == "plate_kana"
    assert "ひらがな1文字" in error.value.message


@pytest.mark.parametrize("kana", list("あいうえかさすせそたつわれろよ"))
def test_usual_kana_are_accepted(kana):
    assert make_plate("品川", "100", kana, 1).kana == kana


@pytest.mark.parametrize("typed, serial", [
    ("・・12", 12), ("・123", 123), ("12-34", 1234), ("１２－３４", 1234), ("1234", 1234), (1, 1),
    ("9999", 9999), ("・・・1", 1), ("99-99", 9999), (" 12 ", 12),
])
def test_serial_formats(typed, serial):
    assert parse_serial(typed) == serial


@pytest.mark.parametrize("typed", [0, "0", "00-00", 10000, "1-0000", "", None, "12a", "１２Ａ", "12345"])
def test_serial_outside_1_to_9999_is_refused(typed):
    with pytest.raises(DomainError) as error:
        parse_serial(typed)
    assert error.value.field == "plate_serial"
    assert "1〜9999" in error.value.message


@pytest.mark.parametrize("serial, printed", [(1, "・・・1"), (12, "・・12"), (123, "・123"), (1234, "12-34"),
                                             (9999, "99-99")])
def test_format_serial_as_printed(serial, printed):
    assert format_serial(serial) == printed


@given(st.integers(min_value=1, max_value=9999))
def test_formatted_serial_parses_back(serial):
    assert parse_serial(format_serial(serial)) == serial


@pytest.mark.parametrize("text, plate", [
    ("品川 300 あ 12-34", Plate("品川", "300", "あ", 1234)),
    ("練馬915つ8420", Plate("練馬", "915", "つ", 8420)),
    ("品川300あ1234", Plate("品川", "300", "あ", 1234)),
    ("尾張小牧 80A さ ・・12", Plate("尾張小牧", "80A", "さ", 12)),
    ("横浜　１００　う　１２－３４", Plate("横浜", "100", "う", 1234)),
])
def test_parse_plate_on_one_line(text, plate):
    assert parse_plate(text) == plate


def test_parse_plate_round_trips_its_string():
    plate = parse_plate("品川 300 あ 12-34")
    assert parse_plate(str(plate)) == plate


@pytest.mark.parametrize("text", ["", "品川", "品川 300 12-34", "300 あ 12-34 品川"])
def test_unreadable_plates_are_refused(text):
    with pytest.raises(DomainError) as error:
        parse_plate(text)
    assert error.value.field == "plate"
    assert error.value.message == f"車両番号「{text}」を読み取れません（例: 品川 300 あ 12-34）。"


def test_parse_plate_applies_the_part_rules():
    with pytest.raises(DomainError) as error:
        parse_plate("品川 300 お 12-34")
    assert error.value.field == "plate_kana"
